/* rgsd_gap.c — per-token log-probabilities of a response under a prompt,
 * for the self-internalisation gap (rgsd gap). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model/train.h"
#include "rgsd/rgsd.h"

typedef struct {
    const int32_t *targets;
    double *logprobs;
    int next_row;
} logprob_head;

/* log_softmax(logits)[target], in double for the log-sum-exp. */
static int logprob_head_fn(void *ctx, const int32_t *positions, int n, float *logits, int V) {
    (void)positions;
    logprob_head *h = ctx;
    for (int r = 0; r < n; r++) {
        const float *row = logits + (size_t)r * (size_t)V;
        float max = row[0];
        for (int v = 1; v < V; v++) max = row[v] > max ? row[v] : max;
        double sum = 0;
        for (int v = 0; v < V; v++) sum += exp((double)row[v] - max);
        int32_t target = h->targets[h->next_row];
        h->logprobs[h->next_row] = (double)row[target] - max - log(sum);
        h->next_row++;
    }
    return RG_OK;
}

static int packed_logprobs(const rg_model *model, const rg_lora *lora, rg_train_acts *acts, const int32_t *ids,
                           const int32_t *seq_start, int B, const int32_t *rows, const int32_t *targets, int n_rows,
                           double *logprobs) {
    for (int i = 0; i < n_rows; i++)
        if (targets[i] < 0 || targets[i] >= model->cfg.vocab_size)
            return rg_error("gap: token %d outside the vocabulary", targets[i]);
    logprob_head head = {.targets = targets, .logprobs = logprobs};
    if (rg_train_forward(model, lora, acts, ids, seq_start, B) != RG_OK) return RG_ERR;
    return rg_train_head(model, NULL, acts, rows, n_rows, logprob_head_fn, &head, 0);
}

int rg_packed_logprobs(const rg_model *model, rg_train_acts *acts, const int32_t *ids, const int32_t *seq_start,
                       int B, const int32_t *rows, const int32_t *targets, int n_rows, double *logprobs) {
    return packed_logprobs(model, NULL, acts, ids, seq_start, B, rows, targets, n_rows, logprobs);
}

int rg_rgsd_response_logprobs(const rg_model *model, rg_train_acts *acts, const int32_t *prompt, int prompt_len,
                              const int32_t *response, int response_len, double *logprobs) {
    return rg_rgsd_response_logprobs_with(model, NULL, acts, prompt, prompt_len, response, response_len, logprobs);
}

int rg_rgsd_response_logprobs_with(const rg_model *model, const rg_lora *lora, rg_train_acts *acts,
                                   const int32_t *prompt, int prompt_len, const int32_t *response, int response_len,
                                   double *logprobs) {
    if (response_len < 1) return RG_OK;
    int T = prompt_len + response_len - 1;
    if (prompt_len < 1 || T > acts->max_tokens)
        return rg_error("gap: a sequence of %d tokens does not fit the %d planned", T, acts->max_tokens);
    int32_t *ids = rg_malloc(sizeof(int32_t) * (size_t)(T + 1));
    int32_t *positions = rg_malloc(sizeof(int32_t) * (size_t)response_len);
    int rc = RG_ERR;
    if (ids && positions) {
        memcpy(ids, prompt, sizeof(int32_t) * (size_t)prompt_len);
        memcpy(ids + prompt_len, response, sizeof(int32_t) * (size_t)response_len);
        for (int i = 0; i < response_len; i++) positions[i] = prompt_len - 1 + i;
        const int32_t seq_start[2] = {0, T};
        rc = packed_logprobs(model, lora, acts, ids, seq_start, 1, positions, response, response_len, logprobs);
    }
    free(ids);
    free(positions);
    return rc;
}
