/* cmd_grpo.c — `rgsd grpo`: the judge-based GRPO baseline (DESIGN.md
 * section 6; the step is src/grpo/), with the run management of `rgsd sft` and
 * `rgsd train`: seeded order, checkpoints, exact --resume, metrics.jsonl with
 * the judge's cost per step, Ctrl-C = abandon the step at a safe point, save the last complete one, exit 130
 * (the session: session/session.h). This file is the flag table, the setup of the prompts and the
 * judge, and the step's metrics line. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/data_flags.h"
#include "cli/train_flags.h"
#include "cli/train_setup.h"
#include "grpo/grpo_run.h"
#include "nn/nn.h"
#include "rubric/rule_judge.h"
#include "dist/dist.h"
#include "session/data_parallel.h"
#include "session/session.h"
#include "session/setup.h"
#include "train/rollout.h"

typedef struct {
    rg_train_flags f;
    const char *judge_text, *judge_cache, *reward_name, *system, *ref_dtype, *eval_path, *eval_out, *verifier_text;
    const char *loss_type_name, *scale_name;
    long group, max_new, gen_batch, context, top_k, eval_every, eval_samples, eval_max_new, iterations;
    double clip_eps, epsilon_high, kl_coef, temperature, top_p;
    double pow3r_lambda, pow3r_min, pow3r_max, pow3r_ema;
    int strict, skip_bad, no_thinking, no_std, mask_truncated;
    /* parsed from the above by check_flags */
    rg_verifier_criteria verifier;
    rg_dtype out_dtype;
    rg_grpo_reward reward;
    rg_grpo_loss_type loss_type;
    rg_grpo_scale scale;
} grpo_options;

typedef struct {
    double gen_s, judge_s, reference_s, student_s, backward_s, optimizer_s;
    long response_tokens, seq_tokens, steps, judge_verdicts, judge_requests, judge_cache_hits, judge_tokens;
    double first_reward, last_reward;
} run_totals;

typedef struct {
    grpo_options *o;
    rg_grpo_data prompts;
    rg_grpo_run run;
    int run_ready;
    rg_pow3r pow3r; /* --reward pow3r: alpha_j, saved in the train state */
    int pow3r_ready;
    int32_t stop[1]; /* the rollouts' stop token: the run's config points here */
    run_totals tot;
} grpo_method;

/* The rule judge needs `match` patterns on every criterion: checked before any model is loaded. */
static int check_rule_patterns(const char *path, const rg_dataset *data) {
    for (size_t e = 0; e < data->count; e++) {
        rg_rule_judge *matcher = NULL;
        if (rg_rule_judge_new(&data->examples[e], &matcher) != RG_OK)
            return rg_error_prefix("%s: example '%s' (line %ld) cannot be judged by --judge rule", path,
                                   data->examples[e].id ? data->examples[e].id : "?", data->examples[e].line),
                   RG_ERR;
        rg_rule_judge_free(matcher);
    }
    return RG_OK;
}

