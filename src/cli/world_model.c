/* world_model.c — `rgsd world model`: a random-initialised tiny model folder
 * for the rubric world (the base that `rgsd sft` then teaches), written by
 * rgsd itself so the demo needs no PyTorch.
 *
 * The folder is a real Hugging Face one: config.json (Qwen2ForCausalLM or
 * LlamaForCausalLM, tied embeddings, vocab_size = the tokenizer's or
 * --vocab's, eos = the chat's end of turn: <|im_end|> (ChatML: the world's
 * and Qwen's tokenizers) or <|eot_id|> (Llama 3.x), then Llama's other stop
 * tokens when the tokenizer has them), model.safetensors (f32, or bf16 with
 * --dtype bf16 for large shapes such as bench/rgsd_memory.sh's 3B;
 * rg_model_init_random's seeded uniform values), and the tokenizer files
 * copied from --tokenizer. Written into a
 * temp folder and renamed into place (checkpoint.h), so a failure leaves
 * nothing behind. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "io/file.h"
#include "model/config.h"
#include "model/model.h"
#include "train/checkpoint.h"

int world_model_main(int argc, char **argv);

/* The chat's end of turn, by template family; the first the tokenizer has
 * is the model's first eos. */
static const char *const end_of_turn_tokens[] = {"<|im_end|>", "<|eot_id|>"};
/* Further stop tokens, as Llama 3.1's own config lists them (end of text,
 * end of a tool-call message). */
static const char *const extra_stop_tokens[] = {"<|end_of_text|>", "<|eom_id|>"};
#define MAX_EOS 3

static int added_token_id(const cJSON *added_tokens, const char *content) {
    const cJSON *item;
    cJSON_ArrayForEach(item, added_tokens) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(item, "content");
        if (cJSON_IsNumber(id) && cJSON_IsString(text) && strcmp(text->valuestring, content) == 0) return id->valueint;
    }
    return -1;
}

/* vocab = 1 + the largest id in model.vocab and added_tokens; eos[0] = the
 * end of turn (end_of_turn_tokens), then any extra_stop_tokens present. */
static int tokenizer_vocab(const char *path, int *vocab, int eos[MAX_EOS], int *n_eos) {
    char *text;
    size_t len;
    if (rg_read_file(path, &text, &len) != RG_OK) return RG_ERR;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (!root) return rg_error("%s: not valid JSON", path);
    int max_id = -1;
    *n_eos = 0;
    const cJSON *model_vocab = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "model"), "vocab");
    const cJSON *item;
    cJSON_ArrayForEach(item, model_vocab) {
        if (cJSON_IsNumber(item) && item->valueint > max_id) max_id = item->valueint;
    }
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(root, "added_tokens")) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
        if (!cJSON_IsNumber(id)) continue;
        if (id->valueint > max_id) max_id = id->valueint;
    }
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    for (size_t i = 0; i < sizeof end_of_turn_tokens / sizeof *end_of_turn_tokens && *n_eos == 0; i++)
        if ((eos[0] = added_token_id(added, end_of_turn_tokens[i])) >= 0) *n_eos = 1;
    for (size_t i = 0; i < sizeof extra_stop_tokens / sizeof *extra_stop_tokens && *n_eos > 0; i++)
        if ((eos[*n_eos] = added_token_id(added, extra_stop_tokens[i])) >= 0) (*n_eos)++;
    cJSON_Delete(root);
    if (max_id < 0) return rg_error("%s: no model.vocab entries", path);
    if (*n_eos == 0)
        return rg_error("%s: no end-of-turn added token (<|im_end|> or <|eot_id|>), which a chat model needs as eos",
                        path);
    *vocab = max_id + 1;
    return RG_OK;
}

static int copy_file(const char *src_dir, const char *dst_dir, const char *name, int required) {
    char src[4096], dst[4096];
    snprintf(src, sizeof src, "%s/%s", src_dir, name);
    snprintf(dst, sizeof dst, "%s/%s", dst_dir, name);
    if (!rg_file_exists(src)) return required ? rg_error("%s: not found", src) : RG_OK;
    char *data;
    size_t len;
    if (rg_read_file(src, &data, &len) != RG_OK) return RG_ERR;
    int rc = rg_write_file_atomic(dst, data, len);
    free(data);
    return rc;
}

typedef struct {
    const char *out, *tok_dir, *arch, *dtype;
    long hidden, layers, heads, kv_heads, intermediate, context, seed, min_vocab;
    double scale;
    int is_llama, bf16; /* from arch and dtype, by check_flags */
} model_options;

