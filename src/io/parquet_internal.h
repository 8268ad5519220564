/* parquet_internal.h — what the pieces of the Parquet reader share.
 *
 * The reader is split by job: parquet_thrift.c (the Thrift compact protocol),
 * parquet_meta.c (the footer: schema and row groups), parquet_page.c (page
 * headers, decompression, one column chunk into levels and values),
 * parquet_encoding.c (PLAIN, RLE/bit-packed, dictionary, DELTA_*,
 * BYTE_STREAM_SPLIT), parquet_assemble.c (levels back into nested JSON) and
 * parquet.c (the public API in parquet.h). Only parquet.h is public.
 *
 * Every length read from the file is checked against the bytes that are
 * really there before memory is claimed for it; errors go through rg_error()
 * and name the file, the row group and the column.
 */
#ifndef RG_PARQUET_INTERNAL_H
#define RG_PARQUET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* ---- Thrift compact protocol ------------------------------------------- */

enum { TC_STOP = 0, TC_TRUE = 1, TC_FALSE = 2, TC_BYTE = 3, TC_I16 = 4, TC_I32 = 5, TC_I64 = 6,
       TC_DOUBLE = 7, TC_BINARY = 8, TC_LIST = 9, TC_SET = 10, TC_MAP = 11, TC_STRUCT = 12 };

typedef struct {
    const uint8_t *p, *end;
    int failed;       /* sticky: once set, every read returns 0 */
    int depth;        /* nesting of skipped structs, bounded against stack abuse */
    int16_t last_id;  /* field-id deltas are relative to the previous field */
    int16_t id_stack[32];
    int sp;
} pq_thrift;

void pq_thrift_init(pq_thrift *t, const uint8_t *p, size_t n);
/* Next field of the current struct: 1 with *id and *type, 0 at STOP (or on failure). */
int pq_thrift_field(pq_thrift *t, int *id, int *type);
void pq_thrift_struct_begin(pq_thrift *t);
void pq_thrift_struct_end(pq_thrift *t);
int64_t pq_thrift_int(pq_thrift *t);                  /* i8/i16/i32/i64 (zigzag varint) */
int pq_thrift_bool(pq_thrift *t, int type);            /* a bool field: its value is in the type */
/* Binary/string: a pointer into the buffer and its length, checked against the end. */
const uint8_t *pq_thrift_binary(pq_thrift *t, size_t *len);
/* List header: element count (checked: each element needs at least one byte) and type. */
size_t pq_thrift_list(pq_thrift *t, int *elem_type);
void pq_thrift_skip(pq_thrift *t, int type);
uint64_t pq_varint(const uint8_t **p, const uint8_t *end, int *failed);

/* ---- footer --------------------------------------------------------------- */

enum { PQ_BOOLEAN = 0, PQ_INT32 = 1, PQ_INT64 = 2, PQ_INT96 = 3, PQ_FLOAT = 4, PQ_DOUBLE = 5,
       PQ_BYTE_ARRAY = 6, PQ_FIXED = 7 };
enum { PQ_REQUIRED = 0, PQ_OPTIONAL = 1, PQ_REPEATED = 2 };
enum { PQ_CODEC_NONE = 0, PQ_CODEC_SNAPPY = 1, PQ_CODEC_GZIP = 2, PQ_CODEC_LZO = 3, PQ_CODEC_BROTLI = 4,
       PQ_CODEC_LZ4 = 5, PQ_CODEC_ZSTD = 6, PQ_CODEC_LZ4_RAW = 7 };

/* What a leaf value becomes in JSON (decided from the physical and logical type). */
enum { PQ_JSON_BOOL, PQ_JSON_INT, PQ_JSON_UINT, PQ_JSON_FLOAT, PQ_JSON_STRING, PQ_JSON_UNSUPPORTED };

typedef struct {
    char *name;
    int type;          /* physical type, -1 for a group */
    int type_length;
    int repetition;
    int num_children;
    int converted;     /* ConvertedType, -1 when absent */
    int logical;       /* LogicalType union field id, 0 when absent */
    int int_bits, int_signed; /* LogicalType INTEGER */
} pq_schema_elem;

typedef struct {
    int codec;
    int type;
    int64_t num_values;
    int64_t data_offset, dict_offset; /* dict_offset -1 when absent */
    int64_t compressed_size;
} pq_chunk_meta;

