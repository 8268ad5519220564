"""Independent PyTorch reference for one GRPO step (issue 6).

For a tiny random model (Qwen3 shape untied; Qwen2 tied), two prompts with
G = 3 fixed rollouts each (ids made up: the step only sees ids), fixed
rewards (the second group all equal: zero std, zero advantage) and fixed
rollout-time log-probs = the policy's own log-probs + noise (so ratios differ
from 1 and some tokens are clipped, none within 2e-3 of a clip boundary):

    A      = (r - mean_group) / (std_group + 1e-4)   torch .std: the SAMPLE std
             (or r - mean_group: the no-std case)
    lp     = log_softmax(forward(W_policy, prompt + y))[y]        (float64)
    ref    = log_softmax(forward(W_base, prompt + y))[y]          (no gradient)
    rho    = exp(lp - old)
    loss   = sum over all tokens of the batch of
             -min(rho A, clamp(rho, 1-eps, 1+eps) A) + beta (exp(ref-lp) - (ref-lp) - 1)
             divided by the number of response tokens of the batch

and float64 autograd gives d loss / d every policy parameter (full: W_policy a
perturbed copy of the base; LoRA: W = base + s B A with the merge identity,
gradients of every lora_A / lora_B). TRL's GRPOTrainer formulas, written
here from the definitions.

Usage: /usr/bin/python3 grpo_ref.py OUT_DIR
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_ref  # noqa: E402
import rgsd_ref  # noqa: E402  (VARIANTS, lora_weights, lora_student, base_perturbed)
import train_ref  # noqa: E402  (write_st64)

D = torch.float64
G = 3
REWARDS = [1.0, 0.0, 0.25, 0.25, 0.25, 0.25]
# (name, beta_kl, clip eps, scale by std)
CASES = [("kl001", 0.01, 0.2, True), ("kl050_eps010", 0.5, 0.1, True), ("nokl_nostd", 0.0, 0.2, False)]
MARGIN = 2e-3


def advantages(scale_by_std):
    r = torch.tensor(REWARDS, dtype=D).view(-1, G)
    centred = r - r.mean(dim=1, keepdim=True)
    if scale_by_std:
        centred = centred / (r.std(dim=1, keepdim=True) + 1e-4)
    return centred.view(-1).tolist()


def token_logprobs(cfg, W, b):
    resp = b["response"]
    logits = model_ref.forward(cfg, W, b["prompt"] + resp[:-1])
    P = len(b["prompt"])
    rows = logits[[P - 1 + i for i in range(len(resp))]].to(D)
    return torch.log_softmax(rows, -1).gather(-1, torch.tensor(resp)[:, None])[:, 0]


def grpo_loss(cfg, W_ref, W, batch, adv, beta, eps):
    total = sum(len(b["response"]) for b in batch)
    loss, surr_sum, kl_sum, clipped = 0.0, 0.0, 0.0, 0
    for b, A in zip(batch, adv):
        lp = token_logprobs(cfg, W, b)
        old = torch.tensor(b["old_logprobs"], dtype=torch.float32).to(D)
        ratio = torch.exp(lp - old)
        surr = -torch.min(ratio * A, torch.clamp(ratio, 1 - eps, 1 + eps) * A)
        k3 = torch.zeros_like(lp)
        if beta > 0:
            with torch.no_grad():
                ref = token_logprobs(cfg, W_ref, b)
            d = ref - lp
            k3 = torch.exp(d) - d - 1
        loss = loss + (surr + beta * k3).sum() / total
        surr_sum += float(surr.sum())
        kl_sum += float(k3.sum())
        r = ratio.detach()
        clipped += int((((A > 0) & (r > 1 + eps)) | ((A < 0) & (r < 1 - eps))).sum())
    return loss, surr_sum / total, kl_sum / total, clipped


def old_logprobs(cfg, W, batch, gen, eps_values):
    """The policy's own log-probs + noise, rounded to float32, clear of every clip boundary."""
    with torch.no_grad():
        for b in batch:
            lp = token_logprobs(cfg, W, b)
            out = []
            for x in lp.tolist():
                while True:
                    o = float(torch.tensor(x + 0.35 * float(torch.randn(1, generator=gen, dtype=D)),
                                           dtype=torch.float32))
                    rho = torch.exp(torch.tensor(x - o, dtype=D)).item()
                    if all(abs(rho - (1 + s * e)) > MARGIN for e in eps_values for s in (1, -1)):
                        break
                out.append(o)
            b["old_logprobs"] = out


