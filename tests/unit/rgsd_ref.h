/* rgsd_ref.h — the batch of the RGSD step references (tests/ref/rgsd_ref.py
 * writes build/ref/rgsd/<variant>/rgsd.json): two sequences' student prompt,
 * teacher prompt, response and the reference's loss mask, as the
 * rg_rgsd_sequence pair the passes take. */
#ifndef RG_TEST_RGSD_REF_H
#define RG_TEST_RGSD_REF_H

#include "json_ref.h"
#include "rgsd/rgsd.h"

enum { RGSD_REF_MAXLEN = 32 };

typedef struct {
    int32_t sp[2][RGSD_REF_MAXLEN], tp[2][RGSD_REF_MAXLEN], resp[2][RGSD_REF_MAXLEN];
    int sp_len[2], tp_len[2], resp_len[2];
    uint8_t mask[2][RGSD_REF_MAXLEN];           /* the reference's loss mask */
    float rollout_lp[2][RGSD_REF_MAXLEN];       /* room for a case's rollout log-probs */
    rg_rgsd_sequence seqs[2];                   /* the arrays above, loss_mask = mask */
} rgsd_ref_batch;

/* build/ref/rgsd/<variant> (a static buffer). */
static inline const char *rgsd_ref_dir(const char *variant) {
    static char buf[2048];
    snprintf(buf, sizeof buf, "%.1000s/rgsd/%.200s", test_ref_dir(), variant);
    return buf;
}

/* The variant's rgsd.json, parsed (skips the test when it was not generated), its batch into b. */
static inline cJSON *rgsd_ref_load(const char *variant, rgsd_ref_batch *b) {
    char path[4200];
    snprintf(path, sizeof path, "%s/rgsd.json", rgsd_ref_dir(variant));
    SKIP_UNLESS_FILE(path, "RGSD step reference (make refs with /usr/bin/python3 + torch)");
    cJSON *root = json_ref_load(path);
    const cJSON *batch = cJSON_GetObjectItem(root, "batch");
    assert_int_equal(cJSON_GetArraySize(batch), 2);
    for (int s = 0; s < 2; s++) {
        const cJSON *e = cJSON_GetArrayItem(batch, s);
        b->sp_len[s] = json_ref_ids(cJSON_GetObjectItem(e, "student_prompt"), b->sp[s]);
        b->tp_len[s] = json_ref_ids(cJSON_GetObjectItem(e, "teacher_prompt"), b->tp[s]);
        b->resp_len[s] = json_ref_ids(cJSON_GetObjectItem(e, "response"), b->resp[s]);
        const cJSON *m = cJSON_GetObjectItem(e, "mask");
        for (int i = 0; i < b->resp_len[s]; i++) b->mask[s][i] = (uint8_t)cJSON_GetArrayItem(m, i)->valueint;
        b->seqs[s] = (rg_rgsd_sequence){.student_prompt = b->sp[s], .student_prompt_len = b->sp_len[s],
                                        .teacher_prompt = b->tp[s], .teacher_prompt_len = b->tp_len[s],
                                        .response = b->resp[s], .response_len = b->resp_len[s],
                                        .loss_mask = b->mask[s]};
    }
    return root;
}

#endif
