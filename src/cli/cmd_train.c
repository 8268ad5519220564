/* cmd_train.c — `rgsd train`: RGSD, verifier-free rubric post-training by
 * self-distillation (DESIGN.md section 5; the step is src/rgsd/), with the
 * run management of `rgsd sft`: seeded order, checkpoints, exact --resume,
 * metrics.jsonl, Ctrl-C = abandon the step at a safe point, save the last complete one, exit 130 (the
 * session: session/session.h). This file is the flag table, the setup of the prompts and the
 * teacher, and the step's metrics line. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/data_flags.h"
#include "cli/train_flags.h"
#include "cli/train_gap.h"
#include "cli/train_setup.h"
#include "dist/dist.h"
#include "nn/nn.h"
#include "rgsd/rgsd_run.h"
#include "session/session.h"
#include "session/setup.h"
#include "train/rollout.h"

typedef struct {
    rg_train_flags f;
    const char *teacher_template_path, *teacher_context, *clip_mode, *system, *teacher_dtype, *eval_path;
    const char *judge_text, *judge_cache, *eval_out, *verifier_text, *rubric_in_text, *gap_path;
    const char *teacher_mode, *topk_from, *topk_tail, *is_weight, *loss_mean;
    long max_new, gen_batch, context, top_k, eval_every, eval_samples, eval_max_new, gap_every, gap_samples, patience;
    double beta, tau, temperature, top_p, ema_decay, is_clip;
    int strict, skip_bad, no_thinking, keep_think;
    /* parsed from the above by check_flags */
    rg_verifier_criteria verifier;
    rg_dtype out_dtype;
    rg_teacher_context tcontext;
    rg_rubric_in rubric_in;
    nn_jsd_config jsd;
    rg_teacher_mode tmode;
    rg_loss_mean mean;
} train_options;

/* Time and token totals for the closing summary. */
typedef struct {
    double gen_s, teacher_s, student_s, backward_s, optimizer_s;
    long response_tokens, seq_tokens, steps;
    double first_gap, last_gap, first_loss, last_loss;
} run_totals;

typedef struct {
    train_options *o;
    rg_teacher_template *tmpl;
    rg_rgsd_data prompts;
    rg_rgsd_run run;
    int run_ready;
    int32_t stop[1]; /* the rollouts' stop token: the run's config points here */
    run_totals tot;
    rg_train_gap gap; /* --gap-data */
} rgsd_method;

static int parse_clip_mode(const char *s, nn_clip_mode *mode) {
    if (strcmp(s, "none") == 0) *mode = NN_CLIP_NONE;
    else if (strcmp(s, "token") == 0) *mode = NN_CLIP_TOKEN;
    else if (strcmp(s, "entry") == 0) *mode = NN_CLIP_ENTRY;
    else return rg_error("--clip-mode must be none, token or entry (got '%s')", s);
    return RG_OK;
}

/* --teacher, --topk-from, --topk-tail, --loss-mean, --is-weight and the teacher copy's dtype they imply. */
static int parse_variants(train_options *o) {
    if (rg_teacher_mode_parse(o->teacher_mode, &o->tmode) != RG_OK)
        return rg_error("rgsd train: --teacher must be frozen, ema or live (got '%s')", o->teacher_mode);
    if (o->tmode == RG_TEACHER_LIVE && o->teacher_dtype)
        return rg_error("rgsd train: --teacher live has no teacher copy (drop --teacher-dtype)");
    if (o->tmode == RG_TEACHER_EMA && o->teacher_dtype && strcmp(o->teacher_dtype, "f32") != 0)
        return rg_error("rgsd train: --teacher ema keeps an f32 average (--teacher-dtype f32)");
    if (!o->teacher_dtype && o->tmode != RG_TEACHER_LIVE) o->teacher_dtype = o->tmode == RG_TEACHER_EMA ? "f32" : "bf16";
    const char *from = o->topk_from, *tail = o->topk_tail;
    if (strcmp(from, "teacher") == 0) o->jsd.topk_from = NN_TOPK_TEACHER;
    else if (strcmp(from, "student") == 0) o->jsd.topk_from = NN_TOPK_STUDENT;
    else if (strcmp(from, "union") == 0) o->jsd.topk_from = NN_TOPK_UNION;
    else return rg_error("rgsd train: --topk-from must be teacher, student or union (got '%s')", from);
    if (strcmp(tail, "bucket") == 0) o->jsd.topk_tail = NN_TOPK_TAIL_BUCKET;
    else if (strcmp(tail, "renorm") == 0) o->jsd.topk_tail = NN_TOPK_RENORM;
    else return rg_error("rgsd train: --topk-tail must be bucket or renorm (got '%s')", tail);
    if (strcmp(o->loss_mean, "token") == 0) o->mean = RG_LOSS_MEAN_TOKEN;
    else if (strcmp(o->loss_mean, "sequence") == 0) o->mean = RG_LOSS_MEAN_SEQUENCE;
    else return rg_error("rgsd train: --loss-mean must be token or sequence (got '%s')", o->loss_mean);
    if (strcmp(o->is_weight, "none") != 0 && strcmp(o->is_weight, "token") != 0)
        return rg_error("rgsd train: --is-weight must be none or token (got '%s')", o->is_weight);
    return RG_OK;
}

