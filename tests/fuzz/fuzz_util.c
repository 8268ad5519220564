/* fuzz_util.c — the shared start-up and file helpers of the harnesses
 * (see fuzz_util.h). */
#include "fuzz_util.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"
#include "io/file.h"
#include "world/world_gen.h"
#include "world/world_tokenizer.h"

/* Weak: a harness defines them only when it needs them. */
__attribute__((weak)) int fuzz_init(void);
__attribute__((weak)) int fuzz_write_seeds(const char *dir);

static char dir_path[PATH_MAX];

const char *fuzz_dir(void) { return dir_path; }

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_dir(void) {
    if (dir_path[0]) nftw(dir_path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void fuzz_check(int ok, const char *what) {
    if (ok) return;
    fprintf(stderr, "fuzz: property violated: %s\n", what);
    abort();
}

void fuzz_put_at(const char *dir, const char *name, const void *data, size_t size) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    fuzz_check(fd >= 0, "the harness can create its input file");
    const char *p = data;
    while (size > 0) {
        ssize_t n = write(fd, p, size);
        fuzz_check(n > 0, "the harness can write its input file");
        p += n, size -= (size_t)n;
    }
    close(fd);
}

const char *fuzz_put(const char *name, const void *data, size_t size) {
    static char path[PATH_MAX];
    fuzz_put_at(dir_path, name, data, size);
    snprintf(path, sizeof path, "%s/%s", dir_path, name);
    return path;
}

char *fuzz_cstr(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    fuzz_check(s != NULL, "malloc of the input copy");
    if (size) memcpy(s, data, size);
    s[size] = 0;
    return s;
}

char *fuzz_split(const uint8_t *data, size_t size, const uint8_t **rest, size_t *rest_size) {
    const uint8_t *nul = size ? memchr(data, 0, size) : NULL;
    size_t head = nul ? (size_t)(nul - data) : size;
    *rest = nul ? nul + 1 : NULL;
    *rest_size = nul ? size - head - 1 : 0;
    return fuzz_cstr(data, head);
}

const char *fuzz_world_tokenizer_dir(void) {
    static char path[PATH_MAX];
    if (path[0]) return path;
    snprintf(path, sizeof path, "%s/tokenizer", dir_path);
    world_bpe bpe;
    if (world_learn_tokenizer(&bpe) != RG_OK || world_tokenizer_write(&bpe, path) != RG_OK) {
        fprintf(stderr, "fuzz: cannot write the world tokenizer: %s\n", rg_errmsg());
        abort();
    }
    world_bpe_free(&bpe);
    return path;
}

/* Files are written under /dev/shm when it exists (a tmpfs: no disk traffic
 * at thousands of inputs a second), else $TMPDIR or /tmp. */
static void make_dir(void) {
    const char *base = getenv("TMPDIR");
    if (access("/dev/shm", W_OK) == 0) base = "/dev/shm";
    else if (!base || !*base) base = "/tmp";
    snprintf(dir_path, sizeof dir_path, "%s/rgsd-fuzz-XXXXXX", base);
    fuzz_check(mkdtemp(dir_path) != NULL, "the harness can make its private folder");
    atexit(remove_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    /* One thread: inputs are tiny, and threads would only make the runs
     * slower and the reports harder to read. Set before OpenMP starts. */
    setenv("OMP_NUM_THREADS", "1", 1);
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    rg_log_set_level(RG_LOG_QUIET);
    make_dir();
    const char *seeds = getenv("RGSD_FUZZ_WRITE_SEEDS");
    if (seeds && *seeds) {
        int rc = fuzz_write_seeds ? fuzz_write_seeds(seeds) : RG_OK;
        if (rc != RG_OK) fprintf(stderr, "fuzz: writing seeds to %s failed: %s\n", seeds, rg_errmsg());
        exit(rc == RG_OK ? 0 : 1);
    }
    if (fuzz_init && fuzz_init() != RG_OK) {
        fprintf(stderr, "fuzz: harness set-up failed: %s\n", rg_errmsg());
        exit(1);
    }
    return 0;
}
