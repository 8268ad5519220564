/* cmd_sft.c — `rgsd sft`: supervised fine-tuning (full or LoRA) on chat data,
 * with metrics, checkpoints and exact resume (the session: session/session.h;
 * the step: rg_trainer_step in train/trainer.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/error.h"
#include "base/log.h"
#include "base/timer.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/train_flags.h"
#include "cli/train_setup.h"
#include "io/file.h"
#include "nn/nn.h"
#include "session/session.h"
#include "tok/chat.h"
#include "tok/tokenizer.h"
#include "train/sft_data.h"
#include "train/trainer.h"

typedef struct {
    rg_sft_data data;
    long tokens_done; /* this invocation's tokens, for the progress line */
} sft_method;

/* The flag table: 0 to go on, 1 after --help, -1 on a usage error. */
static int parse_flags(int argc, char **argv, rg_train_flags *fp, long *max_len) {
    rg_train_flags f = rg_train_flags_defaults(4);
    *max_len = 2048;
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
        {"max-len", RG_ARG_INT, max_len, "N", "cut sequences to N tokens (default 2048)", 0},
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
        {"zero", RG_ARG_INT, &f.zero, "0|1", RG_ZERO_HELP " (default 0)", 0},
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
    *fp = f;
    return parsed == 1 ? 1 : parsed < 0 ? -1 : 0;
}

static int sft_step(rg_session *s, void *method, char *line, size_t line_size, char *extra, size_t extra_size) {
    sft_method *m = method;
    rg_trainer *t = &s->trainer;
    rg_step_stats st;
    double t0 = rg_now();
    if (rg_trainer_step(t, m->data.examples, &st) != RG_OK) return RG_ERR;
    double dt = rg_now() - t0;
    m->tokens_done += st.seq_tokens;
    snprintf(line, line_size,
             "{\"step\": %ld, \"epoch\": %.4f, \"loss\": %.6f, \"target_tokens\": %ld, \"tokens\": %ld, "
             "\"lr\": %.6g, \"grad_norm\": %.6f, \"clipped\": %s, \"tokens_per_s\": %.1f, \"step_s\": %.3f}\n",
             t->step, (double)t->cursor / m->data.n, st.loss, st.tokens, st.seq_tokens, (double)st.lr, st.grad_norm,
             st.clipped ? "true" : "false", st.seq_tokens / (dt > 0 ? dt : 1e-9), dt);
    snprintf(extra, extra_size, "loss %.4f  %.0f tok/s", st.loss, m->tokens_done / fmax(rg_session_wall(s), 1e-9));
    return RG_OK;
}

/* The model (a bf16 base under LoRA unless --f32-base), the tokenizer and template only when the data needs
 * them (pre-tokenised data runs without), the data, and the session's trainer. */
static int sft_setup(rg_session *s, sft_method *m, rg_train_flags *f, long max_len) {
    rg_weight_dtype wdtype = (f->lora_rank > 0 || f->adapter_dir) && !f->f32_base ? RG_WEIGHTS_BF16 : RG_WEIGHTS_F32;
    if (rg_model_load(&s->lm.model, f->model_dir, wdtype) != RG_OK) return RG_ERR;
    if (rg_train_config_lora(&s->cfg, &s->lm.model.cfg, f, &s->start_adapter) != RG_OK) return RG_ERR;
    char *tok_path = rg_path_join(f->model_dir, "tokenizer.json");
    int have_tokenizer = tok_path && rg_file_exists(tok_path);
    free(tok_path);
    if (have_tokenizer) {
        if (rg_tokenizer_load(f->model_dir, &s->lm.tok) != RG_OK) return RG_ERR;
        if (rg_chat_template_open(f->model_dir, f->chat_family, &s->lm.chat) != RG_OK) {
            rg_warn("%s; only pre-tokenised lines (input_ids) can be used", rg_errmsg());
            s->lm.chat = NULL;
        }
    }
    rg_sft_data *d = &m->data;
    if (rg_sft_data_load(d, f->data_path, s->lm.tok, s->lm.chat, (int)max_len, s->lm.model.cfg.vocab_size) != RG_OK)
        return RG_ERR;
    if (rg_session_start(s, d->max_T, d->n) != RG_OK) return RG_ERR;
    rg_info("sft: %d examples, %ld tokens (%ld targets), longest %d; %s, %ld steps of %d sequences", d->n, d->tokens,
            d->loss_tokens, d->max_T, rg_session_mode(s), s->total_steps, s->cfg.batch_size * s->cfg.grad_accum);
    return RG_OK;
}

int cmd_sft(int argc, char **argv) {
    rg_train_flags f;
    long max_len;
    int parsed = parse_flags(argc, argv, &f, &max_len);
    if (parsed) return parsed == 1 ? 0 : rg_cli_fail();
    nn_blas_init(); /* OpenBLAS's AVX2/AVX-512 kernels, not its SSE3 fallback */

    rg_dtype out_dtype;
    if (rg_save_dtype_parse(f.save_dtype, &out_dtype) != RG_OK)
        return rg_usage_error("rgsd sft: --save-dtype must be f32 or bf16 (see rgsd sft --help)"), rg_cli_fail();
    if (!rg_train_flags_in_range(&f) || max_len < 2)
        return rg_usage_error("rgsd sft: a numeric flag is out of range (see rgsd sft --help)"), rg_cli_fail();

    rg_session s = {0};
    sft_method m = {0};
    int rc = 1;
    if (rg_train_session_from_flags(&s, &f, "sft", "example", out_dtype) == RG_OK &&
        sft_setup(&s, &m, &f, max_len) == RG_OK && rg_session_loop(&s, sft_step, &m) == RG_OK)
        rc = rg_session_close(&s);
    if (rc == 1) rg_cli_fail();
    rg_sft_data_free(&m.data);
    rg_session_free(&s);
    return rc;
}
