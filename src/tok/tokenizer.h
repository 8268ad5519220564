/* tokenizer.h — byte-level BPE from a Hugging Face tokenizer.json
 * (Qwen2.5 / Qwen3 / Llama 3 family), exact to the reference implementation.
 *
 * Supported: model BPE (merges as "a b" strings or [a, b] pairs,
 * ignore_merges), normalizer null / NFC / Sequence of NFC, pre_tokenizer
 * Split (Isolated or Removed, invert) and ByteLevel (add_prefix_space,
 * use_regex) alone or in a Sequence, decoder ByteLevel, added tokens with
 * their special/lstrip/rstrip/single_word/normalized flags. Anything else
 * (Unigram, WordPiece, byte_fallback, other normalizers...) is refused at
 * load with a message naming the field. docs/tokenizer.md has the details.
 *
 * A loaded tokenizer may be used from several threads at once (the BPE
 * cache is taken by one encoder at a time; the others run without it).
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
 * text ("<|im_start|>") become their ids (what Hugging Face's encode does);
 * without, special added tokens are encoded as plain text, while non-special
 * added tokens (Qwen's <think>) are still matched (Hugging Face's
 * split_special_tokens=True). No BOS/EOS is added (add_special_tokens=False).
 * Invalid UTF-8 is an error naming the offset. *ids is malloc'd (also when
 * *n_ids is 0). */
int rg_tokenizer_encode(const rg_tokenizer *tok, const char *text, size_t len, int allow_special, int32_t **ids,
                        int *n_ids);
/* Decodes ids to the exact bytes; *text is malloc'd and NUL-terminated.
 * The bytes are those encoded: a slice of ids that cuts a character in two
 * decodes to a partial UTF-8 sequence (no U+FFFD substitution). An unknown id
 * is an error. `len` may be NULL. */
int rg_tokenizer_decode(const rg_tokenizer *tok, const int32_t *ids, int n_ids, char **text, size_t *len);
/* The raw bytes one id stands for (not NUL-terminated), for streaming
 * decode; NULL if the id is absent. */
const char *rg_tokenizer_token_bytes(const rg_tokenizer *tok, int32_t id, size_t *len);
/* 1 when the id is an added token flagged special (<|im_end|>, <|eot_id|>). */
int rg_tokenizer_is_special(const rg_tokenizer *tok, int32_t id);

int rg_tokenizer_vocab_size(const rg_tokenizer *tok);  /* largest id + 1, added tokens included */
/* Token strings as tokenizer.json spells them ("Ġthe" for " the"; added
 * tokens as their content). */
int32_t rg_tokenizer_token_id(const rg_tokenizer *tok, const char *token); /* -1 if absent */
const char *rg_tokenizer_token_text(const rg_tokenizer *tok, int32_t id); /* NULL if absent */

/* From tokenizer_config.json (bos_token, eos_token, pad_token), else
 * generation_config.json (bos_token_id, eos_token_id, pad_token_id); -1 when
 * not set. With a tokenizer.json file instead of a folder, all are -1. */
int32_t rg_tokenizer_bos_id(const rg_tokenizer *tok);
int32_t rg_tokenizer_eos_id(const rg_tokenizer *tok);
int32_t rg_tokenizer_pad_id(const rg_tokenizer *tok);
/* Every id that ends generation: eos_id first, then generation_config.json's
 * eos_token_id (an int or a list), without repeats. Returns the count. */
int rg_tokenizer_eos_ids(const rg_tokenizer *tok, const int32_t **ids);
/* 1 when the post_processor puts bos_id first for add_special_tokens=True
 * (Llama 3); the caller prepends it when it wants that. */
int rg_tokenizer_adds_bos(const rg_tokenizer *tok);
/* The chat_template string of tokenizer_config.json, or NULL. */
const char *rg_tokenizer_chat_template(const rg_tokenizer *tok);

#endif
