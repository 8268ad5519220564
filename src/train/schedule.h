/* schedule.h — learning-rate schedules, as transformers'
 * get_constant_schedule_with_warmup / get_cosine_schedule_with_warmup
 * (LambdaLR: the rate used by optimizer step k, k = 0, 1, ...):
 *   warmup (k < W):  lr * k / max(1, W)          (so step 0 runs at 0, as HF)
 *   constant:        lr
 *   cosine:          lr * max(min_ratio, 0.5 (1 + cos(pi (k - W) / max(1, total - W))))
 * (min_ratio = 0 is HF's schedule exactly). */
#ifndef RG_SCHEDULE_H
#define RG_SCHEDULE_H

typedef enum { RG_SCHEDULE_CONSTANT = 0, RG_SCHEDULE_COSINE = 1 } rg_schedule_kind;

typedef struct {
    rg_schedule_kind kind;
    float lr;          /* peak learning rate */
    long warmup_steps;
    long total_steps;  /* cosine: the step where it reaches min_ratio */
    float min_ratio;
} rg_schedule;

/* "constant" | "cosine" */
int rg_schedule_parse(const char *name, rg_schedule_kind *kind);
float rg_schedule_lr(const rg_schedule *s, long step);

#endif
