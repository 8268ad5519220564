/* rgsd_pass.c — the teacher and student passes of an RGSD step and the
 * thinking mask (see rgsd.h). */
#include <math.h>
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

/* Student head: the JSD against the teacher rows of the same loss positions.
 * By default one grad_scale for every row (the token mean). Weighted (a
 * sequence mean or the importance weight): each row r's gradient scaled by
 * its own w_r = row_scale[r] x min(p_current(y_r) / p_rollout(y_r), is_clip). */
typedef struct {
    const float *teacher_logits;
    const int32_t *targets; /* [n_loss] the response token each loss position predicts */
    const nn_jsd_config *jsd;
    float *scratch; /* nn_jsd's, from the trainer */
    size_t scratch_floats;
    float grad_scale;
    int next_row;
    nn_jsd_stats stats;
    /* weighted: all [n_loss]; row_scale NULL = not weighted */
    const double *row_scale;
    const float *rollout_lp; /* NULL: no importance weight */
    float is_clip;
    float *token_loss, *weight;
    double objective, is_weight_sum, is_clipped;
} student_head;

/* w_r of rows [r0, r0 + n); the importance ratio needs the logits before nn_jsd overwrites them. */
static int row_weights(student_head *h, const float *logits, int r0, int n, int V) {
    for (int i = 0; i < n; i++) h->weight[r0 + i] = (float)h->row_scale[r0 + i];
    if (!h->rollout_lp) return RG_OK;
    nn_ce_stats ce = {0};
    float *nll = h->token_loss + r0; /* -log p_current(y_r), overwritten by nn_jsd next */
    if (nn_cross_entropy(NULL, nll, &ce, logits, h->targets + r0, NULL, 1.0f, n, V) != RG_OK) return RG_ERR;
    for (int i = 0; i < n; i++) {
        double ratio = exp(-(double)nll[i] - (double)h->rollout_lp[r0 + i]);
        h->is_weight_sum += ratio;
        if (ratio > h->is_clip) ratio = h->is_clip, h->is_clipped += 1;
        h->weight[r0 + i] = (float)(h->row_scale[r0 + i] * ratio);
    }
    return RG_OK;
}

static int student_head_fn(void *ctx, const int32_t *positions, int n, float *logits, int V) {
    (void)positions;
    student_head *h = ctx;
    const int r0 = h->next_row;
    const float *teacher = h->teacher_logits + (size_t)r0 * (size_t)V;
    h->next_row += n;
    if (!h->row_scale)
        return nn_jsd(logits, NULL, NULL, NULL, &h->stats, h->scratch, h->scratch_floats, logits, teacher,
                      h->targets + r0, NULL, h->jsd, h->grad_scale, n, V);
    /* grad_scale 1 then each row times w_r: the same products as grad_scale = w_r */
    if (row_weights(h, logits, r0, n, V) != RG_OK ||
        nn_jsd(logits, h->token_loss + r0, NULL, NULL, &h->stats, h->scratch, h->scratch_floats, logits, teacher,
               h->targets + r0, NULL, h->jsd, 1.0f, n, V) != RG_OK)
        return RG_ERR;
    for (int i = 0; i < n; i++) {
        const float w = h->weight[r0 + i];
        float *row = logits + (size_t)i * (size_t)V;
        for (int j = 0; j < V; j++) row[j] *= w;
        h->objective += (double)w * h->token_loss[r0 + i];
    }
    return RG_OK;
}

size_t rg_rgsd_teacher_floats(const rg_model *model, int max_rows) {
    return (size_t)(max_rows > 0 ? max_rows : 1) * (size_t)model->cfg.vocab_size;
}

/* One side of a micro-batch: prompt + response without its last token per
 * sequence, packed; rows[] are the loss rows (ascending), targets[] the
 * response token each predicts; on the student side of a weighted pass also
 * each row's scale and rollout log-prob. */
typedef struct {
    int32_t *ids, *starts, *rows, *targets;
    double *row_scale; /* NULL: not kept */
    float *row_lp;     /* NULL: not kept */
    int N, B, n_rows;
} packed_side;

