"""Independent PyTorch reference for the judge-free self-internalisation gap
(rgsd gap --samples K; rgsd/gap_measure.h), the rubric reward-hacking study's
definition (arXiv 2605.12474), in float64 on a tiny random Qwen2 model:

    per sample y:  gap(y) = mean_t log p(y_t | plain prompt) - mean_t log p(y_t | rubric prompt)
                   over the response tokens outside <think>...</think> (markers included);
                   a sample with no such token is left out
    per prompt:    the mean over its counted samples (gap, and each side's mean log-prob)
    summary:       the mean over prompts with at least one counted sample, and the
                   standard error over them: std (n - 1) / sqrt(n)

Fixed ids stand for chat(q) and chat(teacher_prompt(q, R)) (the measurement only
sees ids); 3 prompts x K = 3 responses, one with a think span, one all think,
one empty, and a last prompt none of whose samples counts (left out, counted
as empty). Once for the base, once for base + LoRA (W + s B A, the merge
identity: the reference does not reuse rgsd's adapter algebra).

Usage: /usr/bin/python3 gap_ref.py OUT_DIR
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_ref  # noqa: E402
import rgsd_ref  # noqa: E402  (lora_weights, lora_student, think_mask, THINK_OPEN/CLOSE)

D = torch.float64
K = 3


def logprobs(cfg, W, prompt, resp):
    """log p(resp[i] | prompt, resp[<i]) for every i, float64."""
    with torch.no_grad():
        logits = model_ref.forward(cfg, W, prompt + resp[:-1]).to(D)
    rows = logits[len(prompt) - 1:]
    return torch.log_softmax(rows, -1).gather(-1, torch.tensor(resp)[:, None])[:, 0]


def measure(cfg, W, prompts, responses):
    rows, empty = [], 0
    for p, pr in enumerate(prompts):
        per = []
        for k in range(K):
            resp = responses[p * K + k]
            mask = rgsd_ref.think_mask(resp) if resp else []
            if sum(mask) == 0:
                continue
            m = torch.tensor(mask, dtype=torch.bool)
            plain = float(logprobs(cfg, W, pr["student_prompt"], resp)[m].mean())
            rubric = float(logprobs(cfg, W, pr["teacher_prompt"], resp)[m].mean())
            per.append((plain - rubric, plain, rubric, sum(mask)))
        if not per:
            empty += 1
            continue
        rows.append({"prompt": p, "gap": sum(x[0] for x in per) / len(per),
                     "logp_plain": sum(x[1] for x in per) / len(per),
                     "logp_rubric": sum(x[2] for x in per) / len(per), "samples": len(per),
                     "tokens": sum(x[3] for x in per)})
    g = [r["gap"] for r in rows]
    mean = sum(g) / len(g)
    se = math.sqrt(sum((x - mean) ** 2 for x in g) / (len(g) - 1) / len(g))
    return {"rows": rows, "gap": mean, "se": se, "empty": empty,
            "tokens": sum(r["tokens"] for r in rows), "samples": sum(r["samples"] for r in rows)}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    cfg = model_ref.base_cfg("Qwen2ForCausalLM", tie_word_embeddings=True, rope_theta=1000000.0)
    gen = torch.Generator().manual_seed(2605)
    W32 = model_ref.make_weights(cfg, gen)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    decoded = model_ref.write_safetensors(os.path.join(out, "model.safetensors"), list(W32.items()), "float32")
    base = {k: v.detach().to(D) for k, v in decoded.items()}

    def ids(n):
        return torch.randint(3, 80, (n,), generator=gen).tolist()
    o, c = rgsd_ref.THINK_OPEN, rgsd_ref.THINK_CLOSE
    prompts = [{"student_prompt": ids(5), "teacher_prompt": ids(12)},
               {"student_prompt": ids(4), "teacher_prompt": ids(9)},
               {"student_prompt": ids(6), "teacher_prompt": ids(10)},
               {"student_prompt": ids(3), "teacher_prompt": ids(8)}]
    responses = [ids(7), ids(4), ids(2) + [o] + ids(3) + [c] + ids(4),
                 ids(9), [o] + ids(2) + [c], [],
                 ids(1), ids(5), ids(6),
                 [], [o] + ids(3), []]
    ref = {"prompts": prompts, "responses": responses, "K": K, "think_open": o, "think_close": c,
           "base": measure(cfg, base, prompts, responses)}
    adapters = rgsd_ref.lora_weights(cfg, base, torch.Generator().manual_seed(77))
    leaves = {k: v.to(D) for k, v in adapters.items()}
    ref["lora"] = measure(cfg, rgsd_ref.lora_student(cfg, base, leaves), prompts, responses)
    ad = os.path.join(out, "adapter")
    os.makedirs(ad, exist_ok=True)
    model_ref.write_safetensors(os.path.join(ad, "adapter_model.safetensors"), list(adapters.items()), "float32")
    with open(os.path.join(ad, "adapter_config.json"), "w") as f:
        json.dump({"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": rgsd_ref.LORA_RANK,
                   "lora_alpha": rgsd_ref.LORA_ALPHA, "lora_dropout": 0.0, "bias": "none", "fan_in_fan_out": False,
                   "use_rslora": False, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                                           "up_proj", "down_proj"],
                   "base_model_name_or_path": out, "inference_mode": True}, f, indent=2)
    with open(os.path.join(out, "gap.json"), "w") as f:
        json.dump(ref, f)


if __name__ == "__main__":
    main()