/* The flag table: 0 to go on, 1 after --help, -1 on a usage error. */
static int parse_flags(int argc, char **argv, grpo_options *o) {
    *o = (grpo_options){.f = rg_train_flags_defaults(4), .reward_name = "balanced", .ref_dtype = "bf16",
                        .verifier_text = "skip", .group = 8, .max_new = 256, .gen_batch = 8, .eval_samples = 1,
                        .clip_eps = 0.2, .kl_coef = 0.01, .temperature = 1.0, .top_p = 1.0,
                        .loss_type_name = "dapo", .scale_name = "group", .iterations = 1,
                        .pow3r_lambda = RG_POW3R_DEFAULTS.lambda, .pow3r_min = RG_POW3R_DEFAULTS.clip_lo,
                        .pow3r_max = RG_POW3R_DEFAULTS.clip_hi, .pow3r_ema = RG_POW3R_DEFAULTS.ema};
    rg_arg specs[] = {
        {"model", RG_ARG_STRING, &o->f.model_dir, "DIR", "Hugging Face model folder (policy and reference)", 1},
        {"data", RG_ARG_STRING, &o->f.data_path, "FILE", "rubric data, JSONL, any format (docs/rubric-data.md)", 1},
        {"judge", RG_ARG_STRING, &o->judge_text, "SPEC", "rule | local:DIR | http:URL#model=M (docs/judges.md)", 1},
        {"out", RG_ARG_STRING, &o->f.out_dir, "DIR", "checkpoint folder (model or PEFT adapter + train state + metrics)",
         1},
        {"group", RG_ARG_INT, &o->group, "G", "rollouts per prompt (>= 2)", 0},
        {"reward", RG_ARG_STRING, &o->reward_name, "KIND", "balanced | healthbench | pow3r", 0},
        {"pow3r-lambda", RG_ARG_FLOAT, &o->pow3r_lambda, "L", "pow3r: blend of the criterion factors toward 1", 0},
        {"pow3r-min", RG_ARG_FLOAT, &o->pow3r_min, "A", "pow3r: the factors' target clipped to [A, --pow3r-max]", 0},
        {"pow3r-max", RG_ARG_FLOAT, &o->pow3r_max, "A", "pow3r: upper clip of the factors' target", 0},
        {"pow3r-ema", RG_ARG_FLOAT, &o->pow3r_ema, "R", "pow3r: EMA rate of the factors, once per epoch", 0},
        {"scale-rewards", RG_ARG_STRING, &o->scale_name, "group|batch|none",
         "advantages (r - group mean) / (std + 1e-4), std of the group or of the step; none: not divided", 0},
        {"no-std", RG_ARG_FLAG, &o->no_std, NULL, "= --scale-rewards none", 0},
        {"loss-type", RG_ARG_STRING, &o->loss_type_name, "dapo|bnpo|grpo|dr_grpo",
         "normalisation of the loss (TRL's loss_type; docs/grpo.md)", 0},
        {"iterations", RG_ARG_INT, &o->iterations, "MU", "optimizer updates per batch of rollouts (TRL num_iterations)", 0},
        {"clip-eps", RG_ARG_FLOAT, &o->clip_eps, "E", "surrogate ratio clip: [1 - E, 1 + E] (TRL epsilon)", 0},
        {"epsilon-high", RG_ARG_FLOAT, &o->epsilon_high, "E", "upper ratio clip 1 + E; 0 = --clip-eps", 0},
        {"mask-truncated", RG_ARG_FLAG, &o->mask_truncated, NULL, "rollouts that did not end on an end token leave the loss",
         0},
        {"kl-coef", RG_ARG_FLOAT, &o->kl_coef, "B", "k3 KL to the frozen base; 0 = none (no reference pass)", 0},
        {"ref-dtype", RG_ARG_STRING, &o->ref_dtype, "bf16|f32", "full fine-tuning: the frozen reference copy's precision",
         0},
        {"judge-cache", RG_ARG_STRING, &o->judge_cache, "FILE", "SQLite verdict cache (http/local judges)", 0},
        {"max-new", RG_ARG_INT, &o->max_new, "N", "rollout tokens at most", 0},
        {"temperature", RG_ARG_FLOAT, &o->temperature, "T", "rollout sampling temperature", 0},
        {"top-p", RG_ARG_FLOAT, &o->top_p, "P", "rollout nucleus sampling", 0},
        {"top-k", RG_ARG_INT, &o->top_k, "K", "rollout top-k sampling; 0 = off", 0},
        {"gen-batch", RG_ARG_INT, &o->gen_batch, "N", "rollouts decoded together", 0},
        {"context", RG_ARG_INT, &o->context, "N", "tokens a sequence may span", 0},
        {"system", RG_ARG_STRING, &o->system, "TEXT", "system message for conversations without one", 0},
        {"no-thinking", RG_ARG_FLAG, &o->no_thinking, NULL, "Qwen3: render prompts with enable_thinking = false", 0},
        {"strict", RG_ARG_FLAG, &o->strict, NULL, "an example that cannot be trained on is an error (default: skip)", 0},
        {"skip-bad", RG_ARG_FLAG, &o->skip_bad, NULL, "skip (and count) invalid data lines instead of failing", 0},
        RG_VERIFIER_CRITERIA_ROW(o->verifier_text),
        {"lora-rank", RG_ARG_INT, &o->f.lora_rank, "R", "LoRA rank; 0 = full fine-tuning", 0},
        {"lora-alpha", RG_ARG_FLOAT, &o->f.lora_alpha, "A", "LoRA alpha; scaling = alpha / rank; 0 = 2 x rank", 0},
        RG_TRAIN_FLAG_ROWS_LORA(o->f),
        {"lr", RG_ARG_FLOAT, &o->f.lr, "LR", "peak learning rate; 0 = 1e-4 under LoRA, 1e-5 full", 0},
        RG_TRAIN_FLAG_ROWS_SCHEDULE(o->f),
        {"batch", RG_ARG_INT, &o->f.batch_size, "N", "prompts per step, G rollouts each", 0},
        {"grad-accum", RG_ARG_INT, &o->f.grad_accum, "N", "batches per optimizer step", 0},
        RG_TRAIN_FLAG_ROWS_OPTIMIZER(o->f),
        {"eval-data", RG_ARG_STRING, &o->eval_path, "FILE", "held-out rubric data for --eval-every (same judge)", 0},
        {"eval-every", RG_ARG_INT, &o->eval_every, "N", "evaluate the policy every N steps and at the end", 0},
        {"eval-out", RG_ARG_STRING, &o->eval_out, "DIR", "write each evaluation's report into DIR/step-N", 0},
        {"eval-samples", RG_ARG_INT, &o->eval_samples, "K", "responses per held-out example", 0},
        {"eval-max-new", RG_ARG_INT, &o->eval_max_new, "N", "evaluation tokens at most", 0},
        RG_TRAIN_FLAG_ROWS_RUN(o->f),
    };
    rg_command_spec spec = {
        .name = "grpo",
        .synopsis = "--model DIR --data FILE.jsonl --judge SPEC --out DIR [--group G] [--lora-rank R] [options]",
        .summary = "GRPO with a judge (the baseline RGSD is compared with): for each prompt the policy samples G "
                   "rollouts, the judge grades each against the prompt's rubric, the reward (balanced, POW3R or "
                   "HealthBench score) is normalised within the group, and the policy follows the clipped "
                   "surrogate with a k3 KL to the frozen base. Judge calls, tokens and seconds are logged per step. "
                   "Same outputs and --resume as rgsd train. docs/grpo.md.",
        .examples = "rgsd grpo --model qwen --data train.jsonl --judge http:http://localhost:8000/v1#model=judge "
                    "--judge-cache verdicts.sqlite --out run1 --lora-rank 16 --group 8 --batch 4",
        .args = specs,
        .nargs = (int)(sizeof specs / sizeof *specs),
    };
    int parsed = rg_args_parse(&spec, argc, argv, NULL, NULL);
    return parsed == 1 ? 1 : parsed < 0 ? -1 : 0;
}

