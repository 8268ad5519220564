/* decode.c — ids back to bytes, and the small lookups of tokenizer.h. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "tok/tok_internal.h"

#define ABSENT UINT32_MAX

int rg_tokenizer_decode(const rg_tokenizer *tok, const int32_t *ids, int n_ids, char **text, size_t *len) {
    *text = NULL;
    if (len) *len = 0;
    size_t total = 0;
    for (int i = 0; i < n_ids; i++) {
        if (ids[i] < 0 || ids[i] >= tok->vocab_size || tok->bytes_off[ids[i]] == ABSENT)
            return rg_error("tokenizer: cannot decode id %d (position %d): not in the vocabulary of %d ids", ids[i],
                            i, tok->vocab_size);
        total += tok->bytes_len[ids[i]];
    }
    char *out = rg_malloc(total + 1);
    if (!out) return RG_ERR;
    size_t n = 0;
    for (int i = 0; i < n_ids; i++) {
        memcpy(out + n, tok->bytes_arena + tok->bytes_off[ids[i]], tok->bytes_len[ids[i]]);
        n += tok->bytes_len[ids[i]];
    }
    out[n] = '\0';
    *text = out;
    if (len) *len = n;
    return RG_OK;
}

const char *rg_tokenizer_token_bytes(const rg_tokenizer *tok, int32_t id, size_t *len) {
    if (id < 0 || id >= tok->vocab_size || tok->bytes_off[id] == ABSENT) return NULL;
    *len = tok->bytes_len[id];
    return tok->bytes_arena + tok->bytes_off[id];
}

int rg_tokenizer_vocab_size(const rg_tokenizer *tok) { return tok->vocab_size; }

int32_t rg_tokenizer_token_id(const rg_tokenizer *tok, const char *token) {
    uint64_t id;
    return rg_strmap_get(&tok->text_to_id, token, strlen(token), &id) ? (int32_t)id : -1;
}

const char *rg_tokenizer_token_text(const rg_tokenizer *tok, int32_t id) {
    if (id < 0 || id >= tok->vocab_size || tok->text_off[id] == ABSENT) return NULL;
    return tok->text_arena + tok->text_off[id];
}

int rg_tokenizer_is_special(const rg_tokenizer *tok, int32_t id) {
    for (int i = 0; i < tok->n_added; i++)
        if (tok->added[i].id == id) return tok->added[i].special;
    return 0;
}

int32_t rg_tokenizer_bos_id(const rg_tokenizer *tok) { return tok->bos_id; }
int32_t rg_tokenizer_eos_id(const rg_tokenizer *tok) { return tok->eos_id; }
int32_t rg_tokenizer_pad_id(const rg_tokenizer *tok) { return tok->pad_id; }
int rg_tokenizer_adds_bos(const rg_tokenizer *tok) { return tok->adds_bos; }

int rg_tokenizer_eos_ids(const rg_tokenizer *tok, const int32_t **ids) {
    *ids = tok->eos_ids;
    return tok->n_eos_ids;
}

const char *rg_tokenizer_chat_template(const rg_tokenizer *tok) { return tok->chat_template; }