/* The flag table: 0 to go on, 1 after --help, -1 on a usage error. */
static int parse_flags(int argc, char **argv, train_options *o) {
    *o = (train_options){.f = rg_train_flags_defaults(8), .teacher_context = "rubric", .clip_mode = "none",
                         .verifier_text = "skip", .rubric_in_text = "user", .max_new = 256,
                         .gen_batch = 8, .eval_samples = 1, .gap_samples = 1, .beta = 0.5, .tau = 0.05,
                         .temperature = 1.0, .top_p = 1.0, .teacher_mode = "frozen", .ema_decay = 0.999,
                         .topk_from = "teacher", .topk_tail = "bucket", .is_weight = "none", .is_clip = 2.0,
                         .loss_mean = "token"};
    rg_arg specs[] = {
        {"model", RG_ARG_STRING, &o->f.model_dir, "DIR", "Hugging Face model folder (student and teacher)", 1},
        {"data", RG_ARG_STRING, &o->f.data_path, "FILE", "rubric data, JSONL, any format (docs/rubric-data.md)", 1},
        {"out", RG_ARG_STRING, &o->f.out_dir, "DIR", "checkpoint folder (model or PEFT adapter + train state + metrics)",
         1},
        {"beta", RG_ARG_FLOAT, &o->beta, "B", "generalized JSD weight: 0 forward KL, 1 reverse KL", 0},
        {"topk", RG_ARG_INT, &o->top_k, "K", "divergence over a top-K support (--topk-from, --topk-tail); 0 = full vocabulary",
         0},
        {"topk-from", RG_ARG_STRING, &o->topk_from, "WHO", "the top-K support: teacher | student | union", 0},
        {"topk-tail", RG_ARG_STRING, &o->topk_tail, "HOW", "the rest of the mass: bucket (one tail bucket) | renorm", 0},
        {"loss-mean", RG_ARG_STRING, &o->loss_mean, "HOW", "token (every loss position alike) | sequence", 0},
        {"is-weight", RG_ARG_STRING, &o->is_weight, "HOW",
         "none | token: weight each position by p_current/p_rollout (detached, clipped at --is-clip)", 0},
        {"is-clip", RG_ARG_FLOAT, &o->is_clip, "C", "the importance weight's upper clip", 0},
        {"clip-mode", RG_ARG_STRING, &o->clip_mode, "MODE", "none | token | entry", 0},
        {"clip", RG_ARG_FLOAT, &o->tau, "TAU", "clip threshold for --clip-mode token|entry", 0},
        {"teacher-context", RG_ARG_STRING, &o->teacher_context, "WHAT", "rubric | reference", 0},
        {"teacher-template", RG_ARG_STRING, &o->teacher_template_path, "NAME|FILE",
         "teacher prompt: default | paper | a template file with {{question}} and {{criteria}} / {{reference}}", 0},
        {"rubric-in", RG_ARG_STRING, &o->rubric_in_text, "WHERE",
         "the teacher's rubric in the last user message (user) or in the system message (system)", 0},
        {"teacher", RG_ARG_STRING, &o->teacher_mode, "MODE",
         "frozen (the base; LoRA: adapters off) | ema (an EMA of the student) | live (the student itself)", 0},
        {"teacher-ema-decay", RG_ARG_FLOAT, &o->ema_decay, "D", "--teacher ema: theta_T <- D theta_T + (1-D) theta_S",
         0},
        {"teacher-dtype", RG_ARG_STRING, &o->teacher_dtype, "bf16|f32",
         "full fine-tuning: the teacher copy's precision (frozen: bf16; ema: f32 only)", 0},
        {"max-new", RG_ARG_INT, &o->max_new, "N", "rollout tokens at most", 0},
        {"temperature", RG_ARG_FLOAT, &o->temperature, "T", "rollout sampling temperature", 0},
        {"top-p", RG_ARG_FLOAT, &o->top_p, "P", "rollout nucleus sampling", 0},
        {"gen-batch", RG_ARG_INT, &o->gen_batch, "N", "rollouts decoded together", 0},
        {"context", RG_ARG_INT, &o->context, "N", "tokens a sequence may span",
         0},
        {"system", RG_ARG_STRING, &o->system, "TEXT", "system message for conversations without one", 0},
        {"no-thinking", RG_ARG_FLAG, &o->no_thinking, NULL, "Qwen3: render prompts with enable_thinking = false", 0},
        {"keep-think", RG_ARG_FLAG, &o->keep_think, NULL, "do not mask the <think>...</think> span out of the loss", 0},
        {"strict", RG_ARG_FLAG, &o->strict, NULL, "an example the teacher cannot take is an error (default: skip, count)",
         0},
        {"skip-bad", RG_ARG_FLAG, &o->skip_bad, NULL, "skip (and count) invalid data lines instead of failing", 0},
        RG_VERIFIER_CRITERIA_ROW(o->verifier_text),
        {"lora-rank", RG_ARG_INT, &o->f.lora_rank, "R", "LoRA rank; 0 = full fine-tuning", 0},
        {"lora-alpha", RG_ARG_FLOAT, &o->f.lora_alpha, "A", "LoRA alpha; scaling = alpha / rank", 0},
        RG_TRAIN_FLAG_ROWS_LORA(o->f),
        {"lr", RG_ARG_FLOAT, &o->f.lr, "LR", "peak learning rate", 0},
        RG_TRAIN_FLAG_ROWS_SCHEDULE(o->f),
        {"batch", RG_ARG_INT, &o->f.batch_size, "N", "prompts per step, one rollout each", 0},
        {"grad-accum", RG_ARG_INT, &o->f.grad_accum, "N", "batches per optimizer step", 0},
        RG_TRAIN_FLAG_ROWS_OPTIMIZER(o->f),
        {"eval-data", RG_ARG_STRING, &o->eval_path, "FILE", "held-out rubric data for --eval-every", 0},
        {"eval-every", RG_ARG_INT, &o->eval_every, "N", "evaluate the student every N steps and at the end", 0},
        {"judge", RG_ARG_STRING, &o->judge_text, "SPEC", "judge for --eval-every: rule | local:DIR | http:URL#model=M",
         0},
        {"judge-cache", RG_ARG_STRING, &o->judge_cache, "FILE", "SQLite verdict cache for the evaluation judge", 0},
        {"eval-out", RG_ARG_STRING, &o->eval_out, "DIR", "write each evaluation's report into DIR/step-N", 0},
        {"eval-samples", RG_ARG_INT, &o->eval_samples, "K", "responses per held-out example", 0},
        {"eval-max-new", RG_ARG_INT, &o->eval_max_new, "N", "evaluation tokens at most", 0},
        {"gap-data", RG_ARG_STRING, &o->gap_path, "FILE", "held-out rubric data for --gap-every (judge-free)", 0},
        {"gap-every", RG_ARG_INT, &o->gap_every, "N",
         "measure the held-out gap every N steps and at the end; keep the best checkpoint in OUT-best", 0},
        {"gap-samples", RG_ARG_INT, &o->gap_samples, "K", "responses per held-out prompt for --gap-every", 0},
        {"early-stop", RG_ARG_INT, &o->patience, "PATIENCE",
         "stop after PATIENCE gap measurements in a row without a new best (0 = never)", 0},
        RG_TRAIN_FLAG_ROWS_RUN(o->f),
    };
    rg_command_spec spec = {
        .name = "train",
        .synopsis = "--model DIR --data FILE.jsonl --out DIR [--lora-rank R] [options]",
        .summary = "RGSD: for each prompt the student samples one rollout; the frozen base model shown the rubric "
                   "(the teacher) scores the same tokens; the student is trained to match the teacher's next-token "
                   "distributions (generalized JSD). No judge is called during training. Full fine-tuning writes a "
                   "Hugging Face folder, LoRA a PEFT adapter, both with train_state.safetensors and metrics.jsonl; "
                   "--resume continues bit for bit; Ctrl-C stops inside the step, saves the last complete one and exits 130 (again: at once). docs/rgsd.md.",
        .examples = "rgsd train --model qwen --data train.jsonl --out run1 --lora-rank 16 --lr 1e-4 --batch 8 "
                    "--max-new 512 --eval-data heldout.jsonl --eval-every 50 --judge rule",
        .args = specs,
        .nargs = (int)(sizeof specs / sizeof *specs),
    };
    int parsed = rg_args_parse(&spec, argc, argv, NULL, NULL);
    return parsed == 1 ? 1 : parsed < 0 ? -1 : 0;
}