/* The values and ranges of the flags; RG_ERR with the message set (a usage error where it was one). */
static int check_flags(grpo_options *o) {
    if (rg_cli_verifier_criteria("grpo", o->verifier_text, &o->verifier)) return RG_ERR;
    if (rg_save_dtype_parse(o->f.save_dtype, &o->out_dtype) != RG_OK)
        return rg_error("rgsd grpo: --save-dtype must be f32 or bf16");
    if (strcmp(o->reward_name, "balanced") == 0) o->reward = RG_GRPO_REWARD_BALANCED;
    else if (strcmp(o->reward_name, "healthbench") == 0) o->reward = RG_GRPO_REWARD_HEALTHBENCH;
    else if (strcmp(o->reward_name, "pow3r") == 0) o->reward = RG_GRPO_REWARD_POW3R;
    else return rg_error("rgsd grpo: --reward must be balanced, healthbench or pow3r (got '%s')", o->reward_name);
    if (rg_grpo_loss_type_parse(o->loss_type_name, &o->loss_type) != RG_OK)
        return rg_error("rgsd grpo: --loss-type must be dapo, bnpo, grpo or dr_grpo (got '%s')", o->loss_type_name);
    if (strcmp(o->scale_name, "group") == 0) o->scale = RG_GRPO_SCALE_GROUP;
    else if (strcmp(o->scale_name, "batch") == 0) o->scale = RG_GRPO_SCALE_BATCH;
    else if (strcmp(o->scale_name, "none") == 0) o->scale = RG_GRPO_SCALE_NONE;
    else return rg_error("rgsd grpo: --scale-rewards must be group, batch or none (got '%s')", o->scale_name);
    if (o->no_std && o->scale != RG_GRPO_SCALE_NONE) {
        if (strcmp(o->scale_name, "group") != 0) /* not the default: the user asked for both */
            return rg_error("rgsd grpo: --no-std means --scale-rewards none; it contradicts --scale-rewards %s",
                            o->scale_name);
        o->scale = RG_GRPO_SCALE_NONE;
    }
    if (strcmp(o->ref_dtype, "bf16") != 0 && strcmp(o->ref_dtype, "f32") != 0)
        return rg_error("rgsd grpo: --ref-dtype must be bf16 or f32");
    if (!(o->pow3r_lambda >= 0 && o->pow3r_lambda <= 1) || !(o->pow3r_min > 0 && o->pow3r_min <= o->pow3r_max) ||
        !isfinite(o->pow3r_max) || !(o->pow3r_ema > 0 && o->pow3r_ema <= 1))
        return rg_error("rgsd grpo: --pow3r-lambda must be in [0, 1], 0 < --pow3r-min <= --pow3r-max, --pow3r-ema in "
                        "(0, 1]");
    if (o->iterations < 1 || o->iterations > 1000 || !(o->epsilon_high >= 0 && o->epsilon_high < 100))
        return rg_usage_error("rgsd grpo: --iterations must be in [1, 1000] and --epsilon-high in [0, 100)");
    if (o->group < 2 || o->group > 1024 || !(o->clip_eps > 0 && o->clip_eps < 1) || !(o->kl_coef >= 0) ||
        o->max_new < 1 || o->gen_batch < 1 || o->gen_batch > RG_GEN_MAX_BATCH || o->context < 0 ||
        !(o->temperature >= 0) || !(o->top_p > 0 && o->top_p <= 1) || o->top_k < 0 || !rg_train_flags_in_range(&o->f) ||
        o->eval_every < 0 || o->eval_samples < 1 || o->eval_max_new < 0)
        return rg_usage_error("rgsd grpo: a numeric flag is out of range (see rgsd grpo --help)");
    if ((o->eval_every > 0) != (o->eval_path != NULL))
        return rg_error("rgsd grpo: --eval-every N and --eval-data FILE go together");
    /* these need every rank's rewards or token counts per batch, which the data-parallel step does not gather yet */
    if (rg_dist_size() > 1 && (o->reward == RG_GRPO_REWARD_POW3R || o->loss_type == RG_GRPO_LOSS_BNPO ||
                               o->scale == RG_GRPO_SCALE_BATCH))
        return rg_error("rgsd grpo: --reward pow3r, --loss-type bnpo and --scale-rewards batch run on one process "
                        "only (not under mpirun -np %d yet)", rg_dist_size());
    return RG_OK;
}

