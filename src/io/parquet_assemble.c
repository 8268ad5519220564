/* parquet_assemble.c — from the schema to JSON's shape, and from levels back
 * to nested JSON rows.
 *
 * The shape maps Parquet's nesting onto JSON: a LIST-annotated group (its
 * three-level form, and the older two-level forms the format's
 * backward-compatibility rules name) and a bare repeated field become arrays,
 * other groups objects, leaves values. Each node records the definition level
 * at which it is present and, for arrays, the level at which the list has an
 * element and the repetition level of its elements.
 *
 * Rows are assembled one leaf column at a time: each (repetition, definition)
 * pair walks from the top-level field down, creating what is missing, and a
 * repetition level r starts a new element in the array at level r. Every
 * column under the same list sees the same element structure, so the second
 * column finds the objects the first one created by index. A file whose
 * columns disagree is reported, never trusted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "io/parquet_internal.h"

#define PQ_MAX_DEPTH 64

typedef struct {
    const pq_meta *m;
    int **children; /* per schema element: child indices */
    pq_shape *s;
    size_t nleaves_cap;
    pq_node *stack[PQ_MAX_DEPTH * 2 + 2];
    int sp;
    const char *file;
} build_ctx;

/* Records each group's children from the flat, depth-first schema list. */
static int index_children(build_ctx *c, size_t *i, int depth) {
    if (*i >= c->m->nschema) return rg_error("%s: the schema ends inside a group (num_children too large)", c->file);
    size_t me = (*i)++;
    const pq_schema_elem *e = &c->m->schema[me];
    if (depth > PQ_MAX_DEPTH) return rg_error("%s: schema nested deeper than %d levels", c->file, PQ_MAX_DEPTH);
    if (e->num_children < 0 || (size_t)e->num_children > c->m->nschema - *i)
        return rg_error("%s: schema element %s claims %d children", c->file, e->name ? e->name : "?", e->num_children);
    if (e->num_children == 0) {
        if (me == 0 || e->type < 0)
            return rg_error("%s: schema group %s has no fields", c->file, e->name ? e->name : "?");
        return RG_OK;
    }
    c->children[me] = rg_malloc((size_t)e->num_children * sizeof(int));
    if (!c->children[me]) return RG_ERR;
    for (int k = 0; k < e->num_children; k++) {
        c->children[me][k] = (int)*i;
        if (index_children(c, i, depth + 1)) return RG_ERR;
    }
    return RG_OK;
}

static pq_node *new_node(int kind, const char *name) {
    pq_node *n = rg_calloc(1, sizeof *n);
    if (n) {
        n->kind = kind;
        n->name = name;
        n->leaf = -1;
    }
    return n;
}

static int json_kind(const pq_schema_elem *e) {
    int ct = e->converted, lt = e->logical;
    switch (e->type) {
    case PQ_BOOLEAN:
        return PQ_JSON_BOOL;
    case PQ_INT32:
    case PQ_INT64:
        if ((ct >= 11 && ct <= 14) || (lt == 10 && !e->int_signed)) return PQ_JSON_UINT;
        if (ct == 5 || ct == 6 || ct == 7 || ct == 8 || ct == 9 || ct == 10 || ct == 21 || lt == 5 || lt == 6 ||
            lt == 7 || lt == 8)
            return PQ_JSON_UNSUPPORTED; /* decimals, dates and times have no exact JSON form here */
        return PQ_JSON_INT;
    case PQ_FLOAT:
    case PQ_DOUBLE:
        return PQ_JSON_FLOAT;
    case PQ_BYTE_ARRAY:
        if (ct == 5 || ct == 20 || lt == 5 || lt == 13) return PQ_JSON_UNSUPPORTED;
        return PQ_JSON_STRING; /* UTF8/STRING/ENUM/JSON, or plain binary if it is valid UTF-8 */
    default:
        return PQ_JSON_UNSUPPORTED;
    }
}

