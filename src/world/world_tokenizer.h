/* world_tokenizer.h — the world's byte-level BPE tokenizer, written as a real
 * Hugging Face tokenizer.json (Qwen2 layout) + tokenizer_config.json (ChatML).
 *
 * Merges are learnt on the world's own texts by greedy pair frequency, with
 * every learnt merge applied the way an encoder applies merges (lowest rank
 * first, leftmost on ties), until every pre-token ("chunk") of those texts is
 * one token. So on the world's language one chunk = one token, and any other
 * text still encodes through the 256 byte tokens. */
#ifndef RG_WORLD_TOKENIZER_H
#define RG_WORLD_TOKENIZER_H

#include <stddef.h>

#include "world/world_map.h"

/* The Qwen2 pre-tokenizer regex, as written in Qwen2.5's tokenizer.json. */
extern const char WORLD_PRETOKENIZER_REGEX[];
/* The special tokens, in id order after the learnt vocabulary. */
#define WORLD_N_SPECIAL 3
extern const char *const WORLD_SPECIAL_TOKENS[WORLD_N_SPECIAL];

/* Splits text the way the tokenizer does before BPE: special tokens first,
 * then the regex. */
typedef struct world_pretokenizer world_pretokenizer;
int world_pretokenizer_new(world_pretokenizer **out);
void world_pretokenizer_free(world_pretokenizer *p);
/* Calls on_chunk for every chunk (special tokens have is_special = 1). */
int world_pretokenize(world_pretokenizer *p, const char *text,
                      void (*on_chunk)(const char *chunk, size_t len, int is_special, void *ctx), void *ctx);
/* Number of chunks of a text (= its token count when it is the world's language). */
int world_count_chunks(world_pretokenizer *p, const char *text);

/* GPT-2's byte -> printable character mapping, as UTF-8 (up to 2 bytes + NUL). */
void world_byte_char(unsigned char byte, char out[3]);
/* A chunk's bytes in that mapping (malloc'd). */
char *world_byte_level(const char *chunk, size_t len);

typedef struct {
    char **tokens;    /* id -> token string (byte-level characters) */
    int n_tokens;     /* learnt vocabulary, without the special tokens */
    int (*merges)[2]; /* rank -> (left id, right id) */
    int *merge_result; /* rank -> the id the merge produces */
    int n_merges;
    struct world_pair_ranks *pair_ranks; /* (left, right) -> rank, for encoding */
} world_bpe;

/* Learns merges from chunk counts (keys: the chunks' raw bytes). */
int world_bpe_train(const world_map *chunk_counts, world_bpe *out);
void world_bpe_free(world_bpe *bpe);
/* Encodes one chunk (raw bytes) the way an encoder applies the merges;
 * ids must hold len entries; *n_ids receives the count. */
int world_bpe_encode_chunk(const world_bpe *bpe, const char *chunk, size_t len, int *ids, int *n_ids);

/* Writes dir/tokenizer.json and dir/tokenizer_config.json atomically. */
int world_tokenizer_write(const world_bpe *bpe, const char *dir);

#endif
