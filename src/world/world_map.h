/* world_map.h — a small string -> int hash map (open addressing), for the
 * tokenizer's vocabulary and chunk counts and for de-duplicating prompts. */
#ifndef RG_WORLD_MAP_H
#define RG_WORLD_MAP_H

#include <stddef.h>

typedef struct {
    char **keys; /* owned copies; NULL = empty slot */
    int *values;
    size_t cap, count;
} world_map;

/* The value stored for key, or NULL when absent. */
int *world_map_get(const world_map *m, const char *key);
/* Inserts key with value, or returns the existing slot; NULL on out of memory. */
int *world_map_put(world_map *m, const char *key, int value);
void world_map_free(world_map *m);

#endif
