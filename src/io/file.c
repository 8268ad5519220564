#define _POSIX_C_SOURCE 200809L
#include "io/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"

int rg_read_file(const char *path, char **data, size_t *len) {
    *data = NULL;
    if (len) *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) return rg_error("%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = rg_malloc(cap);
    if (!buf) {
        fclose(fp);
        return RG_ERR;
    }
    for (;;) {
        if (n + 1 >= cap) {
            char *bigger = rg_realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                fclose(fp);
                return RG_ERR;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, fp);
        n += got;
        if (got == 0) break;
    }
    int failed = ferror(fp);
    fclose(fp);
    if (failed) {
        free(buf);
        return rg_error("%s: read error", path);
    }
    buf[n] = '\0';
    *data = buf;
    if (len) *len = n;
    return RG_OK;
}

int rg_atomic_open(rg_atomic_file *f, const char *path) {
    memset(f, 0, sizeof *f);
    f->final_path = rg_strdup(path);
    f->temp_path = rg_sprintf("%s.tmp.%ld", path, (long)getpid());
    if (!f->final_path || !f->temp_path) {
        rg_atomic_abort(f);
        return RG_ERR;
    }
    f->fp = fopen(f->temp_path, "wb");
    if (!f->fp) {
        int saved = errno;
        free(f->final_path);
        free(f->temp_path);
        memset(f, 0, sizeof *f);
        return rg_error("%s: cannot create: %s", path, strerror(saved));
    }
    return RG_OK;
}

static void release(rg_atomic_file *f) {
    free(f->final_path);
    free(f->temp_path);
    memset(f, 0, sizeof *f);
}

static void fsync_parent_dir(const char *path) {
    char *dir = rg_strdup(path);
    if (!dir) return;
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd); /* best effort: some file systems refuse fsync on a directory */
        close(fd);
    }
    free(dir);
}

int rg_atomic_commit(rg_atomic_file *f) {
    if (!f->fp) return rg_error("atomic file: not open");
    int ok = fflush(f->fp) == 0 && !ferror(f->fp) && fsync(fileno(f->fp)) == 0;
    int saved = errno;
    ok = (fclose(f->fp) == 0) && ok;
    f->fp = NULL;
    if (!ok) {
        unlink(f->temp_path);
        int rc = rg_error("%s: write failed: %s", f->final_path, strerror(saved));
        release(f);
        return rc;
    }
    if (rename(f->temp_path, f->final_path) != 0) {
        saved = errno;
        unlink(f->temp_path);
        int rc = rg_error("%s: cannot rename into place: %s", f->final_path, strerror(saved));
        release(f);
        return rc;
    }
    fsync_parent_dir(f->final_path);
    release(f);
    return RG_OK;
}

void rg_atomic_abort(rg_atomic_file *f) {
    if (f->fp) {
        fclose(f->fp);
        f->fp = NULL;
    }
    if (f->temp_path) unlink(f->temp_path);
    release(f);
}

int rg_write_file_atomic(const char *path, const void *data, size_t len) {
    rg_atomic_file f;
    if (rg_atomic_open(&f, path) != RG_OK) return RG_ERR;
    if (len && fwrite(data, 1, len, f.fp) != len) {
        int rc = rg_error("%s: write failed: %s", path, strerror(errno));
        rg_atomic_abort(&f);
        return rc;
    }
    return rg_atomic_commit(&f);
}

int rg_mkdir_p(const char *path) {
    char *p = rg_strdup(path);
    if (!p) return RG_ERR;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            int rc = rg_error("%s: cannot create directory: %s", p, strerror(errno));
            free(p);
            return rc;
        }
        *s = '/';
    }
    int rc = RG_OK;
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        rc = rg_error("%s: cannot create directory: %s", p, strerror(errno));
    free(p);
    return rc;
}

int rg_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

char *rg_path_join(const char *dir, const char *name) {
    size_t n = strlen(dir);
    if (n && dir[n - 1] == '/') return rg_sprintf("%s%s", dir, name);
    return rg_sprintf("%s/%s", dir, name);
}
