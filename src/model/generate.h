/* generate.h — sampling many prompts with a KV cache, `batch` of them decoded
 * together (continuous batching: a finished sequence's slot is refilled with
 * the next prompt at once).
 *
 * Reproducible: sequence i draws from its own RNG seeded with (seed, first_index + i), so
 * its tokens do not depend on the batch size or on its neighbours (up to
 * float rounding differences between the batched and single-row kernels,
 * which can only matter at exact ties). */
#ifndef RG_GENERATE_H
#define RG_GENERATE_H

#include <stdint.h>

#include "gen/sample.h"
#include "model/infer.h"
#include "model/lora.h"
#include "model/model.h"

#define RG_GEN_MAX_BATCH 64
#define RG_GEN_PREFILL_CHUNK 256 /* prompt rows one inference step takes (a state's max_tokens) */

typedef struct {
    int max_new;             /* new tokens at most per prompt */
    rg_sample_params sample; /* temperature (<= 0 greedy), top_k, top_p */
    uint64_t seed;
    uint64_t first_index;    /* the first prompt's global position in the seed (0; a data-parallel rank's
                                share of a step starts at its offset, so N ranks draw what one does) */
    int batch;               /* sequences decoded together, 1..64 (1..8 stream each weight once per step) */
    int context;             /* tokens a sequence may span; 0 = max_position_embeddings, capped at 4096 */
    const int32_t *stop_ids; /* end tokens besides the config's eos ids (e.g. <|im_end|>) */
    int n_stop_ids;
    const rg_lora *lora;     /* adapters to decode through (PEFT semantics, no merged copy), or NULL */
    rg_infer_state *state;   /* KV cache and scratch owned by the caller (a trainer's run, sized once to its
                                longest prompt + max_new, >= batch slots), or NULL: one sized to these prompts
                                (the longest + max_new) for this call */
} rg_gen_options;

typedef struct {
    int32_t *tokens;       /* the generated ids, the end token excluded (malloc'd) */
    int n_tokens;
    int stopped;           /* 1: ended on an end token; 0: reached max_new or the context */
    double seconds;        /* from the start of its prefill to its last token */
    double sum_logprob;    /* sum of log p(token) under the model (temperature 1) */
    float *logprobs;       /* [n_tokens + stopped]: log p(token) of each drawn token under the untruncated
                              temperature-1 softmax, the end token's last when it stopped (malloc'd; GRPO's
                              rollout-time log-probs) */
} rg_gen_result;

/* Called after each finished sequence (may be NULL). */
typedef void (*rg_gen_progress_fn)(void *ctx, int finished, int total);

/* The context a run uses: `requested` tokens when > 0, else max_position_embeddings capped at 4096;
 * never past max_position_embeddings. The one rule of rg_generate, `rgsd eval`, the trainers and the
 * local judge. */
int rg_context_len(const rg_model_config *cfg, long requested);

/* prompts[i][0 .. prompt_lens[i]) -> results[i] (caller frees with rg_gen_results_free).
 * A prompt that leaves no room in the context, or in the caller's state, is an error naming it. */
int rg_generate(const rg_model *model, int n_prompts, const int32_t *const *prompts, const int *prompt_lens,
                const rg_gen_options *options, rg_gen_result *results, rg_gen_progress_fn progress, void *ctx);
void rg_gen_results_free(rg_gen_result *results, int n);

#endif
