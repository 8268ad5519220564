/* tag_table.h — tags interned to dense indices 0, 1, 2, ... in order of
 * first insertion, for per-tag score and statistics tables. The lookup is the
 * shared hash map (base/strmap.h); this adds only the index -> key list. */
#ifndef RG_TAG_TABLE_H
#define RG_TAG_TABLE_H

#include <stddef.h>

#include "base/strmap.h"

typedef struct {
    rg_strmap index;  /* key -> its dense index */
    char **keys;      /* keys[i] is the key with index i (owned) */
    size_t count;
} rg_tag_table;

/* The index of `key`, added when new (*added = 1). -1 on out of memory.
 * A zeroed table is ready to use. */
long rg_tag_table_intern(rg_tag_table *table, const char *key, int *added);
/* The index of `key`, or -1 when absent. */
long rg_tag_table_find(const rg_tag_table *table, const char *key);
void rg_tag_table_free(rg_tag_table *table);

#endif
