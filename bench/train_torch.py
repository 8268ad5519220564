"""The PyTorch side of bench/train.c: one full fine-tuning step of a Qwen2-shaped
model (random weights, f32, tied embeddings, q/k/v bias), T tokens, cross-entropy
over every position, backward, AdamW -- torch 1.13 on 2 threads.
Usage: /usr/bin/python3 bench/train_torch.py T SMALL  -> prints "tokens_per_s X"."""
import math
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(2)
T, small = int(sys.argv[1]), int(sys.argv[2])
C, I, L, NH, NKV, HD, V = 896, 4864, 24, 14, 2, 64, 151936
if small:
    L, V = 2, 4096


class RMSNorm(torch.nn.Module):
    def __init__(self, n):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(n))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.weight


class Layer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.n1, self.n2 = RMSNorm(C), RMSNorm(C)
        self.q = torch.nn.Linear(C, NH * HD)
        self.k = torch.nn.Linear(C, NKV * HD)
        self.v = torch.nn.Linear(C, NKV * HD)
        self.o = torch.nn.Linear(NH * HD, C, bias=False)
        self.g = torch.nn.Linear(C, I, bias=False)
        self.u = torch.nn.Linear(C, I, bias=False)
        self.d = torch.nn.Linear(I, C, bias=False)

    def forward(self, x, cos, sin):
        h = self.n1(x)
        q = self.q(h).view(T, NH, HD).transpose(0, 1)
        k = self.k(h).view(T, NKV, HD).transpose(0, 1)
        v = self.v(h).view(T, NKV, HD).transpose(0, 1)

        def rope(t):
            t1, t2 = t[..., : HD // 2], t[..., HD // 2:]
            return t * cos + torch.cat((-t2, t1), -1) * sin

        q, k = rope(q), rope(k)
        k = k.repeat_interleave(NH // NKV, 0)
        v = v.repeat_interleave(NH // NKV, 0)
        s = q @ k.transpose(1, 2) / math.sqrt(HD)
        s = s.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
        a = (torch.softmax(s, -1) @ v).transpose(0, 1).reshape(T, NH * HD)
        x = x + self.o(a)
        h = self.n2(x)
        return x + self.d(F.silu(self.g(h)) * self.u(h))


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(V, C)
        self.layers = torch.nn.ModuleList([Layer() for _ in range(L)])
        self.norm = RMSNorm(C)

    def forward(self, ids):
        inv = 1.0 / (1e6 ** (torch.arange(0, HD, 2).float() / HD))
        ang = torch.arange(T).float()[:, None] * inv[None]
        cos, sin = torch.cat((ang.cos(), ang.cos()), -1), torch.cat((ang.sin(), ang.sin()), -1)
        x = self.embed(ids)
        for layer in self.layers:
            x = layer(x, cos, sin)
        return self.norm(x) @ self.embed.weight.T


model = Model()
opt = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.01)
ids = torch.tensor([(t * 7919 + 13) % V for t in range(T)])


def step():
    opt.zero_grad()
    logits = model(ids)
    loss = F.cross_entropy(logits[:-1], ids[1:])
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()


step()
t0 = time.time()
steps = 2
for _ in range(steps):
    step()
dt = (time.time() - t0) / steps
print(f"{dt:.2f} s/step")
print(f"tokens_per_s {T / dt:.2f}")