/* The values and ranges of the flags; RG_ERR with the message set (a usage error where it was one). */
static int check_flags(train_options *o) {
    if (rg_cli_verifier_criteria("train", o->verifier_text, &o->verifier)) return RG_ERR;
    if (rg_save_dtype_parse(o->f.save_dtype, &o->out_dtype) != RG_OK)
        return rg_error("rgsd train: --save-dtype must be f32 or bf16");
    if (rg_teacher_context_parse(o->teacher_context, &o->tcontext) != RG_OK)
        return rg_error("rgsd train: --teacher-context must be rubric or reference");
    if (o->teacher_dtype && strcmp(o->teacher_dtype, "bf16") != 0 && strcmp(o->teacher_dtype, "f32") != 0)
        return rg_error("rgsd train: --teacher-dtype must be bf16 or f32");
    o->jsd = (nn_jsd_config){.beta = (float)o->beta, .tau = (float)o->tau, .top_k = (int)o->top_k};
    if (parse_clip_mode(o->clip_mode, &o->jsd.clip) != RG_OK || parse_variants(o) != RG_OK) return RG_ERR;
    if (!(o->beta >= 0 && o->beta <= 1) || o->top_k < 0 || !(o->ema_decay >= 0 && o->ema_decay < 1) ||
        !(o->is_clip > 0) || !(o->tau > 0) || o->max_new < 1 || o->gen_batch < 1 ||
        o->gen_batch > RG_GEN_MAX_BATCH || o->context < 0 || !(o->temperature >= 0) ||
        !(o->top_p > 0 && o->top_p <= 1) || !rg_train_flags_in_range(&o->f) || o->eval_every < 0 ||
        o->eval_samples < 1 || o->eval_max_new < 0)
        return rg_usage_error("rgsd train: a numeric flag is out of range (see rgsd train --help)");
    if ((o->eval_every > 0) != (o->eval_path != NULL) || (o->eval_every > 0 && !o->judge_text))
        return rg_error("rgsd train: --eval-every N needs --eval-data FILE and --judge SPEC (and they need it)");
    if (rg_rubric_in_parse(o->rubric_in_text, &o->rubric_in) != RG_OK) return RG_ERR;
    if (o->gap_every < 0 || o->patience < 0 || o->gap_samples < 1 || o->gap_samples > 1024)
        return rg_usage_error("rgsd train: --gap-every and --early-stop must be >= 0, --gap-samples in 1..1024");
    if ((o->gap_every > 0) != (o->gap_path != NULL))
        return rg_error("rgsd train: --gap-every N needs --gap-data FILE (and it needs --gap-every)");
    if (o->patience > 0 && o->gap_every == 0)
        return rg_error("rgsd train: --early-stop needs --gap-data FILE and --gap-every N");
    if (o->gap_every > 0 && rg_dist_size() > 1) /* the measurement and the stop decision are one process's */
        return rg_error("rgsd train: --gap-every runs on one process only (not under mpirun -np %d yet)",
                        rg_dist_size());
    return RG_OK;
}

