/* train_gap.h — `rgsd train --gap-data FILE --gap-every N [--early-stop P]`:
 * the held-out self-internalisation gap (rgsd/gap_measure.h) of the policy
 * being trained, the measurement behind the session's early stopping
 * (session/early_stop.h). The prompts are built once, like the training
 * prompts (same teacher template, --rubric-in, --system, context); each
 * measurement samples K responses per prompt with the same seed (--seed), so
 * successive values differ by the model only, and the value at a step equals
 * `rgsd gap --samples K --seed SEED --max-new N --gen-batch B` on that step's
 * checkpoint (full fine-tuning; under LoRA that command merges the adapter, so
 * it agrees up to float rounding). */
#ifndef RG_TRAIN_GAP_H
#define RG_TRAIN_GAP_H

#include "rgsd/gap_measure.h"
#include "rgsd/rgsd_run.h"
#include "session/session.h"

typedef struct {
    rg_dataset data;
    rg_rgsd_data prompts;
    rg_gap_config cfg;
    int32_t stop[1];
    const rg_model *model;
    const rg_lora *lora; /* the adapter being trained, or NULL (full fine-tuning) */
} rg_train_gap;

/* Loads path (empty rubrics kept: skipped and counted, as rgsd gap), builds its prompts with
 * data_options, and points the measurement at s's policy (s->cfg set; the trainer may not exist yet). */
int rg_train_gap_setup(rg_train_gap *g, rg_session *s, const char *path, int skip_bad, rg_verifier_criteria verifier,
                       const rg_rgsd_data_options *data_options, int samples, const rg_gen_options *gen,
                       int keep_think);
/* rg_early_stop_measure_fn over a rg_train_gap. */
int rg_train_gap_measure(void *ctx, double *value, char *fields, size_t fields_size);
void rg_train_gap_free(rg_train_gap *g);

#endif
