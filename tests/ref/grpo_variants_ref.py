"""Independent PyTorch reference for TRL's GRPO options in `rgsd grpo` (issue 14, item 6).

On the tiny random Qwen3 model of grpo_ref.py (its own copy: same seeds), two prompts x G = 3 fixed
rollouts, fixed rewards, fixed rollout-time log-probs. Written from TRL's GRPOTrainer definitions, in
float64 autograd, with TRL's padded [n, T] per-token loss and completion mask:

    advantages   (r - group mean) / (std + 1e-4), std = torch .std() (sample) of the group
                 [scale_rewards="group"] or of all the rewards [ "batch" ], or r - mean [ "none" ]
    per token    -min(rho A, clamp(rho, 1 - eps, 1 + eps_high) A) + beta (exp(ref - lp) - (ref - lp) - 1)
    mask         completion_mask, zeroed for truncated rollouts with mask_truncated_completions
    loss_type    grpo    ((l * m).sum(-1) / m.sum(-1).clamp(min=1)).mean()
                 bnpo    per micro-batch of 3 rollouts (one prompt): (l * m).sum() / m.sum().clamp(min=1),
                         divided by the 2 accumulation steps, summed
                 dr_grpo (l * m).sum() / (n * max_completion_length)          (L = 10)
                 dapo    (l * m).sum() / m.sum()                              (one process)

Cases: every loss type, batch / none scaling, epsilon_high, masked rollouts; gradients of every
parameter. Then num_iterations mu = 3: three torch.optim.AdamW steps on the same rollouts, each
against the rollout-time log-probs (= the starting policy's own), with the per-update loss, clipped
count (which must be > 0 after the first update: the clip acts) and the final weights.

Usage: /usr/bin/python3 grpo_variants_ref.py OUT_DIR
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grpo_ref  # noqa: E402  (token_logprobs, old_logprobs)
import model_ref  # noqa: E402
import rgsd_ref  # noqa: E402  (VARIANTS, base_perturbed)
import train_ref  # noqa: E402  (write_st64)

D = torch.float64
G = 3
REWARDS = [1.0, 0.0, 0.25, 0.5, 0.75, 0.5]
MASKED = [0, 1, 0, 0, 0, 1]
MAX_NEW = 10
MICRO = 3  # bnpo: rollouts per accumulation batch
# (name, loss_type, scale_rewards, eps, eps_high, beta, mask_truncated)
CASES = [("dapo", "dapo", "group", 0.2, 0.2, 0.01, False), ("bnpo", "bnpo", "group", 0.2, 0.28, 0.01, False),
         ("grpo", "grpo", "batch", 0.2, 0.2, 0.01, False), ("dr_grpo", "dr_grpo", "none", 0.2, 0.2, 0.01, False),
         ("dapo_masked", "dapo", "group", 0.2, 0.28, 0.04, True), ("bnpo_masked", "bnpo", "batch", 0.2, 0.2, 0.04, True),
         ("grpo_masked", "grpo", "group", 0.2, 0.2, 0.04, True), ("dr_grpo_masked", "dr_grpo", "group", 0.2, 0.2, 0.0, True)]
MU_CASE = {"loss_type": "grpo", "scale": "group", "eps": 0.1, "eps_high": 0.15, "beta": 0.04, "mu": 3}
MARGIN = 2e-3


def advantages(scale):
    r = torch.tensor(REWARDS, dtype=D)
    rg = r.view(-1, G)
    centred = (rg - rg.mean(dim=1, keepdim=True)).view(-1)
    if scale == "group":
        centred = centred / (rg.std(dim=1).repeat_interleave(G) + 1e-4)
    elif scale == "batch":
        centred = centred / (r.std() + 1e-4)
    return centred.tolist()


def per_token(cfg, W_ref, W, batch, adv, beta, eps, eps_high):
    """TRL's padded per_token_loss [n, T], completion mask [n, T] and the clipped mask."""
    n, T = len(batch), max(len(b["response"]) for b in batch)
    loss = torch.zeros(n, T, dtype=D)
    mask = torch.zeros(n, T, dtype=D)
    clipped = torch.zeros(n, T, dtype=torch.bool)
    rows = []
    for i, (b, A) in enumerate(zip(batch, adv)):
        lp = grpo_ref.token_logprobs(cfg, W, b)
        old = torch.tensor(b["old_logprobs"], dtype=torch.float32).to(D)
        rho = torch.exp(lp - old)
        l = -torch.min(rho * A, torch.clamp(rho, 1 - eps, 1 + eps_high) * A)
        if beta > 0:
            with torch.no_grad():
                ref = grpo_ref.token_logprobs(cfg, W_ref, b)
            d = ref - lp
            l = l + beta * (torch.exp(d) - d - 1)
        L = len(b["response"])
        rows.append(torch.cat([l, torch.zeros(T - L, dtype=D)]))
        mask[i, :L] = 1
        r = rho.detach()
        clipped[i, :L] = ((A > 0) & (r > 1 + eps_high)) | ((A < 0) & (r < 1 - eps))
    loss = torch.stack(rows)
    return loss, mask, clipped


