/* records.c — JSON records from JSON Lines, a JSON array or pretty-printed
 * JSON, plain or gzip (see records.h). */
#include "io/records.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "io/byte_source.h"
#include "io/parquet.h"

/* How far the layout detection looks: the first line of a pretty-printed file
 * is short, and a JSON Lines line longer than this is read as JSON Lines. */
enum { SNIFF_BYTES = 1 << 16 };

struct rg_records {
    rg_bytes *bytes;
    rg_parquet *parquet; /* instead of bytes when the file is Parquet */
    char *name;
    rg_records_layout layout;
    long line;        /* the line the last record starts on */
    long index;       /* the last array element's index, else -1 */
    long cur_line;    /* scanner: the line being read (1-based) */
    long next_index;  /* scanner: the next element's index */
    int pushback;     /* scanner: one byte read too far, or -1 */
    int expect_comma; /* scanner: an array element was read */
    int opened;       /* scanner: the opening '[' was read */
    int done;         /* scanner: the closing ']' was read */
    int failed;
    char *buf;        /* the current line or value */
    size_t capacity, len;
};

/* ---- what the file is --------------------------------------------------- */

/* Files that are not text at all. The hints say how to get JSON Lines.
 * (Parquet, the one binary layout rgsd reads, is opened from its path before
 * this is asked: see rg_records_open.) */
static int sniff_raw(const char *name, const unsigned char *m, size_t n) {
    if (n >= 4 && memcmp(m, "PAR1", 4) == 0)
        return rg_error("%s: this is a Parquet file, which is read from its path, not a pipe (its footer is at "
                        "the end): give the file name", name);
    if (n >= 4 && memcmp(m, "PK\x03\x04", 4) == 0)
        return rg_error("%s: this is a zip archive; unpack it (unzip %s) and give the .jsonl or .json file inside", name,
                        name);
    if (n >= 3 && memcmp(m, "BZh", 3) == 0)
        return rg_error("%s: this is bzip2-compressed; decompress it (bunzip2 -k %s) or recompress it with gzip, "
                        "which rgsd reads directly", name, name);
    if (n >= 6 && memcmp(m, "\xFD" "7zXZ\x00", 6) == 0)
        return rg_error("%s: this is xz-compressed; decompress it (xz -dk %s) or recompress it with gzip, which "
                        "rgsd reads directly", name, name);
    if (n >= 4 && memcmp(m, "\x28\xB5\x2F\xFD", 4) == 0)
        return rg_error("%s: this is zstd-compressed; decompress it (zstd -d %s) or recompress it with gzip, which "
                        "rgsd reads directly", name, name);
    return RG_OK;
}

/* Text in an encoding other than UTF-8: a byte-order mark, or NUL bytes
 * between ASCII characters at the start ("{\0\"\0" is UTF-16LE). */
static int sniff_encoding(const char *name, const unsigned char *t, size_t n) {
    const char *encoding = NULL;
    if (n >= 4 && memcmp(t, "\xFF\xFE\x00\x00", 4) == 0) encoding = "UTF-32LE";
    else if (n >= 4 && memcmp(t, "\x00\x00\xFE\xFF", 4) == 0) encoding = "UTF-32BE";
    else if (n >= 2 && memcmp(t, "\xFF\xFE", 2) == 0) encoding = "UTF-16LE";
    else if (n >= 2 && memcmp(t, "\xFE\xFF", 2) == 0) encoding = "UTF-16BE";
    else if (n >= 4 && t[0] && !t[1] && t[2] && !t[3]) encoding = "UTF-16LE";
    else if (n >= 4 && !t[0] && t[1] && !t[2] && t[3]) encoding = "UTF-16BE";
    if (!encoding) return RG_OK;
    return rg_error("%s: this is %s text; rgsd reads UTF-8: convert it with iconv -f %s -t UTF-8 %s > out.jsonl",
                    name, encoding, encoding, name);
}

