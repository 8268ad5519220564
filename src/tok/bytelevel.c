/* bytelevel.c — GPT-2's byte-level alphabet.
 *
 * Byte-level BPE vocabularies spell every byte as a printable character:
 * the bytes '!'..'~', 0xA1..0xAC and 0xAE..0xFF stand for themselves, the
 * other 68 bytes get U+0100, U+0101, ... in byte order (so ' ' is 'Ġ' U+0120,
 * '\n' is 'Ċ' U+010A). rgsd converts the vocabulary to raw bytes once at load
 * and runs BPE on bytes; these tables do the conversion both ways. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "tok/tok_internal.h"

static int stands_for_itself(int b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE); }

static uint16_t table[256];
static int16_t inverse[324]; /* code point -> byte, -1 when not in the alphabet */
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_tables(void) {
    int next = 256;
    for (int b = 0; b < 256; b++) table[b] = stands_for_itself(b) ? (uint16_t)b : (uint16_t)next++;
    for (int c = 0; c < 324; c++) inverse[c] = -1;
    for (int b = 0; b < 256; b++) inverse[table[b]] = (int16_t)b;
}

/* Decodes one UTF-8 code point (input already known to be valid UTF-8). */
static uint32_t next_code_point(const unsigned char *s, size_t len, size_t *i) {
    unsigned char c = s[*i];
    if (c < 0x80) {
        (*i)++;
        return c;
    }
    int n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if (*i + (size_t)n > len) {
        *i = len;
        return 0xFFFFFFFFu;
    }
    uint32_t cp = c & (0x7F >> n);
    for (int k = 1; k < n; k++) cp = (cp << 6) | (s[*i + k] & 0x3F);
    *i += (size_t)n;
    return cp;
}

long rg_bytelevel_to_bytes(const char *text, size_t len, unsigned char *out) {
    pthread_once(&table_once, build_tables);
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    long n = 0;
    while (i < len) {
        uint32_t cp = next_code_point(s, len, &i);
        if (cp >= 324 || inverse[cp] < 0) return -1;
        out[n++] = (unsigned char)inverse[cp];
    }
    return n;
}

char *rg_bytelevel_from_bytes(const unsigned char *bytes, size_t len) {
    pthread_once(&table_once, build_tables);
    char *out = rg_malloc(2 * len + 1);
    if (!out) return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        uint16_t cp = table[bytes[i]];
        if (cp < 0x80) {
            out[n++] = (char)cp;
        } else { /* every code point of the alphabet is below U+0800: two bytes */
            out[n++] = (char)(0xC0 | (cp >> 6));
            out[n++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    out[n] = '\0';
    return out;
}
