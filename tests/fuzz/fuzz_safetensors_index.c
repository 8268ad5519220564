/* fuzz_safetensors_index.c — a sharded checkpoint (rg_st_set_open on a
 * folder): model.safetensors.index.json's weight_map against the shards it
 * names (plain file names only, every listed tensor in its shard, every
 * shard tensor listed), then the merged lookup. The shards are fixed, written
 * once by rg_st_write; the input is the index.
 * Seeds: the index that matches those shards. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "fuzz_tensor_read.h"
#include "fuzz_util.h"
#include "io/safetensors.h"

static char folder[4096];

static const float a_values[6] = {1, 2, 3, 4, 5, 6};
static const uint16_t b_values[3] = {0x3f80, 0x4000, 0xc040};     /* bf16 1, 2, -3 */
static const uint16_t c_values[4] = {0x3c00, 0x4000, 0x0000, 0x7c00}; /* f16 1, 2, 0, inf */

static const char seed_index[] =
    "{\"metadata\": {\"total_size\": 38}, \"weight_map\": {"
    "\"a.weight\": \"model-00001-of-00002.safetensors\", \"b.bias\": \"model-00001-of-00002.safetensors\", "
    "\"c.weight\": \"model-00002-of-00002.safetensors\"}}";

static int write_shards(void) {
    rg_st_entry first[] = {{.name = "a.weight", .dtype = RG_F32, .ndim = 2, .shape = {2, 3}, .data = a_values},
                           {.name = "b.bias", .dtype = RG_BF16, .ndim = 1, .shape = {3}, .data = b_values}};
    rg_st_entry second[] = {{.name = "c.weight", .dtype = RG_F16, .ndim = 1, .shape = {4}, .data = c_values}};
    char path[4200];
    snprintf(path, sizeof path, "%s/model-00001-of-00002.safetensors", folder);
    if (rg_st_write(path, first, 2, NULL) != 0) return -1;
    snprintf(path, sizeof path, "%s/model-00002-of-00002.safetensors", folder);
    return rg_st_write(path, second, 1, NULL);
}

int fuzz_init(void) {
    snprintf(folder, sizeof folder, "%s/sharded", fuzz_dir());
    if (mkdir(folder, 0700) != 0) return rg_error("mkdir %s failed", folder);
    return write_shards();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_put_at(folder, "model.safetensors.index.json", data, size);
    rg_st_set set;
    if (rg_st_set_open(&set, folder) != 0) return 0;
    for (int i = 0; i < set.n_tensors; i++) {
        fuzz_read_tensor(set.tensors[i]);
        fuzz_check(rg_st_set_find(&set, set.tensors[i]->name) == set.tensors[i], "every tensor is found by name");
    }
    rg_st_set_close(&set);
    return 0;
}

int fuzz_write_seeds(const char *dir) {
    fuzz_put_at(dir, "rgsd_index", seed_index, strlen(seed_index));
    return 0;
}
