/* bpe.c — byte-pair merging of one pre-token, on raw bytes and token ids.
 *
 * The word starts as one symbol per byte (the id of that byte's token);
 * then, while some adjacent pair has a merge, the pair with the lowest rank
 * is merged, the leftmost one on a tie — exactly the order of Hugging Face's
 * BPE (its priority queue is keyed by (rank, position)). Short words use a
 * plain scan over a rank array; long ones a binary heap over (rank, position),
 * which gives the same merges in O(n log n).
 *
 * Results are cached per pre-token (raw bytes -> ids): text repeats words,
 * and a cache hit is one hash lookup instead of a BPE run. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "tok/tok_internal.h"

#define NO_MERGE UINT32_MAX
#define SHORT_WORD 64            /* up to this many bytes: the plain scan */
#define CACHE_MAX_WORD 256       /* longer pre-tokens are not cached (as in tokenizers.js) */
#define CACHE_MAX_ENTRIES (1u << 18)

/* ---- merge table ---- */

int rg_merge_table_init(rg_merge_table *t, size_t expected) {
    size_t cap = 1024;
    while (cap < expected * 2) cap <<= 1; /* load factor <= 0.5 */
    t->slots = rg_malloc(cap * sizeof *t->slots);
    if (!t->slots) return RG_ERR;
    for (size_t i = 0; i < cap; i++) t->slots[i].key = UINT64_MAX;
    t->mask = cap - 1;
    t->count = 0;
    return RG_OK;
}

void rg_merge_table_free(rg_merge_table *t) {
    free(t->slots);
    memset(t, 0, sizeof *t);
}

int rg_merge_table_put(rg_merge_table *t, int32_t left, int32_t right, uint32_t rank, int32_t merged) {
    if ((t->count + 1) * 2 > t->mask + 1) return rg_error("merge table full (internal sizing error)");
    uint64_t key = rg_merge_key(left, right);
    size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & t->mask;
    for (;; i = (i + 1) & t->mask) {
        rg_merge_slot *s = &t->slots[i];
        if (s->key == key || s->key == UINT64_MAX) {
            if (s->key == UINT64_MAX) t->count++;
            *s = (rg_merge_slot){.key = key, .rank = rank, .merged = merged};
            return RG_OK;
        }
    }
}

static inline uint32_t pair_rank(const rg_tokenizer *tok, int32_t left, int32_t right, int32_t *merged) {
    const rg_merge_slot *s = rg_merge_find(&tok->merges, left, right);
    if (!s) return NO_MERGE;
    *merged = s->merged;
    return s->rank;
}

/* ---- scratch ---- */

static int reserve(rg_encode_scratch *s, size_t n) {
    if (n <= s->cap) return RG_OK;
    size_t cap = s->cap ? s->cap : 256;
    while (cap < n) cap *= 2;
    int32_t *sym = rg_realloc(s->sym, cap * sizeof *sym);
    if (sym) s->sym = sym;
    int32_t *prev = rg_realloc(s->prev, cap * sizeof *prev);
    if (prev) s->prev = prev;
    int32_t *next = rg_realloc(s->next, cap * sizeof *next);
    if (next) s->next = next;
    uint32_t *rank = rg_realloc(s->pair_rank, cap * sizeof *rank);
    if (rank) s->pair_rank = rank;
    uint64_t *heap = rg_realloc(s->heap, 2 * cap * sizeof *heap);
    if (heap) s->heap = heap;
    if (!sym || !prev || !next || !rank || !heap) return RG_ERR;
    s->cap = cap;
    return RG_OK;
}

void rg_encode_scratch_free(rg_encode_scratch *s) {
    free(s->sym);
    free(s->prev);
    free(s->next);
    free(s->pair_rank);
    free(s->heap);
    if (s->match) pcre2_match_data_free(s->match);
    if (s->match_ctx) pcre2_match_context_free(s->match_ctx);
    if (s->jit_stack) pcre2_jit_stack_free(s->jit_stack);
    memset(s, 0, sizeof *s);
}

