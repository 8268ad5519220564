/* parquet_meta.c — the footer (FileMetaData): schema and row groups.
 *
 * Field ids are those of parquet.thrift. Only what reading rows needs is
 * kept; statistics, indexes, bloom filters and key/value metadata are
 * skipped. Counts are checked against the bytes left in the footer before
 * arrays are allocated for them (pq_thrift_list does that).
 */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "io/parquet_internal.h"

static void parse_logical(pq_thrift *t, pq_schema_elem *e) {
    pq_thrift_struct_begin(t);
    int id, ft;
    while (pq_thrift_field(t, &id, &ft)) {
        /* A union: the one field present says which logical type. */
        e->logical = id;
        if (id == 10 && ft == TC_STRUCT) { /* IntType {1: i8 bitWidth, 2: bool isSigned} */
            pq_thrift_struct_begin(t);
            int iid, ift;
            while (pq_thrift_field(t, &iid, &ift)) {
                if (iid == 1 && ift == TC_BYTE) {
                    if (t->p < t->end) e->int_bits = (int8_t)*t->p++;
                    else t->failed = 1;
                } else if (iid == 2 && (ift == TC_TRUE || ift == TC_FALSE)) {
                    e->int_signed = pq_thrift_bool(t, ift);
                } else {
                    pq_thrift_skip(t, ift);
                }
            }
            pq_thrift_struct_end(t);
        } else {
            pq_thrift_skip(t, ft);
        }
    }
    pq_thrift_struct_end(t);
}

static void parse_schema_elem(pq_thrift *t, pq_schema_elem *e) {
    e->type = -1;
    e->converted = -1;
    e->repetition = PQ_REQUIRED;
    e->int_signed = 1;
    pq_thrift_struct_begin(t);
    int id, ft;
    while (pq_thrift_field(t, &id, &ft)) {
        if (id == 1 && ft == TC_I32) e->type = (int)pq_thrift_int(t);
        else if (id == 2 && ft == TC_I32) e->type_length = (int)pq_thrift_int(t);
        else if (id == 3 && ft == TC_I32) e->repetition = (int)pq_thrift_int(t);
        else if (id == 4 && ft == TC_BINARY && !e->name) {
            size_t n;
            const uint8_t *s = pq_thrift_binary(t, &n);
            if (s) {
                e->name = malloc(n + 1);
                if (!e->name) t->failed = 1;
                else {
                    memcpy(e->name, s, n);
                    e->name[n] = 0;
                }
            }
        } else if (id == 5 && ft == TC_I32) e->num_children = (int)pq_thrift_int(t);
        else if (id == 6 && ft == TC_I32) e->converted = (int)pq_thrift_int(t);
        else if (id == 10 && ft == TC_STRUCT) parse_logical(t, e);
        else pq_thrift_skip(t, ft);
    }
    pq_thrift_struct_end(t);
}

static void parse_column_meta(pq_thrift *t, pq_chunk_meta *c) {
    pq_thrift_struct_begin(t);
    int id, ft;
    while (pq_thrift_field(t, &id, &ft)) {
        if (id == 1 && ft == TC_I32) c->type = (int)pq_thrift_int(t);
        else if (id == 4 && ft == TC_I32) c->codec = (int)pq_thrift_int(t);
        else if (id == 5 && ft == TC_I64) c->num_values = pq_thrift_int(t);
        else if (id == 7 && ft == TC_I64) c->compressed_size = pq_thrift_int(t);
        else if (id == 9 && ft == TC_I64) c->data_offset = pq_thrift_int(t);
        else if (id == 11 && ft == TC_I64) c->dict_offset = pq_thrift_int(t);
        else pq_thrift_skip(t, ft);
    }
    pq_thrift_struct_end(t);
}

static void parse_column_chunk(pq_thrift *t, pq_chunk_meta *c, int *external) {
    c->dict_offset = -1;
    c->compressed_size = -1;
    c->data_offset = -1;
    pq_thrift_struct_begin(t);
    int id, ft;
    while (pq_thrift_field(t, &id, &ft)) {
        if (id == 1 && ft == TC_BINARY) {
            size_t n;
            (void)pq_thrift_binary(t, &n);
            *external = 1; /* the chunk lives in another file */
        } else if (id == 3 && ft == TC_STRUCT) {
            parse_column_meta(t, c);
        } else {
            pq_thrift_skip(t, ft);
        }
    }
    pq_thrift_struct_end(t);
}

