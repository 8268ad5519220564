/* train_state.c — the checkpoint folder of a training run and exact resume
 * (see trainer.h). train_state.safetensors holds three f32 tensors of the
 * trainable size — "trainable" (the f32 master weights: the model's params or
 * the adapters), "adam.m", "adam.v" — and, as __metadata__ strings, the step,
 * the data cursor, the RNG state, and what was trained (mode, sizes, LoRA
 * shape) so a resume with another setup is refused. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "dist/dist.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

#define STATE_FILE "train_state.safetensors"

int rg_trainer_save(const rg_trainer *t, const char *model_dir, const char *out_dir, rg_dtype dtype,
                    const char *extra_name, const char *extra_text) {
    char *tmp = rg_dir_begin(out_dir);
    if (!tmp) return RG_ERR;
    int lora = t->cfg.lora_rank > 0;
    if (lora ? rg_peft_save(&t->lora, tmp, model_dir) : rg_hf_save(t->model, model_dir, tmp, dtype)) goto fail;
    char step[32], cursor[32], n[32], rank[16], alpha[32], targets[16], rng[80], seed[32];
    snprintf(step, sizeof step, "%ld", t->step);
    snprintf(cursor, sizeof cursor, "%" PRIu64, t->cursor);
    snprintf(n, sizeof n, "%zu", t->n_trainable);
    snprintf(rank, sizeof rank, "%d", t->cfg.lora_rank);
    snprintf(alpha, sizeof alpha, "%.9g", (double)t->cfg.lora_alpha);
    snprintf(targets, sizeof targets, "%u", lora ? t->lora.targets : 0u);
    snprintf(seed, sizeof seed, "%" PRIu64, t->cfg.seed);
    snprintf(rng, sizeof rng, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, t->rng.s[0], t->rng.s[1],
             t->rng.s[2], t->rng.s[3]);
    const char *metadata[] = {"format", "rgsd-train-state-1", "mode", lora ? "lora" : "full", "step", step,
                              "cursor", cursor, "n_trainable", n, "lora_rank", rank, "lora_alpha", alpha,
                              "lora_targets", targets, "seed", seed, "rng", rng, NULL, NULL, NULL};
    if (t->method_state.data) { /* which method state the file holds: resume checks it */
        metadata[20] = "method_state";
        metadata[21] = t->method_state.name;
    }
    rg_st_entry entries[4] = {
        {.name = "trainable", .dtype = RG_F32, .ndim = 1, .shape = {(int64_t)t->n_trainable}, .data = t->trainable},
        {.name = "adam.m", .dtype = RG_F32, .ndim = 1, .shape = {(int64_t)t->n_trainable}, .data = t->opt.m},
        {.name = "adam.v", .dtype = RG_F32, .ndim = 1, .shape = {(int64_t)t->n_trainable}, .data = t->opt.v},
    };
    int n_entries = 3;
    const rg_method_state *ms = &t->method_state;
    if (ms->data)
        entries[n_entries++] = (rg_st_entry){.name = ms->name, .dtype = ms->dtype, .ndim = 1,
                                             .shape = {(int64_t)ms->n}, .data = ms->data};
    char *path = rg_path_join(tmp, STATE_FILE);
    int rc = path ? rg_st_write(path, entries, n_entries, metadata) : RG_ERR;
    free(path);
    if (rc != RG_OK) goto fail;
    if (extra_name && extra_text) {
        path = rg_path_join(tmp, extra_name);
        rc = path ? rg_write_file_atomic(path, extra_text, strlen(extra_text)) : RG_ERR;
        free(path);
        if (rc != RG_OK) goto fail;
    }
    return rg_dir_commit(tmp, out_dir);
fail:
    rg_dir_abort(tmp);
    return RG_ERR;
}

/* A non-negative decimal integer: digits only. strtoull alone would take
 * "-1" (as 2^64 - 1), " 7" and values past 2^64 (as ULLONG_MAX). */
static int meta_u64(const rg_st_file *f, const char *key, uint64_t *out) {
    const char *v = rg_st_metadata(f, key);
    char *end = NULL;
    if (!v || !*v) return rg_error("%s: train state field \"%s\" is missing", f->path, key);
    if (!isdigit((unsigned char)v[0]))
        return rg_error("%s: train state field \"%s\" must be a non-negative integer (got \"%s\")", f->path, key, v);
    errno = 0;
    *out = strtoull(v, &end, 10);
    if (*end || errno == ERANGE)
        return rg_error("%s: train state field \"%s\" must be a non-negative integer (got \"%s\")", f->path, key, v);
    return RG_OK;
}

static int load_vector(const rg_st_file *f, const char *name, float *dst, size_t n) {
    const rg_tensor *tensor = rg_st_find(f, name);
    if (!tensor) return rg_error("%s: tensor %s is missing", f->path, name);
    int64_t shape[1] = {(int64_t)n};
    if (rg_tensor_expect_shape(tensor, 1, shape) != RG_OK) return RG_ERR;
    return rg_tensor_to_f32(tensor, dst, n);
}