def main():
    out = sys.argv[1]
    eps_values = sorted({c[2] for c in CASES})
    for vi, (name, cfg) in enumerate(sorted(rgsd_ref.VARIANTS.items())):
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        gen = torch.Generator().manual_seed(6060 + vi)
        W32 = model_ref.make_weights(cfg, gen)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        decoded = model_ref.write_safetensors(os.path.join(d, "model.safetensors"), list(W32.items()), "float32")
        base = {k: v.detach().to(D) for k, v in decoded.items()}

        def ids(n):
            return torch.randint(0, cfg["vocab_size"], (n,), generator=gen).tolist()
        prompts = [ids(5), ids(4)]
        lens = [6, 3, 8, 5, 7, 2]
        batch = [{"prompt": prompts[i // G], "response": ids(lens[i])} for i in range(2 * G)]
        W_policy = rgsd_ref.base_perturbed(base, torch.Generator().manual_seed(99 + vi))
        model_ref.write_safetensors(os.path.join(d, "policy.safetensors"),
                                    [(k, v.float()) for k, v in W_policy.items()], "float32")
        old_logprobs(cfg, W_policy, batch, gen, eps_values)
        ref = {"group_size": G, "rewards": REWARDS, "batch": batch, "cases": []}
        for case, beta, eps, scale in CASES:
            adv = advantages(scale)
            Ws = {k: v.clone().requires_grad_() for k, v in W_policy.items()}
            loss, surr, kl, clipped = grpo_loss(cfg, base, Ws, batch, adv, beta, eps)
            loss.backward()
            train_ref.write_st64(os.path.join(d, f"grads_{case}.safetensors"), [(k, v.grad) for k, v in Ws.items()])
            ref["cases"].append({"name": case, "beta": beta, "eps": eps, "scale_by_std": scale, "advantages": adv,
                                 "loss": loss.item(), "surrogate": surr, "kl": kl, "clipped": clipped})
        # LoRA (first case): reference = base, policy = base + s B A; old log-probs of this policy + noise
        adapters = rgsd_ref.lora_weights(cfg, base, torch.Generator().manual_seed(88 + vi))
        leaves = {k: v.to(D).requires_grad_() for k, v in adapters.items()}
        lbatch = [dict(b) for b in batch]
        old_logprobs(cfg, rgsd_ref.lora_student(cfg, base, {k: v.detach() for k, v in leaves.items()}), lbatch, gen,
                     eps_values)
        case, beta, eps, scale = CASES[0]
        lloss, lsurr, lkl, lclipped = grpo_loss(cfg, base, rgsd_ref.lora_student(cfg, base, leaves), lbatch,
                                                advantages(scale), beta, eps)
        lloss.backward()
        ad = os.path.join(d, "adapter")
        os.makedirs(ad, exist_ok=True)
        model_ref.write_safetensors(os.path.join(ad, "adapter_model.safetensors"), list(adapters.items()), "float32")
        with open(os.path.join(ad, "adapter_config.json"), "w") as f:
            json.dump({"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": rgsd_ref.LORA_RANK,
                       "lora_alpha": rgsd_ref.LORA_ALPHA, "lora_dropout": 0.0, "bias": "none",
                       "fan_in_fan_out": False, "use_rslora": False, "target_modules": [
                           "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
                       "base_model_name_or_path": d, "inference_mode": True}, f, indent=2)
        train_ref.write_st64(os.path.join(d, "lora_grads.safetensors"), [(k, v.grad) for k, v in leaves.items()])
        ref["lora"] = {"old_logprobs": [b["old_logprobs"] for b in lbatch], "loss": lloss.item(), "surrogate": lsurr,
                       "kl": lkl, "clipped": lclipped}
        with open(os.path.join(d, "grpo.json"), "w") as f:
            json.dump(ref, f)


if __name__ == "__main__":
    main()