static int parse_row_group(pq_thrift *t, pq_row_group *g, size_t ncols, const char *name, size_t index) {
    int id, ft, external = 0;
    size_t got = 0;
    g->num_rows = -1;
    pq_thrift_struct_begin(t);
    while (pq_thrift_field(t, &id, &ft)) {
        if (id == 1 && ft == TC_LIST && !g->chunks) {
            int et;
            size_t n = pq_thrift_list(t, &et);
            if (t->failed) break;
            if (n != ncols || et != TC_STRUCT) {
                pq_thrift_struct_end(t);
                return rg_error("%s: row group %zu: %zu column chunks for %zu leaf columns in the schema", name,
                                index, n, ncols);
            }
            g->chunks = rg_calloc(n ? n : 1, sizeof *g->chunks);
            if (!g->chunks) return RG_ERR;
            for (size_t i = 0; i < n && !t->failed; i++) parse_column_chunk(t, &g->chunks[i], &external);
            got = n;
        } else if (id == 3 && ft == TC_I64) {
            g->num_rows = pq_thrift_int(t);
        } else {
            pq_thrift_skip(t, ft);
        }
    }
    pq_thrift_struct_end(t);
    if (t->failed) return RG_OK; /* reported by the caller as a bad footer */
    if (external) return rg_error("%s: row group %zu: column chunks in other files are not supported", name, index);
    if (got != ncols || g->num_rows < 0)
        return rg_error("%s: row group %zu: %s missing from the footer", name, index,
                        g->num_rows < 0 ? "num_rows" : "column chunks");
    return RG_OK;
}

int pq_meta_parse(const uint8_t *buf, size_t len, size_t ncolumns_hint, pq_meta *out, const char *name) {
    (void)ncolumns_hint;
    memset(out, 0, sizeof *out);
    out->num_rows = -1;
    pq_thrift t;
    pq_thrift_init(&t, buf, len);
    pq_thrift_struct_begin(&t);
    int id, ft, rc = RG_OK;
    size_t nleaves = 0;
    int have_schema = 0;
    while (rc == RG_OK && pq_thrift_field(&t, &id, &ft)) {
        if (id == 2 && ft == TC_LIST && !have_schema) {
            int et;
            size_t n = pq_thrift_list(&t, &et);
            if (t.failed) break;
            if (et != TC_STRUCT || n == 0) {
                rc = rg_error("%s: the footer's schema is empty or malformed", name);
                break;
            }
            out->schema = rg_calloc(n, sizeof *out->schema);
            if (!out->schema) {
                rc = RG_ERR;
                break;
            }
            out->nschema = n;
            for (size_t i = 0; i < n && !t.failed; i++) parse_schema_elem(&t, &out->schema[i]);
            for (size_t i = 0; i < n; i++)
                if (out->schema[i].num_children == 0 && i > 0) nleaves++;
            have_schema = 1;
        } else if (id == 3 && ft == TC_I64) {
            out->num_rows = pq_thrift_int(&t);
        } else if (id == 4 && ft == TC_LIST && have_schema && !out->groups) {
            int et;
            size_t n = pq_thrift_list(&t, &et);
            if (t.failed) break;
            if (n && et != TC_STRUCT) {
                rc = rg_error("%s: the footer's row groups are malformed", name);
                break;
            }
            out->groups = rg_calloc(n ? n : 1, sizeof *out->groups);
            if (!out->groups) {
                rc = RG_ERR;
                break;
            }
            out->ngroups = n;
            for (size_t i = 0; i < n && !t.failed && rc == RG_OK; i++)
                rc = parse_row_group(&t, &out->groups[i], nleaves, name, i);
        } else if (id == 8 && ft == TC_STRUCT) {
            rc = rg_error("%s: encrypted Parquet files are not supported", name);
        } else {
            pq_thrift_skip(&t, ft);
        }
    }
    if (rc == RG_OK && t.failed) rc = rg_error("%s: the footer (file metadata) is truncated or malformed", name);
    if (rc == RG_OK && (!have_schema || !out->groups))
        rc = rg_error("%s: the footer has no %s", name, have_schema ? "row groups list" : "schema");
    if (rc != RG_OK) pq_meta_free(out);
    return rc;
}

void pq_meta_free(pq_meta *m) {
    for (size_t i = 0; i < m->nschema; i++) free(m->schema[i].name);
    free(m->schema);
    for (size_t i = 0; i < m->ngroups; i++) free(m->groups[i].chunks);
    free(m->groups);
    memset(m, 0, sizeof *m);
}