/* ---- the two merge loops; both leave the symbols in s->sym[0..return) ---- */

static int merge_short(const rg_tokenizer *tok, rg_encode_scratch *s, int n) {
    int32_t *sym = s->sym;
    uint32_t *rank = s->pair_rank; /* rank[i]: merge of sym[i], sym[i+1] */
    int32_t merged_id[SHORT_WORD];
    for (int i = 0; i + 1 < n; i++) rank[i] = pair_rank(tok, sym[i], sym[i + 1], &merged_id[i]);
    while (n > 1) {
        int best = -1;
        uint32_t best_rank = NO_MERGE;
        for (int i = 0; i + 1 < n; i++)
            if (rank[i] < best_rank) {
                best_rank = rank[i];
                best = i;
            }
        if (best < 0) break;
        sym[best] = merged_id[best];
        /* Remove symbol best+1 and the pair that started there. */
        memmove(sym + best + 1, sym + best + 2, (size_t)(n - best - 2) * sizeof *sym);
        memmove(rank + best + 1, rank + best + 2, (size_t)(n > best + 2 ? n - best - 3 : 0) * sizeof *rank);
        memmove(merged_id + best + 1, merged_id + best + 2,
                (size_t)(n > best + 2 ? n - best - 3 : 0) * sizeof *merged_id);
        n--;
        if (best > 0) rank[best - 1] = pair_rank(tok, sym[best - 1], sym[best], &merged_id[best - 1]);
        if (best + 1 < n) rank[best] = pair_rank(tok, sym[best], sym[best + 1], &merged_id[best]);
    }
    return n;
}

/* Min-heap of (rank << 32 | position). */
static void heap_push(uint64_t *heap, int *size, uint64_t v) {
    int i = (*size)++;
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (heap[parent] <= v) break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = v;
}

static uint64_t heap_pop(uint64_t *heap, int *size) {
    uint64_t top = heap[0], last = heap[--(*size)];
    int i = 0, n = *size;
    for (;;) {
        int child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && heap[child + 1] < heap[child]) child++;
        if (heap[child] >= last) break;
        heap[i] = heap[child];
        i = child;
    }
    if (n > 0) heap[i] = last;
    return top;
}

static int merge_long(const rg_tokenizer *tok, rg_encode_scratch *s, int n) {
    int32_t *sym = s->sym, *prev = s->prev, *next = s->next;
    uint64_t *heap = s->heap;
    int heap_size = 0;
    int32_t merged;
    for (int i = 0; i < n; i++) {
        prev[i] = i - 1;
        next[i] = i + 1 < n ? i + 1 : -1;
    }
    for (int i = 0; i + 1 < n; i++) {
        uint32_t r = pair_rank(tok, sym[i], sym[i + 1], &merged);
        if (r != NO_MERGE) heap_push(heap, &heap_size, (uint64_t)r << 32 | (uint32_t)i);
    }
    while (heap_size > 0) {
        uint64_t top = heap_pop(heap, &heap_size);
        uint32_t r = (uint32_t)(top >> 32);
        int i = (int)(uint32_t)top;
        int j = next[i];
        /* Stale entry: the symbol was absorbed, or its pair is no longer this merge. */
        if (sym[i] < 0 || j < 0 || pair_rank(tok, sym[i], sym[j], &merged) != r) continue;
        sym[i] = merged;
        sym[j] = -1;
        next[i] = next[j];
        if (next[j] >= 0) prev[next[j]] = i;
        int32_t m;
        if (prev[i] >= 0) {
            uint32_t pr = pair_rank(tok, sym[prev[i]], sym[i], &m);
            if (pr != NO_MERGE) heap_push(heap, &heap_size, (uint64_t)pr << 32 | (uint32_t)prev[i]);
        }
        if (next[i] >= 0) {
            uint32_t nr = pair_rank(tok, sym[i], sym[next[i]], &m);
            if (nr != NO_MERGE) heap_push(heap, &heap_size, (uint64_t)nr << 32 | (uint32_t)i);
        }
    }
    int count = 0;
    for (int i = 0; i >= 0; i = next[i]) sym[count++] = sym[i];
    return count;
}

