/* cmd_train.c — `rgsd train`: RGSD, verifier-free rubric post-training by
 * self-distillation (DESIGN.md section 5; the step is src/rgsd/), with the
 * run management of `rgsd sft`: seeded order, checkpoints, exact --resume,
 * metrics.jsonl, Ctrl-C = abandon the step at a safe point, save the last complete one, exit 130. */
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
#include "eval/eval.h"
#include "io/file.h"
#include "nn/nn.h"
#include "rgsd/rgsd_run.h"
#include "rgsd/rollout.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

/* Time and token totals for the closing summary. */
typedef struct {
    double gen_s, teacher_s, student_s, backward_s, optimizer_s, eval_s;
    long response_tokens, seq_tokens, steps;
    double first_gap, last_gap, first_loss, last_loss;
} run_totals;

static int parse_clip_mode(const char *s, nn_clip_mode *mode) {
    if (strcmp(s, "none") == 0) *mode = NN_CLIP_NONE;
    else if (strcmp(s, "token") == 0) *mode = NN_CLIP_TOKEN;
    else if (strcmp(s, "entry") == 0) *mode = NN_CLIP_ENTRY;
    else return rg_error("--clip-mode must be none, token or entry (got '%s')", s);
    return RG_OK;
}

int cmd_train(int argc, char **argv) {
    rg_train_flags f = rg_train_flags_defaults(8);
    const char *teacher_template_path = NULL, *teacher_context = "rubric", *clip_mode = "none", *system = NULL;
    const char *teacher_dtype = "bf16", *eval_path = NULL, *judge_text = NULL, *judge_cache = NULL, *eval_out = NULL;
    long max_new = 256, gen_batch = 8, context = 0, top_k = 0, eval_every = 0, eval_samples = 1, eval_max_new = 0;
    double beta = 0.5, tau = 0.05, temperature = 1.0, top_p = 1.0;
    const char *verifier_text = "skip";
    int strict = 0, skip_bad = 0, no_thinking = 0, keep_think = 0;
    rg_arg specs[] = {
        {"model", RG_ARG_STRING, &f.model_dir, "DIR", "Hugging Face model folder (student and teacher)", 1},
        {"data", RG_ARG_STRING, &f.data_path, "FILE", "rubric data, JSONL, any format (docs/rubric-data.md)", 1},
        {"out", RG_ARG_STRING, &f.out_dir, "DIR", "checkpoint folder (model or PEFT adapter + train state + metrics)",
         1},
        {"beta", RG_ARG_FLOAT, &beta, "B", "generalized JSD weight: 0 forward KL, 1 reverse KL", 0},
        {"topk", RG_ARG_INT, &top_k, "K", "divergence over the teacher's top-K + one tail bucket; 0 = full vocabulary",
         0},
        {"clip-mode", RG_ARG_STRING, &clip_mode, "MODE", "none | token | entry", 0},
        {"clip", RG_ARG_FLOAT, &tau, "TAU", "clip threshold for --clip-mode token|entry", 0},
        {"teacher-context", RG_ARG_STRING, &teacher_context, "WHAT", "rubric | reference", 0},
        {"teacher-template", RG_ARG_STRING, &teacher_template_path, "FILE",
         "teacher prompt template with {{question}} and {{criteria}} / {{reference}}", 0},
        {"teacher-dtype", RG_ARG_STRING, &teacher_dtype, "bf16|f32",
         "full fine-tuning: the frozen teacher copy's precision", 0},
        {"max-new", RG_ARG_INT, &max_new, "N", "rollout tokens at most", 0},
        {"temperature", RG_ARG_FLOAT, &temperature, "T", "rollout sampling temperature", 0},
        {"top-p", RG_ARG_FLOAT, &top_p, "P", "rollout nucleus sampling", 0},
        {"gen-batch", RG_ARG_INT, &gen_batch, "N", "rollouts decoded together", 0},
        {"context", RG_ARG_INT, &context, "N", "tokens a sequence may span",
         0},
        {"system", RG_ARG_STRING, &system, "TEXT", "system message for conversations without one", 0},
        {"no-thinking", RG_ARG_FLAG, &no_thinking, NULL, "Qwen3: render prompts with enable_thinking = false", 0},
        {"keep-think", RG_ARG_FLAG, &keep_think, NULL, "do not mask the <think>...</think> span out of the loss", 0},
        {"strict", RG_ARG_FLAG, &strict, NULL, "an example the teacher cannot take is an error (default: skip, count)",
         0},
        {"skip-bad", RG_ARG_FLAG, &skip_bad, NULL, "skip (and count) invalid data lines instead of failing", 0},
        RG_VERIFIER_CRITERIA_ROW(verifier_text),
        {"lora-rank", RG_ARG_INT, &f.lora_rank, "R", "LoRA rank; 0 = full fine-tuning", 0},
        {"lora-alpha", RG_ARG_FLOAT, &f.lora_alpha, "A", "LoRA alpha; scaling = alpha / rank", 0},
        RG_TRAIN_FLAG_ROWS_LORA(f),
        {"lr", RG_ARG_FLOAT, &f.lr, "LR", "peak learning rate", 0},
        RG_TRAIN_FLAG_ROWS_SCHEDULE(f),
        {"batch", RG_ARG_INT, &f.batch_size, "N", "prompts per step, one rollout each", 0},
        {"grad-accum", RG_ARG_INT, &f.grad_accum, "N", "batches per optimizer step", 0},
        RG_TRAIN_FLAG_ROWS_OPTIMIZER(f),
        {"eval-data", RG_ARG_STRING, &eval_path, "FILE", "held-out rubric data for --eval-every", 0},
        {"eval-every", RG_ARG_INT, &eval_every, "N", "evaluate the student every N steps and at the end", 0},
        {"judge", RG_ARG_STRING, &judge_text, "SPEC", "judge for --eval-every: rule | local:DIR | http:URL#model=M",
         0},
        {"judge-cache", RG_ARG_STRING, &judge_cache, "FILE", "SQLite verdict cache for the evaluation judge", 0},
        {"eval-out", RG_ARG_STRING, &eval_out, "DIR", "write each evaluation's report into DIR/step-N", 0},
        {"eval-samples", RG_ARG_INT, &eval_samples, "K", "responses per held-out example", 0},
        {"eval-max-new", RG_ARG_INT, &eval_max_new, "N", "evaluation tokens at most", 0},
        RG_TRAIN_FLAG_ROWS_RUN(f),
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
    if (parsed == 1) return 0;
    if (parsed < 0) return rg_cli_fail();
    rg_verifier_criteria verifier;
    if (rg_cli_verifier_criteria("train", verifier_text, &verifier)) return rg_cli_fail();
    nn_blas_init();

    rg_dtype out_dtype;
    if (rg_save_dtype_parse(f.save_dtype, &out_dtype) != RG_OK)
        return rg_error("rgsd train: --save-dtype must be f32 or bf16"), rg_cli_fail();
    rg_teacher_context tcontext;
    if (rg_teacher_context_parse(teacher_context, &tcontext) != RG_OK)
        return rg_error("rgsd train: --teacher-context must be rubric or reference"), rg_cli_fail();
    if (strcmp(teacher_dtype, "bf16") != 0 && strcmp(teacher_dtype, "f32") != 0)
        return rg_error("rgsd train: --teacher-dtype must be bf16 or f32"), rg_cli_fail();
    nn_jsd_config jsd = {.beta = (float)beta, .tau = (float)tau, .top_k = (int)top_k};
    if (parse_clip_mode(clip_mode, &jsd.clip) != RG_OK) return rg_cli_fail();
    if (!(beta >= 0 && beta <= 1) || top_k < 0 || !(tau > 0) || max_new < 1 || gen_batch < 1 ||
        gen_batch > RG_GEN_MAX_BATCH || context < 0 || !(temperature >= 0) || !(top_p > 0 && top_p <= 1) ||
        !rg_train_flags_in_range(&f) || eval_every < 0 || eval_samples < 1 || eval_max_new < 0)
        return rg_usage_error("rgsd train: a numeric flag is out of range (see rgsd train --help)"), rg_cli_fail();
    if ((eval_every > 0) != (eval_path != NULL) || (eval_every > 0 && !judge_text))
        return rg_error("rgsd train: --eval-every N needs --eval-data FILE and --judge SPEC (and they need it)"),
               rg_cli_fail();

    rg_trainer_config cfg = rg_train_flags_config(&f);
    rg_lm lm = {0};
    int lm_open = 0, trainer_ready = 0, run_ready = 0;
    rg_lora start_adapter = {0};
    rg_model teacher = {0};
    rg_dataset data = {0}, eval_data = {0};
    rg_rgsd_data prompts = {0};
    rg_teacher_template *tmpl = NULL;
    rg_trainer trainer = {0};
    rg_rgsd_run run = {0};
    rg_judge *judge = NULL;
    rg_judge_spec judge_spec = {0};
    int judge_spec_ready = 0;
    rg_text_buf metrics = {0};
    int rc = 1;
    if (rg_schedule_parse(f.schedule, &cfg.schedule.kind) != RG_OK) goto done;
    if (rg_lora_parse_targets(f.targets, &cfg.lora_targets) != RG_OK) goto done;
    if (eval_every > 0) {
        if (rg_judge_spec_parse(judge_text, &judge_spec) != RG_OK) goto done;
        judge_spec_ready = 1;
    }
    int lora_mode = f.lora_rank > 0 || f.adapter_dir;
    if (rg_train_load_rubric(f.data_path, eval_path, skip_bad, 1, verifier, &data, &eval_data) != RG_OK)
        goto done;
    if (teacher_template_path && rg_teacher_template_load(teacher_template_path, &tmpl) != RG_OK) goto done;
    if (rg_lm_open(&lm, f.model_dir, NULL, f.chat_family, lora_mode && !f.f32_base) != RG_OK) goto done;
    lm_open = 1;
    if (!lora_mode && rg_train_load_frozen(&teacher, f.model_dir, teacher_dtype) != RG_OK) goto done;
    if (rg_train_config_lora(&cfg, &lm.model.cfg, &f, &start_adapter) != RG_OK) goto done;

    int context_len = rg_context_len(&lm.model.cfg, context);
    rg_rgsd_data_options data_options = {.teacher_template = tmpl, .context = tcontext, .system = system,
                                         .enable_thinking = !no_thinking, .max_new = (int)max_new,
                                         .context_len = context_len, .strict = strict};
    if (rg_rgsd_data_build(&prompts, &lm, data.examples, data.count, &data_options) != RG_OK) goto done;
    if (prompts.skipped_empty || prompts.skipped_long)
        rg_warn("%zu examples skipped: %zu with nothing for the teacher to condition on, %zu whose teacher prompt + "
                "--max-new %ld passes the context of %d tokens (--strict makes these errors)",
                prompts.skipped_empty + prompts.skipped_long, prompts.skipped_empty, prompts.skipped_long, max_new,
                context_len);
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

    int32_t think_open, think_close;
    rg_think_tokens(&lm, keep_think, &think_open, &think_close);
    int32_t stop[1] = {lm.end_of_turn};
    rg_rgsd_config rcfg = {
        .jsd = jsd,
        .gen = {.max_new = (int)max_new,
                .sample = {.temperature = (float)temperature, .top_p = (float)top_p},
                .seed = (uint64_t)f.seed,
                .batch = (int)gen_batch,
                .context = rg_rollout_context(context_len, prompts.max_student_len, (int)max_new),
                .stop_ids = stop,
                .n_stop_ids = lm.end_of_turn >= 0},
        .think_open = think_open,
        .think_close = think_close,
        .end_token = rg_single_end_token(&lm),
    };
    if (rg_rgsd_run_init(&run, &trainer, lora_mode ? NULL : &teacher, &rcfg) != RG_OK) goto done;
    run_ready = 1;
    if (f.resume && rg_train_resume_from(&trainer, f.out_dir, &metrics, total_steps, "prompt") != RG_OK) goto done;
    rg_eval_options eval_options = rg_eval_defaults();
    if (eval_every > 0) {
        rg_judge_options judge_options = {.cache_path = judge_cache};
        if (rg_judge_open(&judge, &judge_spec, &judge_options) != RG_OK) goto done;
        eval_options = rg_train_eval_options(eval_samples, system, no_thinking, eval_max_new, max_new, f.seed,
                                             gen_batch, context_len);
    }
    rg_info("rgsd train: %d prompts (%zu skipped), %s%s, %ld steps of %d prompts x 1 rollout, max-new %ld; "
            "JSD beta %.2f, %s, clip %s%s; teacher: %s; judge calls during training: 0",
            prompts.n, prompts.skipped_empty + prompts.skipped_long, f.lora_rank > 0 ? "LoRA" : "full fine-tuning",
            f.lora_rank > 0 ? (lm.model.dtype == RG_WEIGHTS_BF16 ? " on a bf16 base" : " on an f32 base") : "",
            total_steps, per_step, max_new, beta, top_k > 0 ? "top-k + tail" : "full vocabulary", clip_mode,
            jsd.clip != NN_CLIP_NONE ? " (tau set)" : "",
            lora_mode ? "the base with adapters off" : (strcmp(teacher_dtype, "f32") == 0 ? "frozen f32 copy" : "frozen bf16 copy"));

    rg_train_evaluation evaluation = {.lm = &lm, .lora = f.lora_rank > 0 ? &trainer.lora : NULL,
                                      .eval_data = &eval_data, .judge = judge, .options = &eval_options, .every = eval_every,
                                      .eval_out = eval_out};
    rg_train_loop loop;
    rg_train_loop_begin(&loop, "rgsd", trainer.step, f.stop_after, total_steps, f.quiet);
    run_totals tot = {0};
    int failed = 0;
    while (trainer.step < loop.stop_at && !rg_stop_requested) {
        rg_rgsd_step_stats st;
        if (rg_rgsd_step(&run, &prompts, &st) != RG_OK) {
            failed = !rg_train_abandoned(); /* stopped inside the step: the last complete one is saved */
            break;
        }
        tot.gen_s += st.gen_s, tot.teacher_s += st.teacher_s, tot.student_s += st.student_s;
        tot.backward_s += st.backward_s, tot.optimizer_s += st.optimizer_s;
        tot.response_tokens += st.response_tokens, tot.seq_tokens += st.seq_tokens;
        if (tot.steps++ == 0) tot.first_gap = st.gap, tot.first_loss = st.loss;
        tot.last_gap = st.gap, tot.last_loss = st.loss;
        char line[1024];
        snprintf(line, sizeof line,
                 "{\"step\": %ld, \"epoch\": %.4f, \"loss\": %.6f, \"clip_fraction\": %.6f, \"gap\": %.6f, "
                 "\"entropy\": %.6f, \"response_len\": %.2f, \"stopped\": %.3f, \"loss_tokens\": %ld, "
                 "\"response_tokens\": %ld, \"tokens\": %ld, \"lr\": %.6g, \"grad_norm\": %.6f, \"grad_clipped\": %s, "
                 "\"tokens_per_s\": %.1f, \"step_s\": %.3f, \"generation_s\": %.3f, \"teacher_s\": %.3f, "
                 "\"student_s\": %.3f, \"backward_s\": %.3f, \"optimizer_s\": %.3f, \"judge_calls\": 0}\n",
                 trainer.step, (double)trainer.cursor / prompts.n, st.loss, st.clip_fraction, st.gap, st.entropy,
                 st.response_len, st.stopped, st.loss_tokens, st.response_tokens, st.seq_tokens, (double)st.opt.lr,
                 st.opt.grad_norm, st.opt.clipped ? "true" : "false",
                 (st.seq_tokens + st.response_tokens) / fmax(st.step_s, 1e-9), st.step_s, st.gen_s, st.teacher_s,
                 st.student_s, st.backward_s, st.optimizer_s);
        if (rg_text_append(&metrics, line) != RG_OK) {
            failed = 1;
            break;
        }
        double elapsed = rg_now() - loop.start;
        double eta = rg_train_loop_eta(&loop, trainer.step, elapsed);
        char extra[160];
        snprintf(extra, sizeof extra, "loss %.4f  gap %+.4f  %.0f tok/s  ETA %.0fs", st.loss, st.gap,
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
        rg_info("rgsd train: %ld steps in %.1f s (%.2f s/step, %.0f tokens/s); gap %+.4f -> %+.4f, loss %.4f -> %.4f; "
                "time: generation %.1f s, teacher %.1f s, student %.1f s, backward %.1f s, optimizer %.1f s%s; "
                "judge calls during training: 0",
                tot.steps, wall, wall / (double)tot.steps, (tot.seq_tokens + tot.response_tokens) / fmax(wall, 1e-9),
                tot.first_gap, tot.last_gap, tot.first_loss, tot.last_loss, tot.gen_s, tot.teacher_s, tot.student_s,
                tot.backward_s, tot.optimizer_s, tot.eval_s > 0 ? ", evaluation (judged) see metrics" : "");
    rc = rg_train_closing(&trainer, f.out_dir, f.lora_rank, total_steps);
done:
    if (rc == 1) rg_cli_fail();
    if (judge) rg_judge_close(judge);
    if (judge_spec_ready) rg_judge_spec_free(&judge_spec);
    if (run_ready) rg_rgsd_run_free(&run);
    if (trainer_ready) rg_trainer_free(&trainer);
    if (start_adapter.params) rg_lora_free(&start_adapter);
    rg_rgsd_data_free(&prompts);
    if (tmpl) rg_teacher_template_free(tmpl);
    if (teacher.params) rg_model_free(&teacher);
    if (lm_open) rg_lm_close(&lm);
    rg_dataset_free(&data);
    rg_dataset_free(&eval_data);
    rg_text_free(&metrics);
    return rc;
}
