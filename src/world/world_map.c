/* world_map.c — FNV-1a hashing, linear probing, doubling at half full. */
#include "world/world_map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

static uint64_t hash_string(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

int *world_map_get(const world_map *m, const char *key) {
    if (!m->cap) return NULL;
    for (size_t i = hash_string(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i]) return NULL;
        if (strcmp(m->keys[i], key) == 0) return &m->values[i];
    }
}

static int grow(world_map *m) {
    size_t cap = m->cap ? m->cap * 2 : 256;
    char **keys = rg_calloc(cap, sizeof *keys);
    int *values = rg_calloc(cap, sizeof *values);
    if (!keys || !values) {
        free(keys);
        free(values);
        return RG_ERR;
    }
    for (size_t j = 0; j < m->cap; j++) {
        if (!m->keys[j]) continue;
        size_t i = hash_string(m->keys[j]) & (cap - 1);
        while (keys[i]) i = (i + 1) & (cap - 1);
        keys[i] = m->keys[j];
        values[i] = m->values[j];
    }
    free(m->keys);
    free(m->values);
    m->keys = keys;
    m->values = values;
    m->cap = cap;
    return RG_OK;
}

int *world_map_put(world_map *m, const char *key, int value) {
    int *found = world_map_get(m, key);
    if (found) return found;
    if ((m->count + 1) * 2 > m->cap && grow(m) != RG_OK) return NULL;
    size_t i = hash_string(key) & (m->cap - 1);
    while (m->keys[i]) i = (i + 1) & (m->cap - 1);
    m->keys[i] = rg_strdup(key);
    if (!m->keys[i]) return NULL;
    m->values[i] = value;
    m->count++;
    return &m->values[i];
}

void world_map_free(world_map *m) {
    for (size_t i = 0; i < m->cap; i++) free(m->keys[i]);
    free(m->keys);
    free(m->values);
    memset(m, 0, sizeof *m);
}
