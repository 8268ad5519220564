#!/usr/bin/python3
"""world_pilot.py — a PyTorch pilot of the demo the rubric world is built for.

NOT a test (minutes of CPU): evidence that the world is learnable by a tiny
model in the way `make demo` needs. It SFTs a tiny causal transformer on
sft.jsonl, measures the conditioning gap (held-out score with the rubric in
context minus without), then runs RGSD (one on-policy rollout per prompt,
teacher = the frozen SFT model with the teacher prompt, generalized JSD
beta=0.5 on the response tokens, zero judge calls) on train prompts and
reports the held-out score before and after.

Usage: /usr/bin/python3 tests/ref/world_pilot.py WORLD_DIR [--sft-epochs 4] [--rgsd-steps 200]
"""
import argparse
import json
import math
import random
import re
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# ---- tokenizer: the world's texts pre-tokenize to single tokens (checked by test_world) ----
PRE = re.compile(r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n A-Za-z0-9]?[A-Za-z]+| [A-Za-z]+|[0-9]| ?[^\sA-Za-z0-9]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIAL = re.compile(r"(<\|endoftext\|>|<\|im_start\|>|<\|im_end\|>)")


def byte_char(b):
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    if b in printable:
        return chr(b)
    return chr(256 + sorted(set(range(256)) - set(printable)).index(b))


class Tok:
    def __init__(self, d):
        tj = json.load(open(f"{d}/tokenizer/tokenizer.json"))
        self.vocab = dict(tj["model"]["vocab"])
        for t in tj["added_tokens"]:
            self.vocab[t["content"]] = t["id"]
        self.inv = {i: s for s, i in self.vocab.items()}
        self.bc = {b: byte_char(b) for b in range(256)}
        self.cb = {c: b for b, c in self.bc.items()}
        self.n = max(self.vocab.values()) + 1
        self.eos = self.vocab["<|im_end|>"]

    def encode(self, text):
        ids = []
        for part in SPECIAL.split(text):
            if not part:
                continue
            if part in self.vocab and part.startswith("<|"):
                ids.append(self.vocab[part])
                continue
            for chunk in PRE.findall(part):
                ids.append(self.vocab["".join(self.bc[b] for b in chunk.encode())])  # one token per chunk
        return ids

    def decode(self, ids):
        out = bytearray()
        for i in ids:
            s = self.inv[i]
            if s.startswith("<|"):
                out += s.encode()
            else:
                out += bytes(self.cb[c] for c in s)
        return out.decode("utf-8", "replace")


def chat_prompt(user):
    return f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"


def teacher_prompt(request, rubric):
    lines = [f"{i}. {'Avoid: ' if c['weight'] < 0 else ''}{c['text']}" for i, c in enumerate(rubric, 1)]
    return (request + "\n\nA strong answer to this request meets the evaluation criteria below. They are private to you.\n"
            + "\n".join(lines) + "\nNow write your own complete answer to the request above. Satisfy the criteria "
            "naturally, as an expert would, without mentioning or quoting them.")


def score(rubric, response):
    got = sum(c["weight"] for c in rubric if any(re.search(p, response) for p in c["match"]))
    possible = sum(c["weight"] for c in rubric if c["weight"] > 0)
    return min(1.0, max(0.0, got / possible))


# ---- a tiny GPT ----
class Block(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h = h
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x, mask):
        B, T, D = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(B, T, 3, self.h, D // self.h).permute(2, 0, 3, 1, 4)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(D // self.h)
        att = att.masked_fill(mask[:T, :T] == 0, float("-inf")).softmax(-1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(B, T, D))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self, vocab, d=128, layers=3, heads=4, ctx=192):
        super().__init__()
        self.emb, self.pos = nn.Embedding(vocab, d), nn.Embedding(ctx, d)
        self.blocks = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.ln = nn.LayerNorm(d)
        self.register_buffer("mask", torch.tril(torch.ones(ctx, ctx)))
        for m in self.modules():  # GPT-2 initialisation
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)

    def forward(self, ids):
        x = self.emb(ids) + self.pos(torch.arange(ids.shape[1]))
        for b in self.blocks:
            x = b(x, self.mask)
        return self.ln(x) @ self.emb.weight.T


def pad(seqs, value=0):
    T = max(len(s) for s in seqs)
    return torch.tensor([s + [value] * (T - len(s)) for s in seqs])


@torch.no_grad()
def generate(model, prompts, tok, max_new=48, temperature=0.0, gen=None):
    """Left-aligned prompts of different lengths: decode position by position per row."""
    seqs = [list(p) for p in prompts]
    done = [False] * len(seqs)
    outs = [[] for _ in seqs]
    for _ in range(max_new):
        logits = model(pad(seqs))
        for i, s in enumerate(seqs):
            if done[i]:
                continue
            lg = logits[i, len(s) - 1]
            if temperature == 0:
                t = int(lg.argmax())
            else:
                t = int(torch.multinomial((lg / temperature).softmax(-1), 1, generator=gen))
            outs[i].append(t)
            s.append(t)
            if t == tok.eos:
                done[i] = True
        if all(done):
            break
    return outs