static int is_space(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* The layout from the first bytes of the text (after a UTF-8 BOM). */
static rg_records_layout sniff_layout(const unsigned char *t, size_t n) {
    size_t i = 0;
    while (i < n && is_space(t[i])) i++;
    if (i == n || t[i] == '[') return i == n ? RG_RECORDS_JSONL : RG_RECORDS_JSON_ARRAY;
    if (t[i] != '{') return RG_RECORDS_JSONL;
    const unsigned char *nl = memchr(t + i, '\n', n - i);
    if (!nl) return RG_RECORDS_JSONL; /* a first line longer than the window: one JSON line */
    size_t end = (size_t)(nl - t);
    while (end > i && is_space(t[end - 1])) end--;
    unsigned char last = t[end - 1];
    /* A JSON Lines line ends with the '}' that closes its object; a line that
     * stops after an opening brace, bracket, comma or colon goes on. */
    return (last == '{' || last == '[' || last == ',' || last == ':') ? RG_RECORDS_JSON_PRETTY : RG_RECORDS_JSONL;
}

static void records_free(rg_records *r) {
    if (!r) return;
    rg_bytes_close(r->bytes);
    rg_parquet_close(r->parquet);
    free(r->buf);
    free(r->name);
    free(r);
}

/* Parquet needs the path, not a stream (its footer is at the end): the
 * reader replaces the byte source, and each row is the object a JSON line
 * would be, its 1-based row number standing for the line. */
static int open_parquet(rg_records **out, const char *path) {
    rg_records *r = rg_calloc(1, sizeof *r);
    if (!r) return RG_ERR;
    r->index = -1;
    r->layout = RG_RECORDS_PARQUET;
    r->name = rg_strdup(path);
    if (!r->name || rg_parquet_open(&r->parquet, path)) {
        records_free(r);
        return RG_ERR;
    }
    *out = r;
    return RG_OK;
}

static int next_row(rg_records *r, cJSON **value) {
    long row;
    int got = rg_parquet_next_row(r->parquet, value, &row);
    if (got < 0) r->failed = 1; /* the reader stops at a damaged page */
    if (got == 1) r->line = row + 1;
    return got;
}

int rg_records_open(rg_records **out, const char *path) {
    *out = NULL;
    int is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "<stdin>" : path;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) return rg_error("%s: cannot open: %s", path, strerror(errno));
    unsigned char magic[8];
    size_t nmagic = fread(magic, 1, sizeof magic, f);
    if (nmagic < sizeof magic && ferror(f)) {
        int e = errno;
        if (!is_stdin) fclose(f);
        return rg_error("%s: read error: %s", name, strerror(e ? e : EIO));
    }
    if (!is_stdin && nmagic >= 4 && memcmp(magic, "PAR1", 4) == 0) {
        fclose(f);
        return open_parquet(out, path);
    }
    if (sniff_raw(name, magic, nmagic)) {
        if (!is_stdin) fclose(f);
        return RG_ERR;
    }
    rg_records *r = rg_calloc(1, sizeof *r);
    if (!r) {
        if (!is_stdin) fclose(f);
        return RG_ERR;
    }
    r->index = -1;
    r->pushback = -1;
    r->cur_line = 1;
    r->name = rg_strdup(name);
    if (!r->name || rg_bytes_open(&r->bytes, f, !is_stdin, name, magic, nmagic)) {
        if (!r->bytes && !is_stdin) fclose(f);
        records_free(r);
        return RG_ERR;
    }
    const unsigned char *text;
    size_t n;
    if (rg_bytes_peek(r->bytes, SNIFF_BYTES, &text, &n) || sniff_encoding(name, text, n)) {
        records_free(r);
        return RG_ERR;
    }
    /* A byte-order mark some editors put at the start of a UTF-8 file. */
    if (n >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        for (int i = 0; i < 3; i++) rg_bytes_getc(r->bytes);
        text += 3;
        n -= 3;
    }
    r->layout = sniff_layout(text, n);
    *out = r;
    return RG_OK;
}

/* ---- JSON Lines --------------------------------------------------------- */

static int is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!is_space((unsigned char)s[i])) return 0;
    return 1;
}

