/* parquet_page.c — one column chunk: page headers, decompression, levels and
 * values.
 *
 * The chunk's bytes are in memory (a row group at a time, so memory is
 * bounded by the largest row group). Pages are read in order: an optional
 * dictionary page, then data pages (v1 or v2) until the chunk's value count
 * is reached. Every size in a page header is checked against the bytes left
 * in the chunk, and a decompressed size against a bound derived from the
 * compressed bytes, before memory is claimed for it.
 */
#include <stdlib.h>
#include <string.h>

#include <brotli/decode.h>
#include <lz4.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "base/error.h"
#include "io/parquet_internal.h"

enum { PAGE_DATA = 0, PAGE_INDEX = 1, PAGE_DICT = 2, PAGE_DATA_V2 = 3 };

/* The most triplets (values with their levels) one column chunk may hold. A
 * run-length encoded page can claim billions of nulls in a few bytes; this
 * bound keeps such a claim from becoming a multi-gigabyte allocation. */
#define PQ_MAX_TRIPLETS ((size_t)1 << 27)
/* Compression ratio accepted for one page: far beyond real data (a 1 MiB page
 * compressed to 256 bytes), but a 2 GB claim in a small file is refused. */
#define PQ_MAX_RATIO 4096

typedef struct {
    int type;
    int64_t uncompressed, compressed;
    int64_t num_values;
    int encoding, def_encoding, rep_encoding;
    /* v2 */
    int64_t num_nulls, def_len, rep_len;
    int is_compressed;
} page_header;

static void parse_data_header(pq_thrift *t, page_header *h, int v2) {
    pq_thrift_struct_begin(t);
    int id, ft;
    while (pq_thrift_field(t, &id, &ft)) {
        if (id == 1 && ft == TC_I32) h->num_values = pq_thrift_int(t);
        else if (!v2 && id == 2 && ft == TC_I32) h->encoding = (int)pq_thrift_int(t);
        else if (!v2 && id == 3 && ft == TC_I32) h->def_encoding = (int)pq_thrift_int(t);
        else if (!v2 && id == 4 && ft == TC_I32) h->rep_encoding = (int)pq_thrift_int(t);
        else if (v2 && id == 2 && ft == TC_I32) h->num_nulls = pq_thrift_int(t);
        else if (v2 && id == 4 && ft == TC_I32) h->encoding = (int)pq_thrift_int(t);
        else if (v2 && id == 5 && ft == TC_I32) h->def_len = pq_thrift_int(t);
        else if (v2 && id == 6 && ft == TC_I32) h->rep_len = pq_thrift_int(t);
        else if (v2 && id == 7 && (ft == TC_TRUE || ft == TC_FALSE)) h->is_compressed = pq_thrift_bool(t, ft);
        else pq_thrift_skip(t, ft);
    }
    pq_thrift_struct_end(t);
}

/* Page header at p; *used: its size in bytes. */
static int parse_page_header(const uint8_t *p, size_t n, page_header *h, size_t *used) {
    memset(h, 0, sizeof *h);
    h->type = -1;
    h->num_values = -1;
    h->uncompressed = h->compressed = -1;
    h->is_compressed = 1;
    pq_thrift t;
    pq_thrift_init(&t, p, n);
    pq_thrift_struct_begin(&t);
    int id, ft;
    while (pq_thrift_field(&t, &id, &ft)) {
        if (id == 1 && ft == TC_I32) h->type = (int)pq_thrift_int(&t);
        else if (id == 2 && ft == TC_I32) h->uncompressed = pq_thrift_int(&t);
        else if (id == 3 && ft == TC_I32) h->compressed = pq_thrift_int(&t);
        else if ((id == 5 || id == 7) && ft == TC_STRUCT) parse_data_header(&t, h, 0);
        else if (id == 8 && ft == TC_STRUCT) parse_data_header(&t, h, 1);
        else pq_thrift_skip(&t, ft);
    }
    if (t.failed) return rg_error("page header truncated or malformed");
    if (h->uncompressed < 0 || h->compressed < 0) return rg_error("page header without sizes");
    *used = (size_t)(t.p - p);
    return RG_OK;
}

