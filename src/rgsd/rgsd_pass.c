/* rgsd_pass.c — the teacher and student passes of an RGSD step and the
 * thinking mask (see rgsd.h). */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/stop.h"
#include "base/timer.h"
#include "dist/dist.h"
#include "model/train.h"
#include "nn/nn.h"
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
    float *scratch; /* nn_jsd's, from the trainer */
    size_t scratch_floats;
    float grad_scale;
    int next_row;
    nn_jsd_stats stats;
} student_head;

static int student_head_fn(void *ctx, const int32_t *positions, int n, float *logits, int V) {
    (void)positions;
    student_head *h = ctx;
    const float *teacher = h->teacher_logits + (size_t)h->next_row * (size_t)V;
    int rc = nn_jsd(logits, NULL, NULL, NULL, &h->stats, h->scratch, h->scratch_floats, logits, teacher,
                    h->targets + h->next_row, NULL, h->jsd, h->grad_scale, n, V);
    h->next_row += n;
    return rc;
}

size_t rg_rgsd_teacher_floats(const rg_model *model, int max_rows) {
    return (size_t)(max_rows > 0 ? max_rows : 1) * (size_t)model->cfg.vocab_size;
}

/* One side of a micro-batch: prompt + response without its last token per
 * sequence, packed; rows[] are the loss rows (ascending), targets[] the
 * response token each predicts. */
typedef struct {
    int32_t *ids, *starts, *rows, *targets;
    int N, B, n_rows;
} packed_side;

static void side_add(packed_side *p, const int32_t *prompt, int prompt_len, const rg_rgsd_sequence *q) {
    memcpy(p->ids + p->N, prompt, sizeof(int32_t) * (size_t)prompt_len);
    memcpy(p->ids + p->N + prompt_len, q->response, sizeof(int32_t) * (size_t)(q->response_len - 1));
    for (int i = 0; i < q->response_len; i++)
        if (!q->loss_mask || q->loss_mask[i]) {
            p->targets[p->n_rows] = q->response[i];
            p->rows[p->n_rows++] = p->N + prompt_len - 1 + i;
        }
    p->N += prompt_len + q->response_len - 1;
    p->starts[++p->B] = p->N;
}

static int loss_count(const rg_rgsd_sequence *q) {
    int count = 0;
    for (int i = 0; i < q->response_len; i++) count += !q->loss_mask || q->loss_mask[i];
    return count;
}

/* Packs sequences from *s on while both sides stay within the token budget. */
static void pack_pairs(const rg_rgsd_sequence *seqs, int n, int *s, int cap, packed_side *te, packed_side *st,
                       long *seq_tokens) {
    te->N = te->B = te->n_rows = st->N = st->B = st->n_rows = 0;
    te->starts[0] = st->starts[0] = 0;
    for (; *s < n; ++*s) {
        const rg_rgsd_sequence *q = &seqs[*s];
        if (loss_count(q) == 0) continue;
        int T_teacher = q->teacher_prompt_len + q->response_len - 1, T_student = q->student_prompt_len + q->response_len - 1;
        if (st->B > 0 && (te->N + T_teacher > cap || st->N + T_student > cap)) break;
        side_add(te, q->teacher_prompt, q->teacher_prompt_len, q);
        side_add(st, q->student_prompt, q->student_prompt_len, q);
        *seq_tokens += T_teacher + T_student;
    }
}

static int check_sequences(const rg_rgsd_sequence *seqs, int n, int cap, long *total) {
    *total = 0;
    for (int s = 0; s < n; s++) {
        const rg_rgsd_sequence *q = &seqs[s];
        if (q->teacher_prompt_len < 1 || q->student_prompt_len < 1) return rg_error("rgsd: sequence %d has an empty prompt", s);
        int T_teacher = q->teacher_prompt_len + q->response_len - 1, T_student = q->student_prompt_len + q->response_len - 1;
        if (T_teacher > cap || T_student > cap)
            return rg_error("rgsd: sequence %d is %d tokens (teacher) / %d (student), more than the %d planned", s,
                            T_teacher, T_student, cap);
        *total += loss_count(q);
    }
    return RG_OK;
}

int rg_rgsd_accumulate(rg_trainer *t, const rg_model *teacher, const nn_jsd_config *jsd, const rg_rgsd_sequence *seqs,
                       int n, float *teacher_logits, rg_rgsd_stats *stats) {
    const int cap = t->acts.max_tokens;
    long total;
    if (check_sequences(seqs, n, cap, &total) != RG_OK) return RG_ERR;
    double global_total = (double)total; /* data parallel: the token mean is over the whole step's loss positions */
    rg_dist_sum_f64(&global_total, 1);
    total = (long)global_total;
    if (total == 0) return RG_OK;
    rg_lora *lora = t->cfg.lora_rank > 0 ? &t->lora : NULL;
    const rg_model *teacher_model = teacher ? teacher : t->model;
    int32_t *buf = rg_malloc(sizeof(int32_t) * (8 * (size_t)cap + 2));
    const size_t jsd_floats = nn_jsd_scratch_floats(jsd, t->model->cfg.vocab_size, nn_max_threads());
    float *jsd_scratch = rg_trainer_scratch(t, jsd_floats);
    if (!buf || !jsd_scratch) {
        free(buf);
        return RG_ERR;
    }
    packed_side te = {buf, buf + cap, buf + 2 * (size_t)cap + 1, buf + 3 * (size_t)cap + 1, 0, 0, 0};
    int32_t *b2 = buf + 4 * (size_t)cap + 1;
    packed_side st = {b2, b2 + cap, b2 + 2 * (size_t)cap + 1, b2 + 3 * (size_t)cap + 1, 0, 0, 0};
    int rc = RG_ERR;
    for (int s = 0; s < n;) {
        if (rg_stop_check() != RG_OK) goto done; /* a safe point: only gradients are touched so far */
        long seq_tokens = 0;
        pack_pairs(seqs, n, &s, cap, &te, &st, &seq_tokens);
        if (st.B == 0) break;
        /* Teacher: one packed forward, adapters off (lora NULL), the loss rows' logits kept. */
        double t0 = rg_now();
        teacher_head th = {.teacher_logits = teacher_logits};
        if (rg_train_forward(teacher_model, NULL, &t->acts, te.ids, te.starts, te.B) != RG_OK ||
            rg_train_head(teacher_model, NULL, &t->acts, te.rows, te.n_rows, teacher_head_fn, &th, 0) != RG_OK)
            goto done;
        double t1 = rg_now();
        /* Student: one packed forward with gradients, the JSD head, one backward. */
        student_head sh = {.teacher_logits = teacher_logits, .targets = st.targets, .jsd = jsd, .scratch = jsd_scratch,
                           .scratch_floats = jsd_floats, .grad_scale = 1.0f / (float)total};
        if (rg_train_forward(t->model, lora, &t->acts, st.ids, st.starts, st.B) != RG_OK ||
            rg_train_head(t->model, t->grads, &t->acts, st.rows, st.n_rows, student_head_fn, &sh, 1) != RG_OK)
            goto done;
        double t2 = rg_now();
        if (rg_train_backward(t->model, lora, t->grads, &t->acts, st.ids) != RG_OK) goto done;
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
        stats->seq_tokens += seq_tokens;
    }
    rc = RG_OK;
done:
    free(buf);
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
