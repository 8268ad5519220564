"""Reference for `rgsd eval --adapter` (tests/e2e/eval.sh).

Usage: /usr/bin/python3 eval_adapter_ref.py BASE_DIR ADAPTER_DIR MERGED_DIR

Writes a random LoRA adapter for the model in BASE_DIR as a PEFT folder
(adapter_config.json + adapter_model.safetensors with PEFT's key names; rank
2, alpha 4, on q_proj, v_proj and down_proj, B != 0 so it changes the
model), and, merged here in float64 by PEFT's rule W + (alpha / r) B A,
the adapted model as an f32 Hugging Face folder (config.json, tokenizer
files copied). rgsd eval on BASE --adapter ADAPTER must then generate what
it generates on MERGED (greedy), without sharing any of rgsd's merge code.
"""
import json
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_ref  # noqa: E402

RANK, ALPHA = 2, 4.0
MODULES = ["self_attn.q_proj", "self_attn.v_proj", "mlp.down_proj"]


def main():
    base_dir, adapter_dir, merged_dir = sys.argv[1:4]
    with open(os.path.join(base_dir, "config.json")) as f:
        cfg = json.load(f)
    W = model_ref.read_safetensors(os.path.join(base_dir, "model.safetensors"))
    gen = torch.Generator().manual_seed(2024)
    adapters = []
    for l in range(cfg["num_hidden_layers"]):
        for m in MODULES:
            key = f"model.layers.{l}.{m}.weight"
            out_dim, in_dim = W[key].shape
            A = (torch.rand(RANK, in_dim, generator=gen, dtype=torch.float64) * 2 - 1) / in_dim ** 0.5
            B = torch.randn(out_dim, RANK, generator=gen, dtype=torch.float64) * 2.0
            A, B = A.float(), B.float()  # what the adapter file holds
            adapters.append((f"base_model.model.model.layers.{l}.{m}.lora_A.weight", A))
            adapters.append((f"base_model.model.model.layers.{l}.{m}.lora_B.weight", B))
            W[key] = W[key] + (ALPHA / RANK) * (B.double() @ A.double())
    os.makedirs(adapter_dir, exist_ok=True)
    model_ref.write_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"), adapters, "float32")
    with open(os.path.join(adapter_dir, "adapter_config.json"), "w") as f:
        json.dump({"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": RANK, "lora_alpha": ALPHA,
                   "lora_dropout": 0.0, "bias": "none", "fan_in_fan_out": False, "use_rslora": False,
                   "target_modules": ["q_proj", "v_proj", "down_proj"],
                   "base_model_name_or_path": base_dir, "inference_mode": True}, f, indent=2)
    os.makedirs(merged_dir, exist_ok=True)
    model_ref.write_safetensors(os.path.join(merged_dir, "model.safetensors"),
                                [(n, t.float()) for n, t in W.items()], "float32")
    with open(os.path.join(merged_dir, "config.json"), "w") as f:
        json.dump(dict(cfg, torch_dtype="float32"), f, indent=2)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(base_dir, name), os.path.join(merged_dir, name))


if __name__ == "__main__":
    main()