/* Everything that can be wrong with the judge or the data, found before any model is loaded; the judge opened. */
static int open_judge_and_data(rg_session *s, const grpo_options *o) {
    if (rg_judge_spec_parse(o->judge_text, &s->judge_spec) != RG_OK) return RG_ERR;
    s->judge_spec_ready = 1;
    if (rg_train_load_rubric(o->f.data_path, o->eval_path, o->skip_bad, 0, o->verifier, &s->data, &s->eval_data))
        return RG_ERR;
    if (s->judge_spec.kind == RG_JUDGE_RULE && (check_rule_patterns(o->f.data_path, &s->data) != RG_OK ||
                                                (o->eval_path && check_rule_patterns(o->eval_path, &s->eval_data))))
        return RG_ERR;
    rg_judge_options judge_options = {.cache_path = o->judge_cache};
    s->judge_spec.concurrency = rg_dp_judge_concurrency(s->judge_spec.concurrency); /* a job-wide limit */
    return rg_judge_open(&s->judge, &s->judge_spec, &judge_options);
}

/* The prompts chat(q), encoded once; skipped examples warned about. */
static int build_prompts(rg_session *s, grpo_method *m, int context_len) {
    const grpo_options *o = m->o;
    rg_grpo_data_options data_options = {.system = o->system, .enable_thinking = !o->no_thinking,
                                         .max_new = (int)o->max_new, .context_len = context_len,
                                         .strict = o->strict, .reward = o->reward};
    rg_grpo_data *p = &m->prompts;
    if (rg_grpo_data_build(p, &s->lm, s->data.examples, s->data.count, &data_options) != RG_OK) return RG_ERR;
    if (p->skipped_no_reward || p->skipped_long)
        rg_warn("%zu examples skipped: %zu whose %s reward is undefined, %zu whose prompt + --max-new %ld passes the "
                "context of %d tokens (--strict makes these errors)",
                p->skipped_no_reward + p->skipped_long, p->skipped_no_reward, o->reward_name, p->skipped_long,
                o->max_new, context_len);
    if (p->n == 0) return rg_error("%s: no example left to train on", o->f.data_path);
    return RG_OK;
}