static int next_line(rg_records *r, cJSON **value) {
    for (;;) {
        size_t len;
        int got = rg_bytes_getline(r->bytes, &r->buf, &r->capacity, &len);
        if (got < 0) {
            r->failed = 1; /* the message names the file */
            return RG_ERR;
        }
        if (got == 0) return 0;
        r->line++;
        if (len > 0 && r->buf[len - 1] == '\r') r->buf[--len] = '\0';
        if (is_blank(r->buf, len)) continue;
        if (memchr(r->buf, '\0', len))
            return rg_error("%s:%ld: invalid JSON near column %zu (NUL byte) (read as %s)", r->name, r->line,
                            strlen(r->buf) + 1, rg_records_layout_name(r));
        const char *end = NULL;
        /* require_null_terminated: one value per line, nothing after it. */
        cJSON *parsed = cJSON_ParseWithLengthOpts(r->buf, len + 1, &end, 1);
        if (!parsed) {
            const char *at = end ? end : cJSON_GetErrorPtr();
            size_t column = (at && at >= r->buf && at <= r->buf + len) ? (size_t)(at - r->buf) + 1 : 1;
            return rg_error("%s:%ld: invalid JSON near column %zu (read as %s)", r->name, r->line, column,
                            rg_records_layout_name(r));
        }
        *value = parsed;
        return 1;
    }
}

/* ---- JSON array / pretty-printed JSON: a value scanner ------------------ */

static int get(rg_records *r) {
    int c;
    if (r->pushback >= 0) {
        c = r->pushback;
        r->pushback = -1;
    } else {
        c = rg_bytes_getc(r->bytes);
    }
    if (c == '\n') r->cur_line++;
    return c;
}

static void unget(rg_records *r, int c) {
    if (c < 0) return;
    if (c == '\n') r->cur_line--;
    r->pushback = c;
}

static int skip_space(rg_records *r) {
    int c;
    do c = get(r);
    while (c >= 0 && is_space(c));
    return c;
}

static int append(rg_records *r, int c) {
    if (r->len + 2 > r->capacity) {
        size_t grown_capacity = r->capacity ? 2 * r->capacity : 4096;
        char *grown = rg_realloc(r->buf, grown_capacity);
        if (!grown) return RG_ERR;
        r->buf = grown;
        r->capacity = grown_capacity;
    }
    r->buf[r->len++] = (char)c;
    return RG_OK;
}

/* A structural problem: the records after it cannot be found. */
static int broken(rg_records *r, const char *what) {
    r->failed = 1;
    return rg_error("%s:%ld: %s (read as %s)", r->name, r->cur_line, what, rg_records_layout_name(r));
}

/* An I/O or gzip error: the byte source's message names the file. */
static int read_error(rg_records *r) {
    r->failed = 1;
    return RG_ERR;
}

/* The bytes of one JSON value starting with c into r->buf: up to the bracket
 * that closes it, the quote that ends it, or (a bare number, true...) the
 * first space or separator. Brackets inside strings do not count. */