static const char *type_name(const pq_schema_elem *e) {
    static const char *names[] = {"BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY",
                                  "FIXED_LEN_BYTE_ARRAY"};
    if (e->converted == 5 || e->logical == 5) return "DECIMAL";
    if (e->converted == 6 || e->logical == 6) return "DATE";
    if ((e->converted >= 7 && e->converted <= 10) || e->logical == 7 || e->logical == 8) return "TIME/TIMESTAMP";
    if (e->converted == 20 || e->logical == 13) return "BSON";
    return e->type >= 0 && e->type < 8 ? names[e->type] : "unknown";
}

static char *leaf_path(build_ctx *c) {
    size_t len = 1;
    for (int k = 0; k < c->sp; k++) len += (c->stack[k]->name ? strlen(c->stack[k]->name) : 0) + 3;
    char *p = rg_malloc(len), *w = p;
    if (!p) return NULL;
    *w = 0;
    for (int k = 0; k < c->sp; k++) {
        const pq_node *n = c->stack[k];
        if (n->name) w += sprintf(w, "%s%s", (k && w != p) ? "." : "", n->name);
        if (n->kind == PQ_NODE_ARRAY) w += sprintf(w, "[]");
    }
    return p;
}

static pq_node *build(build_ctx *c, int ei, const char *name, int def, int rep, int repetition);

static int add_leaf(build_ctx *c, pq_node *n, const pq_schema_elem *e) {
    pq_shape *s = c->s;
    if (s->nleaves == c->nleaves_cap) {
        size_t cap = c->nleaves_cap ? 2 * c->nleaves_cap : 16;
        pq_leaf *grown = rg_realloc(s->leaves, cap * sizeof *grown);
        if (!grown) return RG_ERR;
        s->leaves = grown;
        c->nleaves_cap = cap;
    }
    pq_leaf *l = &s->leaves[s->nleaves];
    memset(l, 0, sizeof *l);
    n->leaf = (int)s->nleaves++;
    char *path = leaf_path(c);
    l->path = path;
    l->type = e->type;
    l->type_length = e->type_length;
    l->json = json_kind(e);
    l->max_def = n->def;
    for (int k = 0; k < c->sp; k++)
        if (c->stack[k]->kind == PQ_NODE_ARRAY && c->stack[k]->rep > l->max_rep) l->max_rep = c->stack[k]->rep;
    /* The walk goes through the non-array element wrappers too: keep them all. */
    l->nodes = rg_malloc((size_t)c->sp * sizeof *l->nodes);
    if (!path || !l->nodes) return RG_ERR;
    memcpy(l->nodes, c->stack, (size_t)c->sp * sizeof *l->nodes);
    l->nnodes = c->sp;
    if (l->json == PQ_JSON_UNSUPPORTED)
        return rg_error("%s: column %s: type %s is not supported", c->file, path, type_name(e));
    return RG_OK;
}

static int is_list(const pq_schema_elem *e) { return e->converted == 3 || e->logical == 3; }
static int is_map(const pq_schema_elem *e) { return e->converted == 1 || e->converted == 2 || e->logical == 2; }

/* Adds node n as a child of parent (an object's field or an array's element). */
static int attach(pq_node *parent, pq_node *n) {
    pq_node **grown = rg_realloc(parent->children, (size_t)(parent->nchildren + 1) * sizeof *grown);
    if (!grown) return RG_ERR;
    parent->children = grown;
    parent->children[parent->nchildren++] = n;
    return RG_OK;
}

static void free_node(pq_node *n) {
    if (!n) return;
    for (int i = 0; i < n->nchildren; i++) free_node(n->children[i]);
    free(n->children);
    free(n);
}

/* Builds the node for schema element ei, seen with `repetition` (its own, or
 * REQUIRED when it is the element of an array), under a parent present at
 * definition level def and repetition level rep. */
