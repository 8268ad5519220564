/* strmap.h — a hash map from byte strings to 64-bit values.
 *
 * Open addressing with linear probing (load factor at most 1/2); keys are copied into one growing
 * arena (no per-key malloc), slots keep the full 64-bit hash so a probe
 * compares bytes only on a hash hit. Keys are arbitrary bytes (NULs allowed),
 * at most 4 GiB in total. Not thread-safe for writers; any number of readers
 * may call rg_strmap_get at once while nobody writes.
 *
 *   rg_strmap m; rg_strmap_init(&m, 1000);
 *   rg_strmap_put(&m, "hello", 5, 42);
 *   uint64_t v; if (rg_strmap_get(&m, "hello", 5, &v)) ...
 *   rg_strmap_free(&m);
 */
#ifndef RG_STRMAP_H
#define RG_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t hash;     /* full hash of the key */
    uint64_t value;
    uint32_t key_off;  /* offset of the key bytes in the arena; UINT32_MAX = empty slot */
    uint32_t key_len;
} rg_strmap_slot;

typedef struct {
    rg_strmap_slot *slots;
    size_t capacity; /* power of two */
    size_t count;
    char *arena;     /* key bytes, back to back */
    size_t arena_len, arena_cap;
} rg_strmap;

/* A fast, well-mixed 64-bit hash of `len` bytes (not cryptographic). */
uint64_t rg_hash_bytes(const void *data, size_t len);

/* Sizes the table for about `expected` keys without growing. */
int rg_strmap_init(rg_strmap *m, size_t expected);
void rg_strmap_free(rg_strmap *m);
/* Removes every key, keeping the memory for reuse. */
void rg_strmap_clear(rg_strmap *m);
/* Inserts or overwrites. Copies the key. */
int rg_strmap_put(rg_strmap *m, const void *key, size_t len, uint64_t value);
/* 1 and *value set when present, else 0. */
int rg_strmap_get(const rg_strmap *m, const void *key, size_t len, uint64_t *value);
/* Same, with the hash already computed by rg_hash_bytes (saves hashing twice). */
int rg_strmap_get_hashed(const rg_strmap *m, const void *key, size_t len, uint64_t hash, uint64_t *value);
int rg_strmap_put_hashed(rg_strmap *m, const void *key, size_t len, uint64_t hash, uint64_t value);
/* Bytes held by the table and the arena (for cache budgets). */
size_t rg_strmap_memory(const rg_strmap *m);

#endif
