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

/* One rg_generate call: its inputs, the state it decodes with, and one
 * sampler, pick and slot per batch position (a decode step samples its
 * sequences in parallel: a full-vocabulary draw costs milliseconds). */
typedef struct {
    const rg_model *model;
    const rg_gen_options *o;
    int n_prompts, batch, context;
    const int32_t *const *prompts;
    const int *prompt_lens;
    rg_gen_result *results;
    rg_gen_progress_fn progress;
    void *ctx;
    rg_infer_state own, *st;
    rg_sampler *samplers;
    rg_sample_result *picks;
    int *pick_rc;
    float *logits; /* [batch, V] */
    slot_state *slots;
    int n_samplers, next_prompt, finished;
} generator;

static int gen_open(generator *g) {
    const size_t V = (size_t)g->model->cfg.vocab_size, B = (size_t)g->batch;
    if (prepare_state(g->model, g->n_prompts, g->prompt_lens, g->o, g->batch, &g->own, &g->st) != RG_OK)
        return RG_ERR;
    g->context = g->st->max_seq; /* a sequence stops when the cache is full */
    g->samplers = rg_calloc(B, sizeof *g->samplers);
    g->picks = rg_calloc(B, sizeof *g->picks);
    g->pick_rc = rg_calloc(B, sizeof *g->pick_rc);
    g->logits = rg_malloc_aligned(sizeof(float) * V * B);
    g->slots = rg_calloc(B, sizeof *g->slots);
    if (!g->samplers || !g->picks || !g->pick_rc || !g->logits || !g->slots) return RG_ERR;
    for (; g->n_samplers < g->batch; g->n_samplers++)
        if (rg_sampler_init(&g->samplers[g->n_samplers], (int)V)) return RG_ERR;
    for (int b = 0; b < g->batch; b++) g->slots[b].prompt = -1;
    return RG_OK;
}

static void gen_close(generator *g) {
    free(g->slots);
    rg_free_aligned(g->logits);
    for (int b = 0; b < g->n_samplers; b++) rg_sampler_free(&g->samplers[b]);
    free(g->samplers);
    free(g->picks);
    free(g->pick_rc);
    rg_infer_free(&g->own);
}

/* Slot b's sequence takes the token picked for it; a finished sequence frees the slot. */
static void take_pick(generator *g, int b, const rg_sample_result *pick) {
    slot_state *s = &g->slots[b];
    rg_gen_result *r = &g->results[s->prompt];
    if (!take_token(g->model, g->o, s, pick, r, g->context - g->st->cache_len[b] - 1)) return;
    r->seconds = rg_now() - s->start;
    s->prompt = -1;
    g->finished++;
    if (g->progress) g->progress(g->ctx, g->finished, g->n_prompts);
}

/* Free slots take the next prompts: prefill, then the first token from the prompt's logits. */
static int refill_slots(generator *g) {
    const rg_gen_options *o = g->o;
    for (int b = 0; b < g->batch && g->next_prompt < g->n_prompts; b++) {
        while (g->slots[b].prompt < 0 && g->next_prompt < g->n_prompts) {
            int p = g->next_prompt++;
            slot_state *s = &g->slots[b];
            rg_gen_result *r = &g->results[p];
            r->tokens = rg_malloc(sizeof(int32_t) * (size_t)o->max_new);
            r->logprobs = rg_malloc(sizeof(float) * (size_t)(o->max_new + 1));
            if (!r->tokens || !r->logprobs) return RG_ERR;
            rg_rng_seed(&s->rng, o->seed * 0x9E3779B97F4A7C15ull + o->first_index + (uint64_t)p);
            s->start = rg_now();
            rg_infer_reset(g->st, b);
            if (rg_infer_prefill(g->st, g->model, b, g->prompts[p], g->prompt_lens[p], g->logits, 0))
                return rg_error_prefix("prompt %d", p + 1);
            s->prompt = p;
            rg_sample_result pick;
            if (rg_sample(&g->samplers[b], g->logits, &o->sample, &s->rng, &pick)) return RG_ERR;
            take_pick(g, b, &pick);
        }
    }
    return RG_OK;
}

/* One decode step over every active slot, then a token for each. */
static int decode_step(generator *g) {
    const size_t V = (size_t)g->model->cfg.vocab_size;
    int active[RG_GEN_MAX_BATCH], n_active = 0, n_new[RG_GEN_MAX_BATCH];
    const int32_t *toks[RG_GEN_MAX_BATCH];
    for (int b = 0; b < g->batch; b++)
        if (g->slots[b].prompt >= 0) {
            active[n_active] = b;
            toks[n_active] = &g->slots[b].pending;
            n_new[n_active] = 1;
            n_active++;
        }
    if (n_active == 0) return RG_OK;
    if (rg_infer_step(g->st, g->model, n_active, active, toks, n_new, g->logits, 0)) return RG_ERR;
#pragma omp parallel for schedule(dynamic) if (n_active > 1)
    for (int i = 0; i < n_active; i++)
        g->pick_rc[i] = rg_sample(&g->samplers[active[i]], g->logits + (size_t)i * V, &g->o->sample,
                                  &g->slots[active[i]].rng, &g->picks[i]);
    for (int i = 0; i < n_active; i++) {
        if (g->pick_rc[i]) { /* redo on this thread: error messages are per thread */
            rg_sample(&g->samplers[active[i]], g->logits + (size_t)i * V, &g->o->sample, &g->slots[active[i]].rng,
                      &g->picks[i]);
            return RG_ERR;
        }
        take_pick(g, active[i], &g->picks[i]);
    }
    return RG_OK;
}

int rg_generate(const rg_model *model, int n_prompts, const int32_t *const *prompts, const int *prompt_lens,
                const rg_gen_options *o, rg_gen_result *results, rg_gen_progress_fn progress, void *ctx) {
    memset(results, 0, sizeof *results * (size_t)n_prompts);
    if (o->max_new <= 0) return rg_error("max new tokens must be > 0");
    const int batch = o->batch > 0 ? o->batch : 1;
    if (batch > RG_GEN_MAX_BATCH) return rg_error("batch %d is larger than %d", batch, RG_GEN_MAX_BATCH);
    generator g = {.model = model, .o = o, .n_prompts = n_prompts, .batch = batch, .prompts = prompts,
                   .prompt_lens = prompt_lens, .results = results, .progress = progress, .ctx = ctx};
    int rc = gen_open(&g);
    while (rc == RG_OK && g.finished < n_prompts) {
        rc = rg_stop_check(); /* a safe point: between decode steps */
        if (rc == RG_OK) rc = refill_slots(&g);
        if (rc == RG_OK) rc = decode_step(&g);
    }
    if (rc) rg_gen_results_free(results, n_prompts);
    gen_close(&g);
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