static pq_node *build(build_ctx *c, int ei, const char *name, int def, int rep, int repetition) {
    const pq_schema_elem *e = &c->m->schema[ei];
    pq_node *n = NULL;
    if (c->sp >= (int)(sizeof c->stack / sizeof c->stack[0]) - 1) {
        rg_error("%s: schema nested too deeply", c->file);
        return NULL;
    }
    if (repetition == PQ_REPEATED) {
        /* A bare repeated field: an array that is never null, whose elements
         * are the field itself. */
        n = new_node(PQ_NODE_ARRAY, name);
        if (!n) return NULL;
        n->def = def;
        n->elem_def = def + 1;
        n->rep = rep + 1;
        c->stack[c->sp++] = n;
        pq_node *el = build(c, ei, NULL, def + 1, rep + 1, PQ_REQUIRED);
        c->sp--;
        if (!el || attach(n, el)) {
            free_node(el);
            free_node(n);
            return NULL;
        }
        return n;
    }
    int nd = def + (repetition == PQ_OPTIONAL);
    if (e->num_children == 0) {
        n = new_node(PQ_NODE_VALUE, name);
        if (!n) return NULL;
        n->def = nd;
        n->nullable = repetition == PQ_OPTIONAL;
        c->stack[c->sp++] = n;
        int rc = add_leaf(c, n, e);
        c->sp--;
        if (rc) {
            free_node(n);
            return NULL;
        }
        return n;
    }
    if (is_map(e)) {
        rg_error("%s: column %s: MAP columns are not supported", c->file, e->name);
        return NULL;
    }
    const pq_schema_elem *r = e->num_children == 1 ? &c->m->schema[c->children[ei][0]] : NULL;
    if (is_list(e) && r && r->repetition == PQ_REPEATED) {
        int ri = c->children[ei][0];
        n = new_node(PQ_NODE_ARRAY, name);
        if (!n) return NULL;
        n->def = nd;
        n->nullable = repetition == PQ_OPTIONAL;
        n->elem_def = nd + 1;
        n->rep = rep + 1;
        c->stack[c->sp++] = n;
        pq_node *el;
        /* The format's backward-compatibility rules: the repeated field is
         * itself the element when it is a leaf, has several fields, or is
         * named "array" or "<list>_tuple"; otherwise (the standard three-level
         * form) its one child is the element. */
        char tuple[512];
        snprintf(tuple, sizeof tuple, "%s_tuple", e->name ? e->name : "");
        if (r->num_children != 1 || (r->name && (!strcmp(r->name, "array") || !strcmp(r->name, tuple)))) {
            el = build(c, ri, NULL, nd + 1, rep + 1, PQ_REQUIRED);
        } else {
            int ci = c->children[ri][0];
            el = build(c, ci, NULL, nd + 1, rep + 1, c->m->schema[ci].repetition);
        }
        c->sp--;
        if (!el || attach(n, el)) {
            free_node(el);
            free_node(n);
            return NULL;
        }
        return n;
    }
    n = new_node(PQ_NODE_OBJECT, name);
    if (!n) return NULL;
    n->def = nd;
    n->nullable = repetition == PQ_OPTIONAL;
    c->stack[c->sp++] = n;
    for (int k = 0; k < e->num_children; k++) {
        int ci = c->children[ei][k];
        pq_node *f = build(c, ci, c->m->schema[ci].name, nd, rep, c->m->schema[ci].repetition);
        if (!f || attach(n, f)) {
            free_node(f);
            free_node(n);
            c->sp--;
            return NULL;
        }
    }
    c->sp--;
    return n;
}

int pq_shape_build(const pq_meta *m, pq_shape *out, const char *name) {
    memset(out, 0, sizeof *out);
    build_ctx c = {.m = m, .s = out, .file = name};
    c.children = rg_calloc(m->nschema, sizeof *c.children);
    if (!c.children) return RG_ERR;
    size_t i = 0;
    int rc = index_children(&c, &i, 0);
    if (rc == RG_OK && i != m->nschema) rc = rg_error("%s: schema has %zu elements outside the tree", name, m->nschema - i);
    if (rc == RG_OK) {
        out->root = new_node(PQ_NODE_OBJECT, NULL);
        if (!out->root) rc = RG_ERR;
    }
    for (int k = 0; rc == RG_OK && k < m->schema[0].num_children; k++) {
        int ci = c.children[0][k];
        pq_node *f = build(&c, ci, m->schema[ci].name, 0, 0, m->schema[ci].repetition);
        if (!f || attach(out->root, f)) {
            free_node(f);
            rc = RG_ERR;
        }
    }
    for (size_t k = 0; k < m->nschema; k++) free(c.children[k]);
    free(c.children);
    if (rc != RG_OK) pq_shape_free(out);
    return rc;
}

