/* test_util.h — what every cmocka unit test needs: the includes cmocka wants
 * in its order, where the shared data and the reference outputs live, and a
 * scratch directory. */
#ifndef RG_TEST_UTIL_H
#define RG_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* ../shared beside the checkout (make exports RGSD_SHARED); NULL if absent. */
static inline const char *test_shared_dir(void) {
    const char *d = getenv("RGSD_SHARED");
    if (!d) d = "../shared";
    return access(d, R_OK) == 0 ? d : NULL;
}

/* build/ref: outputs of the independent references (PyTorch, npm). */
static inline const char *test_ref_dir(void) {
    const char *d = getenv("RGSD_REF_DIR");
    return d ? d : "build/ref";
}

/* Path under a base directory into a static buffer (one at a time). */
static inline const char *test_path(const char *base, const char *rel) {
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", base, rel);
    return buf;
}

/* Skips the current test with a reason printed, when a file is missing. */
#define SKIP_UNLESS_FILE(path, why)                                              \
    do {                                                                         \
        if (access((path), R_OK) != 0) {                                         \
            fprintf(stderr, "skipped: %s (%s not found)\n", (why), (path));      \
            skip();                                                              \
        }                                                                        \
    } while (0)

/* A fresh scratch directory under /tmp, made per call. */
static inline char *test_tmpdir(void) {
    char *tmpl = malloc(64);
    snprintf(tmpl, 64, "/tmp/rgsd-test-XXXXXX");
    if (!mkdtemp(tmpl)) {
        free(tmpl);
        return NULL;
    }
    return tmpl;
}

#endif
