/* schedule.c — warmup then constant or cosine (see schedule.h). */
#include "train/schedule.h"

#include <math.h>
#include <string.h>

#include "base/error.h"

int rg_schedule_parse(const char *name, rg_schedule_kind *kind) {
    if (strcmp(name, "constant") == 0)
        *kind = RG_SCHEDULE_CONSTANT;
    else if (strcmp(name, "cosine") == 0)
        *kind = RG_SCHEDULE_COSINE;
    else
        return rg_error("unknown schedule '%s' (constant | cosine)", name);
    return RG_OK;
}

float rg_schedule_lr(const rg_schedule *s, long step) {
    if (step < s->warmup_steps) return (float)((double)s->lr * (double)step / (double)(s->warmup_steps > 1 ? s->warmup_steps : 1));
    if (s->kind == RG_SCHEDULE_CONSTANT) return s->lr;
    long span = s->total_steps - s->warmup_steps;
    double progress = (double)(step - s->warmup_steps) / (double)(span > 1 ? span : 1);
    double factor = 0.5 * (1.0 + cos(M_PI * progress));
    if (progress >= 1.0) factor = 0.0;
    if (factor < s->min_ratio) factor = s->min_ratio;
    return (float)((double)s->lr * factor);
}
