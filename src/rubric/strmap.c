/* strmap.c — string → dense index map (see strmap.h). */
#include "rubric/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

static uint64_t fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static size_t slot_of(const rg_strmap *map, const char *key) {
    size_t mask = map->nslots - 1, i = (size_t)fnv1a(key) & mask;
    while (map->slots[i] && strcmp(map->keys[map->slots[i] - 1], key) != 0) i = (i + 1) & mask;
    return i;
}

long rg_strmap_find(const rg_strmap *map, const char *key) {
    if (map->nslots == 0) return -1;
    size_t s = map->slots[slot_of(map, key)];
    return s ? (long)(s - 1) : -1;
}

/* Keeps the table at most half full. */
static int grow(rg_strmap *map) {
    size_t nslots = map->nslots ? 2 * map->nslots : 64;
    size_t *slots = rg_calloc(nslots, sizeof *slots);
    if (!slots) return RG_ERR;
    free(map->slots);
    map->slots = slots;
    map->nslots = nslots;
    for (size_t k = 0; k < map->count; k++) map->slots[slot_of(map, map->keys[k])] = k + 1;
    return RG_OK;
}

long rg_strmap_intern(rg_strmap *map, const char *key, int *added) {
    if (added) *added = 0;
    long found = rg_strmap_find(map, key);
    if (found >= 0) return found;
    if (2 * (map->count + 1) > map->nslots && grow(map)) return -1;
    char **keys = rg_realloc(map->keys, (map->count + 1) * sizeof *keys);
    if (!keys) return -1;
    map->keys = keys;
    char *copy = rg_strdup(key);
    if (!copy) return -1;
    map->keys[map->count] = copy;
    map->slots[slot_of(map, key)] = map->count + 1;
    if (added) *added = 1;
    return (long)map->count++;
}

void rg_strmap_free(rg_strmap *map) {
    for (size_t i = 0; i < map->count; i++) free(map->keys[i]);
    free(map->keys);
    free(map->slots);
    memset(map, 0, sizeof *map);
}