/* The judge and data, the model and reference, the prompts, the trainer and the GRPO run; then the
 * setup's log line. */
static int grpo_setup(rg_session *s, grpo_method *m) {
    grpo_options *o = m->o;
    if (open_judge_and_data(s, o) != RG_OK) return RG_ERR;
    int lora_mode = o->f.lora_rank > 0 || o->f.adapter_dir;
    if (rg_train_open_model(s, &o->f, o->kl_coef > 0 ? o->ref_dtype : NULL) != RG_OK) return RG_ERR;
    int context_len = rg_context_len(&s->lm.model.cfg, o->context);
    if (build_prompts(s, m, context_len) != RG_OK) return RG_ERR;
    if (o->reward == RG_GRPO_REWARD_POW3R) {
        rg_pow3r_config pc = {.lambda = o->pow3r_lambda, .clip_lo = o->pow3r_min, .clip_hi = o->pow3r_max,
                              .ema = o->pow3r_ema};
        if (rg_pow3r_init(&m->pow3r, s->data.examples, s->data.count, &pc) != RG_OK)
            return rg_error_prefix("rgsd grpo"), RG_ERR;
        m->pow3r_ready = 1;
    }
    if (rg_session_start(s, m->prompts.max_prompt_len + (int)o->max_new, m->prompts.n) != RG_OK) return RG_ERR;
    /* alpha_j is part of the train state: saved with every checkpoint, restored by --resume */
    if (m->pow3r_ready) rg_trainer_set_method_state(&s->trainer, "pow3r.state", RG_F64, m->pow3r.state, m->pow3r.state_n);
    if (o->f.resume && rg_trainer_resume_method_state(&s->trainer, o->f.out_dir) != RG_OK) return RG_ERR;

    m->stop[0] = s->lm.end_of_turn;
    rg_grpo_config gcfg = {
        .loss = {.clip_eps = (float)o->clip_eps, .kl_coef = (float)o->kl_coef,
                 .clip_eps_high = (float)o->epsilon_high, .loss_type = o->loss_type, .max_new = (int)o->max_new,
                 .batch_seqs = s->cfg.batch_size * (int)o->group},
        .group_size = (int)o->group,
        .scale = o->scale,
        .iterations = (int)o->iterations,
        .mask_truncated = o->mask_truncated,
        .reward = o->reward,
        .pow3r = m->pow3r_ready ? &m->pow3r : NULL,
        .gen = {.max_new = (int)o->max_new,
                .sample = {.temperature = (float)o->temperature, .top_k = (int)o->top_k, .top_p = (float)o->top_p},
                .seed = (uint64_t)o->f.seed,
                .batch = (int)o->gen_batch,
                .context = rg_rollout_context(context_len, m->prompts.max_prompt_len, (int)o->max_new),
                .stop_ids = m->stop,
                .n_stop_ids = s->lm.end_of_turn >= 0},
        .end_token = rg_single_end_token(&s->lm),
    };
    const rg_model *reference = lora_mode || o->kl_coef == 0 ? NULL : &s->frozen;
    if (rg_grpo_run_init(&m->run, &s->trainer, reference, &s->lm, s->data.examples, s->judge, &gcfg) != RG_OK)
        return RG_ERR;
    m->run_ready = 1;
    if (o->eval_every > 0)
        s->eval_options = rg_train_eval_options(o->eval_samples, o->system, o->no_thinking, o->eval_max_new,
                                                o->max_new, o->f.seed, o->gen_batch, context_len);
    rg_session_evaluate_every(s, o->eval_every, o->eval_out);
    rg_info("rgsd grpo: %d prompts (%zu skipped), %s, %ld steps of %d prompts x %ld rollouts (%ld update%s each), "
            "max-new %ld; reward %s, advantages %s, loss %s%s, clip [1 - %.2f, 1 + %.2f], KL coef %g (%s); judge %s",
            m->prompts.n, m->prompts.skipped_no_reward + m->prompts.skipped_long, rg_session_mode(s), s->total_steps,
            s->cfg.batch_size * s->cfg.grad_accum, o->group, o->iterations, o->iterations == 1 ? "" : "s", o->max_new,
            o->reward_name,
            o->scale == RG_GRPO_SCALE_NONE    ? "r - mean"
            : o->scale == RG_GRPO_SCALE_GROUP ? "(r - mean) / (group std + 1e-4)"
                                              : "(r - mean) / (batch std + 1e-4)",
            o->loss_type_name, o->mask_truncated ? " (truncated rollouts masked)" : "", o->clip_eps,
            o->epsilon_high > 0 ? o->epsilon_high : o->clip_eps, o->kl_coef,
            o->kl_coef == 0 ? "no reference"
                            : (lora_mode ? "reference: the base with adapters off"
                                         : (strcmp(o->ref_dtype, "f32") == 0 ? "reference: frozen f32 copy"
                                                                             : "reference: frozen bf16 copy")),
            s->judge_spec.text);
    return RG_OK;
}