static int keep_buf(pq_column *col, void *buf) {
    if (col->nbufs == col->bufcap) {
        size_t cap = col->bufcap ? 2 * col->bufcap : 8;
        void **grown = rg_realloc(col->bufs, cap * sizeof *grown);
        if (!grown) {
            free(buf);
            return RG_ERR;
        }
        col->bufs = grown;
        col->bufcap = cap;
    }
    col->bufs[col->nbufs++] = buf;
    return RG_OK;
}

/* Hadoop's LZ4 framing (the deprecated LZ4 codec as parquet-mr and Arrow
 * write it): blocks of [u32 BE raw size][u32 BE compressed size][data]. */
static int lz4_hadoop(const uint8_t *src, size_t n, uint8_t *dst, size_t out) {
    size_t done = 0;
    while (n >= 8) {
        uint32_t raw = (uint32_t)src[0] << 24 | (uint32_t)src[1] << 16 | (uint32_t)src[2] << 8 | src[3];
        uint32_t comp = (uint32_t)src[4] << 24 | (uint32_t)src[5] << 16 | (uint32_t)src[6] << 8 | src[7];
        src += 8;
        n -= 8;
        if (comp > n || raw > out - done || comp > (uint32_t)INT32_MAX) return -1;
        int got = LZ4_decompress_safe((const char *)src, (char *)dst + done, (int)comp, (int)raw);
        if (got != (int)raw) return -1;
        done += raw;
        src += comp;
        n -= comp;
    }
    return n == 0 && done == out ? 0 : -1;
}

/* Decompresses exactly `out` bytes. */
static int decompress(int codec, const uint8_t *src, size_t n, uint8_t *dst, size_t out) {
    switch (codec) {
    case PQ_CODEC_SNAPPY: {
        size_t len;
        if (snappy_uncompressed_length((const char *)src, n, &len) != SNAPPY_OK || len != out)
            return rg_error("snappy data malformed or of the wrong size");
        if (snappy_uncompress((const char *)src, n, (char *)dst, &len) != SNAPPY_OK || len != out)
            return rg_error("snappy data malformed");
        return RG_OK;
    }
    case PQ_CODEC_ZSTD: {
        size_t got = ZSTD_decompress(dst, out, src, n);
        if (ZSTD_isError(got) || got != out) return rg_error("zstd data malformed or of the wrong size");
        return RG_OK;
    }
    case PQ_CODEC_GZIP: {
        z_stream z;
        memset(&z, 0, sizeof z);
        if (inflateInit2(&z, 15 + 32) != Z_OK) return rg_error("zlib init failed");
        z.next_in = (Bytef *)src;
        z.avail_in = (uInt)n;
        z.next_out = dst;
        z.avail_out = (uInt)out;
        int zr = inflate(&z, Z_FINISH);
        size_t got = out - z.avail_out;
        inflateEnd(&z);
        if ((zr != Z_STREAM_END && !(zr == Z_BUF_ERROR && z.avail_out == 0)) || got != out)
            return rg_error("gzip data malformed or of the wrong size");
        return RG_OK;
    }
    case PQ_CODEC_LZ4_RAW: {
        if (n > INT32_MAX || out > INT32_MAX) return rg_error("lz4 page too large");
        int got = LZ4_decompress_safe((const char *)src, (char *)dst, (int)n, (int)out);
        if (got < 0 || (size_t)got != out) return rg_error("lz4 data malformed or of the wrong size");
        return RG_OK;
    }
    case PQ_CODEC_LZ4: {
        if (lz4_hadoop(src, n, dst, out) == 0) return RG_OK;
        if (n > INT32_MAX || out > INT32_MAX) return rg_error("lz4 page too large");
        int got = LZ4_decompress_safe((const char *)src, (char *)dst, (int)n, (int)out);
        if (got < 0 || (size_t)got != out) return rg_error("lz4 data malformed or of the wrong size");
        return RG_OK;
    }
    case PQ_CODEC_BROTLI: {
        size_t got = out;
        if (BrotliDecoderDecompress(n, src, &got, dst) != BROTLI_DECODER_RESULT_SUCCESS || got != out)
            return rg_error("brotli data malformed or of the wrong size");
        return RG_OK;
    }
    default:
        return rg_error("compression codec %s is not supported", codec == PQ_CODEC_LZO ? "LZO" : "(unknown)");
    }
}