void pq_shape_free(pq_shape *s) {
    free_node(s->root);
    for (size_t i = 0; i < s->nleaves; i++) {
        free((char *)s->leaves[i].path);
        free(s->leaves[i].nodes);
    }
    free(s->leaves);
    memset(s, 0, sizeof *s);
}

/* ---- rows ---------------------------------------------------------------- */

static int utf8_valid(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        /* Most text is ASCII: eight bytes at a time while none has the high
         * bit set and none is zero. */
        while (n - i >= 8) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
            if ((w & highs) || ((w - ones) & ~w & highs)) break;
            i += 8;
        }
        if (i >= n) break;
        uint8_t c = s[i];
        if (c < 0x80) {
            if (c == 0) return 0; /* a NUL cannot live in a C string */
            i++;
            continue;
        }
        int len;
        uint32_t cp;
        if ((c & 0xe0) == 0xc0) len = 2, cp = c & 0x1f;
        else if ((c & 0xf0) == 0xe0) len = 3, cp = c & 0x0f;
        else if ((c & 0xf8) == 0xf0) len = 4, cp = c & 0x07;
        else return 0;
        if (n - i < (size_t)len) return 0;
        for (int k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += (size_t)len;
    }
    return 1;
}

static cJSON *make_value(const pq_leaf *l, const pq_value *v) {
    switch (l->json) {
    case PQ_JSON_BOOL:
        return cJSON_CreateBool(v->u.i != 0);
    case PQ_JSON_INT:
        return cJSON_CreateNumber((double)v->u.i);
    case PQ_JSON_UINT:
        return cJSON_CreateNumber(l->type == PQ_INT32 ? (double)(uint32_t)v->u.i : (double)(uint64_t)v->u.i);
    case PQ_JSON_FLOAT:
        return cJSON_CreateNumber(v->u.d);
    case PQ_JSON_STRING: {
        if (!utf8_valid(v->u.p, v->len)) {
            rg_error("value is not valid UTF-8 text (or holds a NUL byte)");
            return NULL;
        }
        /* cJSON frees strings with free() (the project installs no hooks):
         * build the string in place instead of copying it twice. */
        char *s = malloc((size_t)v->len + 1);
        cJSON *item = s ? cJSON_CreateNull() : NULL;
        if (!item) {
            free(s);
            rg_error("out of memory");
            return NULL;
        }
        memcpy(s, v->u.p, v->len);
        s[v->len] = 0;
        item->type = cJSON_String;
        item->valuestring = s;
        return item;
    }
    default:
        rg_error("unsupported type");
        return NULL;
    }
}

/* Array access remembers the last element each depth used: columns walk
 * elements in order, so the next one is item->next, not a walk from the head. */
typedef struct {
    cJSON *array, *item;
    int index;
} elem_cache;

static cJSON *array_elem(cJSON *array, int index, elem_cache *cache, int *size_is_index) {
    cJSON *it;
    int i;
    *size_is_index = 0;
    if (cache->array == array && cache->item && cache->index <= index) {
        it = cache->item;
        i = cache->index;
    } else {
        it = array->child;
        i = 0;
    }
    cJSON *prev = NULL;
    while (it && i < index) {
        prev = it;
        it = it->next;
        i++;
    }
    (void)prev;
    if (it) {
        cache->array = array;
        cache->item = it;
        cache->index = index;
        return it;
    }
    *size_is_index = i == index;
    return NULL;
}

static int put(cJSON *parent, const char *key, cJSON *item) {
    if (key) return cJSON_AddItemToObject(parent, key, item) ? RG_OK : RG_ERR;
    return cJSON_AddItemToArray(parent, item) ? RG_OK : RG_ERR;
}

/* One column's triplets of the current row into the row object.
 *
 * Two caches keep this linear: per array depth the last element used (the
 * next one is its ->next), and per path position the object field found
 * under the same parent last time (a field, once created, stays). Only the
 * entries this column can use are cleared: it runs for every leaf of every
 * row. */
