/* cmd_merge.c — `rgsd merge`: fold a LoRA adapter (PEFT folder) into its base
 * model and write a full Hugging Face checkpoint. */

#include "base/error.h"
#include "base/log.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/train_setup.h"
#include "model/model.h"
#include "nn/nn.h"
#include "train/checkpoint.h"

int cmd_merge(int argc, char **argv) {
    const char *model_dir = NULL, *adapter_dir = NULL, *out_dir = NULL, *dtype_name = "f32";
    rg_arg specs[] = {
        {"model", RG_ARG_STRING, &model_dir, "DIR", "the base model the adapter was trained on", 1},
        {"adapter", RG_ARG_STRING, &adapter_dir, "DIR", "PEFT LoRA adapter folder", 1},
        {"out", RG_ARG_STRING, &out_dir, "DIR", "where to write the merged Hugging Face folder", 1},
        {"dtype", RG_ARG_STRING, &dtype_name, "f32|bf16", "model.safetensors dtype (default f32)", 0},
    };
    rg_command_spec spec = {
        .name = "merge",
        .synopsis = "--model DIR --adapter DIR --out DIR [--dtype f32|bf16]",
        .summary = "Writes W + (lora_alpha / r) * B A for every adapted projection into a full checkpoint "
                   "(config.json and tokenizer files copied from --model), written atomically.",
        .examples = "rgsd merge --model qwen --adapter run1 --out qwen-sft",
        .args = specs,
        .nargs = (int)(sizeof specs / sizeof *specs),
    };
    int parsed = rg_args_parse(&spec, argc, argv, NULL, NULL);
    if (parsed == 1) return 0;
    if (parsed < 0) return rg_cli_fail();
    nn_blas_init(); /* OpenBLAS's AVX2/AVX-512 kernels, not its SSE3 fallback */
    rg_dtype dtype;
    if (rg_save_dtype_parse(dtype_name, &dtype) != RG_OK)
        return rg_usage_error("rgsd merge: --dtype must be f32 or bf16 (see rgsd merge --help)"), rg_cli_fail();
    rg_model model;
    if (rg_model_load_adapted(&model, model_dir, adapter_dir) != RG_OK) return rg_cli_fail();
    char *tmp = rg_dir_begin(out_dir);
    int rc = tmp ? RG_OK : RG_ERR;
    if (rc == RG_OK && rg_hf_save(&model, model_dir, tmp, dtype) != RG_OK) {
        rg_dir_abort(tmp);
        rc = RG_ERR;
    }
    if (rc == RG_OK) rc = rg_dir_commit(tmp, out_dir);
    rg_model_free(&model);
    if (rc != RG_OK) return rg_cli_fail();
    rg_info("merged %s into %s -> %s", adapter_dir, model_dir, out_dir);
    return 0;
}
