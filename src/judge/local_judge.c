/* local_judge.c — the local back end: a model rgsd loads itself reads each
 * per-criterion grader prompt and the verdict is P("yes") vs P("no") at the
 * next token (local_judge.h states the exact rule). No sampling, so a
 * verdict is a pure function of (model, prompt) and is cached like the http
 * judge's.
 *
 * Batching: up to `batch` prompts share the KV cache; each step feeds up to
 * PREFILL_ROWS prompt rows, split over the prompts still being read, so every
 * weight matrix is streamed once for many prompts (a prefill is a matrix
 * product, not a loop of matrix-vector ones). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/stop.h"
#include "judge/grader.h"
#include "judge/judge_internal.h"
#include "judge/local_judge.h"
#include "lm/lm.h"
#include "model/generate.h"
#include "model/infer.h"

/* Prompt rows one step processes, over all prompts of the batch. */
#define PREFILL_ROWS 512
#define MAX_ANSWER_IDS 4

struct local_judge {
    rg_lm lm;
    rg_infer_state infer;
    int context;  /* longest prompt, in tokens */
    int batch;
    int32_t yes_ids[MAX_ANSWER_IDS], no_ids[MAX_ANSWER_IDS];
    int n_yes, n_no;
    float *logits; /* [batch, V] */
};

/* The single-token encodings of the given spellings, without repeats. */
static int answer_ids(const rg_tokenizer *tok, const char *const *spellings, int n_spellings, int32_t *out) {
    int n = 0;
    for (int s = 0; s < n_spellings; s++) {
        int32_t *ids;
        int n_ids;
        if (rg_tokenizer_encode(tok, spellings[s], strlen(spellings[s]), 0, &ids, &n_ids)) return -1;
        if (n_ids == 1) {
            int seen = 0;
            for (int k = 0; k < n; k++) seen |= out[k] == ids[0];
            if (!seen && n < MAX_ANSWER_IDS) out[n++] = ids[0];
        }
        free(ids);
    }
    return n;
}

int local_judge_open(rg_judge *judge) {
    const rg_judge_spec *spec = &judge->spec;
    struct local_judge *local = rg_calloc(1, sizeof *local);
    if (!local) return RG_ERR;
    judge->local = local;
    if (rg_lm_open(&local->lm, spec->model_dir, NULL, spec->local_chat_template, spec->local_bf16)) {
        rg_error_prefix("judge spec '%s'", spec->text);
        return RG_ERR;
    }
    static const char *const yes[] = {"yes", "Yes", " yes", " Yes"};
    static const char *const no[] = {"no", "No", " no", " No"};
    local->n_yes = answer_ids(local->lm.tok, yes, 4, local->yes_ids);
    local->n_no = answer_ids(local->lm.tok, no, 4, local->no_ids);
    if (local->n_yes < 0 || local->n_no < 0) return RG_ERR;
    if (local->n_yes == 0 || local->n_no == 0)
        return rg_error("judge spec '%s': the tokenizer has no single token for \"%s\" (the local judge reads "
                        "P(yes) vs P(no) at the next token)",
                        spec->text, local->n_yes == 0 ? "yes" : "no");
    const rg_model_config *cfg = &local->lm.model.cfg;
    local->context = rg_context_len(cfg, spec->local_context);
    local->batch = spec->local_batch > 0 ? spec->local_batch : 4;
    int rows = PREFILL_ROWS > local->batch ? PREFILL_ROWS : local->batch;
    if (rg_infer_init(&local->infer, &local->lm.model, local->batch, local->context, rows)) return RG_ERR;
    local->logits = rg_malloc(sizeof(float) * (size_t)cfg->vocab_size * (size_t)local->batch);
    return local->logits ? RG_OK : RG_ERR;
}

void local_judge_close(rg_judge *judge) {
    struct local_judge *local = judge->local;
    if (!local) return;
    if (local->infer.k_cache) rg_infer_free(&local->infer);
    rg_lm_close(&local->lm);
    free(local->logits);
    free(local);
    judge->local = NULL;
}

int rg_local_judge_answer_ids(const rg_judge *judge, const int32_t **yes, int *n_yes, const int32_t **no, int *n_no) {
    if (!judge->local) return rg_error("not a local judge");
    *yes = judge->local->yes_ids, *n_yes = judge->local->n_yes;
    *no = judge->local->no_ids, *n_no = judge->local->n_no;
    return RG_OK;
}

int rg_local_judge_prompt_ids(const rg_judge *judge, const rg_judge_item *item, int criterion, int32_t **ids,
                              int *n_ids) {
    if (!judge->local) return rg_error("not a local judge");
    const rg_lm *lm = &judge->local->lm;
    char *prompt = rg_grader_prompt_criterion_yes_no(item, criterion);
    if (!prompt) return RG_ERR;
    rg_chat_message message = {.role = "user", .content = prompt};
    /* Thinking off (Qwen3 then writes an empty <think></think>): the next token is the answer. */
    rg_chat_options options = {.add_generation_prompt = 1, .enable_thinking = 0};
    char *text = NULL;
    int rc = rg_chat_render(lm->chat, &message, 1, &options, &text);
    free(prompt);
    if (rc == RG_OK) rc = rg_tokenizer_encode(lm->tok, text, strlen(text), 1, ids, n_ids);
    free(text);
    return rc;
}

