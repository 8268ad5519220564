/* cmd_sft.c — `rgsd sft`: supervised fine-tuning (full or LoRA) on chat data,
 * with metrics, checkpoints and exact resume. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/timer.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/train_run.h"
#include "cli/train_flags.h"
#include "cli/train_setup.h"
#include "io/file.h"
#include "model/model.h"
#include "nn/nn.h"
#include "tok/chat.h"
#include "tok/tokenizer.h"
#include "train/checkpoint.h"
#include "train/sft_data.h"
#include "train/trainer.h"

int cmd_sft(int argc, char **argv) {
    rg_train_flags f = rg_train_flags_defaults(4);
    long max_len = 2048;
    rg_arg specs[] = {
        {"model", RG_ARG_STRING, &f.model_dir, "DIR", "Hugging Face model folder to fine-tune", 1},
        {"data", RG_ARG_STRING, &f.data_path, "FILE", "JSONL: {\"messages\":[...]} or {\"input_ids\",\"loss_mask\"}",
         1},
        {"out", RG_ARG_STRING, &f.out_dir, "DIR", "checkpoint folder (model or PEFT adapter + train state + metrics)",
         1},
        {"lora-rank", RG_ARG_INT, &f.lora_rank, "R", "LoRA rank; 0 = full fine-tuning (default 0)", 0},
        {"lora-alpha", RG_ARG_FLOAT, &f.lora_alpha, "A", "LoRA alpha; scaling = alpha / rank (default 2 * rank)", 0},
        {"lora-targets", RG_ARG_STRING, &f.targets, "LIST",
         "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj or all (default all)", 0},
        {"adapter", RG_ARG_STRING, &f.adapter_dir, "DIR", "start LoRA from this PEFT adapter (rank/targets from it)",
         0},
        {"f32-base", RG_ARG_FLAG, &f.f32_base, NULL, "LoRA: keep the frozen base in f32 (default bf16)", 0},
        {"lr", RG_ARG_FLOAT, &f.lr, "LR", "peak learning rate (default 1e-4 LoRA, 1e-5 full)", 0},
        {"schedule", RG_ARG_STRING, &f.schedule, "NAME", "constant | cosine (default cosine)", 0},
        {"min-lr-ratio", RG_ARG_FLOAT, &f.min_lr_ratio, "F", "cosine floor as a fraction of --lr (default 0)", 0},
        {"warmup", RG_ARG_INT, &f.warmup, "N", "linear warmup steps (default 0)", 0},
        {"epochs", RG_ARG_INT, &f.epochs, "N", "passes over the data (default 1)", 0},
        {"steps", RG_ARG_INT, &f.steps, "N", "optimizer steps (overrides --epochs)", 0},
        {"batch-size", RG_ARG_INT, &f.batch_size, "N", "sequences per micro-batch (default 4)", 0},
        {"grad-accum", RG_ARG_INT, &f.grad_accum, "N", "micro-batches per optimizer step (default 1)", 0},
        {"max-len", RG_ARG_INT, &max_len, "N", "cut sequences to N tokens (default 2048)", 0},
        {"weight-decay", RG_ARG_FLOAT, &f.weight_decay, "F", "AdamW decay on matrices, not norms/biases (default 0)",
         0},
        {"beta1", RG_ARG_FLOAT, &f.beta1, "F", "AdamW beta1 (default 0.9)", 0},
        {"beta2", RG_ARG_FLOAT, &f.beta2, "F", "AdamW beta2 (default 0.999)", 0},
        {"eps", RG_ARG_FLOAT, &f.eps, "F", "AdamW epsilon (default 1e-8)", 0},
        {"max-grad-norm", RG_ARG_FLOAT, &f.max_grad_norm, "F", "global-norm clipping; 0 = off (default 1.0)", 0},
        {"seed", RG_ARG_INT, &f.seed, "N", "seed of the data order and LoRA init (default 0)", 0},
        {"stop-after", RG_ARG_INT, &f.stop_after, "N", "save and stop after N steps of this invocation (resume later)",
         0},
        {"save-every", RG_ARG_INT, &f.save_every, "N", "also checkpoint every N steps (default: at the end only)", 0},
        {"save-dtype", RG_ARG_STRING, &f.save_dtype, "f32|bf16", "full fine-tuning: model.safetensors dtype", 0},
        {"head-chunk", RG_ARG_INT, &f.head_chunk, "N", "LM-head positions per chunk (default 256)", 0},
        {"max-batch-tokens", RG_ARG_INT, &f.max_batch_tokens, "N", RG_MAX_BATCH_TOKENS_HELP " (default 0)", 0},
        {"chat-template", RG_ARG_STRING, &f.chat_family, "FAMILY", "override the model's chat template", 0},
        {"resume", RG_ARG_FLAG, &f.resume, NULL, "continue exactly from the checkpoint in --out", 0},
        {"no-progress", RG_ARG_FLAG, &f.quiet, NULL, "no progress bar", 0},
    };
    rg_command_spec spec = {
        .name = "sft",
        .synopsis = "--model DIR --data FILE.jsonl --out DIR [--lora-rank R] [options]",
        .summary = "Supervised fine-tuning with the loss on assistant tokens only (token mean over each step). "
                   "Full fine-tuning writes a Hugging Face folder; LoRA writes a PEFT adapter folder. Both hold "
                   "train_state.safetensors and metrics.jsonl; --resume continues bit for bit. Ctrl-C stops "
                   "inside the step, saves the last complete one and exits 130 (again: at once).",
        .examples = "rgsd sft --model qwen --data chats.jsonl --out run1 --lora-rank 16 --lr 2e-4 --epochs 2",
        .args = specs,
        .nargs = (int)(sizeof specs / sizeof *specs),
    };
    int parsed = rg_args_parse(&spec, argc, argv, NULL, NULL);
    if (parsed == 1) return 0;
    if (parsed < 0) return rg_cli_fail();
    nn_blas_init(); /* OpenBLAS's AVX2/AVX-512 kernels, not its SSE3 fallback */

    rg_dtype out_dtype;
    if (rg_save_dtype_parse(f.save_dtype, &out_dtype) != RG_OK)
        return rg_usage_error("rgsd sft: --save-dtype must be f32 or bf16 (see rgsd sft --help)"), rg_cli_fail();
    if (!rg_train_flags_in_range(&f) || max_len < 2)
        return rg_usage_error("rgsd sft: a numeric flag is out of range (see rgsd sft --help)"), rg_cli_fail();

    rg_trainer_config cfg = rg_train_flags_config(&f);
    rg_lora start_adapter = {0};
    rg_model model = {0};
    rg_tokenizer *tok = NULL;
    rg_chat_template *tmpl = NULL;
    rg_sft_data data = {0};
    rg_trainer trainer = {0};
    rg_text_buf metrics = {0};
    int rc = 1, trainer_ready = 0;
    if (rg_schedule_parse(f.schedule, &cfg.schedule.kind) != RG_OK) goto done;
    if (rg_lora_parse_targets(f.targets, &cfg.lora_targets) != RG_OK) goto done;
    if (rg_model_load(&model, f.model_dir,
                      (f.lora_rank > 0 || f.adapter_dir) && !f.f32_base ? RG_WEIGHTS_BF16 : RG_WEIGHTS_F32) != RG_OK)
        goto done;
    if (rg_train_config_lora(&cfg, &model.cfg, &f, &start_adapter) != RG_OK) goto done;

    /* The tokenizer and template only when the data needs them (pre-tokenised data runs without). */
    char *tok_path = rg_path_join(f.model_dir, "tokenizer.json");
    int have_tokenizer = tok_path && rg_file_exists(tok_path);
    free(tok_path);
    if (have_tokenizer) {
        if (rg_tokenizer_load(f.model_dir, &tok) != RG_OK) goto done;
        if (rg_chat_template_open(f.model_dir, f.chat_family, &tmpl) != RG_OK) {
            rg_warn("%s; only pre-tokenised lines (input_ids) can be used", rg_errmsg());
            tmpl = NULL;
        }
    }
    if (rg_sft_data_load(&data, f.data_path, tok, tmpl, (int)max_len, model.cfg.vocab_size) != RG_OK) goto done;
    int per_step = (int)(f.batch_size * f.grad_accum);
    long total_steps = rg_train_total_steps(f.steps, data.n, f.epochs, per_step);
    cfg.schedule.total_steps = total_steps;
    if (rg_trainer_init(&trainer, &model, &cfg, data.max_T, data.n) != RG_OK) goto done;
    trainer_ready = 1;
    if (f.adapter_dir) memcpy(trainer.lora.params, start_adapter.params, sizeof(float) * trainer.lora.n_params);
    if (f.resume && rg_train_resume_from(&trainer, f.out_dir, &metrics, total_steps, "example") != RG_OK) goto done;
    rg_info("sft: %d examples, %ld tokens (%ld targets), longest %d; %s%s, %ld steps of %d sequences", data.n,
            data.tokens, data.loss_tokens, data.max_T, f.lora_rank > 0 ? "LoRA" : "full fine-tuning",
            f.lora_rank > 0 ? (model.dtype == RG_WEIGHTS_BF16 ? " on a bf16 base" : " on an f32 base") : "",
            total_steps, per_step);

    rg_train_loop loop;
    rg_train_loop_begin(&loop, "sft", trainer.step, f.stop_after, total_steps, f.quiet);
    long tokens_done = 0;
    int failed = 0;
    while (trainer.step < loop.stop_at && !rg_stop_requested) {
        rg_step_stats st;
        double t0 = rg_now();
        if (rg_trainer_step(&trainer, data.examples, &st) != RG_OK) {
            failed = !rg_train_abandoned(); /* stopped inside the step: the last complete one is saved */
            break;
        }
        double dt = rg_now() - t0;
        tokens_done += st.seq_tokens;
        char line[512];
        snprintf(line, sizeof line,
                 "{\"step\": %ld, \"epoch\": %.4f, \"loss\": %.6f, \"target_tokens\": %ld, \"tokens\": %ld, "
                 "\"lr\": %.6g, \"grad_norm\": %.6f, \"clipped\": %s, \"tokens_per_s\": %.1f, \"step_s\": %.3f}\n",
                 trainer.step, (double)trainer.cursor / data.n, st.loss, st.tokens, st.seq_tokens, (double)st.lr,
                 st.grad_norm, st.clipped ? "true" : "false", st.seq_tokens / (dt > 0 ? dt : 1e-9), dt);
        if (rg_text_append(&metrics, line) != RG_OK) {
            failed = 1;
            break;
        }
        char extra[128];
        snprintf(extra, sizeof extra, "loss %.4f  %.0f tok/s", st.loss,
                 tokens_done / fmax(rg_now() - loop.start, 1e-9));
        rg_progress_update(&loop.progress, trainer.step, extra);
        if (rg_train_save_every(&trainer, f.model_dir, f.out_dir, out_dtype, f.save_every, total_steps, &metrics) !=
            RG_OK) {
            failed = 1;
            break;
        }
    }
    rg_train_loop_end(&loop);
    if (failed) goto done;
    if (rg_train_save_final(&trainer, f.model_dir, f.out_dir, out_dtype, &metrics) != RG_OK) goto done;
    rc = rg_train_closing(&trainer, f.out_dir, f.lora_rank, total_steps);
done:
    if (rc == 1) rg_cli_fail();
    if (trainer_ready) rg_trainer_free(&trainer);
    if (start_adapter.params) rg_lora_free(&start_adapter);
    rg_sft_data_free(&data);
    if (tmpl) rg_chat_template_free(tmpl);
    if (tok) rg_tokenizer_free(tok);
    if (model.params) rg_model_free(&model);
    rg_text_free(&metrics);
    return rc;
}
