/* generate.c — continuous-batching generation loop (see generate.h). */
#include "model/generate.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/rng.h"
#include "base/stop.h"
#include "base/timer.h"
#include "model/infer.h"

typedef struct {
    int prompt;      /* index of the prompt in this slot, -1 when free */
    int32_t pending; /* the last sampled token, fed at the next decode step */
    rg_rng rng;
    double start;
} slot_state;

static int is_stop(const rg_model *model, const rg_gen_options *o, int token) {
    if (rg_config_is_eos(&model->cfg, token)) return 1;
    for (int i = 0; i < o->n_stop_ids; i++)
        if (o->stop_ids[i] == token) return 1;
    return 0;
}

/* Appends a sampled token to the sequence in `s`. Returns 1 when the
 * sequence is finished (end token, max_new, or no room left in the context). */
static int take_token(const rg_model *model, const rg_gen_options *o, slot_state *s, const rg_sample_result *pick,
                      rg_gen_result *r, int room_left) {
    r->sum_logprob += pick->logprob;
    r->logprobs[r->n_tokens] = pick->logprob;
    if (is_stop(model, o, pick->token)) {
        r->stopped = 1;
        return 1;
    }
    r->tokens[r->n_tokens++] = pick->token;
    s->pending = pick->token;
    return r->n_tokens >= o->max_new || room_left <= 0;
}

int rg_context_len(const rg_model_config *cfg, long requested) {
    int max_position = cfg->max_position;
    int context = requested > 0 ? (int)requested : (max_position < 4096 ? max_position : 4096);
    return context > max_position ? max_position : context;
}

/* The state this call decodes with: the caller's (checked against the
 * prompts), or `own`, sized to the longest prompt + max_new within the
 * context limit. Points it at the options' adapter. */
static int prepare_state(const rg_model *model, int n_prompts, const int *prompt_lens, const rg_gen_options *o,
                         int batch, rg_infer_state *own, rg_infer_state **st) {
    int context = rg_context_len(&model->cfg, o->context), longest = 0;
    for (int i = 0; i < n_prompts; i++) {
        if (prompt_lens[i] <= 0) return rg_error("prompt %d is empty", i + 1);
        if (prompt_lens[i] >= context)
            return rg_error("prompt %d is %d tokens, longer than the context (%d tokens, leaving no room to generate)",
                            i + 1, prompt_lens[i], context);
        if (prompt_lens[i] > longest) longest = prompt_lens[i];
    }
    *st = o->state;
    if (*st) {
        if ((*st)->max_batch < batch)
            return rg_error("generate: batch %d, but the inference state has %d slots", batch, (*st)->max_batch);
        for (int i = 0; i < n_prompts; i++)
            if (prompt_lens[i] >= (*st)->max_seq)
                return rg_error("prompt %d is %d tokens; the run's KV cache holds %d tokens per sequence (sized for "
                                "the longest prompt + max-new), leaving no room to generate",
                                i + 1, prompt_lens[i], (*st)->max_seq);
    } else {
        long rows = (long)longest + o->max_new;
        if (rg_infer_init(own, model, batch, rows < context ? (int)rows : context,
                          RG_GEN_PREFILL_CHUNK > batch ? RG_GEN_PREFILL_CHUNK : batch))
            return RG_ERR;
        *st = own;
    }
    return rg_infer_set_lora(*st, model, o->lora);
}