static void add_totals(run_totals *tot, const rg_grpo_step_stats *st) {
    tot->gen_s += st->gen_s, tot->judge_s += st->judge_s, tot->reference_s += st->reference_s;
    tot->student_s += st->student_s, tot->backward_s += st->backward_s, tot->optimizer_s += st->optimizer_s;
    tot->response_tokens += st->response_tokens, tot->seq_tokens += st->seq_tokens;
    tot->judge_verdicts += (long)st->judge.verdicts, tot->judge_requests += (long)st->judge.requests;
    tot->judge_cache_hits += (long)st->judge.cache_hits;
    tot->judge_tokens += (long)(st->judge.prompt_tokens + st->judge.completion_tokens);
    if (tot->steps++ == 0) tot->first_reward = st->reward_mean;
    tot->last_reward = st->reward_mean;
}

/* The keys of the non-default variants (only when used, so default runs log what they always did), and
 * the line's closing brace. */
static void append_variant_metrics(const grpo_options *o, const rg_grpo_step_stats *st, char *line, size_t size) {
    size_t len = strlen(line);
    if (o->mask_truncated && len < size)
        len += (size_t)snprintf(line + len, size - len, ", \"masked\": %ld", st->masked);
    if (o->reward == RG_GRPO_REWARD_POW3R && len < size)
        len += (size_t)snprintf(line + len, size - len, ", \"alpha_min\": %.6f, \"alpha_max\": %.6f, \"alpha_updates\": %ld",
                                st->alpha_min, st->alpha_max, st->alpha_updates);
    if (len < size) snprintf(line + len, size - len, "}\n");
}

