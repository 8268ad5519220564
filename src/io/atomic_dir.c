/* atomic_dir.c — folders written as one unit, and the repair of a killed
 * switch (see atomic_dir.h). */
#include "io/atomic_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"
#include "io/file.h"

/* Removes a folder of plain files and folders (our own temp or old copies). */
static void remove_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            char *p = rg_path_join(dir, e->d_name);
            if (p) {
                struct stat st;
                if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                    remove_tree(p);
                else
                    unlink(p);
                free(p);
            }
        }
        closedir(d);
    }
    rmdir(dir);
}

/* The folder holding path and path's last component, trailing slashes
 * ignored ("out/" is "out" in "."). Both malloc'd. */
static int split_path(const char *path, char **parent, char **base) {
    char *copy = rg_strdup(path);
    if (!copy) return RG_ERR;
    size_t n = strlen(copy);
    while (n > 1 && copy[n - 1] == '/') copy[--n] = '\0';
    char *slash = strrchr(copy, '/');
    if (!slash) {
        *parent = rg_strdup(".");
        *base = copy;
    } else {
        *base = rg_strdup(slash + 1);
        if (slash == copy) slash[1] = '\0';
        else *slash = '\0';
        *parent = copy;
    }
    if (!*parent || !*base) {
        free(*parent == copy ? NULL : *parent);
        free(*base == copy ? NULL : *base);
        free(copy);
        return RG_ERR;
    }
    return RG_OK;
}

static void fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd); /* best effort: some file systems refuse fsync on a folder */
        close(fd);
    }
}

static void fsync_parent(const char *path) {
    char *parent, *base;
    if (split_path(path, &parent, &base) != RG_OK) return;
    fsync_dir(parent);
    free(parent);
    free(base);
}

/* "<final>.<kind>-<pid>" (malloc'd). */
static char *sibling(const char *final_dir, const char *kind, long pid) {
    char *copy = rg_strdup(final_dir);
    if (!copy) return NULL;
    size_t n = strlen(copy);
    while (n > 1 && copy[n - 1] == '/') copy[--n] = '\0';
    char *s = rg_sprintf("%s.%s-%ld", copy, kind, pid);
    free(copy);
    return s;
}

/* Marks a temp folder as rgsd's from its first instant (a killed process may
 * leave it with no other file); removed when the folder is complete. */
#define TEMP_MARK ".rgsd-partial"

char *rg_dir_begin(const char *final_dir) {
    char *tmp = sibling(final_dir, "tmp", (long)getpid());
    if (!tmp) return NULL;
    remove_tree(tmp); /* a leftover of a killed run that had the same pid */
    char *mark = NULL;
    if (rg_mkdir_p(tmp) != RG_OK || !(mark = rg_path_join(tmp, TEMP_MARK)) ||
        rg_write_file_atomic(mark, "", 0) != RG_OK) {
        free(mark);
        remove_tree(tmp);
        free(tmp);
        return NULL;
    }
    free(mark);
    return tmp;
}

static int replaceable(const char *dir) {
    static const char *const markers[] = {"config.json", "adapter_config.json", "train_state.safetensors",
                                          "report.json", "world.json", "compare.json"};
    for (size_t i = 0; i < sizeof markers / sizeof *markers; i++) {
        char *p = rg_path_join(dir, markers[i]);
        int found = p && rg_file_exists(p);
        free(p);
        if (found) return 1;
    }
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) empty = 0;
    closedir(d);
    return empty;
}

/* A dead process's copy is removed only when it is recognisably rgsd's (a
 * temp mark, a file rgsd writes, or nothing), never a user's folder that
 * merely has a name like "run.old-2020". */
static int ours(const char *dir) {
    char *mark = rg_path_join(dir, TEMP_MARK);
    int marked = mark && rg_file_exists(mark);
    free(mark);
    return marked || replaceable(dir);
}

/* 1 when pid is a running process (ours included), 0 when it is gone. A
 * zombie (killed, not yet reaped: kill(pid, 0) still succeeds) is gone. */
static int pid_alive(long pid) {
    if (pid <= 0) return 0;
    if (pid == (long)getpid()) return 1;
    if (kill((pid_t)pid, 0) != 0 && errno != EPERM) return 0;
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 1; /* no /proc: trust kill() */
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')'); /* "pid (comm) S ..." */
    return !(paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X'));
}

/* Test-only hook (documented in docs/training.md): RGSD_TEST_COMMIT_DELAY_MS
 * holds the commit in its window (no final_dir) for that long, after saying
 * so on stderr, so a test can kill the process there deterministically. */