/* 0: parsed; 1: --help was printed; -1: a usage error (already reported). */
static int parse_flags(model_options *o, int argc, char **argv) {
    *o = (model_options){.arch = "qwen2", .dtype = "f32", .hidden = 128, .layers = 2, .heads = 4, .kv_heads = 2,
                         .context = 512, .seed = 11, .scale = 1.0};
    rg_arg specs[] = {
        {"tokenizer", RG_ARG_STRING, &o->tok_dir, "DIR", "folder with tokenizer.json (e.g. WORLD/tokenizer)", 1},
        {"out", RG_ARG_STRING, &o->out, "DIR", "model folder to write", 1},
        {"arch", RG_ARG_STRING, &o->arch, "NAME", "qwen2 | llama (default qwen2)", 0},
        {"hidden", RG_ARG_INT, &o->hidden, "C", "hidden size (default 128)", 0},
        {"layers", RG_ARG_INT, &o->layers, "L", "decoder layers (default 2)", 0},
        {"heads", RG_ARG_INT, &o->heads, "H", "attention heads (default 4)", 0},
        {"kv-heads", RG_ARG_INT, &o->kv_heads, "K", "key/value heads (default 2)", 0},
        {"intermediate", RG_ARG_INT, &o->intermediate, "I", "SwiGLU width; 0 = 2 x hidden (default 0)", 0},
        {"context", RG_ARG_INT, &o->context, "N", "max_position_embeddings (default 512)", 0},
        {"seed", RG_ARG_INT, &o->seed, "S", "seed of the random weights (default 11)", 0},
        {"scale", RG_ARG_FLOAT, &o->scale, "F", "matrix init std = F / sqrt(fan_in) (default 1)", 0},
        {"vocab", RG_ARG_INT, &o->min_vocab, "V", "vocab_size at least V (padded past the tokenizer's, as Qwen's "
                                                 "151936; default: the tokenizer's)", 0},
        {"dtype", RG_ARG_STRING, &o->dtype, "T", "f32 | bf16: the weights in memory and on disk (bf16: a large "
                                                 "shape needs half the memory; default f32)", 0},
    };
    rg_command_spec spec = {
        .name = "world model",
        .synopsis = "--tokenizer DIR --out DIR [--hidden C] [--layers L] [...]",
        .summary = "Writes a random-initialised tiny Hugging Face model folder whose vocabulary is the tokenizer's "
                   "(tied embeddings, eos = the chat's end of turn: <|im_end|>, or <|eot_id|> for a Llama 3 tokenizer), the "
                   "base that `rgsd sft` trains on the world's sft.jsonl.",
        .examples = "  rgsd world model --tokenizer world/tokenizer --out init --hidden 128 --layers 2\n",
        .args = specs,
        .nargs = (int)(sizeof specs / sizeof specs[0]),
        .max_positional = 0,
    };
    int parsed = rg_args_parse(&spec, argc, argv, NULL, NULL);
    return parsed == 1 ? 1 : parsed != 0 ? -1 : 0;
}

static int check_flags(model_options *o) {
    o->is_llama = strcmp(o->arch, "llama") == 0;
    if (!o->is_llama && strcmp(o->arch, "qwen2") != 0)
        return rg_error("rgsd world model: --arch must be qwen2 or llama, got '%s'", o->arch);
    if (o->intermediate == 0) o->intermediate = 2 * o->hidden;
    o->bf16 = strcmp(o->dtype, "bf16") == 0;
    if (!o->bf16 && strcmp(o->dtype, "f32") != 0)
        return rg_error("rgsd world model: --dtype must be f32 or bf16, got '%s'", o->dtype);
    if (o->hidden < 8 || o->hidden > 8192 || o->layers < 1 || o->layers > 64 || o->heads < 1 || o->kv_heads < 1 ||
        o->heads % o->kv_heads || o->hidden % o->heads || (o->hidden / o->heads) % 2 || o->intermediate < 1 ||
        o->intermediate > 65536 || o->context < 16 || o->context > 1 << 20 || o->seed < 0 || !(o->scale > 0))
        return rg_error("rgsd world model: bad shape (hidden %ld must split into %ld heads of even size, heads a "
                        "multiple of kv-heads %ld, layers 1..64, context >= 16, scale > 0)",
                        o->hidden, o->heads, o->kv_heads);
    return RG_OK;
}