int rg_trainer_resume(rg_trainer *t, const char *dir) {
    /* A save killed midway may have left the folder beside its name. */
    if (rg_dir_recover(dir, NULL) != RG_OK) return RG_ERR;
    char *path = rg_path_join(dir, STATE_FILE);
    if (!path) return RG_ERR;
    if (!rg_file_exists(path)) {
        rg_error("%s: not found (--resume needs a checkpoint folder written by rgsd training)", path);
        free(path);
        return RG_ERR;
    }
    rg_st_file f;
    int rc = rg_st_open(&f, path);
    free(path);
    if (rc != RG_OK) return RG_ERR;
    rc = RG_ERR;
    int lora = t->cfg.lora_rank > 0;
    const char *format = rg_st_metadata(&f, "format"), *mode = rg_st_metadata(&f, "mode");
    const char *rng = rg_st_metadata(&f, "rng");
    uint64_t step, cursor, n, rank, targets, seed;
    if (!format || strcmp(format, "rgsd-train-state-1") != 0) {
        rg_error("%s: not an rgsd train state (format \"%s\")", f.path, format ? format : "");
    } else if (!mode || strcmp(mode, lora ? "lora" : "full") != 0) {
        rg_error("%s: the checkpoint was trained with %s, this run uses %s", f.path, mode ? mode : "?",
                 lora ? "LoRA" : "full fine-tuning");
    } else if (meta_u64(&f, "step", &step) || meta_u64(&f, "cursor", &cursor) || meta_u64(&f, "n_trainable", &n) ||
               meta_u64(&f, "lora_rank", &rank) || meta_u64(&f, "lora_targets", &targets) ||
               meta_u64(&f, "seed", &seed)) {
        /* error set */
    } else if (step > (uint64_t)LONG_MAX / 2 || cursor > UINT64_MAX / 2) {
        /* both become signed or feed arithmetic (step + 1, cursor + batch) */
        rg_error("%s: train state step %" PRIu64 " / cursor %" PRIu64 " out of range", f.path, step, cursor);
    } else if (lora && (rank != (uint64_t)t->cfg.lora_rank || targets != t->lora.targets)) {
        rg_error("%s: LoRA rank %" PRIu64 " / targets %#" PRIx64 " in the checkpoint, %d / %#x in this run", f.path,
                 rank, targets, t->cfg.lora_rank, t->lora.targets);
    } else if (n != t->n_trainable) {
        rg_error("%s: %" PRIu64 " trainable values in the checkpoint, %zu in this model (a different base model?)",
                 f.path, n, t->n_trainable);
    } else if (seed != t->cfg.seed) {
        rg_error("%s: trained with --seed %" PRIu64 ", this run has --seed %" PRIu64 " (the data order would differ)",
                 f.path, seed, t->cfg.seed);
    } else if (!rng || strlen(rng) != 64 ||
               sscanf(rng, "%16" SCNx64 "%16" SCNx64 "%16" SCNx64 "%16" SCNx64, &t->rng.s[0], &t->rng.s[1],
                      &t->rng.s[2], &t->rng.s[3]) != 4) {
        rg_error("%s: train state field \"rng\" is missing or malformed", f.path);
    } else if (load_vector(&f, "trainable", t->trainable, n) == RG_OK && load_vector(&f, "adam.m", t->opt.m, n) == RG_OK &&
               load_vector(&f, "adam.v", t->opt.v, n) == RG_OK) {
        t->step = (long)step;
        t->opt.step = (long)step;
        t->cursor = cursor;
        rc = RG_OK;
    }
    rg_st_close(&f);
    return rc;
}

void rg_trainer_set_method_state(rg_trainer *t, const char *name, rg_dtype dtype, void *data, size_t n) {
    t->method_state = data ? (rg_method_state){.name = name, .dtype = dtype, .data = data, .n = n}
                           : (rg_method_state){0};
}

/* The registered state's tensor: same name, shape and dtype as registered. */
static int load_method_state(const rg_st_file *f, const rg_method_state *ms) {
    const char *saved = rg_st_metadata(f, "method_state");
    if (!saved != !ms->data || (saved && strcmp(saved, ms->name) != 0))
        return rg_error("%s: the checkpoint holds method state \"%s\", this run needs \"%s\" (the same --teacher / "
                        "--reward as the run that wrote it?)",
                        f->path, saved ? saved : "none", ms->data ? ms->name : "none");
    if (!saved) return RG_OK;
    const rg_tensor *tensor = rg_st_find(f, saved);
    if (!tensor) return rg_error("%s: tensor %s is missing", f->path, saved);
    int64_t shape[1] = {(int64_t)ms->n};
    if (rg_tensor_expect_shape(tensor, 1, shape) != RG_OK) return RG_ERR;
    if (tensor->dtype != ms->dtype)
        return rg_error("%s: tensor %s must be %s", f->path, saved, rg_dtype_name(ms->dtype));
    memcpy(ms->data, tensor->data, rg_dtype_size(ms->dtype) * ms->n);
    return RG_OK;
}

static int read_method_state(rg_trainer *t, const char *dir) {
    char *path = rg_path_join(dir, STATE_FILE);
    if (!path) return RG_ERR;
    rg_st_file f;
    int rc = rg_st_open(&f, path);
    free(path);
    if (rc != RG_OK) return RG_ERR;
    rc = load_method_state(&f, &t->method_state);
    rg_st_close(&f);
    return rc;
}

/* Data parallel: rank 0 reads the checkpoint (the others may have no copy) and sends the state to all. */
int rg_trainer_resume_method_state(rg_trainer *t, const char *dir) {
    const rg_method_state *ms = &t->method_state;
    int ok = rg_dist_rank() != 0 || read_method_state(t, dir) == RG_OK;
    if (rg_dist_size() == 1) return ok ? RG_OK : RG_ERR;
    if (rg_dist_bcast(&ok, sizeof ok) != RG_OK) return RG_ERR;
    if (!ok) return rg_dist_rank() == 0 ? RG_ERR : rg_error("rank 0 could not restore the method state from %s", dir);
    return ms->data ? rg_dist_bcast(ms->data, rg_dtype_size(ms->dtype) * ms->n) : RG_OK;
}
