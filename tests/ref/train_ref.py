"""Independent PyTorch reference for rgsd's training engine (issue 4).

Reuses model_ref.py (the float64 transformer written from transformers'
modeling_llama / qwen2 / qwen3 and its safetensors writer) and adds autograd:

  for each architecture variant: a tiny random HF folder, a batch of two
  sequences of different lengths with per-position loss masks, and
    - the batch token-mean cross-entropy and the gradient of EVERY parameter
      (float64 autograd) -> grads.safetensors (F64, HF names);
    - a random LoRA adapter (rank 4, alpha 8, all seven projections, B != 0 so
      every gradient is non-trivial) written as a PEFT folder (adapter_config.json
      + adapter_model.safetensors with PEFT's key names), and the gradients of its
      lora_A / lora_B -> lora_grads.safetensors (PEFT names). The LoRA forward is
      the merge identity W_eff = W + (alpha/r) B A, so the reference does not
      reuse rgsd's adapter algebra.
  one variant also as a bf16 folder (the frozen bf16 base of LoRA), with LoRA
  gradients on the bf16-decoded weights.
  optim.json: torch.optim.AdamW trajectories (weight decay on/off) and
  torch.nn.utils.clip_grad_norm_.

Usage: /usr/bin/python3 train_ref.py OUT_DIR
"""
import json
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_ref  # noqa: E402

torch.set_grad_enabled(True)

VARIANTS = {
    "qwen2_tied": model_ref.base_cfg("Qwen2ForCausalLM", tie_word_embeddings=True, rope_theta=1000000.0),
    "qwen3_untied": model_ref.base_cfg("Qwen3ForCausalLM", head_dim=16, rms_norm_eps=1e-5),
    "llama3_scaled": model_ref.base_cfg(
        "LlamaForCausalLM", rope_theta=500000.0,
        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                      "original_max_position_embeddings": 16}),
    "llama_tied_mqa": model_ref.base_cfg("LlamaForCausalLM", num_key_value_heads=1, tie_word_embeddings=True),
}
LORA_RANK, LORA_ALPHA = 4, 8.0
MODULES = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
           "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]


