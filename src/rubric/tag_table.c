/* tag_table.c — tags to dense indices (see tag_table.h). */
#include "rubric/tag_table.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

long rg_tag_table_find(const rg_tag_table *table, const char *key) {
    uint64_t value;
    if (!table->index.slots) return -1;
    return rg_strmap_get(&table->index, key, strlen(key), &value) ? (long)value : -1;
}

long rg_tag_table_intern(rg_tag_table *table, const char *key, int *added) {
    if (added) *added = 0;
    long found = rg_tag_table_find(table, key);
    if (found >= 0) return found;
    if (!table->index.slots && rg_strmap_init(&table->index, 64) != RG_OK) return -1;
    char **keys = rg_realloc(table->keys, (table->count + 1) * sizeof *keys);
    if (!keys) return -1;
    table->keys = keys;
    char *copy = rg_strdup(key);
    if (!copy) return -1;
    if (rg_strmap_put(&table->index, key, strlen(key), table->count) != RG_OK) {
        free(copy);
        return -1;
    }
    table->keys[table->count] = copy;
    if (added) *added = 1;
    return (long)table->count++;
}

void rg_tag_table_free(rg_tag_table *table) {
    for (size_t i = 0; i < table->count; i++) free(table->keys[i]);
    free(table->keys);
    if (table->index.slots) rg_strmap_free(&table->index);
    memset(table, 0, sizeof *table);
}
