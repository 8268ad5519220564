/* cmd_grpo.c — `rgsd grpo`: the judge-based GRPO baseline (DESIGN.md
 * section 6; the step is src/grpo/), with the run management of `rgsd sft` and
 * `rgsd train`: seeded order, checkpoints, exact --resume, metrics.jsonl with
 * the judge's cost per step, Ctrl-C = abandon the step at a safe point, save the last complete one, exit 130. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/timer.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/data_flags.h"
#include "cli/lm_cli.h"
#include "cli/train_eval.h"
#include "cli/train_run.h"
#include "cli/train_flags.h"
#include "cli/train_setup.h"
#include "grpo/grpo_run.h"
#include "io/file.h"
#include "nn/nn.h"
#include "rgsd/rgsd.h"
#include "rgsd/rollout.h"
#include "rubric/rule_judge.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

typedef struct {
    double gen_s, judge_s, reference_s, student_s, backward_s, optimizer_s, eval_s;
    long response_tokens, seq_tokens, steps, judge_verdicts, judge_requests, judge_cache_hits, judge_tokens;
    double first_reward, last_reward;
} run_totals;

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

int cmd_grpo(int argc, char **argv) {
    rg_train_flags f = rg_train_flags_defaults(4);
    const char *judge_text = NULL, *judge_cache = NULL, *reward_name = "balanced", *system = NULL, *ref_dtype = "bf16";
    const char *eval_path = NULL, *eval_out = NULL;
    long group = 8, max_new = 256, gen_batch = 8, context = 0, top_k = 0, eval_every = 0, eval_samples = 1,
         eval_max_new = 0;
    double clip_eps = 0.2, kl_coef = 0.01, temperature = 1.0, top_p = 1.0;
    const char *verifier_text = "skip";
    int strict = 0, skip_bad = 0, no_thinking = 0, no_std = 0;
    rg_arg specs[] = {
        {"model", RG_ARG_STRING, &f.model_dir, "DIR", "Hugging Face model folder (policy and reference)", 1},
        {"data", RG_ARG_STRING, &f.data_path, "FILE", "rubric data, JSONL, any format (docs/rubric-data.md)", 1},
        {"judge", RG_ARG_STRING, &judge_text, "SPEC", "rule | local:DIR | http:URL#model=M (docs/judges.md)", 1},
        {"out", RG_ARG_STRING, &f.out_dir, "DIR", "checkpoint folder (model or PEFT adapter + train state + metrics)",
         1},
        {"group", RG_ARG_INT, &group, "G", "rollouts per prompt (>= 2)", 0},
        {"reward", RG_ARG_STRING, &reward_name, "KIND", "balanced | healthbench", 0},
        {"no-std", RG_ARG_FLAG, &no_std, NULL, "advantages r - mean (no division by the group std)", 0},
        {"clip-eps", RG_ARG_FLOAT, &clip_eps, "E", "surrogate ratio clip: [1 - E, 1 + E]", 0},
        {"kl-coef", RG_ARG_FLOAT, &kl_coef, "B", "k3 KL to the frozen base; 0 = none (no reference pass)", 0},
        {"ref-dtype", RG_ARG_STRING, &ref_dtype, "bf16|f32", "full fine-tuning: the frozen reference copy's precision",
         0},
        {"judge-cache", RG_ARG_STRING, &judge_cache, "FILE", "SQLite verdict cache (http/local judges)", 0},
        {"max-new", RG_ARG_INT, &max_new, "N", "rollout tokens at most", 0},
        {"temperature", RG_ARG_FLOAT, &temperature, "T", "rollout sampling temperature", 0},
        {"top-p", RG_ARG_FLOAT, &top_p, "P", "rollout nucleus sampling", 0},
        {"top-k", RG_ARG_INT, &top_k, "K", "rollout top-k sampling; 0 = off", 0},
        {"gen-batch", RG_ARG_INT, &gen_batch, "N", "rollouts decoded together", 0},
        {"context", RG_ARG_INT, &context, "N", "tokens a sequence may span", 0},
        {"system", RG_ARG_STRING, &system, "TEXT", "system message for conversations without one", 0},
        {"no-thinking", RG_ARG_FLAG, &no_thinking, NULL, "Qwen3: render prompts with enable_thinking = false", 0},
        {"strict", RG_ARG_FLAG, &strict, NULL, "an example that cannot be trained on is an error (default: skip)", 0},
        {"skip-bad", RG_ARG_FLAG, &skip_bad, NULL, "skip (and count) invalid data lines instead of failing", 0},
        RG_VERIFIER_CRITERIA_ROW(verifier_text),
        {"lora-rank", RG_ARG_INT, &f.lora_rank, "R", "LoRA rank; 0 = full fine-tuning", 0},
        {"lora-alpha", RG_ARG_FLOAT, &f.lora_alpha, "A", "LoRA alpha; scaling = alpha / rank; 0 = 2 x rank", 0},
        RG_TRAIN_FLAG_ROWS_LORA(f),
        {"lr", RG_ARG_FLOAT, &f.lr, "LR", "peak learning rate; 0 = 1e-4 under LoRA, 1e-5 full", 0},
        RG_TRAIN_FLAG_ROWS_SCHEDULE(f),
        {"batch", RG_ARG_INT, &f.batch_size, "N", "prompts per step, G rollouts each", 0},
        {"grad-accum", RG_ARG_INT, &f.grad_accum, "N", "batches per optimizer step", 0},
        RG_TRAIN_FLAG_ROWS_OPTIMIZER(f),
        {"eval-data", RG_ARG_STRING, &eval_path, "FILE", "held-out rubric data for --eval-every (same judge)", 0},
        {"eval-every", RG_ARG_INT, &eval_every, "N", "evaluate the policy every N steps and at the end", 0},
        {"eval-out", RG_ARG_STRING, &eval_out, "DIR", "write each evaluation's report into DIR/step-N", 0},
        {"eval-samples", RG_ARG_INT, &eval_samples, "K", "responses per held-out example", 0},
        {"eval-max-new", RG_ARG_INT, &eval_max_new, "N", "evaluation tokens at most", 0},
        RG_TRAIN_FLAG_ROWS_RUN(f),
    };
    rg_command_spec spec = {
        .name = "grpo",
        .synopsis = "--model DIR --data FILE.jsonl --judge SPEC --out DIR [--group G] [--lora-rank R] [options]",
        .summary = "GRPO with a judge (the baseline RGSD is compared with): for each prompt the policy samples G "
                   "rollouts, the judge grades each against the prompt's rubric, the reward (balanced or "
                   "HealthBench score) is normalised within the group, and the policy follows the clipped "
                   "surrogate with a k3 KL to the frozen base. Judge calls, tokens and seconds are logged per step. "
                   "Same outputs and --resume as rgsd train. docs/grpo.md.",
        .examples = "rgsd grpo --model qwen --data train.jsonl --judge http:http://localhost:8000/v1#model=judge "
                    "--judge-cache verdicts.sqlite --out run1 --lora-rank 16 --group 8 --batch 4",
        .args = specs,
        .nargs = (int)(sizeof specs / sizeof *specs),
    };
    int parsed = rg_args_parse(&spec, argc, argv, NULL, NULL);
    if (parsed == 1) return 0;
    if (parsed < 0) return rg_cli_fail();
    rg_verifier_criteria verifier;
    if (rg_cli_verifier_criteria("grpo", verifier_text, &verifier)) return rg_cli_fail();
    nn_blas_init();

    rg_dtype out_dtype;
    if (rg_save_dtype_parse(f.save_dtype, &out_dtype) != RG_OK)
        return rg_error("rgsd grpo: --save-dtype must be f32 or bf16"), rg_cli_fail();
    rg_grpo_reward reward;
    if (strcmp(reward_name, "balanced") == 0) reward = RG_GRPO_REWARD_BALANCED;
    else if (strcmp(reward_name, "healthbench") == 0) reward = RG_GRPO_REWARD_HEALTHBENCH;
    else return rg_error("rgsd grpo: --reward must be balanced or healthbench (got '%s')", reward_name), rg_cli_fail();
    if (strcmp(ref_dtype, "bf16") != 0 && strcmp(ref_dtype, "f32") != 0)
        return rg_error("rgsd grpo: --ref-dtype must be bf16 or f32"), rg_cli_fail();
    if (group < 2 || group > 1024 || !(clip_eps > 0 && clip_eps < 1) || !(kl_coef >= 0) || max_new < 1 ||
        gen_batch < 1 || gen_batch > RG_GEN_MAX_BATCH || context < 0 || !(temperature >= 0) ||
        !(top_p > 0 && top_p <= 1) || top_k < 0 || !rg_train_flags_in_range(&f) || eval_every < 0 ||
        eval_samples < 1 || eval_max_new < 0)
        return rg_usage_error("rgsd grpo: a numeric flag is out of range (see rgsd grpo --help)"), rg_cli_fail();
    if ((eval_every > 0) != (eval_path != NULL))
        return rg_error("rgsd grpo: --eval-every N and --eval-data FILE go together"), rg_cli_fail();

    rg_trainer_config cfg = rg_train_flags_config(&f);
    rg_lm lm = {0};
    int lm_open = 0, trainer_ready = 0, run_ready = 0, judge_spec_ready = 0;
    rg_lora start_adapter = {0};
    rg_model reference = {0};
    rg_dataset data = {0}, eval_data = {0};
    rg_grpo_data prompts = {0};
    rg_trainer trainer = {0};
    rg_grpo_run run = {0};
    rg_judge *judge = NULL;
    rg_judge_spec judge_spec = {0};
    rg_text_buf metrics = {0};
    int rc = 1;
    if (rg_schedule_parse(f.schedule, &cfg.schedule.kind) != RG_OK) goto done;
    if (rg_lora_parse_targets(f.targets, &cfg.lora_targets) != RG_OK) goto done;
    /* Everything that can be wrong with the judge or the data is found before any model is loaded. */
    if (rg_judge_spec_parse(judge_text, &judge_spec) != RG_OK) goto done;
    judge_spec_ready = 1;
    int lora_mode = f.lora_rank > 0 || f.adapter_dir;
    if (rg_train_load_rubric(f.data_path, eval_path, skip_bad, 0, verifier, &data, &eval_data) != RG_OK)
        goto done;
    if (judge_spec.kind == RG_JUDGE_RULE &&
        (check_rule_patterns(f.data_path, &data) != RG_OK || (eval_path && check_rule_patterns(eval_path, &eval_data))))
        goto done;
    rg_judge_options judge_options = {.cache_path = judge_cache};
    if (rg_judge_open(&judge, &judge_spec, &judge_options) != RG_OK) goto done;
    if (rg_lm_open(&lm, f.model_dir, NULL, f.chat_family, lora_mode && !f.f32_base) != RG_OK) goto done;
    lm_open = 1;
    if (!lora_mode && kl_coef > 0 && rg_train_load_frozen(&reference, f.model_dir, ref_dtype) != RG_OK) goto done;
    if (rg_train_config_lora(&cfg, &lm.model.cfg, &f, &start_adapter) != RG_OK) goto done;

    int context_len = rg_context_len(&lm.model.cfg, context);
    rg_grpo_data_options data_options = {.system = system, .enable_thinking = !no_thinking, .max_new = (int)max_new,
                                         .context_len = context_len, .strict = strict, .reward = reward};
    if (rg_grpo_data_build(&prompts, &lm, data.examples, data.count, &data_options) != RG_OK) goto done;
    if (prompts.skipped_no_reward || prompts.skipped_long)
        rg_warn("%zu examples skipped: %zu whose %s reward is undefined, %zu whose prompt + --max-new %ld passes the "
                "context of %d tokens (--strict makes these errors)",
                prompts.skipped_no_reward + prompts.skipped_long, prompts.skipped_no_reward, reward_name,
                prompts.skipped_long, max_new, context_len);
    if (prompts.n == 0) {
        rg_error("%s: no example left to train on", f.data_path);
        goto done;
    }
    int per_step = (int)(f.batch_size * f.grad_accum);
    long total_steps = rg_train_total_steps(f.steps, prompts.n, f.epochs, per_step);
    cfg.schedule.total_steps = total_steps;
    if (rg_trainer_init(&trainer, &lm.model, &cfg, prompts.max_prompt_len + (int)max_new, prompts.n) != RG_OK)
        goto done;
    trainer_ready = 1;
    if (f.adapter_dir) memcpy(trainer.lora.params, start_adapter.params, sizeof(float) * trainer.lora.n_params);

    int32_t stop[1] = {lm.end_of_turn};
    rg_grpo_config gcfg = {
        .loss = {.clip_eps = (float)clip_eps, .kl_coef = (float)kl_coef},
        .group_size = (int)group,
        .scale_by_std = !no_std,
        .reward = reward,
        .gen = {.max_new = (int)max_new,
                .sample = {.temperature = (float)temperature, .top_k = (int)top_k, .top_p = (float)top_p},
                .seed = (uint64_t)f.seed,
                .batch = (int)gen_batch,
                .context = rg_rollout_context(context_len, prompts.max_prompt_len, (int)max_new),
                .stop_ids = stop,
                .n_stop_ids = lm.end_of_turn >= 0},
        .end_token = rg_single_end_token(&lm),
    };
    if (rg_grpo_run_init(&run, &trainer, lora_mode || kl_coef == 0 ? NULL : &reference, &lm, data.examples, judge,
                         &gcfg) != RG_OK)
        goto done;
    run_ready = 1;
    if (f.resume && rg_train_resume_from(&trainer, f.out_dir, &metrics, total_steps, "prompt") != RG_OK) goto done;
    rg_eval_options eval_options = rg_eval_defaults();
    if (eval_every > 0)
        eval_options = rg_train_eval_options(eval_samples, system, no_thinking, eval_max_new, max_new, f.seed,
                                             gen_batch, context_len);
    rg_info("rgsd grpo: %d prompts (%zu skipped), %s%s, %ld steps of %d prompts x %ld rollouts, max-new %ld; "
            "reward %s, advantages %s, clip eps %.2f, KL coef %g (%s); judge %s",
            prompts.n, prompts.skipped_no_reward + prompts.skipped_long, f.lora_rank > 0 ? "LoRA" : "full fine-tuning",
            f.lora_rank > 0 ? (lm.model.dtype == RG_WEIGHTS_BF16 ? " on a bf16 base" : " on an f32 base") : "",
            total_steps, per_step, group, max_new, reward_name, no_std ? "r - mean" : "(r - mean) / (std + 1e-4)",
            clip_eps, kl_coef,
            kl_coef == 0 ? "no reference" : (lora_mode ? "reference: the base with adapters off"
                                                       : (strcmp(ref_dtype, "f32") == 0 ? "reference: frozen f32 copy"
                                                                                        : "reference: frozen bf16 copy")),
            judge_spec.text);

    rg_train_evaluation evaluation = {.lm = &lm, .lora = f.lora_rank > 0 ? &trainer.lora : NULL,
                                      .eval_data = &eval_data, .judge = judge, .options = &eval_options, .every = eval_every,
                                      .eval_out = eval_out};
    rg_train_loop loop;
    rg_train_loop_begin(&loop, "grpo", trainer.step, f.stop_after, total_steps, f.quiet);
    run_totals tot = {0};
    int failed = 0;
    while (trainer.step < loop.stop_at && !rg_stop_requested) {
        rg_grpo_step_stats st;
        if (rg_grpo_step(&run, &prompts, &st) != RG_OK) {
            failed = !rg_train_abandoned(); /* stopped inside the step: the last complete one is saved */
            break;
        }
        long judge_tokens = (long)(st.judge.prompt_tokens + st.judge.completion_tokens);
        tot.gen_s += st.gen_s, tot.judge_s += st.judge_s, tot.reference_s += st.reference_s;
        tot.student_s += st.student_s, tot.backward_s += st.backward_s, tot.optimizer_s += st.optimizer_s;
        tot.response_tokens += st.response_tokens, tot.seq_tokens += st.seq_tokens;
        tot.judge_verdicts += (long)st.judge.verdicts, tot.judge_requests += (long)st.judge.requests;
        tot.judge_cache_hits += (long)st.judge.cache_hits, tot.judge_tokens += judge_tokens;
        if (tot.steps++ == 0) tot.first_reward = st.reward_mean;
        tot.last_reward = st.reward_mean;
        char line[1536];
        snprintf(line, sizeof line,
                 "{\"step\": %ld, \"epoch\": %.4f, \"loss\": %.6f, \"surrogate\": %.6f, \"kl\": %.6f, "
                 "\"ratio\": %.6f, \"clip_fraction\": %.6f, \"reward\": %.6f, \"reward_std\": %.6f, "
                 "\"zero_std_groups\": %.4f, \"response_len\": %.2f, \"stopped\": %.3f, \"rollouts\": %ld, "
                 "\"loss_tokens\": %ld, \"response_tokens\": %ld, \"tokens\": %ld, \"skipped_sequences\": %ld, "
                 "\"lr\": %.6g, \"grad_norm\": %.6f, \"grad_clipped\": %s, \"judge_calls\": %lld, "
                 "\"judge_verdicts\": %lld, \"judge_cache_hits\": %lld, \"judge_requests\": %lld, "
                 "\"judge_retries\": %lld, \"judge_tokens\": %ld, \"judge_s\": %.3f, \"tokens_per_s\": %.1f, "
                 "\"step_s\": %.3f, \"generation_s\": %.3f, \"judging_s\": %.3f, \"reference_s\": %.3f, "
                 "\"student_s\": %.3f, \"backward_s\": %.3f, \"optimizer_s\": %.3f}\n",
                 trainer.step, (double)trainer.cursor / prompts.n, st.loss, st.surrogate, st.kl, st.ratio,
                 st.clip_fraction, st.reward_mean, st.reward_std, st.zero_std_fraction, st.response_len, st.stopped,
                 st.rollouts, st.loss_tokens, st.response_tokens, st.seq_tokens, st.skipped, (double)st.opt.lr,
                 st.opt.grad_norm, st.opt.clipped ? "true" : "false",
                 (long long)(st.judge.verdicts - st.judge.cache_hits), (long long)st.judge.verdicts,
                 (long long)st.judge.cache_hits, (long long)st.judge.requests, (long long)st.judge.retries,
                 judge_tokens, st.judge.seconds, (st.seq_tokens + st.response_tokens) / fmax(st.step_s, 1e-9),
                 st.step_s, st.gen_s, st.judge_s, st.reference_s, st.student_s, st.backward_s, st.optimizer_s);
        if (rg_text_append(&metrics, line) != RG_OK) {
            failed = 1;
            break;
        }
        double elapsed = rg_now() - loop.start;
        double eta = rg_train_loop_eta(&loop, trainer.step, elapsed);
        char extra[192];
        snprintf(extra, sizeof extra, "reward %.3f  kl %.4f  clip %.3f  judge %lld  %.0f tok/s  ETA %.0fs",
                 st.reward_mean, st.kl, st.clip_fraction, (long long)st.judge.verdicts,
                 (tot.seq_tokens + tot.response_tokens) / fmax(elapsed, 1e-9), eta);
        rg_progress_update(&loop.progress, trainer.step, extra);
        if (rg_train_eval_if_due(&evaluation, trainer.step, total_steps, &metrics, &tot.eval_s) != RG_OK) {
            failed = !rg_train_abandoned(); /* stopped inside the evaluation: this step is complete, saved */
            break;
        }
        if (rg_train_save_every(&trainer, f.model_dir, f.out_dir, out_dtype, f.save_every, total_steps, &metrics) !=
            RG_OK) {
            failed = 1;
            break;
        }
    }
    rg_train_loop_end(&loop);
    if (failed) goto done;
    if (rg_train_save_final(&trainer, f.model_dir, f.out_dir, out_dtype, &metrics) != RG_OK) goto done;
    double wall = rg_now() - loop.start;
    if (tot.steps > 0)
        rg_info("rgsd grpo: %ld steps in %.1f s (%.2f s/step, %.0f tokens/s); reward %.4f -> %.4f; judge: %ld verdicts "
                "(%ld cached), %ld requests, %ld tokens, %.1f s; time: generation %.1f s, judging %.1f s, reference "
                "%.1f s, policy %.1f s, backward %.1f s, optimizer %.1f s%s",
                tot.steps, wall, wall / (double)tot.steps, (tot.seq_tokens + tot.response_tokens) / fmax(wall, 1e-9),
                tot.first_reward, tot.last_reward, tot.judge_verdicts, tot.judge_cache_hits, tot.judge_requests,
                tot.judge_tokens, tot.judge_s, tot.gen_s, tot.judge_s, tot.reference_s, tot.student_s, tot.backward_s,
                tot.optimizer_s, tot.eval_s > 0 ? ", evaluation see metrics" : "");
    rc = rg_train_closing(&trainer, f.out_dir, f.lora_rank, total_steps);
done:
    if (rc == 1) rg_cli_fail();
    if (run_ready) rg_grpo_run_free(&run);
    if (judge) rg_judge_close(judge);
    if (judge_spec_ready) rg_judge_spec_free(&judge_spec);
    if (trainer_ready) rg_trainer_free(&trainer);
    if (start_adapter.params) rg_lora_free(&start_adapter);
    rg_grpo_data_free(&prompts);
    if (reference.params) rg_model_free(&reference);
    if (lm_open) rg_lm_close(&lm);
    rg_dataset_free(&data);
    rg_dataset_free(&eval_data);
    rg_text_free(&metrics);
    return rc;
}
