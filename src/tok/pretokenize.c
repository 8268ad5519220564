/* pretokenize.c — the pre-tokenizer steps, streamed: every piece a step
 * produces goes straight on to the next step and finally to BPE, so no list
 * of pieces is ever built.
 *
 * Split: the regex's matches and the gaps between them become pieces
 * ("Isolated"), or only the gaps ("Removed"; with invert, only the matches).
 * ByteLevel: optionally a space before each piece that lacks one, optionally
 * the GPT-2 regex split; the byte mapping itself is implicit, since BPE runs
 * on raw bytes. */
#include <string.h>

#include "base/error.h"
#include "tok/tok_internal.h"

static size_t utf8_char_len(unsigned char c) { return c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2; }

/* One regex match at or after `start`: 1 and [*m0,*m1) when found, 0 when not. */
static int find_match(const rg_pre_step *step, rg_encode_scratch *s, const char *text, size_t len, size_t start,
                      size_t *m0, size_t *m1) {
    if (!s->match) {
        s->match = pcre2_match_data_create(1, NULL);
        if (!s->match) return rg_error("out of memory (regex match data)");
    }
    for (;;) {
        int rc = step->jit && !s->match_ctx
                     ? pcre2_jit_match(step->regex, (PCRE2_SPTR)text, len, start, 0, s->match, NULL)
                     : pcre2_match(step->regex, (PCRE2_SPTR)text, len, start, PCRE2_NO_UTF_CHECK, s->match,
                                   s->match_ctx);
        if (rc == PCRE2_ERROR_NOMATCH) return 0;
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT && !s->match_ctx) {
            /* A pathological piece needs more than the default 32 KiB
             * JIT stack: retry with a large one. */
            s->jit_stack = pcre2_jit_stack_create(32 * 1024, 256 * 1024 * 1024, NULL);
            s->match_ctx = pcre2_match_context_create(NULL);
            if (!s->jit_stack || !s->match_ctx) return rg_error("out of memory (regex stack)");
            pcre2_jit_stack_assign(s->match_ctx, NULL, s->jit_stack);
            continue;
        }
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return rg_error("pre-tokenizer regex failed at byte %zu of a %zu-byte piece: %s", start, len,
                            (const char *)msg);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->match);
        *m0 = ov[0];
        *m1 = ov[1];
        return 1;
    }
}

static int emit(const rg_tokenizer *tok, rg_encode_scratch *s, int step, const char *text, size_t len,
                rg_id_vec *out) {
    if (len == 0) return RG_OK;
    return rg_pretokenize_and_bpe(tok, s, step, text, len, out);
}

/* Splits text by the step's regex; pieces go to step + 1. */
static int split(const rg_tokenizer *tok, rg_encode_scratch *s, int step_index, const char *text, size_t len,
                 rg_id_vec *out) {
    const rg_pre_step *step = &tok->pre_steps[step_index];
    int keep_matches = step->behavior == RG_SPLIT_ISOLATED || step->invert;
    int keep_gaps = step->behavior == RG_SPLIT_ISOLATED || !step->invert;
    size_t pos = 0, search = 0;
    while (search <= len) {
        size_t m0, m1;
        int found = find_match(step, s, text, len, search, &m0, &m1);
        if (found < 0) return RG_ERR;
        if (!found) break;
        if (m1 == m0) { /* an empty match splits nothing; look again one character on */
            if (m0 >= len) break;
            search = m0 + utf8_char_len((unsigned char)text[m0]);
            continue;
        }
        if (keep_gaps && emit(tok, s, step_index + 1, text + pos, m0 - pos, out)) return RG_ERR;
        if (keep_matches && emit(tok, s, step_index + 1, text + m0, m1 - m0, out)) return RG_ERR;
        pos = search = m1;
    }
    if (keep_gaps) return emit(tok, s, step_index + 1, text + pos, len - pos, out);
    return RG_OK;
}

static int byte_level(const rg_tokenizer *tok, rg_encode_scratch *s, int step_index, const char *text, size_t len,
                      rg_id_vec *out) {
    const rg_pre_step *step = &tok->pre_steps[step_index];
    if (step->add_prefix_space && text[0] != ' ') {
        char *spaced = rg_malloc(len + 1);
        if (!spaced) return RG_ERR;
        spaced[0] = ' ';
        memcpy(spaced + 1, text, len);
        int rc = step->regex ? split(tok, s, step_index, spaced, len + 1, out)
                             : emit(tok, s, step_index + 1, spaced, len + 1, out);
        free(spaced);
        return rc;
    }
    return step->regex ? split(tok, s, step_index, text, len, out) : emit(tok, s, step_index + 1, text, len, out);
}

int rg_pretokenize_and_bpe(const rg_tokenizer *tok, rg_encode_scratch *s, int step, const char *text, size_t len,
                           rg_id_vec *out) {
    if (step == tok->n_pre_steps) return rg_bpe_word(tok, s, (const unsigned char *)text, len, out);
    if (tok->pre_steps[step].kind == RG_PRE_SPLIT) return split(tok, s, step, text, len, out);
    return byte_level(tok, s, step, text, len, out);
}