typedef struct {
    int64_t num_rows;
    pq_chunk_meta *chunks; /* one per leaf column */
} pq_row_group;

typedef struct {
    pq_schema_elem *schema;
    size_t nschema;
    pq_row_group *groups;
    size_t ngroups;
    int64_t num_rows;
} pq_meta;

/* Parses the footer bytes; `name` is only for messages. */
int pq_meta_parse(const uint8_t *buf, size_t len, size_t ncolumns_hint, pq_meta *out, const char *name);
void pq_meta_free(pq_meta *m);

/* ---- shape: the schema as JSON sees it ---------------------------------- */

enum { PQ_NODE_VALUE, PQ_NODE_OBJECT, PQ_NODE_ARRAY };

typedef struct pq_node {
    int kind;
    const char *name;     /* key in the parent object (NULL for an array element) */
    int def;              /* definition level at which this node is present (not null) */
    int nullable;
    int elem_def;         /* ARRAY: level at which the list has an element */
    int rep;              /* ARRAY: repetition level of its elements */
    int leaf;             /* VALUE: leaf column index */
    struct pq_node **children; /* OBJECT: fields; ARRAY: one element */
    int nchildren;
} pq_node;

typedef struct {
    const char *path;     /* dotted path for messages */
    int type, type_length, json;
    int max_def, max_rep;
    pq_node **nodes;      /* from the top-level field down to the VALUE node */
    int nnodes;
} pq_leaf;

typedef struct {
    pq_node *root;        /* an OBJECT */
    pq_leaf *leaves;
    size_t nleaves;
    char *arena_paths;
} pq_shape;

int pq_shape_build(const pq_meta *m, pq_shape *out, const char *name);
void pq_shape_free(pq_shape *s);

/* ---- one decoded column chunk -------------------------------------------- */

typedef struct {
    union {
        int64_t i;
        double d;
        const uint8_t *p;
    } u;
    uint32_t len;
} pq_value;

typedef struct {
    uint8_t *def, *rep;   /* one per triplet (levels are < 256: checked against the schema) */
    size_t n, cap;        /* triplets */
    pq_value *values;     /* only the present (non-null) ones */
    size_t nvalues, vcap;
    void **bufs;          /* page buffers the values point into, kept until the chunk is freed */
    size_t nbufs, bufcap;
    /* Dictionary of the current chunk. */
    pq_value *dict;
    size_t ndict;
} pq_column;

typedef struct {
    const char *file;
    size_t row_group;
    const char *column;
    long row;             /* 0-based over the file, for row-level messages */
} pq_where;

/* Reads and decodes one column chunk whose raw bytes are chunk[0..len). */
int pq_column_read(const uint8_t *chunk, size_t len, const pq_chunk_meta *cm, const pq_leaf *leaf,
                   pq_column *col, const pq_where *w);
void pq_column_free(pq_column *col);

/* ---- encodings -------------------------------------------------------- */

/* RLE/bit-packed hybrid: `count` values of `bit_width` bits into out (uint32). */
int pq_rle_decode(const uint8_t *p, size_t n, int bit_width, uint32_t *out, size_t count);
/* The same into bytes (levels): values must fit 8 bits. */
int pq_rle_decode_u8(const uint8_t *p, size_t n, int bit_width, uint8_t *out, size_t count);
/* How many values an RLE stream really encodes, without materialising them (bounded by `limit`). */
int pq_rle_count(const uint8_t *p, size_t n, int bit_width, size_t limit, size_t *count);

/* Decodes `count` values of physical type `type` with `encoding` from p[0..n)
 * into out. Byte arrays point into p (or into *extra, allocated by the delta
 * encodings and handed to the caller to keep). Returns RG_OK or an error
 * message without location (the caller prefixes it). */
int pq_decode_values(int encoding, int type, int type_length, const uint8_t *p, size_t n, size_t count,
                     const pq_value *dict, size_t ndict, pq_value *out, void **extra);

/* ---- assembly ------------------------------------------------------------ */

/* Builds the JSON object of the next row from the columns' cursors. */
typedef struct {
    size_t pos;    /* next triplet */
    size_t vpos;   /* next value */
} pq_cursor;

int pq_assemble_row(const pq_shape *s, const pq_column *cols, pq_cursor *cur, cJSON **row, const pq_where *w);

#endif