def reduce_loss(loss_type, l, m):
    n = l.shape[0]
    if loss_type == "grpo":
        return ((l * m).sum(-1) / m.sum(-1).clamp(min=1.0)).mean()
    if loss_type == "bnpo":
        k = n // MICRO
        return sum((l[s:s + MICRO] * m[s:s + MICRO]).sum() / m[s:s + MICRO].sum().clamp(min=1.0) / k
                   for s in range(0, n, MICRO))
    if loss_type == "dr_grpo":
        return (l * m).sum() / (n * MAX_NEW)
    return (l * m).sum() / m.sum()


def case_loss(cfg, base, W, batch, c, masked):
    name, loss_type, scale, eps, eps_high, beta, mask_trunc = c
    adv = advantages(scale)
    l, m, clipped = per_token(cfg, base, W, batch, adv, beta, eps, eps_high)
    if mask_trunc:
        m = m * (1 - torch.tensor(masked, dtype=D))[:, None]
    loss = reduce_loss(loss_type, l, m)
    k3_free = l.detach()  # per-token loss (for the token means over unmasked tokens)
    ntok = m.sum()
    return loss, adv, float((k3_free * m).sum() / ntok), int((clipped & (m > 0)).sum())


def mu_run(cfg, base, W0, batch, lr, adam_eps):
    c = MU_CASE
    Ws = {k: v.clone().requires_grad_() for k, v in W0.items()}
    opt = torch.optim.AdamW(list(Ws.values()), lr=lr, betas=(0.9, 0.999), eps=adam_eps, weight_decay=0.0)
    adv = advantages(c["scale"])
    iters = []
    for _ in range(c["mu"]):
        opt.zero_grad()
        l, m, clipped = per_token(cfg, base, Ws, batch, adv, c["beta"], c["eps"], c["eps_high"])
        loss = reduce_loss(c["loss_type"], l, m)
        loss.backward()
        # ratios of this update, to keep every one clear of the clip boundaries
        with torch.no_grad():
            rhos = [torch.exp(grpo_ref.token_logprobs(cfg, Ws, b) -
                              torch.tensor(b["old_logprobs"], dtype=torch.float32).to(D)) for b in batch]
        iters.append({"loss": loss.item(), "clipped": int(clipped.sum()), "rhos": torch.cat(rhos).tolist()})
        opt.step()
    return Ws, iters


def main():
    out = sys.argv[1]
    name, cfg = "qwen3_untied", rgsd_ref.VARIANTS["qwen3_untied"]
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    gen = torch.Generator().manual_seed(7070)
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
    W_policy = rgsd_ref.base_perturbed(base, torch.Generator().manual_seed(77))
    model_ref.write_safetensors(os.path.join(d, "policy.safetensors"), [(k, v.float()) for k, v in W_policy.items()],
                                "float32")
    grpo_ref.old_logprobs(cfg, W_policy, batch, gen, [0.2, 0.28])
    ref = {"group_size": G, "rewards": REWARDS, "masked": MASKED, "max_new": MAX_NEW, "micro": MICRO,
           "batch": batch, "cases": []}
    for c in CASES:
        Ws = {k: v.clone().requires_grad_() for k, v in W_policy.items()}
        loss, adv, tok_mean, clipped = case_loss(cfg, base, Ws, batch, c, MASKED)
        loss.backward()
        train_ref.write_st64(os.path.join(d, f"grads_{c[0]}.safetensors"), [(k, v.grad) for k, v in Ws.items()])
        ref["cases"].append({"name": c[0], "loss_type": c[1], "scale": c[2], "eps": c[3], "eps_high": c[4],
                             "beta": c[5], "mask": c[6], "advantages": adv, "loss": loss.item(),
                             "token_mean": tok_mean, "clipped": clipped})
    # mu = 3: rollouts from the policy itself (old = its own log-probs, rounded to float32 as rgsd stores them)
    mbatch = [dict(b) for b in batch]
    with torch.no_grad():
        for b in mbatch:
            b["old_logprobs"] = [float(torch.tensor(x, dtype=torch.float32))
                                 for x in grpo_ref.token_logprobs(cfg, W_policy, b).tolist()]
    c = MU_CASE
    bounds = [1 - c["eps"], 1 + c["eps_high"]]
    ntok = sum(lens)
    for lr in (1e-4, 1.5e-4, 2e-4, 3e-4, 5e-4, 1e-3):  # the first with some, not all, tokens clipped after update 1
        Wf, iters = mu_run(cfg, base, W_policy, mbatch, lr, 1e-8)
        clear = all(abs(r - x) > MARGIN for it in iters[1:] for r in it["rhos"] for x in bounds)
        if clear and all(0 < it["clipped"] < ntok for it in iters[1:]):
            break
    else:
        raise SystemExit("grpo_variants_ref: no learning rate gives clipped tokens clear of the boundaries")
    train_ref.write_st64(os.path.join(d, "mu_weights.safetensors"), [(k, v.detach()) for k, v in Wf.items()])
    ref["mu"] = dict(c, lr=lr, adam_eps=1e-8, old_logprobs=[b["old_logprobs"] for b in mbatch],
                     iterations=[{"loss": it["loss"], "clipped": it["clipped"]} for it in iters])
    with open(os.path.join(d, "variants.json"), "w") as f:
        json.dump(ref, f)
    print("grpo variants: mu lr %g, clipped per update %s" % (lr, [it["clipped"] for it in iters]))


if __name__ == "__main__":
    main()