int rg_generate(const rg_model *model, int n_prompts, const int32_t *const *prompts, const int *prompt_lens,
                const rg_gen_options *o, rg_gen_result *results, rg_gen_progress_fn progress, void *ctx) {
    memset(results, 0, sizeof *results * (size_t)n_prompts);
    if (o->max_new <= 0) return rg_error("max new tokens must be > 0");
    const int batch = o->batch > 0 ? o->batch : 1;
    if (batch > RG_GEN_MAX_BATCH) return rg_error("batch %d is larger than %d", batch, RG_GEN_MAX_BATCH);
    const size_t V = (size_t)model->cfg.vocab_size;
    rg_infer_state own = {0}, *st = NULL;
    if (prepare_state(model, n_prompts, prompt_lens, o, batch, &own, &st) != RG_OK) {
        rg_infer_free(&own);
        return RG_ERR;
    }
    const int context = st->max_seq; /* a sequence stops when the cache is full */
    /* One sampler per slot: a decode step samples its sequences in parallel
     * (a full-vocabulary draw costs milliseconds). */
    rg_sampler *samplers = rg_calloc((size_t)batch, sizeof *samplers);
    rg_sample_result *picks = rg_calloc((size_t)batch, sizeof *picks);
    int *pick_rc = rg_calloc((size_t)batch, sizeof *pick_rc);
    float *logits = rg_malloc_aligned(sizeof(float) * V * (size_t)batch);
    slot_state *slots = rg_calloc((size_t)batch, sizeof *slots);
    int rc = RG_ERR, next_prompt = 0, finished = 0, n_samplers = 0;
    if (!samplers || !picks || !pick_rc || !logits || !slots) goto done;
    for (; n_samplers < batch; n_samplers++)
        if (rg_sampler_init(&samplers[n_samplers], (int)V)) goto done;
    for (int b = 0; b < batch; b++) slots[b].prompt = -1;

    while (finished < n_prompts) {
        if (rg_stop_check() != RG_OK) goto done; /* a safe point: between decode steps */
        /* Refill free slots: prefill, then the first token comes from the prompt's logits. */
        for (int b = 0; b < batch && next_prompt < n_prompts; b++) {
            while (slots[b].prompt < 0 && next_prompt < n_prompts) {
                int p = next_prompt++;
                slot_state *s = &slots[b];
                rg_gen_result *r = &results[p];
                r->tokens = rg_malloc(sizeof(int32_t) * (size_t)o->max_new);
                r->logprobs = rg_malloc(sizeof(float) * (size_t)(o->max_new + 1));
                if (!r->tokens || !r->logprobs) goto done;
                rg_rng_seed(&s->rng, o->seed * 0x9E3779B97F4A7C15ull + o->first_index + (uint64_t)p);
                s->start = rg_now();
                rg_infer_reset(st, b);
                if (rg_infer_prefill(st, model, b, prompts[p], prompt_lens[p], logits, 0)) {
                    rg_error_prefix("prompt %d", p + 1);
                    goto done;
                }
                s->prompt = p;
                rg_sample_result pick;
                if (rg_sample(&samplers[b], logits, &o->sample, &s->rng, &pick)) goto done;
                if (take_token(model, o, s, &pick, r, context - st->cache_len[b] - 1)) {
                    r->seconds = rg_now() - s->start;
                    s->prompt = -1;
                    finished++;
                    if (progress) progress(ctx, finished, n_prompts);
                }
            }
        }
        /* One decode step over every active slot. */
        int active[RG_GEN_MAX_BATCH], n_active = 0, n_new[RG_GEN_MAX_BATCH];
        const int32_t *toks[RG_GEN_MAX_BATCH];
        for (int b = 0; b < batch; b++)
            if (slots[b].prompt >= 0) {
                active[n_active] = b;
                toks[n_active] = &slots[b].pending;
                n_new[n_active] = 1;
                n_active++;
            }
        if (n_active == 0) continue;
        if (rg_infer_step(st, model, n_active, active, toks, n_new, logits, 0)) goto done;
#pragma omp parallel for schedule(dynamic) if (n_active > 1)
        for (int i = 0; i < n_active; i++)
            pick_rc[i] = rg_sample(&samplers[active[i]], logits + (size_t)i * V, &o->sample, &slots[active[i]].rng,
                                   &picks[i]);
        for (int i = 0; i < n_active; i++) {
            slot_state *s = &slots[active[i]];
            if (pick_rc[i]) { /* redo on this thread: error messages are per thread */
                rg_sample(&samplers[active[i]], logits + (size_t)i * V, &o->sample, &s->rng, &picks[i]);
                goto done;
            }
            rg_gen_result *r = &results[s->prompt];
            if (take_token(model, o, s, &picks[i], r, context - st->cache_len[active[i]] - 1)) {
                r->seconds = rg_now() - s->start;
                s->prompt = -1;
                finished++;
                if (progress) progress(ctx, finished, n_prompts);
            }
        }
    }
    rc = RG_OK;
done:
    if (rc) rg_gen_results_free(results, n_prompts);
    free(slots);
    rg_free_aligned(logits);
    for (int b = 0; b < n_samplers; b++) rg_sampler_free(&samplers[b]);
    free(samplers);
    free(picks);
    free(pick_rc);
    rg_infer_free(&own);
    return rc;
}

void rg_gen_results_free(rg_gen_result *results, int n) {
    for (int i = 0; i < n; i++) {
        free(results[i].tokens);
        free(results[i].logprobs);
        results[i].tokens = NULL;
        results[i].logprobs = NULL;
    }
}