/* Payload bytes after the compressed part, in `*out` (into the chunk or a new
 * buffer kept by the column). */
static int page_payload(pq_column *col, int codec, const uint8_t *src, size_t n, size_t uncompressed,
                        const uint8_t **out) {
    if (codec == PQ_CODEC_NONE) {
        if (uncompressed != n) return rg_error("uncompressed page: sizes differ (%zu vs %zu)", uncompressed, n);
        *out = src;
        return RG_OK;
    }
    if (uncompressed > n * (size_t)PQ_MAX_RATIO + (1u << 20) || uncompressed > (size_t)INT32_MAX)
        return rg_error("page claims %zu bytes uncompressed from %zu compressed (refused)", uncompressed, n);
    uint8_t *buf = rg_malloc(uncompressed ? uncompressed : 1);
    if (!buf) return RG_ERR;
    if (decompress(codec, src, n, buf, uncompressed)) {
        free(buf);
        return RG_ERR;
    }
    if (keep_buf(col, buf)) return RG_ERR;
    *out = buf;
    return RG_OK;
}

static int bit_width(int max) {
    int w = 0;
    while (max >> w) w++;
    return w;
}

static int grow_triplets(pq_column *col, size_t more) {
    if (more > PQ_MAX_TRIPLETS - col->n)
        return rg_error("more than %zu values in one column chunk (refused)", PQ_MAX_TRIPLETS);
    size_t need = col->n + more;
    if (need <= col->cap) return RG_OK;
    size_t cap = col->cap ? col->cap : 1024;
    while (cap < need) cap *= 2;
    uint8_t *d = rg_realloc(col->def, cap);
    if (!d) return RG_ERR;
    col->def = d;
    uint8_t *r = rg_realloc(col->rep, cap);
    if (!r) return RG_ERR;
    col->rep = r;
    col->cap = cap;
    return RG_OK;
}

static int grow_values(pq_column *col, size_t more) {
    size_t need = col->nvalues + more;
    if (need <= col->vcap && col->values) return RG_OK; /* allocated even for a page of nulls */
    size_t cap = col->vcap ? col->vcap : 1024;
    while (cap < need) cap *= 2;
    pq_value *v = rg_realloc(col->values, cap * sizeof *v);
    if (!v) return RG_ERR;
    col->values = v;
    col->vcap = cap;
    return RG_OK;
}

/* Reads the levels of a v1 page (4-byte length + RLE each) or v2 (lengths in
 * the header), appends them, and returns the value section. */
