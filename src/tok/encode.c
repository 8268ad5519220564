/* encode.c — text to ids: UTF-8 check, added tokens split out, NFC, then
 * the pre-tokenizer and BPE (pretokenize.c, bpe.c).
 *
 * Invalid UTF-8 is rejected: Hugging Face tokenizers take Rust (or JS)
 * strings, which cannot hold it, so there is no reference behaviour to copy,
 * and silently replacing bytes would break decode(encode(x)) == x. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "base/error.h"
#include "tok/tok_internal.h"

/* Offset of the first invalid byte (overlong forms, surrogates and code
 * points above U+10FFFF are invalid), or len when the text is valid. */
static size_t utf8_invalid_at(const unsigned char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        /* ASCII fast path, 8 bytes at a time. */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= len) break;
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t min;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 2, min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 3, min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 4, min = 0x10000;
        } else {
            return i;
        }
        if (i + n > len) return i;
        uint32_t cp = c & (0x7F >> n);
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += n;
    }
    return len;
}

/* Decodes the code point at s[i] (valid UTF-8), returning its length. */
static size_t decode_at(const unsigned char *s, size_t i, uint32_t *cp) {
    unsigned char c = s[i];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    uint32_t v = c & (0x7F >> n);
    for (size_t k = 1; k < n; k++) v = (v << 6) | (s[i + k] & 0x3F);
    *cp = v;
    return n;
}

/* The code point that ends at s[end) (valid UTF-8, end > 0). */
static size_t decode_before(const unsigned char *s, size_t end, uint32_t *cp) {
    size_t start = end - 1;
    while (start > 0 && (s[start] & 0xC0) == 0x80) start--;
    decode_at(s, start, cp);
    return end - start;
}