/* How the teacher and student prompts are rendered (training and --gap-data alike). */
static rg_rgsd_data_options data_options_of(const train_options *o, const rgsd_method *m, int context_len) {
    return (rg_rgsd_data_options){.teacher_template = m->tmpl, .context = o->tcontext, .rubric_in = o->rubric_in,
                                  .system = o->system, .enable_thinking = !o->no_thinking, .max_new = (int)o->max_new,
                                  .context_len = context_len, .strict = o->strict};
}

/* --gap-data / --gap-every / --early-stop: the held-out prompts and the session's early stopping, set up
 * before rg_session_start so that --resume restores its state. Sampling as `rgsd gap`: temperature 1,
 * top-p 1, seed --seed. */
static int gap_setup(rg_session *s, rgsd_method *m, int context_len) {
    const train_options *o = m->o;
    if (o->gap_every <= 0) return RG_OK;
    rg_rgsd_data_options data_options = data_options_of(o, m, context_len);
    rg_gen_options gen = {.max_new = (int)o->max_new, .sample = {.temperature = 1.0f, .top_p = 1.0f},
                          .seed = (uint64_t)o->f.seed, .batch = (int)o->gen_batch, .context = context_len};
    if (rg_train_gap_setup(&m->gap, s, o->gap_path, o->skip_bad, o->verifier, &data_options, (int)o->gap_samples, &gen,
                           o->keep_think) != RG_OK)
        return RG_ERR;
    if (rg_early_stop_init(&s->early_stop, o->f.out_dir, o->gap_every, o->patience, rg_train_gap_measure, &m->gap))
        return RG_ERR;
    rg_info("judge-free early stopping: the held-out gap of %d prompts x %ld samples every %ld steps, stop after %ld "
            "without a new best (0: never); best checkpoint in %s",
            m->gap.prompts.n, o->gap_samples, o->gap_every, o->patience, s->early_stop.best_dir);
    return RG_OK;
}