static int scan_value(rg_records *r, int c) {
    r->len = 0;
    r->line = r->cur_line;
    if (append(r, c)) return RG_ERR;
    if (c != '{' && c != '[' && c != '"') {
        for (;;) {
            c = get(r);
            if (c == -2) return read_error(r);
            if (c < 0 || is_space(c) || c == ',' || c == ']' || c == '}') break;
            if (append(r, c)) return RG_ERR;
        }
        unget(r, c);
        r->buf[r->len] = '\0';
        return RG_OK;
    }
    int depth = c == '"' ? 0 : 1, in_string = c == '"', escaped = 0;
    while (depth > 0 || in_string) {
        c = get(r);
        if (c == -2) return read_error(r);
        if (c < 0) {
            char what[160];
            snprintf(what, sizeof what, "the file ends inside the value that starts on line %ld", r->line);
            return broken(r, what);
        }
        if (append(r, c)) return RG_ERR;
        if (in_string) {
            if (escaped) escaped = 0;
            else if (c == '\\') escaped = 1;
            else if (c == '"') in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    r->buf[r->len] = '\0';
    return RG_OK;
}

/* Parses r->buf; a syntax error names the line and column it is on. */
static int parse_value(rg_records *r, cJSON **value) {
    char where[64] = "";
    if (r->layout == RG_RECORDS_JSON_ARRAY) snprintf(where, sizeof where, " in element [%ld]", r->index);
    if (memchr(r->buf, '\0', r->len))
        return rg_error("%s:%ld: invalid JSON%s (NUL byte) (read as %s)", r->name, r->line, where,
                        rg_records_layout_name(r));
    const char *end = NULL;
    cJSON *parsed = cJSON_ParseWithLengthOpts(r->buf, r->len + 1, &end, 1);
    if (parsed) {
        *value = parsed;
        return 1;
    }
    const char *at = end ? end : cJSON_GetErrorPtr();
    if (!at || at < r->buf || at > r->buf + r->len) at = r->buf;
    long line = r->line;
    const char *line_start = r->buf;
    for (const char *p = r->buf; p < at; p++)
        if (*p == '\n') {
            line++;
            line_start = p + 1;
        }
    return rg_error("%s:%ld: invalid JSON near column %zu%s (read as %s)", r->name, line,
                    (size_t)(at - line_start) + 1, where, rg_records_layout_name(r));
}

/* After the closing ']' only white space may follow. */
static int finish_array(rg_records *r) {
    r->done = 1;
    int c = skip_space(r);
    if (c == -2) return read_error(r);
    if (c >= 0) return broken(r, "more data after the closing ] of the array");
    return 0;
}

static int next_element(rg_records *r, cJSON **value) {
    if (r->done) return 0;
    if (!r->opened) {
        /* The opening bracket (sniffing saw it, after white space only). */
        int open = skip_space(r);
        if (open == -2) return read_error(r);
        if (open != '[') return broken(r, "expected [");
        r->opened = 1;
    }
    int c = skip_space(r);
    if (c == -2) return read_error(r);
    if (c == ']') return finish_array(r);
    if (r->expect_comma) {
        if (c != ',') {
            char what[96];
            snprintf(what, sizeof what, "expected , or ] after element [%ld]", r->next_index - 1);
            return broken(r, what);
        }
        c = skip_space(r);
        if (c == -2) return read_error(r);
    }
    if (c < 0) return broken(r, "the file ends inside the array (no closing ])");
    if (c == ',' || c == ']') {
        char what[96];
        snprintf(what, sizeof what, "element [%ld] is missing", r->next_index);
        return broken(r, what);
    }
    r->index = r->next_index++;
    r->expect_comma = 1;
    if (scan_value(r, c)) return RG_ERR;
    return parse_value(r, value);
}

static int next_pretty(rg_records *r, cJSON **value) {
    int c = skip_space(r);
    if (c == -2) return read_error(r);
    if (c < 0) return 0;
    if (scan_value(r, c)) return RG_ERR;
    return parse_value(r, value);
}

/* ---- the interface ------------------------------------------------------ */

int rg_records_next(rg_records *r, cJSON **value) {
    *value = NULL;
    if (r->failed) return rg_error("%s: read failed earlier", r->name);
    switch (r->layout) {
    case RG_RECORDS_JSON_ARRAY: return next_element(r, value);
    case RG_RECORDS_JSON_PRETTY: return next_pretty(r, value);
    case RG_RECORDS_PARQUET: return next_row(r, value);
    default: return next_line(r, value);
    }
}

long rg_records_line(const rg_records *r) { return r->line; }
long rg_records_index(const rg_records *r) { return r->index; }
const char *rg_records_name(const rg_records *r) { return r->name; }
rg_records_layout rg_records_layout_of(const rg_records *r) { return r->layout; }
int rg_records_failed(const rg_records *r) { return r->failed; }

const char *rg_records_layout_name(const rg_records *r) {
    int gz = r->bytes && rg_bytes_gzip(r->bytes);
    switch (r->layout) {
    case RG_RECORDS_JSON_ARRAY: return gz ? "a gzip-compressed JSON array" : "a JSON array";
    case RG_RECORDS_JSON_PRETTY: return gz ? "gzip-compressed pretty-printed JSON" : "pretty-printed JSON";
    case RG_RECORDS_PARQUET: return "Parquet";
    default: return gz ? "gzip-compressed JSON Lines" : "JSON Lines";
    }
}

void rg_records_close(rg_records *r) { records_free(r); }
