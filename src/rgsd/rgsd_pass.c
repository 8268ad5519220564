/* rgsd_pass.c — the teacher and student passes of an RGSD step and the
 * thinking mask (see rgsd.h). */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/stop.h"
#include "base/timer.h"
#include "model/train.h"
#include "rgsd/rgsd.h"

/* Teacher head: logits of loss position i go to row i of the buffer. The
 * positions come in ascending order, chunk after chunk, so a running row
 * index is enough. */
typedef struct {
    float *teacher_logits;
    int next_row;
} teacher_head;

static int teacher_head_fn(void *ctx, const int32_t *positions, int n, float *logits, int V) {
    (void)positions;
    teacher_head *h = ctx;
    memcpy(h->teacher_logits + (size_t)h->next_row * (size_t)V, logits, sizeof(float) * (size_t)n * (size_t)V);
    h->next_row += n;
    return RG_OK;
}

/* Student head: the JSD against the teacher rows of the same loss positions. */
typedef struct {
    const float *teacher_logits;
    const int32_t *targets; /* [n_loss] the response token each loss position predicts */
    const nn_jsd_config *jsd;
    float grad_scale;
    int next_row;
    nn_jsd_stats stats;
} student_head;

static int student_head_fn(void *ctx, const int32_t *positions, int n, float *logits, int V) {
    (void)positions;
    student_head *h = ctx;
    const float *teacher = h->teacher_logits + (size_t)h->next_row * (size_t)V;
    int rc = nn_jsd(logits, NULL, NULL, NULL, &h->stats, logits, teacher, h->targets + h->next_row, NULL, h->jsd,
                    h->grad_scale, n, V);
    h->next_row += n;
    return rc;
}

size_t rg_rgsd_teacher_floats(const rg_model *model, int max_response) {
    return (size_t)(max_response > 0 ? max_response : 1) * (size_t)model->cfg.vocab_size;
}

/* One side's sequence: prompt + response without its last token (no position predicts past it). */
static int32_t *concat_ids(const int32_t *prompt, int prompt_len, const int32_t *response, int response_len) {
    int32_t *ids = rg_malloc(sizeof(int32_t) * (size_t)(prompt_len + response_len));
    if (!ids) return NULL;
    memcpy(ids, prompt, sizeof(int32_t) * (size_t)prompt_len);
    memcpy(ids + prompt_len, response, sizeof(int32_t) * (size_t)response_len);
    return ids;
}

int rg_rgsd_accumulate(rg_trainer *t, const rg_model *teacher, const nn_jsd_config *jsd, const rg_rgsd_sequence *seqs,
                       int n, float *teacher_logits, rg_rgsd_stats *stats) {
    long total = 0;
    int max_loss = 0;
    for (int s = 0; s < n; s++) {
        int count = 0;
        for (int i = 0; i < seqs[s].response_len; i++) count += !seqs[s].loss_mask || seqs[s].loss_mask[i];
        total += count;
        if (count > max_loss) max_loss = count;
    }
    if (total == 0) return RG_OK;
    rg_lora *lora = t->cfg.lora_rank > 0 ? &t->lora : NULL;
    const rg_model *teacher_model = teacher ? teacher : t->model;
    int32_t *positions = rg_malloc(sizeof(int32_t) * (size_t)max_loss);
    int32_t *targets = rg_malloc(sizeof(int32_t) * (size_t)max_loss);
    int rc = RG_ERR;
    if (!positions || !targets) goto done;
    for (int s = 0; s < n; s++) {
        if (rg_stop_check() != RG_OK) goto done; /* a safe point: only gradients are touched so far */
        const rg_rgsd_sequence *q = &seqs[s];
        if (q->teacher_prompt_len < 1 || q->student_prompt_len < 1) {
            rg_error("rgsd: sequence %d has an empty prompt", s);
            goto done;
        }
        int n_loss = 0;
        for (int i = 0; i < q->response_len; i++)
            if (!q->loss_mask || q->loss_mask[i]) targets[n_loss++] = q->response[i];
        if (n_loss == 0) continue;
        int T_teacher = q->teacher_prompt_len + q->response_len - 1;
        int T_student = q->student_prompt_len + q->response_len - 1;
        if (T_teacher > t->acts.max_T || T_student > t->acts.max_T) {
            rg_error("rgsd: sequence %d is %d tokens (teacher) / %d (student), more than the %d planned", s, T_teacher,
                     T_student, t->acts.max_T);
            goto done;
        }
        /* Teacher: forward only, adapters off (lora NULL), logits kept. */
        double t0 = rg_now();
        int32_t *ids = concat_ids(q->teacher_prompt, q->teacher_prompt_len, q->response, q->response_len);
        if (!ids) goto done;
        n_loss = 0;
        for (int i = 0; i < q->response_len; i++)
            if (!q->loss_mask || q->loss_mask[i]) positions[n_loss++] = q->teacher_prompt_len - 1 + i;
        teacher_head th = {.teacher_logits = teacher_logits};
        int ok = rg_train_forward(teacher_model, NULL, &t->acts, ids, T_teacher) == RG_OK &&
                 rg_train_head(teacher_model, NULL, &t->acts, positions, n_loss, teacher_head_fn, &th, 0) == RG_OK;
        free(ids);
        if (!ok) goto done;
        double t1 = rg_now();
        /* Student: forward with gradients, JSD head, backward. */
        ids = concat_ids(q->student_prompt, q->student_prompt_len, q->response, q->response_len);
        if (!ids) goto done;
        n_loss = 0;
        for (int i = 0; i < q->response_len; i++)
            if (!q->loss_mask || q->loss_mask[i]) positions[n_loss++] = q->student_prompt_len - 1 + i;
        student_head sh = {.teacher_logits = teacher_logits, .targets = targets, .jsd = jsd,
                           .grad_scale = 1.0f / (float)total};
        ok = rg_train_forward(t->model, lora, &t->acts, ids, T_student) == RG_OK &&
             rg_train_head(t->model, t->grads, &t->acts, positions, n_loss, student_head_fn, &sh, 1) == RG_OK;
        double t2 = rg_now();
        ok = ok && rg_train_backward(t->model, lora, t->grads, &t->acts, ids) == RG_OK;
        free(ids);
        if (!ok) goto done;
        double t3 = rg_now();
        stats->teacher_s += t1 - t0;
        stats->student_s += t2 - t1;
        stats->backward_s += t3 - t2;
        stats->loss_sum += sh.stats.loss_sum;
        stats->clipped += sh.stats.clipped;
        stats->clip_total += sh.stats.clip_total;
        stats->gap_sum += sh.stats.gap_sum;
        stats->entropy_sum += sh.stats.entropy_sum;
        stats->tokens += sh.stats.count;
        stats->seq_tokens += T_teacher + T_student;
    }
    rc = RG_OK;
done:
    free(positions);
    free(targets);
    return rc;
}

int rg_rgsd_think_mask(const int32_t *response, int n, int32_t think_open, int32_t think_close, int starts_inside,
                       uint8_t *mask) {
    int inside = starts_inside && think_open >= 0 && think_close >= 0;
    int kept = 0;
    for (int i = 0; i < n; i++) {
        if (think_open >= 0 && think_close >= 0 && !inside && response[i] == think_open) inside = 1;
        mask[i] = (uint8_t)!inside;
        kept += mask[i];
        if (inside && response[i] == think_close) inside = 0;
    }
    return kept;
}
