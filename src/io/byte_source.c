/* byte_source.c — plain or gzip bytes through one buffer (see byte_source.h). */
#include "io/byte_source.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "base/error.h"

enum { CHUNK = 1 << 16 };

struct rg_bytes {
    FILE *stream;
    int owns;
    char *name;
    unsigned char magic[8]; /* bytes the caller read before handing the stream over */
    size_t nmagic, magic_used;
    int gzip;
    z_stream z;
    int z_ready, z_member_done;
    unsigned char *in;  /* compressed input (gzip only) */
    unsigned char *buf; /* decoded bytes: buf[pos..end) not yet consumed */
    size_t pos, end, capacity;
    int eof, failed;
};

/* Raw bytes from the stream, the caller's magic bytes first. */
static size_t raw_read(rg_bytes *b, unsigned char *dst, size_t n) {
    size_t got = 0;
    while (got < n && b->magic_used < b->nmagic) dst[got++] = b->magic[b->magic_used++];
    if (got < n) got += fread(dst + got, 1, n - got, b->stream);
    return got;
}

static int read_failed(rg_bytes *b) {
    b->failed = 1;
    return rg_error("%s: read error: %s", b->name, strerror(errno ? errno : EIO));
}

/* Appends decoded bytes at buf[end..]; 0 at the end of the data. */
static int fill(rg_bytes *b) {
    if (b->failed) return rg_error("%s: read failed earlier", b->name);
    if (b->eof) return 0;
    if (b->pos > 0 && b->pos == b->end) b->pos = b->end = 0;
    if (b->end == b->capacity) {
        /* Keep what is not consumed; grow only when a peek needs more. */
        if (b->pos > 0) {
            memmove(b->buf, b->buf + b->pos, b->end - b->pos);
            b->end -= b->pos;
            b->pos = 0;
        } else {
            size_t grown_capacity = b->capacity ? 2 * b->capacity : CHUNK;
            unsigned char *grown = rg_realloc(b->buf, grown_capacity);
            if (!grown) return RG_ERR;
            b->buf = grown;
            b->capacity = grown_capacity;
        }
    }
    size_t room = b->capacity - b->end;
    errno = 0;
    if (!b->gzip) {
        size_t got = raw_read(b, b->buf + b->end, room);
        if (got == 0) {
            if (ferror(b->stream)) return read_failed(b);
            b->eof = 1;
            return 0;
        }
        b->end += got;
        return 1;
    }
    for (;;) {
        if (b->z.avail_in == 0) {
            size_t got = raw_read(b, b->in, CHUNK);
            if (got == 0) {
                if (ferror(b->stream)) return read_failed(b);
                b->eof = 1;
                if (!b->z_member_done) {
                    b->failed = 1;
                    return rg_error("%s: gzip data ends early (truncated file?)", b->name);
                }
                return 0;
            }
            b->z.next_in = b->in;
            b->z.avail_in = (uInt)got;
        }
        if (b->z_member_done) {
            /* Another member follows (concatenated .gz files). */
            if (inflateReset(&b->z) != Z_OK) return rg_error("%s: gzip: cannot restart", b->name);
            b->z_member_done = 0;
        }
        b->z.next_out = b->buf + b->end;
        b->z.avail_out = (uInt)room;
        int rc = inflate(&b->z, Z_NO_FLUSH);
        size_t produced = room - b->z.avail_out;
        b->end += produced;
        if (rc == Z_STREAM_END) b->z_member_done = 1;
        else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            b->failed = 1;
            return rg_error("%s: invalid gzip data: %s", b->name, b->z.msg ? b->z.msg : "inflate failed");
        }
        if (produced > 0) return 1;
    }
}

int rg_bytes_open(rg_bytes **out, FILE *stream, int owns, const char *name, const unsigned char *magic,
                  size_t nmagic) {
    *out = NULL;
    rg_bytes *b = rg_calloc(1, sizeof *b);
    if (!b) return RG_ERR;
    b->stream = stream;
    b->name = rg_strdup(name);
    if (nmagic > sizeof b->magic) nmagic = sizeof b->magic;
    memcpy(b->magic, magic, nmagic);
    b->nmagic = nmagic;
    if (!b->name) goto fail;
    if (nmagic >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        b->gzip = 1;
        b->in = rg_malloc(CHUNK);
        if (!b->in) goto fail;
        /* 16 + MAX_WBITS: a gzip wrapper, not raw deflate or zlib. */
        if (inflateInit2(&b->z, 16 + MAX_WBITS) != Z_OK) {
            rg_error("%s: gzip: cannot start zlib", name);
            goto fail;
        }
        b->z_ready = 1;
    }
    b->owns = owns;
    *out = b;
    return RG_OK;
fail:
    rg_bytes_close(b);
    return RG_ERR;
}

int rg_bytes_gzip(const rg_bytes *b) { return b->gzip; }

int rg_bytes_peek(rg_bytes *b, size_t want, const unsigned char **data, size_t *available) {
    while (b->end - b->pos < want) {
        int got = fill(b);
        if (got < 0) return RG_ERR;
        if (got == 0) break;
    }
    *data = b->buf + b->pos;
    *available = b->end - b->pos;
    return RG_OK;
}

int rg_bytes_getc(rg_bytes *b) {
    if (b->pos == b->end) {
        int got = fill(b);
        if (got < 0) return -2;
        if (got == 0) return -1;
    }
    return b->buf[b->pos++];
}

int rg_bytes_getline(rg_bytes *b, char **line, size_t *capacity, size_t *len) {
    size_t n = 0;
    int any = 0;
    for (;;) {
        if (b->pos == b->end) {
            int got = fill(b);
            if (got < 0) return RG_ERR;
            if (got == 0) break;
        }
        any = 1;
        const unsigned char *start = b->buf + b->pos;
        const unsigned char *nl = memchr(start, '\n', b->end - b->pos);
        size_t take = nl ? (size_t)(nl - start) : b->end - b->pos;
        if (n + take + 1 > *capacity) {
            size_t grown_capacity = *capacity ? *capacity : 256;
            while (grown_capacity < n + take + 1) grown_capacity *= 2;
            char *grown = rg_realloc(*line, grown_capacity);
            if (!grown) return RG_ERR;
            *line = grown;
            *capacity = grown_capacity;
        }
        memcpy(*line + n, start, take);
        n += take;
        b->pos += take + (nl ? 1 : 0);
        if (nl) break;
    }
    if (!any) return 0;
    (*line)[n] = '\0';
    *len = n;
    return 1;
}

void rg_bytes_close(rg_bytes *b) {
    if (!b) return;
    if (b->z_ready) inflateEnd(&b->z);
    if (b->owns && b->stream) fclose(b->stream);
    free(b->in);
    free(b->buf);
    free(b->name);
    free(b);
}