/* The prompts both sides see, encoded once; skipped examples warned about. */
static int build_prompts(rg_session *s, rgsd_method *m, int context_len) {
    const train_options *o = m->o;
    rg_rgsd_data_options data_options = data_options_of(o, m, context_len);
    rg_rgsd_data *p = &m->prompts;
    if (rg_rgsd_data_build(p, &s->lm, s->data.examples, s->data.count, &data_options) != RG_OK) return RG_ERR;
    if (p->skipped_empty || p->skipped_long)
        rg_warn("%zu examples skipped: %zu with nothing for the teacher to condition on, %zu whose teacher prompt + "
                "--max-new %ld passes the context of %d tokens (--strict makes these errors)",
                p->skipped_empty + p->skipped_long, p->skipped_empty, p->skipped_long, o->max_new, context_len);
    if (p->n == 0) return rg_error("%s: no example left to train on", o->f.data_path);
    return RG_OK;
}

/* The data, the teacher template, the model and teacher, the prompts, the trainer, the RGSD run and
 * --eval-every's judge; then the setup's log line. */
static int rgsd_setup(rg_session *s, rgsd_method *m) {
    train_options *o = m->o;
    if (o->eval_every > 0) {
        if (rg_judge_spec_parse(o->judge_text, &s->judge_spec) != RG_OK) return RG_ERR;
        s->judge_spec_ready = 1;
    }
    if (rg_train_load_rubric(o->f.data_path, o->eval_path, o->skip_bad, 1, o->verifier, &s->data, &s->eval_data))
        return RG_ERR;
    if (o->teacher_template_path && rg_teacher_template_open(o->teacher_template_path, &m->tmpl) != RG_OK)
        return RG_ERR;
    int lora_mode = o->f.lora_rank > 0 || o->f.adapter_dir;
    if (rg_train_open_model(s, &o->f, o->teacher_dtype) != RG_OK) return RG_ERR;
    int context_len = rg_context_len(&s->lm.model.cfg, o->context);
    if (build_prompts(s, m, context_len) != RG_OK || gap_setup(s, m, context_len) != RG_OK) return RG_ERR;
    if (rg_session_start(s, m->prompts.max_prompt_len + (int)o->max_new, m->prompts.n) != RG_OK) return RG_ERR;

    int32_t think_open, think_close;
    rg_think_tokens(&s->lm, o->keep_think, &think_open, &think_close);
    m->stop[0] = s->lm.end_of_turn;
    rg_rgsd_config rcfg = {
        .jsd = o->jsd,
        .teacher_mode = o->tmode,
        .teacher_ema_decay = (float)o->ema_decay,
        .loss_mean = o->mean,
        .is_clip = strcmp(o->is_weight, "token") == 0 ? (float)o->is_clip : 0.0f,
        .gen = {.max_new = (int)o->max_new,
                .sample = {.temperature = (float)o->temperature, .top_p = (float)o->top_p},
                .seed = (uint64_t)o->f.seed,
                .batch = (int)o->gen_batch,
                .context = rg_rollout_context(context_len, m->prompts.max_student_len, (int)o->max_new),
                .stop_ids = m->stop,
                .n_stop_ids = s->lm.end_of_turn >= 0},
        .think_open = think_open,
        .think_close = think_close,
        .end_token = rg_single_end_token(&s->lm),
    };
    rg_model *copy = lora_mode || o->tmode == RG_TEACHER_LIVE ? NULL : &s->frozen;
    if (rg_rgsd_run_init(&m->run, &s->trainer, copy, &rcfg) != RG_OK) return RG_ERR;
    m->run_ready = 1;
    if (o->f.resume && rg_trainer_resume_method_state(&s->trainer, o->f.out_dir) != RG_OK) return RG_ERR;
    if (o->eval_every > 0) {
        rg_judge_options judge_options = {.cache_path = o->judge_cache};
        if (rg_judge_open(&s->judge, &s->judge_spec, &judge_options) != RG_OK) return RG_ERR;
        s->eval_options = rg_train_eval_options(o->eval_samples, o->system, o->no_thinking, o->eval_max_new,
                                                o->max_new, o->f.seed, o->gen_batch, context_len);
    }
    rg_session_evaluate_every(s, o->eval_every, o->eval_out);
    rg_info("rgsd train: %d prompts (%zu skipped), %s, %ld steps of %d prompts x 1 rollout, max-new %ld; "
            "JSD beta %.2f, %s, clip %s%s, %s mean%s; teacher: %s (%s); judge calls during training: 0",
            m->prompts.n, m->prompts.skipped_empty + m->prompts.skipped_long, rg_session_mode(s), s->total_steps,
            s->cfg.batch_size * s->cfg.grad_accum, o->max_new, o->beta,
            o->top_k > 0 ? (o->jsd.topk_tail == NN_TOPK_RENORM ? "top-k renormalised" : "top-k + tail") : "full vocabulary",
            o->clip_mode, o->jsd.clip != NN_CLIP_NONE ? " (tau set)" : "", o->loss_mean,
            rcfg.is_clip > 0 ? ", importance weight" : "", o->teacher_mode,
            o->tmode == RG_TEACHER_LIVE ? "the student, no gradient"
            : lora_mode ? (o->tmode == RG_TEACHER_EMA ? "the base through EMA adapters" : "the base with adapters off")
            : o->tmode == RG_TEACHER_EMA ? "f32 EMA copy"
            : (strcmp(o->teacher_dtype, "f32") == 0 ? "frozen f32 copy" : "frozen bf16 copy"));
    return RG_OK;
}

