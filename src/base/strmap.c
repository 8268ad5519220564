/* strmap.c — open-addressing string map (see strmap.h). */
#include "base/strmap.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

#define EMPTY_SLOT UINT32_MAX

static inline uint64_t read64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* memcmp == 0, inlined for the short keys that dominate (a full 64-bit hash
 * already matched, so this nearly always succeeds). */
static inline int same_bytes(const char *a, const void *b, size_t len) {
    if (len <= 8) {
        const unsigned char *x = (const unsigned char *)a, *y = b;
        for (size_t i = 0; i < len; i++)
            if (x[i] != y[i]) return 0;
        return 1;
    }
    return memcmp(a, b, len) == 0;
}

static inline uint64_t mix(uint64_t a, uint64_t b) {
    /* 64x64 -> 128 multiply, fold the halves (the wyhash mixer). */
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

uint64_t rg_hash_bytes(const void *data, size_t len) {
    const unsigned char *p = data;
    const uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull, k2 = 0x8ebc6af09c88c6e3ull;
    uint64_t h = k0 ^ (len * k1);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) h = mix(h ^ read64(p + i), k1);
    uint64_t tail = 0;
    for (size_t j = 0; i + j < len; j++) tail |= (uint64_t)p[i + j] << (8 * j);
    h = mix(h ^ tail, k2);
    return mix(h, k1 ^ len);
}

static size_t capacity_for(size_t expected) {
    size_t cap = 16;
    while (cap < expected * 2 + 2) cap <<= 1; /* load factor <= 0.5: short probes on misses */
    return cap;
}

int rg_strmap_init(rg_strmap *m, size_t expected) {
    memset(m, 0, sizeof *m);
    m->capacity = capacity_for(expected);
    m->slots = rg_malloc(m->capacity * sizeof *m->slots);
    if (!m->slots) return RG_ERR;
    for (size_t i = 0; i < m->capacity; i++) m->slots[i].key_off = EMPTY_SLOT;
    return RG_OK;
}

void rg_strmap_free(rg_strmap *m) {
    if (!m) return;
    free(m->slots);
    free(m->arena);
    memset(m, 0, sizeof *m);
}

void rg_strmap_clear(rg_strmap *m) {
    for (size_t i = 0; i < m->capacity; i++) m->slots[i].key_off = EMPTY_SLOT;
    m->count = 0;
    m->arena_len = 0;
}

size_t rg_strmap_memory(const rg_strmap *m) { return m->capacity * sizeof *m->slots + m->arena_cap; }

int rg_strmap_get_hashed(const rg_strmap *m, const void *key, size_t len, uint64_t hash, uint64_t *value) {
    size_t mask = m->capacity - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        const rg_strmap_slot *s = &m->slots[i];
        if (s->key_off == EMPTY_SLOT) return 0;
        if (s->hash == hash && s->key_len == len && same_bytes(m->arena + s->key_off, key, len)) {
            *value = s->value;
            return 1;
        }
    }
}

int rg_strmap_get(const rg_strmap *m, const void *key, size_t len, uint64_t *value) {
    return rg_strmap_get_hashed(m, key, len, rg_hash_bytes(key, len), value);
}

static int grow(rg_strmap *m) {
    size_t new_cap = m->capacity * 2;
    rg_strmap_slot *slots = rg_malloc(new_cap * sizeof *slots);
    if (!slots) return RG_ERR;
    for (size_t i = 0; i < new_cap; i++) slots[i].key_off = EMPTY_SLOT;
    for (size_t i = 0; i < m->capacity; i++) {
        if (m->slots[i].key_off == EMPTY_SLOT) continue;
        size_t j = m->slots[i].hash & (new_cap - 1);
        while (slots[j].key_off != EMPTY_SLOT) j = (j + 1) & (new_cap - 1);
        slots[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->capacity = new_cap;
    return RG_OK;
}

int rg_strmap_put_hashed(rg_strmap *m, const void *key, size_t len, uint64_t hash, uint64_t value) {
    if ((m->count + 1) * 2 > m->capacity && grow(m) != RG_OK) return RG_ERR;
    size_t mask = m->capacity - 1;
    size_t i = hash & mask;
    for (;; i = (i + 1) & mask) {
        rg_strmap_slot *s = &m->slots[i];
        if (s->key_off == EMPTY_SLOT) break;
        if (s->hash == hash && s->key_len == len && memcmp(m->arena + s->key_off, key, len) == 0) {
            s->value = value;
            return RG_OK;
        }
    }
    if (len >= EMPTY_SLOT || m->arena_len + len >= EMPTY_SLOT) return rg_error("strmap: keys exceed 4 GiB");
    if (m->arena_len + len > m->arena_cap) {
        size_t cap = m->arena_cap ? m->arena_cap : 4096;
        while (cap < m->arena_len + len) cap *= 2;
        char *arena = rg_realloc(m->arena, cap);
        if (!arena) return RG_ERR;
        m->arena = arena;
        m->arena_cap = cap;
    }
    if (len) memcpy(m->arena + m->arena_len, key, len);
    m->slots[i] = (rg_strmap_slot){.hash = hash, .value = value, .key_off = (uint32_t)m->arena_len, .key_len = (uint32_t)len};
    m->arena_len += len;
    m->count++;
    return RG_OK;
}

int rg_strmap_put(rg_strmap *m, const void *key, size_t len, uint64_t value) {
    return rg_strmap_put_hashed(m, key, len, rg_hash_bytes(key, len), value);
}