/* Decides one prompt from its next-token logits. */
static void record_from_logits(rg_judge *judge, rg_judge_item *items, const judge_slot *slot, const float *logits) {
    const struct local_judge *local = judge->local;
    int V = local->lm.model.cfg.vocab_size;
    int best_yes = local->yes_ids[0], best_no = local->no_ids[0];
    for (int k = 1; k < local->n_yes; k++)
        if (logits[local->yes_ids[k]] > logits[best_yes]) best_yes = local->yes_ids[k];
    for (int k = 1; k < local->n_no; k++)
        if (logits[local->no_ids[k]] > logits[best_no]) best_no = local->no_ids[k];
    /* Probabilities over the whole vocabulary, for the explanation. */
    double max = logits[0], sum = 0;
    for (int t = 1; t < V; t++)
        if (logits[t] > max) max = logits[t];
    for (int t = 0; t < V; t++) sum += exp((double)logits[t] - max);
    double p_yes = exp((double)logits[best_yes] - max) / sum, p_no = exp((double)logits[best_no] - max) / sum;
    double margin = (double)logits[best_yes] - (double)logits[best_no];
    const char *yes_text = rg_tokenizer_token_text(local->lm.tok, best_yes);
    const char *no_text = rg_tokenizer_token_text(local->lm.tok, best_no);
    char explanation[256];
    snprintf(explanation, sizeof explanation, "P(yes)=%.4g P(no)=%.4g; logit(yes)-logit(no)=%.6f (token %d '%s' vs %d '%s')",
             p_yes, p_no, margin, best_yes, yes_text ? yes_text : "?", best_no, no_text ? no_text : "?");
    judge_record_verdict(judge, items, slot, margin > 0, explanation);
}

/* A batch of encoded prompts read together; each gets its verdict. */
typedef struct {
    const judge_slot *slot;
    int32_t *ids;
    int n_ids;
    int fed; /* ids already in the cache */
} pending_prompt;

static int prefill_batch(rg_judge *judge, rg_judge_item *items, pending_prompt *batch, int n) {
    struct local_judge *local = judge->local;
    const size_t V = (size_t)local->lm.model.cfg.vocab_size;
    for (int b = 0; b < n; b++) rg_infer_reset(&local->infer, b);
    int done = 0;
    while (done < n) {
        int slots[64], n_new[64], members[64], n_seqs = 0, budget = local->infer.max_tokens;
        const int32_t *tokens[64];
        for (int b = 0; b < n && budget > 0; b++) {
            int left = batch[b].n_ids - batch[b].fed;
            if (left == 0) continue;
            int take = left < budget ? left : budget;
            slots[n_seqs] = b, members[n_seqs] = b;
            tokens[n_seqs] = batch[b].ids + batch[b].fed;
            n_new[n_seqs] = take;
            budget -= take;
            n_seqs++;
        }
        if (rg_infer_step(&local->infer, &local->lm.model, n_seqs, slots, tokens, n_new, local->logits, 0)) {
            /* Every prompt of the batch not yet decided is left unjudged, with the reason. */
            char *why = rg_strdup(rg_errmsg());
            for (int b = 0; b < n; b++)
                if (batch[b].fed < batch[b].n_ids) judge_record_failure(judge, items, batch[b].slot, why ? why : "model step failed", NULL);
            free(why);
            return RG_OK;
        }
        for (int i = 0; i < n_seqs; i++) {
            pending_prompt *p = &batch[members[i]];
            p->fed += n_new[i];
            if (p->fed == p->n_ids) {
                record_from_logits(judge, items, p->slot, local->logits + (size_t)i * V);
                done++;
            }
        }
    }
    return RG_OK;
}

int local_judge_run(rg_judge *judge, rg_judge_item *items, const judge_slot *slots, int n_slots) {
    struct local_judge *local = judge->local;
    pending_prompt batch[64];
    int n = 0, rc = RG_OK;
    /* A failed cache write ends the run (judge.c): judge nothing more. */
    for (int s = 0; s <= n_slots && rc == RG_OK && !judge->cache_error; s++) {
        if ((rc = rg_stop_check()) != RG_OK) break; /* a safe point: between prompts */
        if (s < n_slots) {
            pending_prompt p = {.slot = &slots[s]};
            if (rg_local_judge_prompt_ids(judge, &items[slots[s].item], slots[s].criterion, &p.ids, &p.n_ids)) {
                judge_record_failure(judge, items, &slots[s], rg_errmsg(), NULL);
                continue;
            }
            if (p.n_ids > local->context || p.n_ids == 0) {
                char why[200];
                snprintf(why, sizeof why,
                         "the grader prompt is %d tokens, longer than the local judge's context (%d tokens; "
                         "#context=N raises it up to max_position_embeddings %d)",
                         p.n_ids, local->context, local->lm.model.cfg.max_position);
                judge_record_failure(judge, items, &slots[s], why, NULL);
                free(p.ids);
                continue;
            }
            judge->stats.requests++;
            judge->stats.prompt_tokens += p.n_ids;
            batch[n++] = p;
        }
        if (n == local->batch || (s == n_slots && n > 0)) {
            rc = prefill_batch(judge, items, batch, n);
            for (int b = 0; b < n; b++) free(batch[b].ids);
            n = 0;
        }
    }
    for (int b = 0; b < n; b++) free(batch[b].ids);
    return rc;
}
