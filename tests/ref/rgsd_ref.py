"""Independent PyTorch reference for one RGSD step (issue 5).

For a tiny random model (Qwen3 shape, untied; and Qwen2 tied), two fixed
rollouts y with their student prompts chat(q) and teacher prompts
chat(teacher_prompt(q, R)) (ids made up: the step only sees ids), the second
rollout holding a think span (THINK_OPEN ... THINK_CLOSE) that the loss skips:

    teacher logits = forward(W_base, teacher_prompt + y)   (no gradient)
    student logits = forward(W_student, student_prompt + y)
    loss = token mean over the batch's loss positions of JSD_beta (nn_ref's
           jsd_loss: generalized JSD by formula, top-k tail bucket, clip modes)

and float64 autograd gives d loss / d every student parameter (full
fine-tuning: all of W; LoRA: every lora_A / lora_B with W_student = W + s B A,
the merge identity, so the reference does not reuse rgsd's adapter algebra).
Also the self-internalisation gap: mean of log p_T(y_t) - log p_S(y_t).

Usage: /usr/bin/python3 rgsd_ref.py OUT_DIR
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_ref  # noqa: E402
import nn_ref  # noqa: E402  (jsd_loss, pick_tau)
import train_ref  # noqa: E402  (write_st64, peft_name, MODULES)

D = torch.float64
THINK_OPEN, THINK_CLOSE = 90, 91
VARIANTS = {
    "qwen3_untied": model_ref.base_cfg("Qwen3ForCausalLM", head_dim=16, rms_norm_eps=1e-5),
    "qwen2_tied": model_ref.base_cfg("Qwen2ForCausalLM", tie_word_embeddings=True, rope_theta=1000000.0),
}
# (name, beta, clip mode, top_k): clip 1 = token (tau picked between the step's token losses)
CASES = [("b050", 0.5, 0, 0), ("b000", 0.0, 0, 0), ("b100", 1.0, 0, 0), ("b025_top5_token", 0.25, 1, 5),
         ("b050_entry", 0.5, 2, 0)]
LORA_RANK, LORA_ALPHA = 4, 8.0


def think_mask(resp):
    """1 for a loss position; 0 inside <think>...</think> (both markers included)."""
    mask, inside = [], False
    for tok in resp:
        if not inside and tok == THINK_OPEN:
            inside = True
        mask.append(0 if inside else 1)
        if inside and tok == THINK_CLOSE:
            inside = False
    return mask


def step_loss(cfg, W_teacher, W_student, batch, beta, clip, tau, top_k, frm="teacher", tail="bucket", mean="token",
              is_clip=0.0, rollout_lp=None, student_lp=None):
    """The step's loss (token mean by default; mean "sequence": per sequence, then
    over sequences; is_clip > 0: each position weighted by min(p_S(y)/p_rollout(y),
    is_clip), detached), the per-token losses/terms, and the gap (a token mean).
    student_lp: a list that receives each sequence's log p_S(y_t) at its loss rows."""
    total = sum(sum(b["mask"]) for b in batch)
    n_seq = sum(1 for b in batch if sum(b["mask"]))
    loss, gap, token_losses, token_terms = 0.0, 0.0, [], []
    for si, b in enumerate(batch):
        resp, mask = b["response"], b["mask"]
        t_ids, s_ids = b["teacher_prompt"] + resp[:-1], b["student_prompt"] + resp[:-1]
        with torch.no_grad():
            t_logits = model_ref.forward(cfg, W_teacher, t_ids)
        s_logits = model_ref.forward(cfg, W_student, s_ids)
        tp, sp = len(b["teacher_prompt"]), len(b["student_prompt"])
        rows = [i for i in range(len(resp)) if mask[i]]
        t_rows = t_logits[[tp - 1 + i for i in rows]].to(D)
        s_rows = s_logits[[sp - 1 + i for i in rows]].to(D)
        per_token, terms = nn_ref.jsd_loss(s_rows, t_rows, beta, clip, tau, top_k, frm, tail)
        targets = torch.tensor([resp[i] for i in rows])
        lt, ls = torch.log_softmax(t_rows, -1), torch.log_softmax(s_rows.detach(), -1)
        lp_cur = ls.gather(-1, targets[:, None])[:, 0]
        if student_lp is not None:
            student_lp.append(lp_cur)
        w = torch.ones_like(lp_cur)
        if is_clip:
            w = torch.clamp(torch.exp(lp_cur - torch.tensor([rollout_lp[si][i] for i in rows], dtype=D)), max=is_clip)
        scale = 1.0 / total if mean == "token" else 1.0 / (n_seq * len(rows))
        loss = loss + (w * per_token).sum() * scale
        gap += float((lt.gather(-1, targets[:, None]) - ls.gather(-1, targets[:, None])).sum()) / total
        token_losses.append(per_token.detach())
        token_terms.append(terms.detach())
    same_width = len({t.shape[1] for t in token_terms}) == 1  # a union's supports differ in size
    return loss, gap, torch.cat(token_losses), torch.cat(token_terms) if same_width else None