static int is_white_space(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

static int is_word_char(uint32_t c) {
    if (c == '_') return 1;
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
           (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
}

/* Longest added token (of those matched here) that starts at text[i]. */
static const rg_added_token *added_at(const rg_tokenizer *tok, const char *text, size_t len, size_t i,
                                      int allow_special, int normalized_pass) {
    const rg_added_token *best = NULL;
    for (int k = 0; k < tok->n_added; k++) { /* few tokens; sorted longest first */
        const rg_added_token *a = &tok->added[k];
        if (a->special && !allow_special) continue;
        if ((a->normalized && tok->nfc) != normalized_pass) continue;
        if (a->len > len - i || a->content[0] != text[i] || memcmp(a->content, text + i, a->len) != 0) continue;
        if (a->single_word) {
            uint32_t cp;
            if (i > 0 && (decode_before((const unsigned char *)text, i, &cp), is_word_char(cp))) continue;
            if (i + a->len < len && (decode_at((const unsigned char *)text, i + a->len, &cp), is_word_char(cp)))
                continue;
        }
        best = a;
        break;
    }
    return best;
}

typedef int (*section_fn)(const rg_tokenizer *tok, rg_encode_scratch *s, const char *text, size_t len,
                          int allow_special, rg_id_vec *out);

/* Splits text at added tokens: text between them goes to `section`, the
 * tokens become their ids. lstrip/rstrip eat the white space beside a token. */
static int split_added(const rg_tokenizer *tok, rg_encode_scratch *s, const char *text, size_t len,
                       int allow_special, int normalized_pass, section_fn section, rg_id_vec *out) {
    const unsigned char *u = (const unsigned char *)text;
    size_t start = 0; /* start of the pending text section */
    for (size_t i = 0; i < len; i++) {
        if (!tok->added_first_byte[u[i]]) continue;
        const rg_added_token *a = added_at(tok, text, len, i, allow_special, normalized_pass);
        if (!a) continue;
        size_t end = i;
        uint32_t cp;
        if (a->lstrip)
            while (end > start && (decode_before(u, end, &cp), is_white_space(cp))) end -= decode_before(u, end, &cp);
        if (end > start && section(tok, s, text + start, end - start, allow_special, out)) return RG_ERR;
        if (rg_id_vec_push(out, a->id)) return RG_ERR;
        i += a->len;
        if (a->rstrip)
            while (i < len && (decode_at(u, i, &cp), is_white_space(cp))) i += decode_at(u, i, &cp);
        start = i;
        i--; /* the loop's i++ */
    }
    if (len > start) return section(tok, s, text + start, len - start, allow_special, out);
    return RG_OK;
}

static int pre_tokenize_section(const rg_tokenizer *tok, rg_encode_scratch *s, const char *text, size_t len,
                                int allow_special, rg_id_vec *out) {
    (void)allow_special;
    return rg_pretokenize_and_bpe(tok, s, 0, text, len, out);
}

/* True when NFC cannot change the text (the Unicode quick check, made
 * conservative): NFC changes text only around a code point that has a
 * decomposition, a non-zero combining class, or that composes with the one
 * before it (a "second": combining marks, some vowel signs, Hangul V and T
 * jamo). Code points below U+0300 (lead bytes below 0xCC) are none of these. */
static int nfc_stable(const unsigned char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        if (s[i] < 0xCC) {
            i++;
            continue;
        }
        uint32_t cp;
        i += decode_at(s, i, &cp);
        const utf8proc_property_t *p = utf8proc_get_property((utf8proc_int32_t)cp);
        if (p->combining_class != 0 || p->decomp_seqindex != UINT16_MAX ||
            (p->comb_index != UINT16_MAX && p->comb_index >= 0x8000) || (cp >= 0x1161 && cp <= 0x1175) ||
            (cp >= 0x11A8 && cp <= 0x11C2))
            return 0;
    }
    return 1;
}

static int normalize_section(const rg_tokenizer *tok, rg_encode_scratch *s, const char *text, size_t len,
                             int allow_special, rg_id_vec *out) {
    if (!tok->nfc || nfc_stable((const unsigned char *)text, len)) {
        if (tok->has_normalized_added)
            return split_added(tok, s, text, len, allow_special, 1, pre_tokenize_section, out);
        return rg_pretokenize_and_bpe(tok, s, 0, text, len, out);
    }
    utf8proc_uint8_t *nfc = NULL;
    utf8proc_ssize_t n =
        utf8proc_map((const utf8proc_uint8_t *)text, (utf8proc_ssize_t)len, &nfc, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (n < 0) return rg_error("NFC normalization failed: %s", utf8proc_errmsg(n));
    int rc = tok->has_normalized_added
                 ? split_added(tok, s, (const char *)nfc, (size_t)n, allow_special, 1, pre_tokenize_section, out)
                 : rg_pretokenize_and_bpe(tok, s, 0, (const char *)nfc, (size_t)n, out);
    free(nfc);
    return rc;
}

int rg_tokenizer_encode(const rg_tokenizer *tok, const char *text, size_t len, int allow_special, int32_t **ids,
                        int *n_ids) {
    *ids = NULL;
    *n_ids = 0;
    if (!text && len) return rg_error("tokenizer: encode given NULL text");
    size_t bad = utf8_invalid_at((const unsigned char *)text, len);
    if (bad < len)
        return rg_error("tokenizer: input is not valid UTF-8 (byte 0x%02X at offset %zu)", (unsigned char)text[bad],
                        bad);
    if (len > (size_t)INT32_MAX / 2) return rg_error("tokenizer: input of %zu bytes is too long", len);

    rg_tokenizer *mutable_tok = (rg_tokenizer *)tok; /* only its cache lock is touched */
    rg_encode_scratch scratch = {0};
    scratch.use_cache = pthread_mutex_trylock(&mutable_tok->cache_lock) == 0;
    rg_id_vec out = {0};
    int rc = split_added(tok, &scratch, text, len, allow_special, 0, normalize_section, &out);
    if (scratch.use_cache) pthread_mutex_unlock(&mutable_tok->cache_lock);
    rg_encode_scratch_free(&scratch);
    if (rc != RG_OK) {
        free(out.ids);
        return RG_ERR;
    }
    if (!out.ids) { /* empty text: still hand back a valid allocation */
        out.ids = rg_malloc(sizeof *out.ids);
        if (!out.ids) return RG_ERR;
    }
    *ids = out.ids;
    *n_ids = out.n;
    return RG_OK;
}
