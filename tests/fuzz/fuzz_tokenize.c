/* fuzz_tokenize.c — encoding untrusted text (prompts and responses from
 * rubric data, model output) with the rubric world's tokenizer: UTF-8
 * validation, added/special tokens split out, NFC, the Split regex, the
 * byte-level mapping and BPE; then decoding.
 *
 * Properties: without allow_special no special id comes out; decoding the
 * ids gives the text back whenever the text is already NFC (the tokenizer
 * NFC-normalises, so other text comes back normalised). The first byte
 * picks allow_special. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "fuzz_util.h"
#include "tok/tokenizer.h"

static rg_tokenizer *tok;

int fuzz_init(void) { return rg_tokenizer_load(fuzz_world_tokenizer_dir(), &tok); }

static int is_nfc(const char *text, size_t len) {
    utf8proc_uint8_t *nfc = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)text, (utf8proc_ssize_t)len, &nfc,
                                      UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    int same = n >= 0 && (size_t)n == len && memcmp(nfc, text, len) == 0;
    free(nfc);
    return same;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    int allow_special = data[0] & 1;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    int32_t *ids = NULL;
    int n = 0;
    if (rg_tokenizer_encode(tok, text, len, allow_special, &ids, &n) == 0) {
        int vocab = rg_tokenizer_vocab_size(tok);
        for (int i = 0; i < n; i++) {
            fuzz_check(ids[i] >= 0 && ids[i] < vocab, "ids are inside the vocabulary");
            fuzz_check(allow_special || !rg_tokenizer_is_special(tok, ids[i]),
                       "no special id without allow_special");
        }
        char *back = NULL;
        size_t back_len = 0;
        fuzz_check(rg_tokenizer_decode(tok, ids, n, &back, &back_len) == 0, "encoded ids decode");
        if (memchr(text, 0, len) == NULL && is_nfc(text, len))
            fuzz_check(back_len == len && memcmp(back, text, len) == 0, "decode(encode(text)) == text for NFC text");
        free(back);
    }
    free(ids);
    return 0;
}
