/* fuzz_tokenizer.c — rg_tokenizer_load on an arbitrary tokenizer.json:
 * vocabulary, merges (both spellings), added tokens and their flags,
 * normalizer, pre-tokenizer Split regex (compiled by PCRE2), decoder,
 * post-processor. A tokenizer that loads must then encode and decode a
 * fixed text (special tokens written inline included) without crashing. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tok/tokenizer.h"

static const char sample[] = "<|im_start|>user\nHello, world! 123 ÄÖü 中文 🙂\t\r\n  x's<|im_end|>\n<think>ok</think>";

static void exercise(const rg_tokenizer *tok) {
    for (int special = 0; special <= 1; special++) {
        int32_t *ids = NULL;
        int n = 0;
        if (rg_tokenizer_encode(tok, sample, sizeof sample - 1, special, &ids, &n) == 0) {
            char *text = NULL;
            if (rg_tokenizer_decode(tok, ids, n, &text, NULL) == 0) free(text);
            for (int i = 0; i < n; i++) {
                size_t len;
                rg_tokenizer_token_bytes(tok, ids[i], &len);
                rg_tokenizer_token_text(tok, ids[i]);
            }
        }
        free(ids);
    }
    int vocab = rg_tokenizer_vocab_size(tok);
    /* Lookups at the edges of the id range, and an id past it. */
    int32_t probe[] = {0, vocab / 2, vocab - 1, vocab};
    for (size_t i = 0; i < sizeof probe / sizeof *probe; i++) {
        size_t len;
        rg_tokenizer_token_bytes(tok, probe[i], &len);
        const char *t = rg_tokenizer_token_text(tok, probe[i]);
        if (t) fuzz_check(rg_tokenizer_token_id(tok, t) >= 0, "a token's text maps back to an id");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rg_tokenizer *tok;
    if (rg_tokenizer_load(fuzz_put("tokenizer.json", data, size), &tok) != 0) return 0;
    exercise(tok);
    rg_tokenizer_free(tok);
    return 0;
}