/* ---- cache ---- */

static int cache_put(rg_tokenizer *tok, const unsigned char *word, size_t len, uint64_t hash, const int32_t *ids,
                     int n) {
    if (tok->cache.count >= CACHE_MAX_ENTRIES) { /* full: start over rather than grow without bound */
        rg_strmap_clear(&tok->cache);
        tok->cache_ids_len = 0;
    }
    if (tok->cache_ids_len + (size_t)n > tok->cache_ids_cap) {
        size_t cap = tok->cache_ids_cap ? tok->cache_ids_cap * 2 : 1 << 16;
        while (cap < tok->cache_ids_len + (size_t)n) cap *= 2;
        int32_t *ids_arena = rg_realloc(tok->cache_ids, cap * sizeof *ids_arena);
        if (!ids_arena) return RG_ERR;
        tok->cache_ids = ids_arena;
        tok->cache_ids_cap = cap;
    }
    memcpy(tok->cache_ids + tok->cache_ids_len, ids, (size_t)n * sizeof *ids);
    uint64_t value = (uint64_t)tok->cache_ids_len << 16 | (uint64_t)n;
    tok->cache_ids_len += (size_t)n;
    return rg_strmap_put_hashed(&tok->cache, word, len, hash, value);
}

void rg_bpe_cache_free(rg_tokenizer *tok) {
    rg_strmap_free(&tok->cache);
    free(tok->cache_ids);
    tok->cache_ids = NULL;
    tok->cache_ids_len = tok->cache_ids_cap = 0;
}

/* ---- one word ---- */

int rg_bpe_word(const rg_tokenizer *tok, rg_encode_scratch *s, const unsigned char *word, size_t len,
                rg_id_vec *out) {
    uint64_t value;
    if (len == 1) return rg_id_vec_push(out, tok->byte_id[word[0]]);
    int cacheable = s->use_cache && len <= CACHE_MAX_WORD;
    /* One hash serves both maps (they hash alike). The cache comes first: it
     * is small and hot, the vocabulary large and cold. */
    uint64_t hash = rg_hash_bytes(word, len);
    if (cacheable && rg_strmap_get_hashed(&tok->cache, word, len, hash, &value)) {
        const int32_t *ids = tok->cache_ids + (value >> 16);
        int n = (int)(value & 0xFFFF);
        for (int i = 0; i < n; i++)
            if (rg_id_vec_push(out, ids[i])) return RG_ERR;
        return RG_OK;
    }
    int n;
    if (len > (size_t)INT32_MAX / 2) return rg_error("pre-token of %zu bytes is too long", len);
    if (reserve(s, len) != RG_OK) return RG_ERR;
    if (tok->ignore_merges && rg_strmap_get_hashed(&tok->bytes_to_id, word, len, hash, &value)) {
        /* Llama 3 sets ignore_merges: a pre-token that is itself a token is taken whole. */
        s->sym[0] = (int32_t)value;
        n = 1;
    } else {
        for (size_t i = 0; i < len; i++) s->sym[i] = tok->byte_id[word[i]];
        n = len <= SHORT_WORD ? merge_short(tok, s, (int)len) : merge_long(tok, s, (int)len);
    }
    for (int i = 0; i < n; i++)
        if (rg_id_vec_push(out, s->sym[i])) return RG_ERR;
    /* The cache is the one mutable part of a loaded tokenizer; the caller
     * holds its lock whenever use_cache is set. */
    if (cacheable) return cache_put((rg_tokenizer *)tok, word, len, hash, s->sym, n);
    return RG_OK;
}
