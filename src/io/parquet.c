/* parquet.c — the Parquet reader's public side (see parquet.h): the file or
 * buffer, the footer, and row groups loaded one at a time.
 */
#include "io/parquet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "io/parquet_internal.h"

struct rg_parquet {
    char *name;
    FILE *file;            /* NULL when reading from memory */
    const uint8_t *mem;
    uint64_t size;
    pq_meta meta;
    pq_shape shape;
    size_t group;          /* next row group to load */
    int loaded;            /* a row group is in cols */
    pq_column *cols;
    pq_cursor *cur;
    int64_t row_in_group, rows_in_group;
    long row_index;
    int failed;
};

/* Reads len bytes at offset, checked against the file's size. */
static int read_at(rg_parquet *pq, uint64_t offset, uint8_t *dst, size_t len) {
    if (offset > pq->size || len > pq->size - offset)
        return rg_error("%s: read of %zu bytes at %llu past the end of the file (%llu bytes)", pq->name, len,
                        (unsigned long long)offset, (unsigned long long)pq->size);
    if (pq->mem) {
        memcpy(dst, pq->mem + offset, len);
        return RG_OK;
    }
    if (fseeko(pq->file, (off_t)offset, SEEK_SET) != 0 || fread(dst, 1, len, pq->file) != len)
        return rg_error("%s: read failed: %s", pq->name, ferror(pq->file) ? strerror(errno) : "file shrank");
    return RG_OK;
}

int rg_parquet_sniff(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char magic[4];
    int yes = fread(magic, 1, 4, f) == 4 && memcmp(magic, "PAR1", 4) == 0;
    fclose(f);
    return yes;
}

static int open_common(rg_parquet *pq) {
    uint8_t tail[8], head[4];
    if (pq->size < 12) return rg_error("%s: not a Parquet file (%llu bytes, too short)", pq->name, (unsigned long long)pq->size);
    if (read_at(pq, 0, head, 4) || read_at(pq, pq->size - 8, tail, 8)) return RG_ERR;
    if (memcmp(head, "PAR1", 4) != 0) return rg_error("%s: not a Parquet file (no PAR1 magic at the start)", pq->name);
    if (memcmp(tail + 4, "PAR1", 4) != 0) {
        if (memcmp(tail + 4, "PARE", 4) == 0) return rg_error("%s: encrypted Parquet files are not supported", pq->name);
        return rg_error("%s: truncated Parquet file (no PAR1 magic at the end)", pq->name);
    }
    uint32_t footer = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 | (uint32_t)tail[2] << 16 | (uint32_t)tail[3] << 24;
    /* The footer length is checked against the file before it is allocated. */
    if (footer == 0 || footer > pq->size - 12)
        return rg_error("%s: footer length %u does not fit in the file (%llu bytes): truncated or corrupt", pq->name,
                        footer, (unsigned long long)pq->size);
    uint8_t *buf = rg_malloc(footer);
    if (!buf) return RG_ERR;
    int rc = read_at(pq, pq->size - 8 - footer, buf, footer);
    if (rc == RG_OK) rc = pq_meta_parse(buf, footer, 0, &pq->meta, pq->name);
    free(buf);
    if (rc == RG_OK) rc = pq_shape_build(&pq->meta, &pq->shape, pq->name);
    if (rc == RG_OK && pq->shape.nleaves == 0) rc = rg_error("%s: the schema has no columns", pq->name);
    if (rc == RG_OK) {
        pq->cols = rg_calloc(pq->shape.nleaves, sizeof *pq->cols);
        pq->cur = rg_calloc(pq->shape.nleaves, sizeof *pq->cur);
        if (!pq->cols || !pq->cur) rc = RG_ERR;
    }
    return rc;
}

static rg_parquet *new_reader(const char *name) {
    rg_parquet *pq = rg_calloc(1, sizeof *pq);
    if (!pq) return NULL;
    pq->name = rg_strdup(name);
    if (!pq->name) {
        free(pq);
        return NULL;
    }
    return pq;
}

int rg_parquet_open(rg_parquet **out, const char *path) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return rg_error("%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return rg_error("%s: not a regular file (Parquet needs to seek to its footer)", path);
    }
    rg_parquet *pq = new_reader(path);
    if (!pq) {
        fclose(f);
        return RG_ERR;
    }
    pq->file = f;
    pq->size = (uint64_t)st.st_size;
    if (open_common(pq)) {
        rg_parquet_close(pq);
        return RG_ERR;
    }
    *out = pq;
    return RG_OK;
}

