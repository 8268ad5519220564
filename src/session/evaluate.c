/* evaluate.c — see evaluate.h. */
#include "session/evaluate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/error.h"
#include "base/log.h"
#include "base/timer.h"
#include "io/file.h"

/* A number for a JSON line; an undefined score (NAN) is null, never "nan". */
static const char *json_number(char *buf, size_t size, double v) {
    if (isfinite(v)) snprintf(buf, size, "%.6f", v);
    else snprintf(buf, size, "null");
    return buf;
}

int rg_train_eval(const rg_lm *lm, const rg_lora *lora, const rg_dataset *eval_data, rg_judge *judge,
                  const rg_eval_options *options, long step, rg_text_buf *metrics, const char *eval_out) {
    rg_eval_options with_adapter = *options;
    with_adapter.lora = lora;
    rg_eval_result result;
    if (rg_eval_run(lm, eval_data->examples, eval_data->count, judge, &with_adapter, &result) != RG_OK) return RG_ERR;
    const rg_eval_summary *s = &result.summary;
    char line[512], score[32], score_se[32], balanced[32];
    snprintf(line, sizeof line,
             "{\"step\": %ld, \"eval\": true, \"score\": %s, \"score_se\": %s, \"balanced\": %s, "
             "\"response_tokens\": %.2f, \"responses\": %zu, \"judge_verdicts\": %lld, \"eval_s\": %.3f}\n",
             step, json_number(score, sizeof score, s->healthbench.overall.mean),
             json_number(score_se, sizeof score_se, s->healthbench.overall.std_error),
             json_number(balanced, sizeof balanced, s->balanced.mean), s->response_tokens.mean, s->n_responses,
             (long long)s->judge.verdicts, s->generate_seconds + s->judge.seconds);
    rg_info("eval at step %ld: score %.4f +- %.4f, balanced %.4f, %.1f tokens per response", step,
            s->healthbench.overall.mean, s->healthbench.overall.std_error, s->balanced.mean, s->response_tokens.mean);
    int rc = rg_text_append(metrics, line);
    if (rc == RG_OK && eval_out) { /* beside the checkpoint, not in it: a checkpoint replaces its whole folder */
        char name[64];
        snprintf(name, sizeof name, "step-%ld", step);
        char *dir = rg_path_join(eval_out, name);
        rg_eval_report_info info = {.options = options};
        rc = dir ? rg_eval_write_report(&result, eval_data->examples, &info, dir) : RG_ERR;
        free(dir);
    }
    rg_eval_result_free(&result);
    return rc;
}

int rg_train_eval_if_due(const rg_train_evaluation *ev, long step, long total_steps, rg_text_buf *metrics,
                         double *eval_s) {
    if (ev->every <= 0 || (step % ev->every != 0 && step != total_steps)) return RG_OK;
    double start = rg_now();
    if (rg_train_eval(ev->lm, ev->lora, ev->eval_data, ev->judge, ev->options, step, metrics, ev->eval_out) != RG_OK)
        return RG_ERR;
    *eval_s += rg_now() - start;
    return RG_OK;
}
