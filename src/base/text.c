/* text.c — escaping for messages, UTF-8 repair for outputs; see text.h. */
#include "base/text.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <utf8proc.h>

#include "base/error.h"

/* The length of the valid UTF-8 character at s[0..n), or 0 when invalid
 * (utf8proc rejects overlongs, surrogates and code points past U+10FFFF). */
static size_t char_at(const char *s, size_t n, int32_t *cp) {
    utf8proc_int32_t c;
    utf8proc_ssize_t len = utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &c);
    if (len <= 0) return 0;
    *cp = c;
    return (size_t)len;
}

/* Code points that move the cursor, end a line or reorder text. */
static int is_unsafe(int32_t cp) {
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

char *rg_text_escape(char *dst, size_t cap, const char *src, size_t max) {
    size_t n = strnlen(src, max), in = 0, out = 0;
    const size_t room = cap - 4; /* keeps space for "..." and the NUL */
    while (in < n) {
        char piece[8];
        int32_t cp = 0;
        size_t len = char_at(src + in, n - in, &cp), width;
        if (!len) {
            width = (size_t)snprintf(piece, sizeof piece, "\\x%02x", (unsigned char)src[in]);
            len = 1;
        } else if (cp == '\n' || cp == '\r' || cp == '\t') {
            width = (size_t)snprintf(piece, sizeof piece, "\\%c", cp == '\n' ? 'n' : cp == '\r' ? 'r' : 't');
        } else if (cp < 0x80 && is_unsafe(cp)) {
            width = (size_t)snprintf(piece, sizeof piece, "\\x%02x", (unsigned)cp);
        } else if (is_unsafe(cp)) {
            width = (size_t)snprintf(piece, sizeof piece, "\\u%04x", (unsigned)cp);
        } else {
            memcpy(piece, src + in, len);
            width = len;
        }
        if (out + width > room) break;
        memcpy(dst + out, piece, width);
        out += width;
        in += len;
    }
    if (in < n || (n == max && src[n] != '\0' && max > 0)) {
        memcpy(dst + out, "...", 3);
        out += 3;
    }
    dst[out] = '\0';
    return dst;
}

long rg_utf8_invalid_at(const char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        int32_t cp;
        size_t len = char_at(s + i, n - i, &cp);
        if (!len) return (long)i;
        i += len;
    }
    return -1;
}

char *rg_utf8_repair(const char *s, size_t n) {
    /* each invalid byte becomes at most 3 bytes (U+FFFD) */
    char *out = rg_malloc(3 * n + 1);
    if (!out) return NULL;
    size_t i = 0, o = 0;
    while (i < n) {
        int32_t cp;
        size_t len = char_at(s + i, n - i, &cp);
        if (len && cp != 0) {
            memcpy(out + o, s + i, len);
            o += len;
            i += len;
        } else if (len) {
            i += len; /* NUL: a C string cannot hold it */
        } else {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    out[o] = '\0';
    return out;
}
