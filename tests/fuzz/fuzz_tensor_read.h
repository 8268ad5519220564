/* fuzz_tensor_read.h — reads every tensor a parser accepted, so a bad offset
 * or size that validation let through shows up as an ASan report (the
 * parsers hand out pointers into the mapping). */
#ifndef RG_FUZZ_TENSOR_READ_H
#define RG_FUZZ_TENSOR_READ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "io/tensor.h"

static inline void fuzz_read_tensor(const rg_tensor *t) {
    fuzz_check(t->numel >= 0 && t->ndim >= 0 && t->ndim <= RG_MAX_DIMS, "an accepted tensor has a sane shape");
    /* Touch every byte the tensor claims (ASan checks the mapping bounds). */
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < t->nbytes; i++) sink ^= ((const uint8_t *)t->data)[i];
    (void)sink;
    /* And convert it when it is small enough (the input is at most a few
     * hundred KB, so a big numel means a refusal or tiny elements). */
    if (t->numel > 0 && t->numel <= (1 << 16)) {
        float *f = malloc((size_t)t->numel * sizeof *f);
        fuzz_check(f != NULL, "malloc");
        rg_tensor_to_f32(t, f, (size_t)t->numel);
        free(f);
    }
}

#endif
