/* regex.c — tokenizer.json patterns (written for Oniguruma, the engine of
 * the Rust tokenizers) compiled with PCRE2.
 *
 * The two engines agree on nearly all of the syntax these patterns use; the
 * differences that change results are rewritten here, the same way
 * @huggingface/tokenizers rewrites them for JavaScript:
 *   \s, \S  Oniguruma means the Unicode White_Space property; PCRE2's UCP \s
 *           also takes U+180E, so both become an explicit White_Space class.
 *   (?i:..) Oniguruma folds only ASCII letters here ('S ~ s); PCRE2 would also
 *           take U+017F (long s) and U+212A (Kelvin sign) for s and k. Letters
 *           in such a group become [sS]-style classes. A group that holds a
 *           bracket class keeps PCRE2's caseless matching.
 * Everything else passes through unchanged. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "tok/tok_internal.h"

/* The White_Space property (Unicode 15; stable since 6.3). */
static const char WHITE_SPACE[] =
    "\\t\\n\\x0B\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}";

typedef struct {
    char *buf;
    size_t len, cap;
} strbuf;

static int put(strbuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = rg_realloc(b->buf, cap);
        if (!p) return RG_ERR;
        b->buf = p;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
    return RG_OK;
}
static int puts_(strbuf *b, const char *s) { return put(b, s, strlen(s)); }

/* End (index of the closing ')') of the group opened at `open`, and whether a
 * bracket class occurs inside it. */
static size_t group_end(const char *p, size_t n, size_t open, int *has_class) {
    int depth = 0, in_class = 0;
    *has_class = 0;
    for (size_t i = open; i < n; i++) {
        char c = p[i];
        if (c == '\\') {
            i++;
            continue;
        }
        if (in_class) {
            if (c == ']') in_class = 0;
            continue;
        }
        if (c == '[') {
            in_class = 1;
            *has_class = 1;
            if (i + 1 < n && p[i + 1] == '^') i++;
            if (i + 1 < n && p[i + 1] == ']') i++; /* a leading ']' is literal */
        } else if (c == '(') {
            depth++;
        } else if (c == ')') {
            if (--depth == 0) return i;
        }
    }
    return n;
}

static int is_ascii_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* The rewrite described at the top of the file. */
static int translate(const char *p, const char *where, strbuf *out) {
    size_t n = strlen(p);
    int in_class = 0;
    size_t fold_until = 0; /* inside an ASCII-folded (?i: group while i < fold_until */
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\\' && i + 1 < n) {
            char e = p[i + 1];
            i++;
            if (e == 's') {
                if (in_class) {
                    if (puts_(out, WHITE_SPACE)) return RG_ERR;
                } else if (puts_(out, "[") || puts_(out, WHITE_SPACE) || puts_(out, "]")) {
                    return RG_ERR;
                }
            } else if (e == 'S') {
                if (in_class) return rg_error("%s: \\S inside a character class is not supported", where);
                if (puts_(out, "[^") || puts_(out, WHITE_SPACE) || puts_(out, "]")) return RG_ERR;
            } else if ((e == 'p' || e == 'P' || e == 'x') && i + 1 < n) {
                /* \p{L}, \pL, \x{41}: copied whole, so no letter of it is folded. */
                size_t end = i + 1;
                if (p[end] == '{') {
                    while (end < n && p[end] != '}') end++;
                } else if (e == 'x') {
                    end = i + 2 < n ? i + 2 : n - 1; /* \xHH */
                }
                if (end >= n) return rg_error("%s: unterminated \\%c escape in pattern", where, e);
                if (put(out, p + i - 1, end - i + 2)) return RG_ERR;
                i = end;
            } else if (put(out, p + i - 1, 2)) {
                return RG_ERR;
            }
            continue;
        }
        if (in_class) {
            if (c == ']') in_class = 0;
            if (put(out, &c, 1)) return RG_ERR;
            continue;
        }
        if (c == '[') {
            in_class = 1;
            if (put(out, &c, 1)) return RG_ERR;
            /* "[^]...]" and "[]...]": the first ']' is a literal. */
            if (i + 1 < n && p[i + 1] == '^') {
                if (put(out, "^", 1)) return RG_ERR;
                i++;
            }
            if (i + 1 < n && p[i + 1] == ']') {
                if (put(out, "]", 1)) return RG_ERR;
                i++;
            }
            continue;
        }
        if (c == '(' && strncmp(p + i, "(?i:", 4) == 0 && i >= fold_until) {
            int has_class;
            size_t end = group_end(p, n, i, &has_class);
            if (!has_class) {
                fold_until = end;
                if (puts_(out, "(?:")) return RG_ERR;
                i += 3;
                continue;
            }
        }
        if (i < fold_until && is_ascii_letter(c)) {
            char both[5] = {'[', (char)(c | 0x20), (char)(c & ~0x20), ']', 0};
            if (puts_(out, both)) return RG_ERR;
            continue;
        }
        if (put(out, &c, 1)) return RG_ERR;
    }
    if (in_class) return rg_error("%s: unterminated character class in pattern", where);
    return RG_OK;
}

int rg_regex_compile(const char *pattern, const char *where, pcre2_code **out, int *jit) {
    strbuf translated = {0};
    if (translate(pattern, where, &translated) != RG_OK) {
        free(translated.buf);
        return RG_ERR;
    }
    int errcode;
    PCRE2_SIZE erroffset;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)translated.buf, translated.len, PCRE2_UTF | PCRE2_UCP, &errcode,
                                   &erroffset, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(errcode, msg, sizeof msg);
        rg_error("%s: cannot compile pattern /%s/ (as /%s/): %s at offset %zu", where, pattern, translated.buf,
                 (const char *)msg, (size_t)erroffset);
        free(translated.buf);
        return RG_ERR;
    }
    free(translated.buf);
    /* JIT makes matching several times faster; without it PCRE2's
     * interpreter gives the same results. */
    *jit = pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) == 0;
    *out = re;
    return RG_OK;
}