static int grpo_step(rg_session *s, void *method, char *line, size_t line_size, char *extra, size_t extra_size) {
    grpo_method *m = method;
    rg_grpo_step_stats st;
    if (rg_grpo_step(&m->run, &m->prompts, &st) != RG_OK) return RG_ERR;
    add_totals(&m->tot, &st);
    long judge_tokens = (long)(st.judge.prompt_tokens + st.judge.completion_tokens);
    const rg_trainer *t = &s->trainer;
    snprintf(line, line_size,
             "{\"step\": %ld, \"epoch\": %.4f, \"loss\": %.6f, \"surrogate\": %.6f, \"kl\": %.6f, "
             "\"ratio\": %.6f, \"clip_fraction\": %.6f, \"reward\": %.6f, \"reward_std\": %.6f, "
             "\"zero_std_groups\": %.4f, \"response_len\": %.2f, \"stopped\": %.3f, \"rollouts\": %ld, "
             "\"loss_tokens\": %ld, \"response_tokens\": %ld, \"tokens\": %ld, \"skipped_sequences\": %ld, "
             "\"lr\": %.6g, \"grad_norm\": %.6f, \"grad_clipped\": %s, \"judge_calls\": %lld, "
             "\"judge_verdicts\": %lld, \"judge_cache_hits\": %lld, \"judge_requests\": %lld, "
             "\"judge_retries\": %lld, \"judge_tokens\": %ld, \"judge_s\": %.3f, \"tokens_per_s\": %.1f, "
             "\"step_s\": %.3f, \"generation_s\": %.3f, \"judging_s\": %.3f, \"reference_s\": %.3f, "
             "\"student_s\": %.3f, \"backward_s\": %.3f, \"optimizer_s\": %.3f",
             t->step, (double)t->cursor / m->prompts.n, st.loss, st.surrogate, st.kl, st.ratio, st.clip_fraction,
             st.reward_mean, st.reward_std, st.zero_std_fraction, st.response_len, st.stopped, st.rollouts,
             st.loss_tokens, st.response_tokens, st.seq_tokens, st.skipped, (double)st.opt.lr, st.opt.grad_norm,
             st.opt.clipped ? "true" : "false", (long long)(st.judge.verdicts - st.judge.cache_hits),
             (long long)st.judge.verdicts, (long long)st.judge.cache_hits, (long long)st.judge.requests,
             (long long)st.judge.retries, judge_tokens, st.judge.seconds,
             (st.seq_tokens + st.response_tokens) / fmax(st.step_s, 1e-9), st.step_s, st.gen_s, st.judge_s,
             st.reference_s, st.student_s, st.backward_s, st.optimizer_s);
    append_variant_metrics(m->o, &st, line, line_size);
    double elapsed = rg_session_wall(s);
    snprintf(extra, extra_size, "reward %.3f  kl %.4f  clip %.3f  judge %lld  %.0f tok/s  ETA %.0fs", st.reward_mean,
             st.kl, st.clip_fraction, (long long)st.judge.verdicts,
             (m->tot.seq_tokens + m->tot.response_tokens) / fmax(elapsed, 1e-9),
             rg_train_loop_eta(&s->loop, t->step, elapsed));
    return RG_OK;
}

static void grpo_summary(const rg_session *s, const run_totals *tot) {
    double wall = rg_session_wall(s);
    if (tot->steps > 0)
        rg_info("rgsd grpo: %ld steps in %.1f s (%.2f s/step, %.0f tokens/s); reward %.4f -> %.4f; judge: %ld verdicts "
                "(%ld cached), %ld requests, %ld tokens, %.1f s; time: generation %.1f s, judging %.1f s, reference "
                "%.1f s, policy %.1f s, backward %.1f s, optimizer %.1f s%s",
                tot->steps, wall, wall / (double)tot->steps,
                (tot->seq_tokens + tot->response_tokens) / fmax(wall, 1e-9), tot->first_reward, tot->last_reward,
                tot->judge_verdicts, tot->judge_cache_hits, tot->judge_requests, tot->judge_tokens, tot->judge_s,
                tot->gen_s, tot->judge_s, tot->reference_s, tot->student_s, tot->backward_s, tot->optimizer_s,
                s->eval_s > 0 ? ", evaluation see metrics" : "");
}

int cmd_grpo(int argc, char **argv) {
    grpo_options o;
    int parsed = parse_flags(argc, argv, &o);
    if (parsed) return parsed == 1 ? 0 : rg_cli_fail();
    if (check_flags(&o) != RG_OK) return rg_cli_fail();
    nn_blas_init();

    rg_session s = {0};
    grpo_method m = {.o = &o};
    int rc = 1;
    if (rg_train_session_from_flags(&s, &o.f, "grpo", "prompt", o.out_dtype) == RG_OK &&
        grpo_setup(&s, &m) == RG_OK && rg_session_loop(&s, grpo_step, &m) == RG_OK) {
        grpo_summary(&s, &m.tot);
        rc = rg_session_close(&s);
    }
    if (rc == 1) rg_cli_fail();
    if (m.run_ready) rg_grpo_run_free(&m.run);
    if (m.pow3r_ready) rg_pow3r_free(&m.pow3r);
    rg_grpo_data_free(&m.prompts);
    rg_session_free(&s);
    return rc;
}
