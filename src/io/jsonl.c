/* jsonl.c — streaming JSON Lines reader (see jsonl.h). */
#include "io/jsonl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

struct rg_jsonl {
    FILE *stream;
    int owns_stream;
    char *name;
    char *line;       /* getline buffer, reused across lines */
    size_t capacity;
    long line_number; /* physical lines read so far */
    int io_failed;
};

static int open_common(rg_jsonl **out, FILE *stream, int owns, const char *name) {
    rg_jsonl *in = rg_calloc(1, sizeof *in);
    if (!in) return RG_ERR;
    in->name = rg_strdup(name);
    if (!in->name) {
        free(in);
        return RG_ERR;
    }
    in->stream = stream;
    in->owns_stream = owns;
    *out = in;
    return RG_OK;
}

int rg_jsonl_open(rg_jsonl **out, const char *path) {
    *out = NULL;
    if (strcmp(path, "-") == 0) return open_common(out, stdin, 0, "<stdin>");
    FILE *f = fopen(path, "rb");
    if (!f) return rg_error("%s: cannot open: %s", path, strerror(errno));
    if (open_common(out, f, 1, path)) {
        fclose(f);
        return RG_ERR;
    }
    return RG_OK;
}

int rg_jsonl_open_stream(rg_jsonl **out, FILE *stream, const char *name) {
    *out = NULL;
    return open_common(out, stream, 0, name);
}

static int is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return 0;
    return 1;
}

int rg_jsonl_next(rg_jsonl *in, cJSON **value) {
    *value = NULL;
    if (in->io_failed) return rg_error("%s: read failed earlier", in->name);
    for (;;) {
        errno = 0;
        ssize_t got = getline(&in->line, &in->capacity, in->stream);
        if (got < 0) {
            if (ferror(in->stream)) {
                in->io_failed = 1;
                return rg_error("%s:%ld: read error: %s", in->name, in->line_number + 1,
                                strerror(errno ? errno : EIO));
            }
            return 0;
        }
        in->line_number++;
        char *text = in->line;
        size_t len = (size_t)got;
        if (len > 0 && text[len - 1] == '\n') len--;
        if (len > 0 && text[len - 1] == '\r') len--;
        /* A byte-order mark some editors put at the start of a UTF-8 file. */
        if (in->line_number == 1 && len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
            text += 3;
            len -= 3;
        }
        if (is_blank(text, len)) continue;
        text[len] = '\0';
        if (memchr(text, '\0', len))
            return rg_error("%s:%ld: invalid JSON near column %zu (NUL byte)", in->name, in->line_number,
                            strlen(text) + 1);
        const char *end = NULL;
        /* require_null_terminated: one value per line, nothing after it. */
        cJSON *parsed = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);
        if (!parsed) {
            const char *at = end ? end : cJSON_GetErrorPtr();
            size_t column = (at && at >= text && at <= text + len) ? (size_t)(at - text) + 1 : 1;
            return rg_error("%s:%ld: invalid JSON near column %zu", in->name, in->line_number, column);
        }
        *value = parsed;
        return 1;
    }
}

long rg_jsonl_line(const rg_jsonl *in) { return in->line_number; }
const char *rg_jsonl_name(const rg_jsonl *in) { return in->name; }
int rg_jsonl_failed(const rg_jsonl *in) { return in->io_failed; }

void rg_jsonl_close(rg_jsonl *in) {
    if (!in) return;
    if (in->owns_stream && in->stream) fclose(in->stream);
    free(in->line);
    free(in->name);
    free(in);
}