static int read_levels(pq_column *col, const pq_leaf *leaf, const page_header *h, int v2, const uint8_t **p,
                       size_t *n, size_t count, size_t *present) {
    const uint8_t *rep = NULL, *def = NULL;
    size_t rep_n = 0, def_n = 0;
    if (v2) {
        if (h->rep_len < 0 || h->def_len < 0 || (uint64_t)h->rep_len + (uint64_t)h->def_len > *n)
            return rg_error("v2 page: level lengths exceed the page");
        rep = *p;
        rep_n = (size_t)h->rep_len;
        def = *p + rep_n;
        def_n = (size_t)h->def_len;
        *p += rep_n + def_n;
        *n -= rep_n + def_n;
    } else {
        for (int which = 0; which < 2; which++) {
            int max = which == 0 ? leaf->max_rep : leaf->max_def;
            if (max == 0) continue;
            int enc = which == 0 ? h->rep_encoding : h->def_encoding;
            if (enc != 3) return rg_error("%s levels: encoding %d not supported (only RLE)", which ? "definition" : "repetition", enc);
            if (*n < 4) return rg_error("page too short for its levels");
            size_t len = (size_t)((*p)[0] | (*p)[1] << 8 | (*p)[2] << 16 | (uint32_t)(*p)[3] << 24);
            if (len > *n - 4) return rg_error("levels length %zu past the end of the page", len);
            if (which == 0) rep = *p + 4, rep_n = len;
            else def = *p + 4, def_n = len;
            *p += 4 + len;
            *n -= 4 + len;
        }
    }
    /* The level streams must really hold `count` entries before that many
     * are allocated (a run can claim billions in a few bytes). */
    size_t avail;
    if (leaf->max_def > 0) {
        if (pq_rle_count(def, def_n, bit_width(leaf->max_def), count, &avail)) return RG_ERR;
        if (avail < count) return rg_error("definition levels hold %zu of the page's %zu values", avail, count);
    } else if (leaf->max_rep > 0) {
        if (pq_rle_count(rep, rep_n, bit_width(leaf->max_rep), count, &avail)) return RG_ERR;
        if (avail < count) return rg_error("repetition levels hold %zu of the page's %zu values", avail, count);
    }
    if (grow_triplets(col, count)) return RG_ERR;
    uint8_t *d = col->def + col->n, *r = col->rep + col->n;
    if (leaf->max_rep > 0) {
        if (pq_rle_decode_u8(rep, rep_n, bit_width(leaf->max_rep), r, count)) return rg_error_prefix("repetition levels");
        for (size_t i = 0; i < count; i++)
            if (r[i] > leaf->max_rep) return rg_error("repetition level %d above the maximum %d", r[i], leaf->max_rep);
    } else {
        memset(r, 0, count);
    }
    if (leaf->max_def > 0) {
        if (pq_rle_decode_u8(def, def_n, bit_width(leaf->max_def), d, count)) return rg_error_prefix("definition levels");
        size_t k = 0;
        for (size_t i = 0; i < count; i++) {
            if (d[i] > leaf->max_def) return rg_error("definition level %d above the maximum %d", d[i], leaf->max_def);
            k += d[i] == leaf->max_def;
        }
        *present = k;
    } else {
        memset(d, 0, count);
        *present = count;
    }
    return RG_OK;
}

static int read_dictionary(pq_column *col, const pq_leaf *leaf, const uint8_t *p, size_t n, int64_t count, int encoding) {
    if (col->dict) return rg_error("a second dictionary page in one column chunk");
    if (encoding != 0 && encoding != 2) return rg_error("dictionary page encoding %d not supported", encoding);
    /* Each entry takes at least one bit; more than that is a lie. */
    if (count < 0 || (uint64_t)count > (uint64_t)n * 8 + 8) return rg_error("dictionary page claims %lld entries in %zu bytes", (long long)count, n);
    col->dict = rg_malloc((count ? (size_t)count : 1) * sizeof *col->dict);
    if (!col->dict) return RG_ERR;
    void *extra = NULL;
    if (pq_decode_values(0, leaf->type, leaf->type_length, p, n, (size_t)count, NULL, 0, col->dict, &extra))
        return rg_error_prefix("dictionary page");
    col->ndict = (size_t)count;
    return RG_OK;
}

