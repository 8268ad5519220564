/* jsd_run.h — nn_jsd with scratch for every thread, allocated per call (tests
 * only; a trainer allocates it once). Shared by test_nn_loss and
 * test_kernel_paths; include after test_util.h and nn/nn.h. */
#ifndef RG_TEST_JSD_RUN_H
#define RG_TEST_JSD_RUN_H

static int jsd_run(float *dstudent, float *token_loss, float *token_gap, float *token_entropy, nn_jsd_stats *stats,
                   const float *student, const float *teacher, const int32_t *targets, const uint8_t *mask,
                   const nn_jsd_config *config, float grad_scale, int N, int V) {
    size_t floats = nn_jsd_scratch_floats(config, V, nn_max_threads());
    float *scratch = malloc(floats * sizeof(float));
    assert_non_null(scratch);
    int rc = nn_jsd(dstudent, token_loss, token_gap, token_entropy, stats, scratch, floats, student, teacher, targets,
                    mask, config, grad_scale, N, V);
    free(scratch);
    return rc;
}

#endif