def write_st64(path, named):
    """float64 tensors, safetensors F64 (the gradients, exact)."""
    header, blobs, off = {}, [], 0
    for name, t in named:
        b = t.detach().double().contiguous().numpy().astype("<f8").tobytes()
        header[name] = {"dtype": "F64", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def batch_loss(cfg, W, seqs, loss_positions):
    """Token mean over the batch of -log p(ids[t+1] | ids[..t]) at the loss positions."""
    total, count = 0.0, 0
    for ids, pos in zip(seqs, loss_positions):
        logits = model_ref.forward(cfg, W, ids)
        logp = torch.log_softmax(logits, -1)
        for t in pos:
            total = total - logp[t, ids[t + 1]]
            count += 1
    return total / count


def peft_name(l, module, ab):
    return f"base_model.model.model.layers.{l}.{module}.lora_{ab}.weight"


def lora_reference(cfg, base, seqs, loss_positions, gen, out_dir, base_name):
    H, I = cfg["hidden_size"], cfg["intermediate_size"]
    hd = cfg.get("head_dim") or H // cfg["num_attention_heads"]
    qd, kvd = cfg["num_attention_heads"] * hd, cfg["num_key_value_heads"] * hd
    dims = {"self_attn.q_proj": (H, qd), "self_attn.k_proj": (H, kvd), "self_attn.v_proj": (H, kvd),
            "self_attn.o_proj": (qd, H), "mlp.gate_proj": (H, I), "mlp.up_proj": (H, I), "mlp.down_proj": (I, H)}
    scaling = LORA_ALPHA / LORA_RANK
    adapters, W = {}, dict(base)
    for l in range(cfg["num_hidden_layers"]):
        for m in MODULES:
            fan_in, fan_out = dims[m]
            A = ((torch.rand(LORA_RANK, fan_in, generator=gen, dtype=torch.float64) * 2 - 1) / fan_in ** 0.5).float()
            B = (torch.randn(fan_out, LORA_RANK, generator=gen, dtype=torch.float64) * 0.1).float()
            A64, B64 = A.double().requires_grad_(), B.double().requires_grad_()
            adapters[peft_name(l, m, "A")] = (A, A64)
            adapters[peft_name(l, m, "B")] = (B, B64)
            key = f"model.layers.{l}.{m}.weight"
            W[key] = base[key] + scaling * (B64 @ A64)
    loss = batch_loss(cfg, W, seqs, loss_positions)
    loss.backward()
    os.makedirs(out_dir, exist_ok=True)
    model_ref.write_safetensors(os.path.join(out_dir, "adapter_model.safetensors"),
                                [(n, a[0]) for n, a in adapters.items()], "float32")
    with open(os.path.join(out_dir, "adapter_config.json"), "w") as f:
        json.dump({"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": LORA_RANK, "lora_alpha": LORA_ALPHA,
                   "lora_dropout": 0.0, "bias": "none", "fan_in_fan_out": False, "use_rslora": False,
                   "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
                   "base_model_name_or_path": base_name, "inference_mode": True}, f, indent=2)
    write_st64(os.path.join(out_dir, "lora_grads.safetensors"), [(n, a[1].grad) for n, a in adapters.items()])
    return loss.item()


def optim_reference(path):
    gen = torch.Generator().manual_seed(99)
    out = {}
    for name, wd in (("adamw_wd", 0.1), ("adamw_nowd", 0.0)):
        p0 = torch.randn(12, generator=gen)
        grads = [torch.randn(12, generator=gen) for _ in range(4)]
        p = p0.clone().requires_grad_()
        opt = torch.optim.AdamW([p], lr=0.01, betas=(0.9, 0.95), eps=1e-8, weight_decay=wd)
        traj = []
        for g in grads:
            p.grad = g.clone()
            opt.step()
            traj.append(p.detach().tolist())
        out[name] = {"p0": p0.tolist(), "grads": [g.tolist() for g in grads], "lr": 0.01, "beta1": 0.9,
                     "beta2": 0.95, "eps": 1e-8, "weight_decay": wd, "params_after": traj}
    a, b = torch.randn(7, generator=gen) * 3, torch.randn(5, generator=gen) * 3
    pa, pb = a.clone().requires_grad_(), b.clone().requires_grad_()
    pa.grad, pb.grad = a.clone(), b.clone()
    norm = torch.nn.utils.clip_grad_norm_([pa, pb], max_norm=1.5)
    out["clip"] = {"a": a.tolist(), "b": b.tolist(), "max_norm": 1.5, "norm": norm.item(),
                   "a_after": pa.grad.tolist(), "b_after": pb.grad.tolist()}
    with open(path, "w") as f:
        json.dump(out, f)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for vi, (name, cfg) in enumerate(sorted(VARIANTS.items())):
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        gen = torch.Generator().manual_seed(4242 + vi)
        W32 = model_ref.make_weights(cfg, gen)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        decoded = model_ref.write_safetensors(os.path.join(d, "model.safetensors"), list(W32.items()), "float32")
        seqs = [torch.randint(0, cfg["vocab_size"], (n,), generator=gen).tolist() for n in (7, 12)]
        loss_positions = [[2, 3, 4, 5], [0, 1, 2, 5, 6, 7, 8, 9, 10]]
        W = {k: v.clone().requires_grad_() for k, v in decoded.items()}
        loss = batch_loss(cfg, W, seqs, loss_positions)
        loss.backward()
        write_st64(os.path.join(d, "grads.safetensors"), [(k, v.grad) for k, v in W.items()])
        base = {k: v.detach() for k, v in decoded.items()}
        lora_loss = lora_reference(cfg, base, seqs, loss_positions, gen, os.path.join(d, "adapter"), d)
        ref = {"sequences": seqs, "loss_positions": loss_positions, "loss": loss.item(), "lora_loss": lora_loss}
        if name == "qwen2_tied":  # the same weights stored in bf16: the frozen base of LoRA
            bd = os.path.join(out, name + "_bf16")
            os.makedirs(bd, exist_ok=True)
            bcfg = dict(cfg, torch_dtype="bfloat16")
            with open(os.path.join(bd, "config.json"), "w") as f:
                json.dump(bcfg, f, indent=2)
            dec_bf16 = model_ref.write_safetensors(os.path.join(bd, "model.safetensors"), list(W32.items()), "bfloat16")
            gen_b = torch.Generator().manual_seed(777)
            ref["bf16_lora_loss"] = lora_reference(bcfg, dec_bf16, seqs, loss_positions, gen_b,
                                                   os.path.join(bd, "adapter"), bd)
        with open(os.path.join(d, "batch.json"), "w") as f:
            json.dump(ref, f)
    optim_reference(os.path.join(out, "optim.json"))


if __name__ == "__main__":
    main()
