/* tokenizer.h — byte-level BPE from a Hugging Face tokenizer.json
 * (Qwen2.5 / Qwen3 / Llama 3 family), exact to the reference implementation.
 *
 * Contract (implementation in src/tok/):
 *   encode = added/special tokens split out first, NFC normalizer when the
 *   file has one, Split pre-tokenizer regex (PCRE2, Unicode), ByteLevel byte
 *   mapping, BPE merges by rank (ignore_merges honoured), ids;
 *   decode = exact bytes back (special tokens as their text). */
#ifndef RG_TOKENIZER_H
#define RG_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

typedef struct rg_tokenizer rg_tokenizer;

/* `path` is a model folder (reads tokenizer.json and tokenizer_config.json)
 * or a tokenizer.json file. */
int rg_tokenizer_load(const char *path, rg_tokenizer **out);
void rg_tokenizer_free(rg_tokenizer *tok);

/* Encodes UTF-8 text. With allow_special, added tokens written inline in the
 * text ("<|im_start|>") become their ids; without, they are encoded as plain
 * text. *ids is malloc'd. */
int rg_tokenizer_encode(const rg_tokenizer *tok, const char *text, size_t len, int allow_special, int32_t **ids,
                        int *n_ids);
/* Decodes ids to the exact bytes; *text is malloc'd and NUL-terminated. */
int rg_tokenizer_decode(const rg_tokenizer *tok, const int32_t *ids, int n_ids, char **text, size_t *len);

int rg_tokenizer_vocab_size(const rg_tokenizer *tok);  /* largest id + 1, added tokens included */
int32_t rg_tokenizer_token_id(const rg_tokenizer *tok, const char *token); /* -1 if absent */
const char *rg_tokenizer_token_text(const rg_tokenizer *tok, int32_t id); /* NULL if absent */

/* From tokenizer_config.json / generation_config.json; -1 when not set. */
int32_t rg_tokenizer_bos_id(const rg_tokenizer *tok);
int32_t rg_tokenizer_eos_id(const rg_tokenizer *tok);
int32_t rg_tokenizer_pad_id(const rg_tokenizer *tok);
/* The chat_template string of tokenizer_config.json, or NULL. */
const char *rg_tokenizer_chat_template(const rg_tokenizer *tok);

#endif
