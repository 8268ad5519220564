/* strmap.h — a small string → index map (open addressing, FNV-1a) for tag
 * tables: keys get dense indices 0, 1, 2, ... in order of first insertion. */
#ifndef RG_RUBRIC_STRMAP_H
#define RG_RUBRIC_STRMAP_H

/* The tok branch's base/strmap.h uses the same names: keep these apart. */
#define rg_strmap rg_tag_strmap
#define rg_strmap_intern rg_tag_strmap_intern
#define rg_strmap_find rg_tag_strmap_find
#define rg_strmap_free rg_tag_strmap_free

#include <stddef.h>

typedef struct {
    char **keys;      /* keys[i] is the key with index i (owned) */
    size_t count;
    size_t *slots;    /* hash slots holding index + 1 (0 = empty) */
    size_t nslots;    /* a power of two */
} rg_rubric_strmap;

/* The index of `key`, added when new (*added = 1). -1 on out of memory. */
long rg_rubric_strmap_intern(rg_rubric_strmap *map, const char *key, int *added);
/* The index of `key`, or -1 when absent. */
long rg_rubric_strmap_find(const rg_rubric_strmap *map, const char *key);
void rg_rubric_strmap_free(rg_rubric_strmap *map);

#endif