int pq_column_read(const uint8_t *chunk, size_t len, const pq_chunk_meta *cm, const pq_leaf *leaf, pq_column *col,
                   const pq_where *w) {
    size_t pos = 0;
    uint64_t want = (uint64_t)cm->num_values;
    if (cm->type != leaf->type)
        return rg_error("%s: row group %zu: column %s: chunk type %d differs from the schema's %d", w->file, w->row_group,
                        w->column, cm->type, leaf->type);
    while (col->n < want) {
        page_header h;
        size_t used = 0;
        if (pos >= len)
            return rg_error("%s: row group %zu: column %s: column chunk ends after %zu of %llu values", w->file,
                            w->row_group, w->column, col->n, (unsigned long long)want);
        if (parse_page_header(chunk + pos, len - pos, &h, &used))
            return rg_error_prefix("%s: row group %zu: column %s: at byte %zu of the chunk", w->file, w->row_group,
                                   w->column, pos);
        pos += used;
        if ((uint64_t)h.compressed > len - pos)
            return rg_error("%s: row group %zu: column %s: page of %lld bytes runs past the end of the column chunk "
                            "(%zu bytes left)",
                            w->file, w->row_group, w->column, (long long)h.compressed, len - pos);
        const uint8_t *src = chunk + pos;
        size_t n = (size_t)h.compressed;
        pos += n;
        int rc = RG_OK;
        if (h.type == PAGE_INDEX) continue;
        if (h.type == PAGE_DICT) {
            const uint8_t *data;
            rc = page_payload(col, cm->codec, src, n, (size_t)h.uncompressed, &data);
            if (rc == RG_OK) rc = read_dictionary(col, leaf, data, (size_t)h.uncompressed, h.num_values, h.encoding);
        } else if (h.type == PAGE_DATA || h.type == PAGE_DATA_V2) {
            int v2 = h.type == PAGE_DATA_V2;
            const uint8_t *data = NULL;
            size_t dn = 0, count = h.num_values < 0 ? 0 : (size_t)h.num_values, present = 0;
            if (h.num_values < 0) rc = rg_error("data page without a value count");
            else if (count > want - col->n)
                rc = rg_error("data page holds %zu values, the chunk only %llu more", count,
                              (unsigned long long)(want - col->n));
            if (rc == RG_OK && v2) {
                /* v2: levels are never compressed; the values may be. */
                if (h.rep_len < 0 || h.def_len < 0 || (uint64_t)h.rep_len + (uint64_t)h.def_len > n ||
                    (uint64_t)h.rep_len + (uint64_t)h.def_len > (uint64_t)h.uncompressed)
                    rc = rg_error("v2 page: level lengths exceed the page");
                if (rc == RG_OK) {
                    size_t lv = (size_t)(h.rep_len + h.def_len);
                    const uint8_t *vals;
                    int codec = h.is_compressed ? cm->codec : PQ_CODEC_NONE;
                    rc = page_payload(col, codec, src + lv, n - lv, (size_t)h.uncompressed - lv, &vals);
                    if (rc == RG_OK) {
                        const uint8_t *lp = src;
                        size_t ln = lv;
                        rc = read_levels(col, leaf, &h, 1, &lp, &ln, count, &present);
                        data = vals;
                        dn = (size_t)h.uncompressed - lv;
                    }
                }
            } else if (rc == RG_OK) {
                rc = page_payload(col, cm->codec, src, n, (size_t)h.uncompressed, &data);
                dn = (size_t)h.uncompressed;
                if (rc == RG_OK) rc = read_levels(col, leaf, &h, 0, &data, &dn, count, &present);
            }
            if (rc == RG_OK && leaf->max_def == 0 && leaf->max_rep == 0 && h.encoding != 2 && h.encoding != 8 &&
                present > dn * 64 + 1024)
                rc = rg_error("page claims %zu values in %zu bytes", present, dn);
            if (rc == RG_OK) rc = grow_values(col, present);
            if (rc == RG_OK) {
                void *extra = NULL;
                rc = pq_decode_values(h.encoding, leaf->type, leaf->type_length, data, dn, present, col->dict,
                                      col->ndict, col->values + col->nvalues, &extra);
                if (extra && keep_buf(col, extra)) rc = RG_ERR;
            }
            if (rc == RG_OK) {
                col->n += count;
                col->nvalues += present;
            }
        } else {
            rc = rg_error("unknown page type %d", h.type);
        }
        if (rc != RG_OK)
            return rg_error_prefix("%s: row group %zu: column %s", w->file, w->row_group, w->column);
    }
    return RG_OK;
}

void pq_column_free(pq_column *col) {
    free(col->def);
    free(col->rep);
    free(col->values);
    free(col->dict);
    for (size_t i = 0; i < col->nbufs; i++) free(col->bufs[i]);
    free(col->bufs);
    memset(col, 0, sizeof *col);
}
