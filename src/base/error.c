#include "base/error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/text.h"

#define RG_ERRMSG_CAP 1024

static _Thread_local char errmsg[RG_ERRMSG_CAP];
static _Thread_local int errmsg_is_usage;

/* Every message passes through here: whatever it quotes (an HTTP body, a
 * grader's answer, a tensor name, a config string) it is stored as one
 * printable line of at most RG_ERRMSG_CAP bytes (see base/text.h). */
static int set_message(int usage, const char *fmt, va_list ap) {
    char raw[4 * RG_ERRMSG_CAP];
    vsnprintf(raw, sizeof raw, fmt, ap);
    rg_text_escape(errmsg, sizeof errmsg, raw, sizeof raw);
    errmsg_is_usage = usage;
    return RG_ERR;
}

int rg_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set_message(0, fmt, ap);
    va_end(ap);
    return RG_ERR;
}

int rg_usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set_message(1, fmt, ap);
    va_end(ap);
    return RG_ERR;
}

int rg_error_is_usage(void) { return errmsg_is_usage; }

int rg_error_prefix(const char *fmt, ...) {
    char raw[4 * RG_ERRMSG_CAP];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    /* Truncation is fine: a long message keeps its start. */
    if (n >= 0 && (size_t)n < sizeof raw) snprintf(raw + n, sizeof raw - (size_t)n, ": %s", errmsg);
    rg_text_escape(errmsg, sizeof errmsg, raw, sizeof raw);
    return RG_ERR;
}

const char *rg_errmsg(void) { return errmsg; }

void rg_error_clear(void) {
    errmsg[0] = '\0';
    errmsg_is_usage = 0;
}

void *rg_malloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) rg_error("out of memory (%zu bytes)", bytes);
    return p;
}

void *rg_calloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) rg_error("out of memory (%zu x %zu bytes)", count, size);
    return p;
}

void *rg_realloc(void *ptr, size_t bytes) {
    void *p = realloc(ptr, bytes ? bytes : 1);
    if (!p) rg_error("out of memory (%zu bytes)", bytes);
    return p;
}

/* Buffers of HUGE_MIN bytes or more (model weights, KV caches, training
 * activations) are aligned to 2 MiB and asked for transparent huge pages,
 * which Linux gives in its default "madvise" mode only when asked: a decode
 * step streams ~1 GB of weights, and with 4 KiB pages every 4 KiB is a TLB
 * miss and a restart of the hardware prefetcher (reads measured 1.3x faster
 * with huge pages on the Zen 4 VM, docs/kernels.md). Where the kernel has no
 * huge pages the advice fails and nothing changes. */
#define HUGE_PAGE ((size_t)2 << 20)
#define HUGE_MIN ((size_t)4 << 20)

void *rg_malloc_aligned(size_t bytes) {
    const size_t align = bytes >= HUGE_MIN ? HUGE_PAGE : 64;
    /* aligned_alloc needs a size that is a multiple of the alignment. */
    size_t rounded = (bytes + align - 1) & ~(align - 1);
    if (rounded < bytes) {
        rg_error("out of memory (%zu bytes)", bytes);
        return NULL;
    }
    void *p = aligned_alloc(align, rounded ? rounded : align);
    if (!p) rg_error("out of memory (%zu bytes)", bytes);
#ifdef MADV_HUGEPAGE
    if (p && align == HUGE_PAGE) (void)madvise(p, rounded, MADV_HUGEPAGE);
#endif
    return p;
}

void rg_free_aligned(void *ptr) { free(ptr); }

char *rg_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = rg_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

char *rg_sprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        rg_error("bad format string");
        return NULL;
    }
    char *s = rg_malloc((size_t)n + 1);
    if (!s) return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}
