/* parquet_thrift.c — the Thrift compact protocol, as far as Parquet's footer
 * and page headers use it.
 *
 * Every read is checked against the end of the buffer; a failure is sticky
 * (t->failed) so a parser can read a whole struct and test once. Unknown
 * fields are skipped, which is how Thrift stays compatible with newer writers.
 */
#include "io/parquet_internal.h"

void pq_thrift_init(pq_thrift *t, const uint8_t *p, size_t n) {
    t->p = p;
    t->end = p + n;
    t->failed = 0;
    t->depth = 0;
    t->last_id = 0;
    t->sp = 0;
}

uint64_t pq_varint(const uint8_t **pp, const uint8_t *end, int *failed) {
    uint64_t v = 0;
    const uint8_t *p = *pp;
    for (int shift = 0; shift < 64; shift += 7) {
        if (p >= end) break;
        uint8_t b = *p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *pp = p;
            return v;
        }
    }
    *failed = 1;
    *pp = end;
    return 0;
}

static uint64_t tvarint(pq_thrift *t) {
    if (t->failed) return 0;
    return pq_varint(&t->p, t->end, &t->failed);
}

static int64_t zigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

void pq_thrift_struct_begin(pq_thrift *t) {
    if (t->sp >= (int)(sizeof t->id_stack / sizeof t->id_stack[0])) {
        t->failed = 1;
        return;
    }
    t->id_stack[t->sp++] = t->last_id;
    t->last_id = 0;
}

void pq_thrift_struct_end(pq_thrift *t) {
    if (t->sp > 0) t->last_id = t->id_stack[--t->sp];
}

int pq_thrift_field(pq_thrift *t, int *id, int *type) {
    if (t->failed || t->p >= t->end) {
        t->failed = 1;
        return 0;
    }
    uint8_t b = *t->p++;
    if (b == 0) return 0;
    int delta = b >> 4;
    *type = b & 0x0f;
    if (delta) {
        t->last_id = (int16_t)(t->last_id + delta);
    } else {
        t->last_id = (int16_t)zigzag(tvarint(t));
    }
    *id = t->last_id;
    return !t->failed;
}

int64_t pq_thrift_int(pq_thrift *t) {
    return zigzag(tvarint(t));
}

int pq_thrift_bool(pq_thrift *t, int type) {
    (void)t;
    return type == TC_TRUE;
}

const uint8_t *pq_thrift_binary(pq_thrift *t, size_t *len) {
    uint64_t n = tvarint(t);
    *len = 0;
    if (t->failed) return NULL;
    if (n > (uint64_t)(t->end - t->p)) {
        t->failed = 1;
        return NULL;
    }
    const uint8_t *s = t->p;
    t->p += n;
    *len = (size_t)n;
    return s;
}

size_t pq_thrift_list(pq_thrift *t, int *elem_type) {
    if (t->failed || t->p >= t->end) {
        t->failed = 1;
        return 0;
    }
    uint8_t b = *t->p++;
    uint64_t n = b >> 4;
    *elem_type = b & 0x0f;
    if (n == 15) n = tvarint(t);
    /* Each element takes at least one byte (a bool in a list is one byte too),
     * so a count larger than what is left is a lie, caught before anyone
     * allocates for it. */
    if (n > (uint64_t)(t->end - t->p)) t->failed = 1;
    return t->failed ? 0 : (size_t)n;
}

void pq_thrift_skip(pq_thrift *t, int type) {
    if (t->failed) return;
    if (++t->depth > 64) {
        t->failed = 1;
        return;
    }
    switch (type) {
    case TC_TRUE:
    case TC_FALSE:
        break;
    case TC_BYTE:
        if (t->p >= t->end) t->failed = 1;
        else t->p++;
        break;
    case TC_I16:
    case TC_I32:
    case TC_I64:
        (void)tvarint(t);
        break;
    case TC_DOUBLE:
        if (t->end - t->p < 8) t->failed = 1;
        else t->p += 8;
        break;
    case TC_BINARY: {
        size_t len;
        (void)pq_thrift_binary(t, &len);
        break;
    }
    case TC_LIST:
    case TC_SET: {
        int et;
        size_t n = pq_thrift_list(t, &et);
        for (size_t i = 0; i < n && !t->failed; i++) {
            if (et == TC_TRUE || et == TC_FALSE) pq_thrift_skip(t, TC_BYTE);
            else pq_thrift_skip(t, et);
        }
        break;
    }
    case TC_MAP: {
        uint64_t n = tvarint(t);
        if (n == 0) break;
        if (t->p >= t->end || n > (uint64_t)(t->end - t->p)) {
            t->failed = 1;
            break;
        }
        uint8_t kv = *t->p++;
        int kt = kv >> 4, vt = kv & 0x0f;
        for (uint64_t i = 0; i < n && !t->failed; i++) {
            pq_thrift_skip(t, (kt == TC_TRUE || kt == TC_FALSE) ? TC_BYTE : kt);
            pq_thrift_skip(t, (vt == TC_TRUE || vt == TC_FALSE) ? TC_BYTE : vt);
        }
        break;
    }
    case TC_STRUCT: {
        pq_thrift_struct_begin(t);
        int id, ft;
        while (pq_thrift_field(t, &id, &ft)) pq_thrift_skip(t, ft);
        pq_thrift_struct_end(t);
        break;
    }
    default:
        t->failed = 1;
    }
    t->depth--;
}