static int rgsd_step(rg_session *s, void *method, char *line, size_t line_size, char *extra, size_t extra_size) {
    rgsd_method *m = method;
    run_totals *tot = &m->tot;
    rg_rgsd_step_stats st;
    if (rg_rgsd_step(&m->run, &m->prompts, &st) != RG_OK) return RG_ERR;
    tot->gen_s += st.gen_s, tot->teacher_s += st.teacher_s, tot->student_s += st.student_s;
    tot->backward_s += st.backward_s, tot->optimizer_s += st.optimizer_s;
    tot->response_tokens += st.response_tokens, tot->seq_tokens += st.seq_tokens;
    if (tot->steps++ == 0) tot->first_gap = st.gap, tot->first_loss = st.loss;
    tot->last_gap = st.gap, tot->last_loss = st.loss;
    const rg_trainer *t = &s->trainer;
    char is_fields[96] = "";
    if (m->run.cfg.is_clip > 0)
        snprintf(is_fields, sizeof is_fields, ", \"is_weight\": %.6f, \"is_clip_fraction\": %.6f", st.is_weight,
                 st.is_clip_fraction);
    snprintf(line, line_size,
             "{\"step\": %ld, \"epoch\": %.4f, \"loss\": %.6f, \"clip_fraction\": %.6f, \"gap\": %.6f, "
             "\"entropy\": %.6f, \"response_len\": %.2f, \"stopped\": %.3f, \"loss_tokens\": %ld, "
             "\"response_tokens\": %ld, \"tokens\": %ld, \"lr\": %.6g, \"grad_norm\": %.6f, \"grad_clipped\": %s, "
             "\"tokens_per_s\": %.1f, \"step_s\": %.3f, \"generation_s\": %.3f, \"teacher_s\": %.3f, "
             "\"student_s\": %.3f, \"backward_s\": %.3f, \"optimizer_s\": %.3f%s, \"judge_calls\": 0}\n",
             t->step, (double)t->cursor / m->prompts.n, st.loss, st.clip_fraction, st.gap, st.entropy,
             st.response_len, st.stopped, st.loss_tokens, st.response_tokens, st.seq_tokens, (double)st.opt.lr,
             st.opt.grad_norm, st.opt.clipped ? "true" : "false",
             (st.seq_tokens + st.response_tokens) / fmax(st.step_s, 1e-9), st.step_s, st.gen_s, st.teacher_s,
             st.student_s, st.backward_s, st.optimizer_s, is_fields);
    double elapsed = rg_session_wall(s);
    snprintf(extra, extra_size, "loss %.4f  gap %+.4f  %.0f tok/s  ETA %.0fs", st.loss, st.gap,
             (tot->seq_tokens + tot->response_tokens) / fmax(elapsed, 1e-9),
             rg_train_loop_eta(&s->loop, t->step, elapsed));
    return RG_OK;
}

