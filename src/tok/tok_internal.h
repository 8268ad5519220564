/* tok_internal.h — the tokenizer's insides, shared by the files of src/tok/.
 * Not a public header: callers use tokenizer.h. */
#ifndef RG_TOK_INTERNAL_H
#define RG_TOK_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "base/strmap.h"
#include "tok/tokenizer.h"

/* ---- byte-level alphabet (GPT-2's bytes_to_unicode) ---- */

/* Converts a byte-level string (UTF-8) to the raw bytes it stands for.
 * Returns the byte count, or -1 when a character is outside the alphabet.
 * `out` must hold at least strlen(text) bytes. */
long rg_bytelevel_to_bytes(const char *text, size_t len, unsigned char *out);
/* Raw bytes -> byte-level string (malloc'd, NUL-terminated). */
char *rg_bytelevel_from_bytes(const unsigned char *bytes, size_t len);

/* ---- added tokens ---- */

typedef struct {
    char *content;
    size_t len;
    int32_t id;
    uint8_t special, lstrip, rstrip, single_word, normalized;
} rg_added_token;

/* ---- pre-tokenizer ---- */

typedef enum { RG_PRE_SPLIT, RG_PRE_BYTELEVEL } rg_pre_kind;
typedef enum { RG_SPLIT_ISOLATED, RG_SPLIT_REMOVED } rg_split_behavior;

typedef struct {
    rg_pre_kind kind;
    pcre2_code *regex;         /* Split's pattern, or ByteLevel's GPT-2 pattern when use_regex */
    int jit;                   /* the regex was JIT-compiled */
    rg_split_behavior behavior;
    int invert;
    int add_prefix_space;      /* ByteLevel */
} rg_pre_step;

/* Translates a tokenizer.json (Oniguruma) pattern to PCRE2 syntax and
 * compiles it with UTF, UCP and JIT. `where` names the field for errors. */
int rg_regex_compile(const char *pattern, const char *where, pcre2_code **out, int *jit);

/* ---- BPE merges: (left id, right id) -> (rank, merged id) ---- */

typedef struct {
    uint64_t key; /* left << 32 | right; UINT64_MAX when empty */
    uint32_t rank;
    int32_t merged;
} rg_merge_slot;

typedef struct {
    rg_merge_slot *slots;
    size_t mask;
    size_t count;
} rg_merge_table;

int rg_merge_table_init(rg_merge_table *t, size_t expected);
void rg_merge_table_free(rg_merge_table *t);
/* Later entries for the same pair overwrite earlier ones, as in Hugging Face. */
int rg_merge_table_put(rg_merge_table *t, int32_t left, int32_t right, uint32_t rank, int32_t merged);

static inline uint64_t rg_merge_key(int32_t left, int32_t right) {
    return ((uint64_t)(uint32_t)left << 32) | (uint32_t)right;
}
static inline const rg_merge_slot *rg_merge_find(const rg_merge_table *t, int32_t left, int32_t right) {
    uint64_t key = rg_merge_key(left, right);
    size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & t->mask;
    for (;; i = (i + 1) & t->mask) {
        const rg_merge_slot *s = &t->slots[i];
        if (s->key == key) return s;
        if (s->key == UINT64_MAX) return NULL;
    }
}

/* ---- the tokenizer ---- */

struct rg_tokenizer {
    char *source; /* the path it was loaded from, for messages */

    /* Every id below vocab_size: its tokenizer.json text and its raw bytes
     * (for added tokens, the content itself), in two arenas; off = UINT32_MAX
     * for ids that exist nowhere. */
    int32_t vocab_size;
    uint32_t *text_off, *text_len;
    char *text_arena;
    uint32_t *bytes_off, *bytes_len;
    char *bytes_arena;
    rg_strmap text_to_id;  /* tokenizer.json text -> id (model vocab and added tokens) */
    rg_strmap bytes_to_id; /* raw bytes -> id, model vocab only (what BPE may produce) */
    int32_t byte_id[256];  /* the id of each single byte */

    rg_merge_table merges;
    int ignore_merges;

    int nfc; /* the normalizer is NFC (or a Sequence of NFCs) */

    rg_pre_step *pre_steps;
    int n_pre_steps;

    rg_added_token *added;
    int n_added;
    /* Added tokens that are matched in the raw text (normalized=false, or no
     * normalizer), grouped by first byte, longest first. */
    uint8_t added_first_byte[256];
    int has_normalized_added;

    int32_t bos_id, eos_id, pad_id;
    int32_t *eos_ids;
    int n_eos_ids;
    int adds_bos; /* post_processor puts bos first when add_special_tokens */
    char *chat_template;

    /* Pre-token -> BPE ids cache. One encoder at a time uses it (try-lock);
     * a concurrent encoder simply runs without it. */
    pthread_mutex_t cache_lock;
    rg_strmap cache;
    int32_t *cache_ids;
    size_t cache_ids_len, cache_ids_cap;
};

/* Growing id output. */
typedef struct {
    int32_t *ids;
    int n, cap;
} rg_id_vec;

static inline int rg_id_vec_push(rg_id_vec *v, int32_t id) {
    if (v->n == v->cap) {
        int cap = v->cap ? v->cap * 2 : 64;
        int32_t *ids = rg_realloc(v->ids, (size_t)cap * sizeof *ids);
        if (!ids) return -1;
        v->ids = ids;
        v->cap = cap;
    }
    v->ids[v->n++] = id;
    return 0;
}

/* Scratch memory of one encode call (no per-pre-token malloc). */
typedef struct {
    int32_t *sym;     /* symbol ids of the word being merged */
    int32_t *prev, *next;
    uint32_t *pair_rank;
    uint64_t *heap;
    size_t cap;
    int use_cache;
    pcre2_match_data *match;
    pcre2_jit_stack *jit_stack;
    pcre2_match_context *match_ctx;
} rg_encode_scratch;

void rg_encode_scratch_free(rg_encode_scratch *s);

/* BPE of one pre-token's raw bytes, ids appended to out. */
int rg_bpe_word(const rg_tokenizer *tok, rg_encode_scratch *s, const unsigned char *word, size_t len,
                rg_id_vec *out);
void rg_bpe_cache_free(rg_tokenizer *tok);

/* Pre-tokenizes `text` through the steps from `step` on and BPEs every piece. */
int rg_pretokenize_and_bpe(const rg_tokenizer *tok, rg_encode_scratch *s, int step, const char *text, size_t len,
                           rg_id_vec *out);

/* Loading helpers (tokenizer_load.c, tokenizer_config.c). */
struct cJSON;
/* Parses a JSON file; a syntax error names the file and line. */
int rg_json_read_file(const char *path, struct cJSON **out);
int rg_tokenizer_read_configs(rg_tokenizer *tok, const char *dir);

#endif