/* config.json of the model: the shape of o, the tokenizer's vocabulary (at least --vocab) and end ids. */
static int config_json_for(const model_options *o, char *json, size_t size, int *vocab_out) {
    char tok_path[4096];
    snprintf(tok_path, sizeof tok_path, "%s/tokenizer.json", o->tok_dir);
    int vocab = 0, eos[MAX_EOS], n_eos = 0;
    if (tokenizer_vocab(tok_path, &vocab, eos, &n_eos) != RG_OK) return RG_ERR;
    if (o->min_vocab > vocab) {
        if (o->min_vocab > (1 << 22))
            return rg_error("rgsd world model: --vocab %ld is larger than %d", o->min_vocab, 1 << 22);
        vocab = (int)o->min_vocab;
    }
    /* One id stays a number, as before; several are a list, as in Llama 3.1's config. */
    char eos_json[64];
    if (n_eos == 1)
        snprintf(eos_json, sizeof eos_json, "%d", eos[0]);
    else if (n_eos == 2)
        snprintf(eos_json, sizeof eos_json, "[%d, %d]", eos[0], eos[1]);
    else
        snprintf(eos_json, sizeof eos_json, "[%d, %d, %d]", eos[0], eos[1], eos[2]);
    snprintf(json, size,
             "{\n  \"architectures\": [\"%s\"],\n  \"model_type\": \"%s\",\n  \"hidden_size\": %ld,\n"
             "  \"intermediate_size\": %ld,\n  \"num_hidden_layers\": %ld,\n  \"num_attention_heads\": %ld,\n"
             "  \"num_key_value_heads\": %ld,\n  \"vocab_size\": %d,\n  \"max_position_embeddings\": %ld,\n"
             "  \"rms_norm_eps\": 1e-06,\n  \"rope_theta\": 10000.0,\n  \"hidden_act\": \"silu\",\n"
             "  \"tie_word_embeddings\": true,%s\n  \"torch_dtype\": \"%s\",\n  \"eos_token_id\": %s\n}\n",
             o->is_llama ? "LlamaForCausalLM" : "Qwen2ForCausalLM", o->is_llama ? "llama" : "qwen2", o->hidden,
             o->intermediate, o->layers, o->heads, o->kv_heads, vocab, o->context,
             o->is_llama ? "\n  \"attention_bias\": false,\n  \"mlp_bias\": false," : "",
             o->bf16 ? "bfloat16" : "float32", eos_json);
    *vocab_out = vocab;
    return RG_OK;
}

/* The random model of config_json, written to o->out as one unit (staged, then renamed). */
static int write_model(const model_options *o, const char *config_json, size_t *n_params) {
    rg_model_config cfg;
    if (rg_config_parse(config_json, "config.json", &cfg) != RG_OK) return RG_ERR;
    rg_model model;
    if (rg_model_alloc(&model, &cfg, o->bf16 ? RG_WEIGHTS_BF16 : RG_WEIGHTS_F32) != RG_OK) return RG_ERR;
    rg_model_init_random(&model, (uint64_t)o->seed, (float)o->scale);

    char *stage = rg_dir_begin(o->out);
    int rc = stage ? RG_OK : RG_ERR;
    if (rc == RG_OK) {
        char path[4096];
        snprintf(path, sizeof path, "%s/config.json", stage);
        rc = rg_write_file_atomic(path, config_json, strlen(config_json));
    }
    if (rc == RG_OK) rc = copy_file(o->tok_dir, stage, "tokenizer.json", 1);
    if (rc == RG_OK) rc = copy_file(o->tok_dir, stage, "tokenizer_config.json", 0);
    /* rg_hf_save copies config + tokenizer from its source folder: here the stage itself. */
    if (rc == RG_OK) rc = rg_hf_save(&model, stage, stage, o->bf16 ? RG_BF16 : RG_F32);
    *n_params = model.n_params + model.n_params_bf16;
    rg_model_free(&model);
    if (rc != RG_OK) {
        rg_dir_abort(stage);
        return RG_ERR;
    }
    return rg_dir_commit(stage, o->out);
}

int world_model_main(int argc, char **argv) {
    model_options o;
    int parsed = parse_flags(&o, argc, argv);
    if (parsed == 1) return 0;
    if (parsed != 0 || check_flags(&o) != RG_OK) return rg_cli_fail();
    char config_json[2048];
    int vocab = 0;
    size_t n_params = 0;
    if (config_json_for(&o, config_json, sizeof config_json, &vocab) != RG_OK) return rg_cli_fail();
    if (write_model(&o, config_json, &n_params) != RG_OK) return rg_cli_fail();
    fprintf(stderr, "world model: %s %s, %ld layers, hidden %ld, vocab %d, %.2fM parameters (seed %ld)\n", o.out,
            o.is_llama ? "LlamaForCausalLM" : "Qwen2ForCausalLM", o.layers, o.hidden, vocab, n_params / 1e6, o.seed);
    return 0;
}
