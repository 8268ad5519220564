/* grad_ref.h — one tensor computed by rgsd against the PyTorch reference's
 * tensor of the same name (a safetensors file the references write). */
#ifndef RG_TEST_GRAD_REF_H
#define RG_TEST_GRAD_REF_H

#include <math.h>

#include "base/error.h"
#include "io/safetensors.h"
#include "test_util.h"

/* max |got - want| / max(1e-3, max |want|) over the n values of reference tensor `name`; the test
 * fails above rel_tol, naming `what` (when not NULL) and `name`. Returns that relative error. */
static inline double grad_ref_compare(const rg_st_file *ref, const char *what, const char *name, const float *got,
                                      size_t n, double rel_tol) {
    const char *sep = what ? ": " : "";
    what = what ? what : "";
    const rg_tensor *t = rg_st_find(ref, name);
    if (!t) fail_msg("%s%sreference gradient %s missing", what, sep, name);
    assert_int_equal((size_t)t->numel, n);
    float *want = malloc(sizeof(float) * n);
    assert_int_equal(rg_tensor_to_f32(t, want, n), RG_OK);
    double max_ref = 0, max_diff = 0;
    for (size_t i = 0; i < n; i++) {
        max_ref = fmax(max_ref, fabs(want[i]));
        max_diff = fmax(max_diff, fabs((double)got[i] - want[i]));
    }
    free(want);
    double rel = max_diff / fmax(1e-3, max_ref);
    if (rel > rel_tol)
        fail_msg("%s%s%s: max |diff| %.3g, max |ref| %.3g (rel %.3g > %.0e)", what, sep, name, max_diff, max_ref, rel,
                 rel_tol);
    return rel;
}

#endif