def evaluate(model, examples, tok, with_rubric, temperature=0.0, batch=50):
    scores, lengths = [], []
    model.eval()
    for i in range(0, len(examples), batch):
        chunk = examples[i:i + batch]
        users = [teacher_prompt(e["messages"][-1]["content"], e["rubric"]) if with_rubric else e["messages"][-1]["content"] for e in chunk]
        outs = generate(model, [tok.encode(chat_prompt(u)) for u in users], tok, temperature=temperature)
        for e, o in zip(chunk, outs):
            text = tok.decode([t for t in o if t != tok.eos])
            scores.append(score(e["rubric"], text))
            lengths.append(len(o))
    model.train()
    m = sum(scores) / len(scores)
    se = (sum((s - m) ** 2 for s in scores) / (len(scores) - 1)) ** 0.5 / len(scores) ** 0.5
    return m, se, sum(lengths) / len(lengths)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("world")
    ap.add_argument("--sft-epochs", type=float, default=4)
    ap.add_argument("--rgsd-steps", type=int, default=200)
    ap.add_argument("--rgsd-batch", type=int, default=16)
    ap.add_argument("--rgsd-eval-every", type=int, default=100)
    ap.add_argument("--rgsd-lr", type=float, default=1e-3)
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--eval-n", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--full-eval", action="store_true", help="also train prompts and temperature 1")
    ap.add_argument("--save", default=None)
    ap.add_argument("--load", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    random.seed(0)
    tok = Tok(args.world)
    rd = lambda n: [json.loads(l) for l in open(f"{args.world}/{n}")]
    train, heldout, sft = rd("train.jsonl"), rd("heldout.jsonl")[: args.eval_n], rd("sft.jsonl")
    model = GPT(tok.n, d=args.d, layers=args.layers)
    print(f"pilot: model {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters, vocab {tok.n}")

    if args.load:
        model.load_state_dict(torch.load(args.load))
    else:
        data = []
        for ex in sft:
            p = tok.encode(chat_prompt(ex["messages"][0]["content"]))
            a = tok.encode(ex["messages"][1]["content"] + "<|im_end|>")
            data.append((p + a, len(p)))
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
        steps = int(args.sft_epochs * len(data) / 32)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.1)
        t0 = time.time()
        data.sort(key=lambda x: len(x[0]))  # length buckets: little padding
        batches = [data[i:i + 32] for i in range(0, len(data), 32)]
        for step in range(steps):
            b = batches[random.randrange(len(batches))]
            ids = pad([s for s, _ in b])
            target = ids.clone()
            for i, (s, plen) in enumerate(b):
                target[i, :plen] = -100
                target[i, len(s):] = -100
            logits = model(ids[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, tok.n), target[:, 1:].reshape(-1), ignore_index=-100)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            if step % 100 == 0 or step == steps - 1:
                print(f"sft step {step}/{steps} loss {loss.item():.3f} ({time.time() - t0:.0f} s)", flush=True)
        print(f"pilot: SFT {time.time() - t0:.0f} s")
        if args.save:
            torch.save(model.state_dict(), args.save)

    for name, ex in (("held-out", heldout), ("train", train[: args.eval_n]))[: 2 if args.full_eval else 1]:
        for T in (0.0, 1.0)[: 2 if args.full_eval else 1]:
            wo = evaluate(model, ex, tok, False, T)
            w = evaluate(model, ex, tok, True, T)
            print(f"pilot: base on {name} T={T}: without rubric {wo[0]:.3f}±{wo[1]:.3f} (len {wo[2]:.1f}), "
                  f"with rubric {w[0]:.3f}±{w[1]:.3f} (len {w[2]:.1f}), gap {100 * (w[0] - wo[0]):.1f} points")

    # ---- RGSD: one rollout per prompt, teacher = frozen base with the rubric ----
    if args.rgsd_steps <= 0:
        return
    teacher = GPT(tok.n, d=args.d, layers=args.layers)
    teacher.load_state_dict(model.state_dict())
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=args.rgsd_lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(1)
    beta = 0.5
    t0 = time.time()
    for step in range(args.rgsd_steps):
        batch = random.sample(train, args.rgsd_batch)
        s_prompts = [tok.encode(chat_prompt(e["messages"][-1]["content"])) for e in batch]
        t_prompts = [tok.encode(chat_prompt(teacher_prompt(e["messages"][-1]["content"], e["rubric"]))) for e in batch]
        model.eval()
        ys = generate(model, s_prompts, tok, temperature=1.0, gen=gen)
        model.train()
        total, count = 0.0, 0
        s_seqs = [p + y for p, y in zip(s_prompts, ys)]
        t_seqs = [p + y for p, y in zip(t_prompts, ys)]
        s_logits = model(pad(s_seqs))
        with torch.no_grad():
            t_logits = teacher(pad(t_seqs))
        for i, y in enumerate(ys):
            ps, pt = len(s_prompts[i]), len(t_prompts[i])
            ls = s_logits[i, ps - 1: ps - 1 + len(y)].log_softmax(-1)
            lt = t_logits[i, pt - 1: pt - 1 + len(y)].log_softmax(-1)
            lm = torch.logsumexp(torch.stack([lt + math.log(beta), ls + math.log(1 - beta)]), 0)
            jsd = beta * (lt.exp() * (lt - lm)).sum(-1) + (1 - beta) * (ls.exp() * (ls - lm)).sum(-1)
            total = total + jsd.sum()
            count += len(y)
        loss = total / count
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 25 == 0 or step == args.rgsd_steps - 1:
            print(f"rgsd step {step} jsd {loss.item():.4f} ({time.time() - t0:.0f} s)", flush=True)
        if (step + 1) % args.rgsd_eval_every == 0 or step == args.rgsd_steps - 1:
            wo = evaluate(model, heldout, tok, False, 0.0)
            print(f"pilot: after {step + 1} RGSD steps ({time.time() - t0:.0f} s): held-out without rubric "
                  f"{wo[0]:.3f}±{wo[1]:.3f} (len {wo[2]:.1f})", flush=True)


if __name__ == "__main__":
    main()
