/* parquet_encoding.c — Parquet's value encodings.
 *
 * PLAIN, the RLE/bit-packed hybrid (levels, dictionary indices, booleans),
 * PLAIN_DICTIONARY/RLE_DICTIONARY, DELTA_BINARY_PACKED,
 * DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY and BYTE_STREAM_SPLIT. Each
 * decoder reads only inside [p, p+n) and produces exactly `count` values or
 * fails with a message (the caller adds file, row group and column).
 */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "io/parquet_internal.h"

enum { ENC_PLAIN = 0, ENC_PLAIN_DICT = 2, ENC_RLE = 3, ENC_BIT_PACKED = 4, ENC_DELTA_BINARY = 5,
       ENC_DELTA_LENGTH = 6, ENC_DELTA_BYTE_ARRAY = 7, ENC_RLE_DICT = 8, ENC_BYTE_STREAM_SPLIT = 9 };

static uint64_t le_read(const uint8_t *p, int nbytes) {
    uint64_t v = 0;
    for (int i = 0; i < nbytes; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* ---- RLE / bit-packed hybrid ------------------------------------------- */

/* Walks the runs; calls emit for each. A generic walker keeps the three
 * users (u32 values, u8 levels, counting) on one parser. */
typedef struct {
    const uint8_t *p, *end;
    int bw;
} rle_in;

/* Reads the header of the next run: 1 with *rle (1 = repeated run) and *len
 * values, 0 at the end of input, -1 on a malformed header. */
static int rle_header(rle_in *in, int *rle, uint64_t *len, uint32_t *value, const uint8_t **bits) {
    if (in->p >= in->end) return 0;
    int failed = 0;
    uint64_t h = pq_varint(&in->p, in->end, &failed);
    if (failed) return -1;
    if (h & 1) {
        uint64_t groups = h >> 1;
        /* bw bits per value, 8 values per group: groups*bw bytes. */
        if (groups > (uint64_t)(in->end - in->p) / (in->bw ? (uint64_t)in->bw : 1)) {
            /* Writers may end a stream with a group that is cut short; accept
             * what is there (values beyond the data are never asked for). */
            groups = in->bw ? (uint64_t)(in->end - in->p) / (uint64_t)in->bw : groups;
            if (groups == 0 && in->bw) return -1;
        }
        *rle = 0;
        *len = groups * 8;
        *bits = in->p;
        in->p += groups * (uint64_t)in->bw;
    } else {
        int nb = (in->bw + 7) / 8;
        if (in->end - in->p < nb) return -1;
        *rle = 1;
        *len = h >> 1;
        *value = (uint32_t)le_read(in->p, nb);
        in->p += nb;
    }
    return 1;
}

static inline uint32_t unpack_one(const uint8_t *bits, int bw, uint64_t i) {
    uint64_t bit = i * (uint64_t)bw;
    const uint8_t *q = bits + (bit >> 3);
    int sh = (int)(bit & 7);
    int need = (sh + bw + 7) / 8;
    uint64_t w = le_read(q, need);
    return (uint32_t)((w >> sh) & ((bw == 32) ? 0xffffffffu : ((1u << bw) - 1)));
}

int pq_rle_decode(const uint8_t *p, size_t n, int bw, uint32_t *out, size_t count) {
    if (bw < 0 || bw > 32) return rg_error("bit width %d out of range", bw);
    rle_in in = {p, p + n, bw};
    size_t got = 0;
    while (got < count) {
        int rle;
        uint64_t len;
        uint32_t value = 0;
        const uint8_t *bits = NULL;
        int h = rle_header(&in, &rle, &len, &value, &bits);
        if (h <= 0) return rg_error("RLE/bit-packed data %s after %zu of %zu values", h < 0 ? "malformed" : "ends", got, count);
        uint64_t take = len < count - got ? len : count - got;
        if (rle) {
            for (uint64_t i = 0; i < take; i++) out[got + i] = value;
        } else if (bw == 0) {
            memset(out + got, 0, take * sizeof *out);
        } else {
            for (uint64_t i = 0; i < take; i++) out[got + i] = unpack_one(bits, bw, i);
        }
        got += take;
    }
    return RG_OK;
}

int pq_rle_decode_u8(const uint8_t *p, size_t n, int bw, uint8_t *out, size_t count) {
    if (bw < 0 || bw > 8) return rg_error("level bit width %d out of range", bw);
    rle_in in = {p, p + n, bw};
    size_t got = 0;
    while (got < count) {
        int rle;
        uint64_t len;
        uint32_t value = 0;
        const uint8_t *bits = NULL;
        int h = rle_header(&in, &rle, &len, &value, &bits);
        if (h <= 0) return rg_error("levels %s after %zu of %zu values", h < 0 ? "malformed" : "end", got, count);
        uint64_t take = len < count - got ? len : count - got;
        if (rle) {
            if (value > 255) return rg_error("level %u out of range", value);
            memset(out + got, (int)value, take);
        } else if (bw == 0) {
            memset(out + got, 0, take);
        } else if (bw == 1) {
            for (uint64_t i = 0; i < take; i++) out[got + i] = (bits[i >> 3] >> (i & 7)) & 1;
        } else {
            for (uint64_t i = 0; i < take; i++) out[got + i] = (uint8_t)unpack_one(bits, bw, i);
        }
        got += take;
    }
    return RG_OK;
}

int pq_rle_count(const uint8_t *p, size_t n, int bw, size_t limit, size_t *count) {
    rle_in in = {p, p + n, bw};
    uint64_t total = 0;
    for (;;) {
        int rle;
        uint64_t len;
        uint32_t value;
        const uint8_t *bits;
        int h = rle_header(&in, &rle, &len, &value, &bits);
        if (h < 0) return rg_error("malformed RLE/bit-packed levels");
        if (h == 0) break;
        total += len;
        if (total >= limit) {
            total = limit;
            break;
        }
    }
    *count = (size_t)total;
    return RG_OK;
}

/* ---- PLAIN ------------------------------------------------------------- */

static int plain(int type, int type_length, const uint8_t *p, size_t n, size_t count, pq_value *out) {
    const uint8_t *end = p + n;
    switch (type) {
    case PQ_BOOLEAN:
        if ((count + 7) / 8 > n) return rg_error("PLAIN booleans: %zu values need %zu bytes, page has %zu", count, (count + 7) / 8, n);
        for (size_t i = 0; i < count; i++) out[i].u.i = (p[i >> 3] >> (i & 7)) & 1;
        return RG_OK;
    case PQ_INT32:
        if (count > n / 4) return rg_error("PLAIN INT32: %zu values need %zu bytes, page has %zu", count, count * 4, n);
        for (size_t i = 0; i < count; i++) out[i].u.i = (int32_t)(uint32_t)le_read(p + 4 * i, 4);
        return RG_OK;
    case PQ_INT64:
        if (count > n / 8) return rg_error("PLAIN INT64: %zu values need %zu bytes, page has %zu", count, count * 8, n);
        for (size_t i = 0; i < count; i++) out[i].u.i = (int64_t)le_read(p + 8 * i, 8);
        return RG_OK;
    case PQ_FLOAT:
        if (count > n / 4) return rg_error("PLAIN FLOAT: %zu values need %zu bytes, page has %zu", count, count * 4, n);
        for (size_t i = 0; i < count; i++) {
            uint32_t b = (uint32_t)le_read(p + 4 * i, 4);
            float f;
            memcpy(&f, &b, 4);
            out[i].u.d = f;
        }
        return RG_OK;
    case PQ_DOUBLE:
        if (count > n / 8) return rg_error("PLAIN DOUBLE: %zu values need %zu bytes, page has %zu", count, count * 8, n);
        for (size_t i = 0; i < count; i++) {
            uint64_t b = le_read(p + 8 * i, 8);
            memcpy(&out[i].u.d, &b, 8);
        }
        return RG_OK;
    case PQ_BYTE_ARRAY:
        for (size_t i = 0; i < count; i++) {
            if (end - p < 4) return rg_error("PLAIN BYTE_ARRAY: value %zu of %zu past the end of the page", i, count);
            uint32_t len = (uint32_t)le_read(p, 4);
            p += 4;
            if (len > (size_t)(end - p))
                return rg_error("PLAIN BYTE_ARRAY: value %zu has length %u, only %zu bytes left in the page", i, len,
                                (size_t)(end - p));
            out[i].u.p = p;
            out[i].len = len;
            p += len;
        }
        return RG_OK;
    case PQ_FIXED:
        if (type_length <= 0) return rg_error("FIXED_LEN_BYTE_ARRAY without a length");
        if (count > n / (size_t)type_length) return rg_error("PLAIN FIXED_LEN_BYTE_ARRAY: page too short");
        for (size_t i = 0; i < count; i++) {
            out[i].u.p = p + i * (size_t)type_length;
            out[i].len = (uint32_t)type_length;
        }
        return RG_OK;
    default:
        return rg_error("physical type %d not supported", type);
    }
}

/* ---- DELTA_BINARY_PACKED ----------------------------------------------- */

/* Decodes one DELTA_BINARY_PACKED stream of up to `count` values (the header
 * says how many; fewer is an error). *used: bytes consumed. */
static int delta_binary(const uint8_t *p, size_t n, size_t count, int64_t *out, size_t *used, size_t *total_out) {
    const uint8_t *q = p, *end = p + n;
    int failed = 0;
    uint64_t block = pq_varint(&q, end, &failed);
    uint64_t nmini = pq_varint(&q, end, &failed);
    uint64_t total = pq_varint(&q, end, &failed);
    uint64_t zz = pq_varint(&q, end, &failed);
    if (failed) return rg_error("DELTA_BINARY_PACKED header truncated");
    if (block == 0 || block % 128 || nmini == 0 || block % nmini || (block / nmini) % 32 || block > (1u << 20))
        return rg_error("DELTA_BINARY_PACKED header invalid (block %llu, miniblocks %llu)", (unsigned long long)block,
                        (unsigned long long)nmini);
    if (total_out) *total_out = (size_t)total;
    if (total < count) return rg_error("DELTA_BINARY_PACKED holds %llu values, %zu needed", (unsigned long long)total, count);
    if (count == 0 && total == 0) {
        *used = (size_t)(q - p);
        return RG_OK;
    }
    int64_t v = (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1);
    uint64_t per_mini = block / nmini;
    size_t got = 0;
    if (count) out[got++] = v;
    uint64_t left = total - 1; /* values still in the stream, whether wanted or not */
    while (left > 0) {
        uint64_t mzz = pq_varint(&q, end, &failed);
        if (failed) return rg_error("DELTA_BINARY_PACKED block truncated");
        int64_t min_delta = (int64_t)(mzz >> 1) ^ -(int64_t)(mzz & 1);
        if ((uint64_t)(end - q) < nmini) return rg_error("DELTA_BINARY_PACKED block truncated");
        const uint8_t *widths = q;
        q += nmini;
        for (uint64_t m = 0; m < nmini && left > 0; m++) {
            int bw = widths[m];
            if (bw > 64) return rg_error("DELTA_BINARY_PACKED bit width %d", bw);
            uint64_t bytes = per_mini * (uint64_t)bw / 8;
            if ((uint64_t)(end - q) < bytes) return rg_error("DELTA_BINARY_PACKED miniblock truncated");
            uint64_t take = left < per_mini ? left : per_mini;
            /* Values past those wanted are skipped, not computed: the loop
             * then costs one step per miniblock, which the bytes bound. */
            if (got >= count) {
                left -= take;
                q += bytes;
                continue;
            }
            for (uint64_t i = 0; i < take; i++) {
                uint64_t d = 0;
                if (bw) {
                    uint64_t bit = i * (uint64_t)bw;
                    const uint8_t *b = q + (bit >> 3);
                    int sh = (int)(bit & 7);
                    /* up to 64+7 bits: read 9 bytes when needed */
                    int need = (sh + bw + 7) / 8;
                    unsigned __int128 w = 0;
                    for (int k = 0; k < need; k++) w |= (unsigned __int128)b[k] << (8 * k);
                    d = (uint64_t)(w >> sh);
                    if (bw < 64) d &= ((uint64_t)1 << bw) - 1;
                }
                /* Wrapping arithmetic, as the spec asks (deltas of extreme values overflow). */
                v = (int64_t)((uint64_t)v + (uint64_t)min_delta + d);
                if (got < count) out[got++] = v;
            }
            left -= take;
            q += bytes;
        }
    }
    *used = (size_t)(q - p);
    return RG_OK;
}

/* DELTA_BINARY_PACKED into values of a physical type. */
static int delta_values(int type, const uint8_t *p, size_t n, size_t count, pq_value *out) {
    if (type != PQ_INT32 && type != PQ_INT64) return rg_error("DELTA_BINARY_PACKED on a non-integer column");
    int64_t *tmp = rg_malloc((count ? count : 1) * sizeof *tmp);
    if (!tmp) return RG_ERR;
    size_t used;
    int rc = delta_binary(p, n, count, tmp, &used, NULL);
    for (size_t i = 0; rc == RG_OK && i < count; i++) out[i].u.i = type == PQ_INT32 ? (int32_t)tmp[i] : tmp[i];
    free(tmp);
    return rc;
}

/* Reads the lengths stream of the DELTA byte-array encodings: `need` values
 * (the page's count, already bounded by the caller) are kept; the stream may
 * hold more, which are walked over to find where the next part begins. */
static int delta_lengths(const uint8_t **p, const uint8_t *end, size_t need, int64_t **lens) {
    *lens = rg_malloc((need ? need : 1) * sizeof **lens);
    if (!*lens) return RG_ERR;
    size_t used;
    if (delta_binary(*p, (size_t)(end - *p), need, *lens, &used, NULL)) {
        free(*lens);
        *lens = NULL;
        return RG_ERR;
    }
    *p += used;
    return RG_OK;
}

static int delta_length_byte_array(const uint8_t *p, size_t n, size_t count, pq_value *out) {
    const uint8_t *end = p + n;
    int64_t *lens;
    if (delta_lengths(&p, end, count, &lens)) return RG_ERR;
    int rc = RG_OK;
    for (size_t i = 0; rc == RG_OK && i < count; i++) {
        if (lens[i] < 0 || (uint64_t)lens[i] > (uint64_t)(end - p)) {
            rc = rg_error("DELTA_LENGTH_BYTE_ARRAY: value %zu has length %lld, %zu bytes left", i, (long long)lens[i],
                          (size_t)(end - p));
            break;
        }
        out[i].u.p = p;
        out[i].len = (uint32_t)lens[i];
        p += lens[i];
    }
    free(lens);
    return rc;
}

/* DELTA_BYTE_ARRAY rebuilds each value from a prefix of the previous one,
 * so the values are written into a new buffer that the caller keeps. */
static int delta_byte_array(const uint8_t *p, size_t n, size_t count, pq_value *out, void **extra) {
    const uint8_t *end = p + n;
    int64_t *prefix = NULL, *suffix = NULL;
    if (delta_lengths(&p, end, count, &prefix)) return RG_ERR;
    if (delta_lengths(&p, end, count, &suffix)) {
        free(prefix);
        return RG_ERR;
    }
    int rc = RG_OK;
    /* Total output size, checked before allocating: suffixes must be in the
     * page; a prefix is at most the previous value's length. */
    uint64_t size = 0, prev = 0, in_suffix = 0;
    for (size_t i = 0; rc == RG_OK && i < count; i++) {
        if (prefix[i] < 0 || suffix[i] < 0 || (uint64_t)prefix[i] > prev)
            rc = rg_error("DELTA_BYTE_ARRAY: value %zu has a bad prefix/suffix length", i);
        else {
            in_suffix += (uint64_t)suffix[i];
            if (in_suffix > (uint64_t)(end - p)) rc = rg_error("DELTA_BYTE_ARRAY: suffixes run past the page");
            prev = (uint64_t)prefix[i] + (uint64_t)suffix[i];
            size += prev;
            if (size > ((uint64_t)1 << 31)) rc = rg_error("DELTA_BYTE_ARRAY: values larger than 2 GiB in one page");
        }
    }
    uint8_t *buf = NULL;
    if (rc == RG_OK) buf = rg_malloc(size ? size : 1);
    if (!buf) rc = RG_ERR;
    uint8_t *w = buf;
    const uint8_t *last = NULL;
    for (size_t i = 0; rc == RG_OK && i < count; i++) {
        if (prefix[i]) memcpy(w, last, (size_t)prefix[i]);
        memcpy(w + prefix[i], p, (size_t)suffix[i]);
        p += suffix[i];
        out[i].u.p = w;
        out[i].len = (uint32_t)(prefix[i] + suffix[i]);
        last = w;
        w += out[i].len;
    }
    free(prefix);
    free(suffix);
    if (rc == RG_OK) *extra = buf;
    else free(buf);
    return rc;
}

static int byte_stream_split(int type, int type_length, const uint8_t *p, size_t n, size_t count, pq_value *out,
                             void **extra) {
    int k = type == PQ_FLOAT || type == PQ_INT32 ? 4 : type == PQ_DOUBLE || type == PQ_INT64 ? 8 : type == PQ_FIXED ? type_length : 0;
    if (k <= 0) return rg_error("BYTE_STREAM_SPLIT on an unsupported type");
    if (count > n / (size_t)k) return rg_error("BYTE_STREAM_SPLIT: page too short for %zu values", count);
    size_t streams = n / (size_t)k; /* values in the page: each stream is that long */
    if (type == PQ_FIXED) {
        uint8_t *buf = rg_malloc(count * (size_t)k + 1);
        if (!buf) return RG_ERR;
        for (size_t i = 0; i < count; i++) {
            for (int b = 0; b < k; b++) buf[i * (size_t)k + (size_t)b] = p[(size_t)b * streams + i];
            out[i].u.p = buf + i * (size_t)k;
            out[i].len = (uint32_t)k;
        }
        *extra = buf;
        return RG_OK;
    }
    for (size_t i = 0; i < count; i++) {
        uint8_t b8[8];
        for (int b = 0; b < k; b++) b8[b] = p[(size_t)b * streams + i];
        uint64_t bits = le_read(b8, k);
        if (type == PQ_FLOAT) {
            float f;
            uint32_t b32 = (uint32_t)bits;
            memcpy(&f, &b32, 4);
            out[i].u.d = f;
        } else if (type == PQ_DOUBLE) {
            memcpy(&out[i].u.d, &bits, 8);
        } else if (type == PQ_INT32) {
            out[i].u.i = (int32_t)(uint32_t)bits;
        } else {
            out[i].u.i = (int64_t)bits;
        }
    }
    return RG_OK;
}

static int dictionary(const uint8_t *p, size_t n, size_t count, const pq_value *dict, size_t ndict, pq_value *out) {
    if (!dict) return rg_error("dictionary-encoded page without a dictionary page");
    if (count == 0) return RG_OK;
    if (n < 1) return rg_error("dictionary indices missing");
    int bw = p[0];
    if (bw > 32) return rg_error("dictionary index bit width %d", bw);
    /* The indices must really be there before `count` of them are allocated. */
    size_t avail;
    if (pq_rle_count(p + 1, n - 1, bw, count, &avail)) return RG_ERR;
    if (avail < count) return rg_error("dictionary indices hold %zu of %zu values", avail, count);
    uint32_t *idx = rg_malloc(count * sizeof *idx);
    if (!idx) return RG_ERR;
    int rc = pq_rle_decode(p + 1, n - 1, bw, idx, count);
    for (size_t i = 0; rc == RG_OK && i < count; i++) {
        if (idx[i] >= ndict) rc = rg_error("dictionary index %u out of range (dictionary has %zu entries)", idx[i], ndict);
        else out[i] = dict[idx[i]];
    }
    free(idx);
    return rc;
}

int pq_decode_values(int encoding, int type, int type_length, const uint8_t *p, size_t n, size_t count,
                     const pq_value *dict, size_t ndict, pq_value *out, void **extra) {
    *extra = NULL;
    switch (encoding) {
    case ENC_PLAIN:
        return plain(type, type_length, p, n, count, out);
    case ENC_PLAIN_DICT:
    case ENC_RLE_DICT:
        return dictionary(p, n, count, dict, ndict, out);
    case ENC_RLE: {
        /* Only booleans use RLE for values: a 4-byte length, then the hybrid. */
        if (type != PQ_BOOLEAN) return rg_error("RLE encoding on a non-boolean column");
        if (n < 4) return rg_error("RLE booleans: length missing");
        size_t len = (size_t)le_read(p, 4);
        if (len > n - 4) return rg_error("RLE booleans: length %zu past the page", len);
        uint32_t *tmp = rg_malloc((count ? count : 1) * sizeof *tmp);
        if (!tmp) return RG_ERR;
        int rc = pq_rle_decode(p + 4, len, 1, tmp, count);
        for (size_t i = 0; rc == RG_OK && i < count; i++) out[i].u.i = tmp[i];
        free(tmp);
        return rc;
    }
    case ENC_DELTA_BINARY:
        return delta_values(type, p, n, count, out);
    case ENC_DELTA_LENGTH:
        if (type != PQ_BYTE_ARRAY) return rg_error("DELTA_LENGTH_BYTE_ARRAY on a non-byte-array column");
        return delta_length_byte_array(p, n, count, out);
    case ENC_DELTA_BYTE_ARRAY:
        if (type != PQ_BYTE_ARRAY && type != PQ_FIXED) return rg_error("DELTA_BYTE_ARRAY on a non-byte-array column");
        return delta_byte_array(p, n, count, out, extra);
    case ENC_BYTE_STREAM_SPLIT:
        return byte_stream_split(type, type_length, p, n, count, out, extra);
    default:
        return rg_error("value encoding %d not supported", encoding);
    }
}
