/* early_stop.c — see early_stop.h. */
#include "session/early_stop.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/timer.h"

int rg_early_stop_init(rg_early_stop *e, const char *out_dir, long every, long patience,
                       rg_early_stop_measure_fn measure, void *ctx) {
    *e = (rg_early_stop){.every = every, .patience = patience, .measure = measure, .ctx = ctx};
    size_t n = strlen(out_dir);
    while (n > 1 && out_dir[n - 1] == '/') n--;
    e->best_dir = rg_malloc(n + sizeof "-best");
    if (!e->best_dir) return RG_ERR;
    memcpy(e->best_dir, out_dir, n);
    memcpy(e->best_dir + n, "-best", sizeof "-best");
    return RG_OK;
}

void rg_early_stop_free(rg_early_stop *e) {
    free(e->best_dir);
    e->best_dir = NULL;
}

/* One measurement into the state: 1 when it is a new best. */
static int update(rg_early_stop *e, long step, double value) {
    int improved = !e->have_best || value > e->best;
    if (improved) e->have_best = 1, e->best = value, e->best_step = step, e->since_best = 0;
    else e->since_best++;
    e->stop = e->patience > 0 && e->since_best >= e->patience;
    return improved;
}

static void log_stop(const rg_early_stop *e, long step) {
    rg_info("early stop at step %ld: the held-out gap has not improved for %ld evaluations; best %.6f at step %ld "
            "(%s)", step, e->since_best, e->best, e->best_step, e->best_dir);
}

int rg_early_stop_restore(rg_early_stop *e, const char *metrics_text) {
    const char *line = metrics_text;
    long last_step = 0;
    while (line && *line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > 0 && memmem(line, len, "\"gap_eval\"", 10)) {
            cJSON *j = cJSON_ParseWithLength(line, len);
            const cJSON *step = j ? cJSON_GetObjectItem(j, "step") : NULL, *v = j ? cJSON_GetObjectItem(j, "heldout_gap") : NULL;
            if (!cJSON_IsNumber(step) || !cJSON_IsNumber(v)) {
                cJSON_Delete(j);
                return rg_error("metrics.jsonl: a gap_eval line without a numeric step and heldout_gap");
            }
            last_step = (long)step->valuedouble;
            update(e, last_step, v->valuedouble);
            cJSON_Delete(j);
        }
        line = end ? end + 1 : NULL;
    }
    if (e->have_best)
        rg_info("early stopping: best held-out gap %.6f at step %ld, %ld evaluations since%s", e->best, e->best_step,
                e->since_best, e->stop ? "; patience already ran out" : "");
    if (e->stop) log_stop(e, last_step);
    return RG_OK;
}

int rg_early_stop_if_due(rg_early_stop *e, const rg_trainer *t, const char *model_dir, rg_dtype dtype,
                         long total_steps, rg_text_buf *metrics) {
    long step = t->step;
    if (e->every <= 0 || (step % e->every != 0 && step != total_steps)) return RG_OK;
    double start = rg_now(), value;
    char fields[512] = "", line[1024], shown[32];
    if (e->measure(e->ctx, &value, fields, sizeof fields) != RG_OK) return RG_ERR;
    /* decided on the value as logged, so that --resume (which reads it back) decides the same */
    snprintf(shown, sizeof shown, "%.6f", value);
    value = strtod(shown, NULL);
    int improved = update(e, step, value);
    double seconds = rg_now() - start;
    e->seconds += seconds;
    snprintf(line, sizeof line,
             "{\"step\": %ld, \"gap_eval\": true, \"heldout_gap\": %s%s%s, \"best_step\": %ld, \"best_gap\": %.6f, "
             "\"since_best\": %ld, \"gap_s\": %.3f}\n",
             step, shown, *fields ? ", " : "", fields, e->best_step, e->best, e->since_best, seconds);
    if (rg_text_append(metrics, line) != RG_OK) return RG_ERR;
    rg_info("held-out gap at step %ld: %s (best %.6f at step %ld%s)", step, shown, e->best, e->best_step,
            improved ? ", new best" : "");
    if (improved && rg_trainer_save(t, model_dir, e->best_dir, dtype, "metrics.jsonl", metrics->text) != RG_OK)
        return RG_ERR;
    if (e->stop) log_stop(e, step);
    return RG_OK;
}