static int assemble_leaf(const pq_leaf *l, const pq_column *col, pq_cursor *cur, cJSON *row) {
    int idx[PQ_MAX_DEPTH * 2 + 2];
    elem_cache cache[PQ_MAX_DEPTH * 2 + 2];
    const cJSON *field_parent[PQ_MAX_DEPTH * 2 + 2];
    cJSON *field_item[PQ_MAX_DEPTH * 2 + 2];
    memset(idx, 0, (size_t)(l->max_rep + 1) * sizeof idx[0]);
    memset(cache, 0, (size_t)(l->max_rep + 1) * sizeof cache[0]);
    memset(field_parent, 0, (size_t)l->nnodes * sizeof field_parent[0]);
    size_t pos = cur->pos;
    if (pos >= col->n) return rg_error("column ends before the row group's last row");
    if (col->rep[pos] != 0) return rg_error("row starts with repetition level %d", col->rep[pos]);
    for (int first = 1; pos < col->n && (first || col->rep[pos] != 0); first = 0, pos++) {
        int r = col->rep[pos], d = col->def[pos];
        if (!first) {
            idx[r]++;
            for (int j = r + 1; j <= l->max_rep; j++) idx[j] = 0;
        }
        cJSON *parent = row;
        const char *key = l->nodes[0]->name;
        int index = -1, depth = 0;
        for (int k = 0; k < l->nnodes; k++) {
            const pq_node *n = l->nodes[k];
            cJSON *item;
            int appendable = 1;
            if (key) {
                if (field_parent[k] == parent) {
                    item = field_item[k];
                } else {
                    item = cJSON_GetObjectItemCaseSensitive(parent, key);
                    if (item) {
                        field_parent[k] = parent;
                        field_item[k] = item;
                    }
                }
            } else {
                item = array_elem(parent, index, &cache[depth], &appendable);
            }
            if (!item && !appendable) return rg_error("repetition levels skip a list element");
            if (d < n->def) {
                if (!n->nullable) return rg_error("definition level %d leaves a required field empty", d);
                if (!item) {
                    cJSON *nul = cJSON_CreateNull();
                    if (!nul || put(parent, key, nul)) {
                        cJSON_Delete(nul);
                        return rg_error("out of memory");
                    }
                } else if (!cJSON_IsNull(item)) {
                    return rg_error("columns disagree on whether a value is null");
                }
                break;
            }
            if (n->kind == PQ_NODE_VALUE) {
                if (item) return rg_error("two values for one field (levels inconsistent)");
                if (cur->vpos >= col->nvalues) return rg_error("fewer values than definition levels");
                cJSON *v = make_value(l, &col->values[cur->vpos++]);
                if (!v) return RG_ERR;
                if (put(parent, key, v)) {
                    cJSON_Delete(v);
                    return rg_error("out of memory");
                }
                break;
            }
            int want = n->kind == PQ_NODE_OBJECT ? cJSON_Object : cJSON_Array;
            if (!item) {
                item = want == cJSON_Object ? cJSON_CreateObject() : cJSON_CreateArray();
                if (!item || put(parent, key, item)) {
                    cJSON_Delete(item);
                    return rg_error("out of memory");
                }
                if (key) {
                    field_parent[k] = parent;
                    field_item[k] = item;
                }
            } else if ((item->type & 0xff) != want) {
                return rg_error("columns disagree on the shape of a field");
            }
            parent = item;
            if (n->kind == PQ_NODE_OBJECT) {
                key = l->nodes[k + 1]->name;
                index = -1;
            } else {
                if (d < n->elem_def) break; /* an empty list */
                key = NULL;
                index = idx[n->rep];
                depth = n->rep;
            }
        }
    }
    cur->pos = pos;
    return RG_OK;
}

int pq_assemble_row(const pq_shape *s, const pq_column *cols, pq_cursor *cur, cJSON **row, const pq_where *w) {
    *row = cJSON_CreateObject();
    if (!*row) return rg_error("out of memory");
    for (size_t i = 0; i < s->nleaves; i++) {
        if (assemble_leaf(&s->leaves[i], &cols[i], &cur[i], *row)) {
            cJSON_Delete(*row);
            *row = NULL;
            return rg_error_prefix("%s: row group %zu: row %ld: column %s", w->file, w->row_group, w->row + 1,
                                   s->leaves[i].path);
        }
    }
    return RG_OK;
}
