/* grpo_data.c — the prompts of a GRPO run: chat(q), encoded once (see
 * grpo_run.h). Examples whose reward is undefined or whose prompt leaves no
 * room for --max-new are skipped and counted (errors with strict). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "grpo/grpo_run.h"
#include "rubric/chat_prompt.h"
#include "rubric/score.h"

/* 1 when some verdicts give a defined reward (a positive weight for HealthBench, any weight for balanced). */
static int reward_defined(rg_grpo_reward kind, const rg_example *ex) {
    for (size_t i = 0; i < ex->ncriteria; i++) {
        double w = ex->rubric[i].weight;
        if (kind == RG_GRPO_REWARD_HEALTHBENCH ? w > 0 : w != 0) return 1;
    }
    return 0;
}

int rg_grpo_data_build(rg_grpo_data *d, const rg_lm *lm, const rg_example *examples, size_t n_examples,
                       const rg_grpo_data_options *o) {
    memset(d, 0, sizeof *d);
    d->prompts = rg_calloc(n_examples ? n_examples : 1, sizeof *d->prompts);
    if (!d->prompts) return RG_ERR;
    for (size_t e = 0; e < n_examples; e++) {
        const rg_example *ex = &examples[e];
        const char *name = ex->id ? ex->id : "?";
        if (!reward_defined(o->reward, ex)) {
            if (o->strict) {
                rg_grpo_data_free(d);
                return rg_error("example '%s' (line %ld): %s, so its reward is undefined (drop --strict to skip)",
                                name, ex->line,
                                o->reward == RG_GRPO_REWARD_HEALTHBENCH ? "no criterion with positive points"
                                                                        : "every criterion weighs 0");
            }
            d->skipped_no_reward++;
            continue;
        }
        rg_grpo_prompt p = {.example = e};
        /* the same rendering as the RGSD student prompt and `rgsd eval` */
        if (rg_chat_prompt_encode(lm->chat, lm->tok, ex->messages, ex->nmessages, o->system, o->enable_thinking,
                                  &p.prompt, &p.prompt_len) != RG_OK) {
            rg_grpo_data_free(d);
            return rg_error_prefix("example '%s' (line %ld)", name, ex->line), RG_ERR;
        }
        if (p.prompt_len + o->max_new > o->context_len) {
            free(p.prompt);
            if (o->strict) {
                rg_grpo_data_free(d);
                return rg_error("example '%s' (line %ld): the prompt is %d tokens; with --max-new %d that passes the "
                                "context of %d tokens (drop --strict to skip, or lower --max-new)",
                                name, ex->line, p.prompt_len, o->max_new, o->context_len);
            }
            d->skipped_long++;
            continue;
        }
        if (p.prompt_len > d->max_prompt_len) d->max_prompt_len = p.prompt_len;
        d->prompts[d->n++] = p;
    }
    return RG_OK;
}

void rg_grpo_data_free(rg_grpo_data *d) {
    for (int i = 0; i < d->n; i++) free(d->prompts[i].prompt);
    free(d->prompts);
    memset(d, 0, sizeof *d);
}

double rg_grpo_reward_of(rg_grpo_reward kind, const rg_example *ex, const unsigned char *met) {
    return kind == RG_GRPO_REWARD_HEALTHBENCH ? rg_score_healthbench(ex->rubric, ex->ncriteria, met)
                                              : rg_score_balanced(ex->rubric, ex->ncriteria, met);
}