def lora_weights(cfg, base, gen):
    H, I = cfg["hidden_size"], cfg["intermediate_size"]
    hd = cfg.get("head_dim") or H // cfg["num_attention_heads"]
    qd, kvd = cfg["num_attention_heads"] * hd, cfg["num_key_value_heads"] * hd
    dims = {"self_attn.q_proj": (H, qd), "self_attn.k_proj": (H, kvd), "self_attn.v_proj": (H, kvd),
            "self_attn.o_proj": (qd, H), "mlp.gate_proj": (H, I), "mlp.up_proj": (H, I), "mlp.down_proj": (I, H)}
    adapters = {}
    for l in range(cfg["num_hidden_layers"]):
        for m in train_ref.MODULES:
            fan_in, fan_out = dims[m]
            A = ((torch.rand(LORA_RANK, fan_in, generator=gen, dtype=D) * 2 - 1) / fan_in ** 0.5).float()
            B = (torch.randn(fan_out, LORA_RANK, generator=gen, dtype=D) * 0.1).float()
            adapters[train_ref.peft_name(l, m, "A")] = A
            adapters[train_ref.peft_name(l, m, "B")] = B
    return adapters


def lora_student(cfg, base, leaves):
    W = dict(base)
    s = LORA_ALPHA / LORA_RANK
    for l in range(cfg["num_hidden_layers"]):
        for m in train_ref.MODULES:
            key = f"model.layers.{l}.{m}.weight"
            W[key] = base[key] + s * (leaves[train_ref.peft_name(l, m, "B")] @ leaves[train_ref.peft_name(l, m, "A")])
    return W