static void side_add(packed_side *p, const int32_t *prompt, int prompt_len, const rg_rgsd_sequence *q, double scale) {
    memcpy(p->ids + p->N, prompt, sizeof(int32_t) * (size_t)prompt_len);
    memcpy(p->ids + p->N + prompt_len, q->response, sizeof(int32_t) * (size_t)(q->response_len - 1));
    for (int i = 0; i < q->response_len; i++)
        if (!q->loss_mask || q->loss_mask[i]) {
            if (p->row_scale) p->row_scale[p->n_rows] = scale;
            if (p->row_lp) p->row_lp[p->n_rows] = q->rollout_logprobs[i];
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

/* The loss positions of the whole step and the sequences holding one: what the means divide by. */
typedef struct {
    long positions;
    int sequences;
} step_counts;

/* One loss position's share of the step's loss (before the importance weight). */
static double position_scale(rg_loss_mean mean, step_counts c, int positions_of_sequence) {
    return mean == RG_LOSS_MEAN_SEQUENCE ? 1.0 / ((double)c.sequences * positions_of_sequence) : 1.0 / (double)c.positions;
}

/* Packs sequences from *s on while both sides stay within the token budget. */
static void pack_pairs(const rg_rgsd_sequence *seqs, int n, int *s, int cap, rg_loss_mean mean, step_counts c,
                       packed_side *te, packed_side *st, long *seq_tokens) {
    te->N = te->B = te->n_rows = st->N = st->B = st->n_rows = 0;
    te->starts[0] = st->starts[0] = 0;
    for (; *s < n; ++*s) {
        const rg_rgsd_sequence *q = &seqs[*s];
        const int count = loss_count(q);
        if (count == 0) continue;
        int T_teacher = q->teacher_prompt_len + q->response_len - 1, T_student = q->student_prompt_len + q->response_len - 1;
        if (st->B > 0 && (te->N + T_teacher > cap || st->N + T_student > cap)) break;
        side_add(te, q->teacher_prompt, q->teacher_prompt_len, q, 0.0);
        side_add(st, q->student_prompt, q->student_prompt_len, q, position_scale(mean, c, count));
        *seq_tokens += T_teacher + T_student;
    }
}

static int check_sequences(const rg_rgsd_sequence *seqs, int n, int cap, int need_logprobs, step_counts *c) {
    *c = (step_counts){0, 0};
    for (int s = 0; s < n; s++) {
        const rg_rgsd_sequence *q = &seqs[s];
        if (q->teacher_prompt_len < 1 || q->student_prompt_len < 1) return rg_error("rgsd: sequence %d has an empty prompt", s);
        int T_teacher = q->teacher_prompt_len + q->response_len - 1, T_student = q->student_prompt_len + q->response_len - 1;
        if (T_teacher > cap || T_student > cap)
            return rg_error("rgsd: sequence %d is %d tokens (teacher) / %d (student), more than the %d planned", s,
                            T_teacher, T_student, cap);
        if (need_logprobs && !q->rollout_logprobs && q->response_len > 0)
            return rg_error("rgsd: sequence %d has no rollout log-probs for the importance weight", s);
        int count = loss_count(q);
        c->positions += count;
        c->sequences += count > 0;
    }
    return RG_OK;
}

static void add_head_stats(rg_rgsd_stats *stats, const student_head *sh, long total) {
    stats->loss_sum += sh->stats.loss_sum;
    stats->clipped += sh->stats.clipped;
    stats->clip_total += sh->stats.clip_total;
    stats->gap_sum += sh->stats.gap_sum;
    stats->entropy_sum += sh->stats.entropy_sum;
    stats->tokens += sh->stats.count;
    stats->objective += sh->row_scale ? sh->objective : sh->stats.loss_sum / (double)total;
    stats->is_weight_sum += sh->is_weight_sum;
    stats->is_clipped += sh->is_clipped;
}

int rg_rgsd_accumulate(rg_trainer *t, const rg_model *teacher, const nn_jsd_config *jsd, const rg_rgsd_sequence *seqs,
                       int n, float *teacher_logits, rg_rgsd_stats *stats) {
    rg_rgsd_pass_config pc = {.teacher = teacher, .jsd = *jsd};
    return rg_rgsd_accumulate_with(t, &pc, seqs, n, teacher_logits, stats);
}

/* The per-row buffers of a weighted pass (NULL otherwise): row_scale [cap] doubles, then
 * rollout log-probs, token losses and weights [cap] floats each. */
static double *weighted_buffers(const rg_rgsd_pass_config *pc, int cap, packed_side *st, student_head *sh) {
    if (pc->mean == RG_LOSS_MEAN_TOKEN && !(pc->is_clip > 0)) return NULL;
    double *buf = rg_malloc((sizeof(double) + 3 * sizeof(float)) * (size_t)cap);
    if (!buf) return NULL;
    float *f = (float *)(buf + cap);
    st->row_scale = buf;
    sh->row_scale = buf;
    if (pc->is_clip > 0) st->row_lp = f, sh->rollout_lp = f, sh->is_clip = pc->is_clip;
    sh->token_loss = f + cap;
    sh->weight = f + 2 * (size_t)cap;
    return buf;
}

int rg_rgsd_accumulate_with(rg_trainer *t, const rg_rgsd_pass_config *pc, const rg_rgsd_sequence *seqs, int n,
                            float *teacher_logits, rg_rgsd_stats *stats) {
    const int cap = t->acts.max_tokens;
    step_counts counts;
    if (check_sequences(seqs, n, cap, pc->is_clip > 0, &counts) != RG_OK) return RG_ERR;
    /* data parallel: the means divide by the whole step's positions and sequences (every rank's) */
    double global[2] = {(double)counts.positions, (double)counts.sequences};
    if (rg_dist_sum_f64(global, 2) != RG_OK) return RG_ERR;
    counts.positions = (long)global[0], counts.sequences = (int)global[1];
    if (counts.positions == 0) return RG_OK;
    rg_lora *lora = t->cfg.lora_rank > 0 ? &t->lora : NULL;
    const rg_model *teacher_model = pc->teacher ? pc->teacher : t->model;
    int32_t *buf = rg_malloc(sizeof(int32_t) * (8 * (size_t)cap + 2));
    const size_t jsd_floats = nn_jsd_scratch_floats(&pc->jsd, t->model->cfg.vocab_size, nn_max_threads());
    float *jsd_scratch = rg_trainer_scratch(t, jsd_floats);
    packed_side te = {buf, buf + cap, buf + 2 * (size_t)cap + 1, buf + 3 * (size_t)cap + 1, NULL, NULL, 0, 0, 0};
    int32_t *b2 = buf + 4 * (size_t)cap + 1;
    packed_side st = {b2, b2 + cap, b2 + 2 * (size_t)cap + 1, b2 + 3 * (size_t)cap + 1, NULL, NULL, 0, 0, 0};
    student_head proto = {.jsd = &pc->jsd, .grad_scale = 1.0f / (float)counts.positions};
    const int weighted = pc->mean != RG_LOSS_MEAN_TOKEN || pc->is_clip > 0;
    double *wbuf = buf ? weighted_buffers(pc, cap, &st, &proto) : NULL;
    int rc = RG_ERR;
    if (!buf || !jsd_scratch || (weighted && !wbuf)) goto done;
    for (int s = 0; s < n;) {
        if (rg_stop_check() != RG_OK) goto done; /* a safe point: only gradients are touched so far */
        long seq_tokens = 0;
        pack_pairs(seqs, n, &s, cap, pc->mean, counts, &te, &st, &seq_tokens);
        if (st.B == 0) break;
        /* Teacher: one packed forward (frozen: adapters off), the loss rows' logits kept. */
        double t0 = rg_now();
        teacher_head th = {.teacher_logits = teacher_logits};
        if (rg_train_forward(teacher_model, pc->teacher_lora, &t->acts, te.ids, te.starts, te.B) != RG_OK ||
            rg_train_head(teacher_model, NULL, &t->acts, te.rows, te.n_rows, teacher_head_fn, &th, 0) != RG_OK)
            goto done;
        double t1 = rg_now();
        /* Student: one packed forward with gradients, the JSD head, one backward. */
        student_head sh = proto;
        sh.teacher_logits = teacher_logits, sh.targets = st.targets, sh.scratch = jsd_scratch;
        sh.scratch_floats = jsd_floats;
        if (rg_train_forward(t->model, lora, &t->acts, st.ids, st.starts, st.B) != RG_OK ||
            rg_train_head(t->model, t->grads, &t->acts, st.rows, st.n_rows, student_head_fn, &sh, 1) != RG_OK)
            goto done;
        double t2 = rg_now();
        if (rg_train_backward(t->model, lora, t->grads, &t->acts, st.ids) != RG_OK) goto done;
        double t3 = rg_now();
        stats->teacher_s += t1 - t0;
        stats->student_s += t2 - t1;
        stats->backward_s += t3 - t2;
        add_head_stats(stats, &sh, counts.positions);
        stats->seq_tokens += seq_tokens;
    }
    rc = RG_OK;
done:
    free(wbuf);
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