int rg_parquet_open_mem(rg_parquet **out, const void *data, size_t len, const char *name) {
    *out = NULL;
    rg_parquet *pq = new_reader(name);
    if (!pq) return RG_ERR;
    pq->mem = data;
    pq->size = len;
    if (open_common(pq)) {
        rg_parquet_close(pq);
        return RG_ERR;
    }
    *out = pq;
    return RG_OK;
}

static void unload(rg_parquet *pq) {
    for (size_t i = 0; i < pq->shape.nleaves; i++) pq_column_free(&pq->cols[i]);
    memset(pq->cur, 0, pq->shape.nleaves * sizeof *pq->cur);
    pq->loaded = 0;
}

/* Loads row group g: each column chunk's bytes (checked against the file's
 * size before they are allocated), decoded into levels and values. */
static int load_group(rg_parquet *pq, size_t g) {
    const pq_row_group *rg = &pq->meta.groups[g];
    for (size_t i = 0; i < pq->shape.nleaves; i++) {
        const pq_chunk_meta *cm = &rg->chunks[i];
        const pq_leaf *leaf = &pq->shape.leaves[i];
        pq_where w = {pq->name, g, leaf->path, -1};
        int64_t start = cm->data_offset;
        if (cm->dict_offset > 0 && cm->dict_offset < start) start = cm->dict_offset;
        if (start < 4 || cm->compressed_size < 0 || (uint64_t)start > pq->size ||
            (uint64_t)cm->compressed_size > pq->size - (uint64_t)start)
            return rg_error("%s: row group %zu: column %s: column chunk (offset %lld, %lld bytes) lies outside the "
                            "file (%llu bytes)",
                            pq->name, g, leaf->path, (long long)start, (long long)cm->compressed_size,
                            (unsigned long long)pq->size);
        if (cm->num_values < 0)
            return rg_error("%s: row group %zu: column %s: negative value count", pq->name, g, leaf->path);
        uint8_t *chunk;
        if (pq->mem) {
            chunk = (uint8_t *)(pq->mem + start); /* read in place */
        } else {
            chunk = rg_malloc(cm->compressed_size ? (size_t)cm->compressed_size : 1);
            if (!chunk) return RG_ERR;
            if (read_at(pq, (uint64_t)start, chunk, (size_t)cm->compressed_size)) {
                free(chunk);
                return RG_ERR;
            }
            /* The column keeps the raw chunk: uncompressed values point into it. */
            pq_column *col = &pq->cols[i];
            col->bufs = rg_malloc(8 * sizeof *col->bufs);
            if (!col->bufs) {
                free(chunk);
                return RG_ERR;
            }
            col->bufcap = 8;
            col->bufs[col->nbufs++] = chunk;
        }
        if (pq_column_read(chunk, (size_t)cm->compressed_size, cm, leaf, &pq->cols[i], &w)) return RG_ERR;
        /* Every column must hold the row group's rows: count row starts. */
        const pq_column *col = &pq->cols[i];
        int64_t rows = 0;
        for (size_t k = 0; k < col->n; k++) rows += col->rep[k] == 0;
        if (rows != rg->num_rows)
            return rg_error("%s: row group %zu: column %s: %lld rows, the row group says %lld", pq->name, g, leaf->path,
                            (long long)rows, (long long)rg->num_rows);
    }
    pq->rows_in_group = rg->num_rows;
    pq->row_in_group = 0;
    pq->loaded = 1;
    return RG_OK;
}

int rg_parquet_next_row(rg_parquet *pq, cJSON **row, long *row_index) {
    *row = NULL;
    if (pq->failed) return rg_error("%s: reading stopped at an earlier error", pq->name);
    while (!pq->loaded || pq->row_in_group >= pq->rows_in_group) {
        if (pq->loaded) unload(pq);
        if (pq->group >= pq->meta.ngroups) return 0;
        size_t g = pq->group++;
        if (load_group(pq, g)) {
            unload(pq);
            pq->failed = 1;
            return RG_ERR;
        }
    }
    pq_where w = {pq->name, pq->group - 1, NULL, pq->row_index};
    if (pq_assemble_row(&pq->shape, pq->cols, pq->cur, row, &w)) {
        pq->failed = 1;
        return RG_ERR;
    }
    pq->row_in_group++;
    if (row_index) *row_index = pq->row_index;
    pq->row_index++;
    return 1;
}

long rg_parquet_num_rows(const rg_parquet *pq) { return (long)pq->meta.num_rows; }
const char *rg_parquet_name(const rg_parquet *pq) { return pq->name; }

void rg_parquet_close(rg_parquet *pq) {
    if (!pq) return;
    if (pq->cols) unload(pq);
    free(pq->cols);
    free(pq->cur);
    pq_shape_free(&pq->shape);
    pq_meta_free(&pq->meta);
    if (pq->file) fclose(pq->file);
    free(pq->name);
    free(pq);
}