def main():
    out = sys.argv[1]
    for vi, (name, cfg) in enumerate(sorted(VARIANTS.items())):
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        gen = torch.Generator().manual_seed(5150 + vi)
        W32 = model_ref.make_weights(cfg, gen)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        decoded = model_ref.write_safetensors(os.path.join(d, "model.safetensors"), list(W32.items()), "float32")
        base = {k: v.detach().to(D) for k, v in decoded.items()}
        V = cfg["vocab_size"]

        def ids(n):
            return torch.randint(0, 80, (n,), generator=gen).tolist()
        resp2 = ids(2) + [THINK_OPEN] + ids(3) + [THINK_CLOSE] + ids(4)
        batch = [{"student_prompt": ids(5), "teacher_prompt": ids(11), "response": ids(7)},
                 {"student_prompt": ids(4), "teacher_prompt": ids(9), "response": resp2}]
        for b in batch:
            b["mask"] = think_mask(b["response"])
        ref = {"batch": batch, "think_open": THINK_OPEN, "think_close": THINK_CLOSE, "cases": []}
        for case, beta, clip, top_k in CASES:
            tau = 0.0
            if clip:
                with torch.no_grad():
                    _, _, tl, terms = step_loss(cfg, base, base_perturbed(base, gen_case(case)), batch, beta, 0, 0.0,
                                                top_k)
                tau = float(torch.tensor(nn_ref.pick_tau((tl if clip == 1 else terms).numpy()),
                                         dtype=torch.float32))
            # full fine-tuning: the student starts away from the teacher (a perturbed copy) so the loss is not 0
            Ws = {k: v.clone().requires_grad_() for k, v in base_perturbed(base, gen_case(case)).items()}
            loss, gap, _, _ = step_loss(cfg, base, Ws, batch, beta, clip, tau, top_k)
            loss.backward()
            model_ref.write_safetensors(os.path.join(d, f"student_{case}.safetensors"),
                                        [(k, v.detach().float()) for k, v in Ws.items()], "float32")
            train_ref.write_st64(os.path.join(d, f"grads_{case}.safetensors"), [(k, v.grad) for k, v in Ws.items()])
            entry = {"name": case, "beta": beta, "clip": clip, "tau": tau, "top_k": top_k, "loss": loss.item(),
                     "gap": gap}
            if case == "b050":  # LoRA: teacher = base, student = base + s B A
                adapters = lora_weights(cfg, base, torch.Generator().manual_seed(77 + vi))
                leaves = {k: v.to(D).requires_grad_() for k, v in adapters.items()}
                lloss, lgap, _, _ = step_loss(cfg, base, lora_student(cfg, base, leaves), batch, beta, 0, 0.0, 0)
                lloss.backward()
                ad = os.path.join(d, "adapter")
                os.makedirs(ad, exist_ok=True)
                model_ref.write_safetensors(os.path.join(ad, "adapter_model.safetensors"), list(adapters.items()),
                                            "float32")
                with open(os.path.join(ad, "adapter_config.json"), "w") as f:
                    json.dump({"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": LORA_RANK,
                               "lora_alpha": LORA_ALPHA, "lora_dropout": 0.0, "bias": "none",
                               "fan_in_fan_out": False, "use_rslora": False, "target_modules": [
                                   "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
                               "base_model_name_or_path": d, "inference_mode": True}, f, indent=2)
                train_ref.write_st64(os.path.join(d, "lora_grads.safetensors"),
                                     [(k, v.grad) for k, v in leaves.items()])
                entry["lora_loss"], entry["lora_gap"] = lloss.item(), lgap
            ref["cases"].append(entry)
        ref["variants"] = variants(cfg, base, batch, d, vi)
        with open(os.path.join(d, "rgsd.json"), "w") as f:
            json.dump(ref, f)


# Issue 14's variants: (name, beta, top_k, topk_from, topk_tail, teacher, mean, is_clip, lora).
# teacher: "base" (frozen), "student" (live), "ema" (EMA_DECAY x the student + (1 - EMA_DECAY) x the
# base for full fine-tuning; for LoRA the adapters' average after the adapters were doubled:
# EMA_DECAY x (A, B) + (1 - EMA_DECAY) x (2A, 2B)).
EMA_DECAY = 0.75
VARIANT_CASES = [
    ("top4_student", 0.5, 4, "student", "bucket", "base", "token", 0.0, False),
    ("top4_union", 0.5, 4, "union", "bucket", "base", "token", 0.0, False),
    ("top4_teacher_renorm_fkl", 0.0, 4, "teacher", "renorm", "base", "token", 0.0, False),
    ("top4_union_renorm_rkl", 1.0, 4, "union", "renorm", "base", "token", 0.0, False),
    ("top4_student_renorm", 0.25, 4, "student", "renorm", "base", "token", 0.0, False),
    ("live", 0.5, 0, "teacher", "bucket", "student", "token", 0.0, False),
    ("ema", 0.5, 0, "teacher", "bucket", "ema", "token", 0.0, False),
    ("seqmean", 0.5, 0, "teacher", "bucket", "base", "sequence", 0.0, False),
    ("isw", 0.5, 0, "teacher", "bucket", "base", "token", 1.3, False),
    ("isw_seq_union_renorm", 0.5, 4, "union", "renorm", "base", "sequence", 1.3, False),
    ("lora_live", 0.5, 0, "teacher", "bucket", "student", "token", 0.0, True),
    ("lora_ema", 0.5, 0, "teacher", "bucket", "ema", "token", 0.0, True),
]


def rollout_logprobs(cfg, Ws, batch, is_clip, gen):
    """Made-up rollout log-probs: log p_S(y) + delta, delta in (-0.6, 0.6) kept 0.03 away from the
    clip (ratio exp(-delta) vs is_clip), rounded to float32 as the C side stores them."""
    lps = []
    with torch.no_grad():
        step_loss(cfg, Ws, Ws, batch, 0.5, 0, 0.0, 0, student_lp=lps)
    out = []
    for b, lp in zip(batch, lps):
        rows = [i for i in range(len(b["response"])) if b["mask"][i]]
        seq = [0.0] * len(b["response"])
        for r, i in enumerate(rows):
            while True:
                delta = float(torch.rand(1, generator=gen, dtype=D)) * 1.2 - 0.6
                v = float(torch.tensor(float(lp[r]) + delta, dtype=torch.float32))
                if abs((float(lp[r]) - v) - math.log(is_clip)) > 0.03:
                    break
            seq[i] = v
        out.append(seq)
    return out


def variants(cfg, base, batch, d, vi):
    out = []
    for name, beta, top_k, frm, tail, teacher, mean, is_clip, lora in VARIANT_CASES:
        gen = gen_case(name)
        entry = {"name": name, "beta": beta, "top_k": top_k, "topk_from": frm, "topk_tail": tail,
                 "teacher": teacher, "ema_decay": EMA_DECAY, "mean": mean, "is_clip": is_clip, "lora": lora}
        if lora:
            adapters = lora_weights(cfg, base, torch.Generator().manual_seed(77 + vi))  # = d/adapter
            leaves = {k: v.to(D).requires_grad_() for k, v in adapters.items()}
            Ws = lora_student(cfg, base, leaves)
            if teacher == "student":
                Wt = {k: v.detach() for k, v in Ws.items()}
            else:
                k_ = EMA_DECAY + (1 - EMA_DECAY) * 2  # each of A, B scaled by 1.25
                Wt = lora_student(cfg, base, {k: k_ * v.detach() for k, v in leaves.items()})
        else:
            Ws = {k: v.clone().requires_grad_() for k, v in base_perturbed(base, gen).items()}
            Wt = base if teacher == "base" else {k: v.detach() for k, v in Ws.items()} if teacher == "student" else \
                {k: EMA_DECAY * v.detach() + (1 - EMA_DECAY) * base[k] for k, v in Ws.items()}
        rlp = rollout_logprobs(cfg, {k: v.detach() for k, v in Ws.items()}, batch, is_clip, gen) if is_clip else None
        loss, gap, _, _ = step_loss(cfg, Wt, Ws, batch, beta, 0, 0.0, top_k, frm, tail, mean, is_clip, rlp)
        leaf_list = list(leaves.values()) if lora else list(Ws.values())
        grads = torch.autograd.grad(loss, leaf_list, retain_graph=True)
        for leaf, g in zip(leaf_list, grads):
            leaf.grad = g
        entry.update(loss=loss.item(), gap=gap, rollout_logprobs=rlp)
        check_distinct(cfg, Wt, Ws, base, batch, entry, rlp, leaf_list, grads)
        if lora:
            train_ref.write_st64(os.path.join(d, f"grads_v_{name}.safetensors"),
                                 [(k, v.grad) for k, v in leaves.items()])
        else:
            model_ref.write_safetensors(os.path.join(d, f"student_v_{name}.safetensors"),
                                        [(k, v.detach().float()) for k, v in Ws.items()], "float32")
            train_ref.write_st64(os.path.join(d, f"grads_v_{name}.safetensors"), [(k, v.grad) for k, v in Ws.items()])
        out.append(entry)
    return out


def check_distinct(cfg, Wt, Ws, base, batch, e, rlp, leaves, grads):
    """The test data tells the variants apart: a wrongly wired variant (another support, the tail
    instead of renormalising, no weight, no sequence mean, another teacher) misses the reference
    loss, or some gradient tensor, by over 100 times the C test's tolerance (2e-5 on the loss,
    5e-5 of the tensor's largest value on a gradient)."""
    def other(**kw):
        a = dict(top_k=e["top_k"], frm=e["topk_from"], tail=e["topk_tail"], mean=e["mean"], is_clip=e["is_clip"],
                 Wt=Wt)
        a.update(kw)
        loss = step_loss(cfg, a["Wt"], Ws, batch, e["beta"], 0, 0.0, a["top_k"], a["frm"], a["tail"], a["mean"],
                         a["is_clip"], rlp)[0]
        return loss.item(), torch.autograd.grad(loss, leaves, retain_graph=True)
    alts = {}
    if e["top_k"]:
        for f in ("teacher", "student", "union"):
            if f != e["topk_from"]:
                alts["from " + f] = other(frm=f)
        alts["other tail"] = other(tail="bucket" if e["topk_tail"] == "renorm" else "renorm")
        alts["full vocabulary"] = other(top_k=0)
        with torch.no_grad():
            s_rows, t_rows = support_check_rows(cfg, Wt, Ws, batch)
        t_sup = nn_ref.support_rows(s_rows, t_rows, e["top_k"], "teacher")
        s_sup = nn_ref.support_rows(s_rows, t_rows, e["top_k"], "student")
        assert any(a != b for a, b in zip(t_sup, s_sup)), "student and teacher supports agree everywhere"
    if e["mean"] == "sequence":
        alts["token mean"] = other(mean="token")
    if e["is_clip"]:
        alts["no weight"] = other(is_clip=0.0)
        alts["no clip"] = other(is_clip=1e9)
    if e["teacher"] != "base":
        alts["frozen teacher"] = other(Wt=base)
    for what, (loss, g) in alts.items():
        loss_off = abs(loss - e["loss"]) / (2e-5 * max(1.0, abs(e["loss"])))
        grad_off = max(float((a - b).abs().max()) / (5e-5 * max(1e-3, float(b.abs().max()))) for a, b in zip(g, grads))
        assert max(loss_off, grad_off) > 100, (e["name"], what, loss_off, grad_off)


def support_check_rows(cfg, Wt, Ws, batch):
    """The loss rows' student and teacher logits over the batch (for the support checks)."""
    s_all, t_all = [], []
    for b in batch:
        resp, mask = b["response"], b["mask"]
        t_logits = model_ref.forward(cfg, Wt, b["teacher_prompt"] + resp[:-1])
        s_logits = model_ref.forward(cfg, Ws, b["student_prompt"] + resp[:-1])
        tp, sp = len(b["teacher_prompt"]), len(b["student_prompt"])
        rows = [i for i in range(len(resp)) if mask[i]]
        t_all.append(t_logits[[tp - 1 + i for i in rows]].to(D))
        s_all.append(s_logits[[sp - 1 + i for i in rows]].to(D))
    return torch.cat(s_all), torch.cat(t_all)


def gen_case(case):
    return torch.Generator().manual_seed(sum(map(ord, case)))


def base_perturbed(base, gen):
    """The student's starting weights: base + noise, rounded to float32 (what the C side loads)."""
    return {k: (v + 0.05 * torch.randn(v.shape, generator=gen, dtype=D) * (v.abs().mean() + 0.01)).float().to(D)
            for k, v in base.items()}


if __name__ == "__main__":
    main()