static void test_commit_delay(const char *final_dir) {
    const char *env = getenv("RGSD_TEST_COMMIT_DELAY_MS");
    long ms = env ? strtol(env, NULL, 10) : 0;
    if (ms <= 0) return;
    fprintf(stderr, "rgsd: test: commit window of %s open for %ld ms\n", final_dir, ms);
    fflush(stderr);
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Steps 2-4 of the switch: ready (a complete copy) becomes final_dir. */
static int switch_in(const char *ready, const char *final_dir) {
    char *old = sibling(final_dir, "old", (long)getpid());
    if (!old) return RG_ERR;
    int had_old = 0;
    struct stat st;
    if (stat(final_dir, &st) == 0) {
        remove_tree(old);
        if (rename(final_dir, old) != 0) {
            int rc = rg_error("%s: cannot move the previous folder aside: %s", final_dir, strerror(errno));
            free(old);
            return rc;
        }
        had_old = 1;
        test_commit_delay(final_dir);
    }
    if (rename(ready, final_dir) != 0) {
        int rc = rg_error("%s: cannot rename %s into place: %s", final_dir, ready, strerror(errno));
        if (had_old) rename(old, final_dir);
        free(old);
        return rc;
    }
    fsync_parent(final_dir);
    if (had_old) remove_tree(old);
    free(old);
    return RG_OK;
}

/* Walks final_dir's siblings "<base>.{tmp,new,old}-<pid>" of dead processes:
 * when pick_kind is set, returns (malloc'd) the newest of that kind; when
 * remove is set, removes them all. */
static char *scan_dead(const char *final_dir, const char *pick_kind, int remove) {
    char *parent, *base;
    if (split_path(final_dir, &parent, &base) != RG_OK) return NULL;
    DIR *d = opendir(parent);
    char *best = NULL;
    struct timespec best_time = {0, 0};
    size_t base_len = strlen(base);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        const char *name = e->d_name;
        if (strncmp(name, base, base_len) != 0 || name[base_len] != '.') continue;
        const char *kind = name + base_len + 1;
        if (strncmp(kind, "tmp-", 4) != 0 && strncmp(kind, "new-", 4) != 0 && strncmp(kind, "old-", 4) != 0) continue;
        const char *digits = kind + 4;
        char *end = NULL;
        errno = 0;
        long pid = strtol(digits, &end, 10);
        if (!*digits || *end || errno || pid_alive(pid)) continue;
        char *path = rg_path_join(parent, name);
        if (!path) continue;
        if (!ours(path)) {
            free(path);
            continue;
        }
        struct stat st;
        if (pick_kind && strncmp(kind, pick_kind, 3) == 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
            (!best || st.st_mtim.tv_sec > best_time.tv_sec ||
             (st.st_mtim.tv_sec == best_time.tv_sec && st.st_mtim.tv_nsec > best_time.tv_nsec))) {
            free(best);
            best = rg_strdup(path);
            best_time = st.st_mtim;
        }
        if (remove) remove_tree(path);
        free(path);
    }
    if (d) closedir(d);
    free(parent);
    free(base);
    return best;
}

int rg_dir_commit(char *temp_dir, const char *final_dir) {
    struct stat existing;
    if (stat(final_dir, &existing) == 0 && (!S_ISDIR(existing.st_mode) || !replaceable(final_dir))) {
        rg_error("%s: exists and is not a folder rgsd wrote (model, adapter, checkpoint, report, world); refusing to "
                 "replace it",
                 final_dir);
        rg_dir_abort(temp_dir);
        return RG_ERR;
    }
    char *ready = sibling(final_dir, "new", (long)getpid());
    if (!ready) {
        rg_dir_abort(temp_dir);
        return RG_ERR;
    }
    remove_tree(ready);
    char *mark = rg_path_join(temp_dir, TEMP_MARK);
    if (mark) unlink(mark);
    free(mark);
    fsync_dir(temp_dir); /* the folder's entries, before it is called complete */
    if (rename(temp_dir, ready) != 0) {
        int rc = rg_error("%s: cannot mark %s complete: %s", final_dir, temp_dir, strerror(errno));
        free(ready);
        rg_dir_abort(temp_dir);
        return rc;
    }
    fsync_parent(ready);
    free(temp_dir);
    /* What killed processes left here is older than this copy, and this copy
     * is complete: they are not needed, even when final_dir is missing. */
    free(scan_dead(final_dir, NULL, 1));
    if (switch_in(ready, final_dir) != RG_OK) {
        remove_tree(ready);
        free(ready);
        return RG_ERR;
    }
    free(ready);
    return RG_OK;
}

void rg_dir_abort(char *temp_dir) {
    if (!temp_dir) return;
    remove_tree(temp_dir);
    free(temp_dir);
}

int rg_dir_recover(const char *final_dir, int *recovered) {
    if (recovered) *recovered = 0;
    char *from = scan_dead(final_dir, "new", 0);
    struct stat st;
    if (!from && stat(final_dir, &st) != 0) from = scan_dead(final_dir, "old", 0);
    if (from) {
        if (switch_in(from, final_dir) != RG_OK) {
            free(from);
            return RG_ERR;
        }
        rg_info("%s: recovered from %s, left by a save that was killed midway", final_dir, from);
        if (recovered) *recovered = 1;
        free(from);
    }
    free(scan_dead(final_dir, NULL, 1));
    return RG_OK;
}

int rg_dir_recover_missing(const char *path) {
    struct stat st;
    if (stat(path, &st) == 0 || errno != ENOENT) return RG_OK;
    return rg_dir_recover(path, NULL);
}