static void rgsd_summary(const rg_session *s, const run_totals *tot) {
    double wall = rg_session_wall(s);
    if (tot->steps > 0)
        rg_info("rgsd train: %ld steps in %.1f s (%.2f s/step, %.0f tokens/s); gap %+.4f -> %+.4f, loss %.4f -> %.4f; "
                "time: generation %.1f s, teacher %.1f s, student %.1f s, backward %.1f s, optimizer %.1f s%s; "
                "judge calls during training: 0",
                tot->steps, wall, wall / (double)tot->steps,
                (tot->seq_tokens + tot->response_tokens) / fmax(wall, 1e-9), tot->first_gap, tot->last_gap,
                tot->first_loss, tot->last_loss, tot->gen_s, tot->teacher_s, tot->student_s, tot->backward_s,
                tot->optimizer_s, s->eval_s > 0 ? ", evaluation (judged) see metrics" : "");
}

int cmd_train(int argc, char **argv) {
    train_options o;
    int parsed = parse_flags(argc, argv, &o);
    if (parsed) return parsed == 1 ? 0 : rg_cli_fail();
    if (check_flags(&o) != RG_OK) return rg_cli_fail();
    nn_blas_init();

    rg_session s = {0};
    rgsd_method m = {.o = &o};
    int rc = 1;
    if (rg_train_session_from_flags(&s, &o.f, "rgsd", "prompt", o.out_dtype) == RG_OK &&
        rgsd_setup(&s, &m) == RG_OK && rg_session_loop(&s, rgsd_step, &m) == RG_OK) {
        rgsd_summary(&s, &m.tot);
        rc = rg_session_close(&s);
    }
    if (rc == 1) rg_cli_fail();
    if (m.run_ready) rg_rgsd_run_free(&m.run);
    rg_rgsd_data_free(&m.prompts);
    rg_train_gap_free(&m.gap);
    if (m.tmpl) rg_teacher_template_free(m.tmpl);
    rg_session_free(&s);
    return rc;
}
