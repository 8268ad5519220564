#!/usr/bin/python3
"""nn_ref.py OUTDIR — the independent reference for the nn kernels (src/nn).

PyTorch (Debian's 1.13) computes every forward value and every gradient by
autograd, in float64 from the very float32 (or bf16) inputs the C kernels get.
Kernels without a PyTorch counterpart (the JSD top-k tail bucket, the clip
modes) are written here by formula and differentiated by autograd, and
torch.autograd.gradcheck confirms those gradients by finite differences.

The training-side kernels (LoRA, the policy-gradient token head, AdamW) are
in nn_train.safetensors: LoRA and the policy loss by autograd in float64,
AdamW by torch.optim.AdamW itself on float32 tensors (the kernel follows its
single-tensor path operation for operation).

Output: one safetensors file per kernel group, OUTDIR/nn_<group>.safetensors,
written by hand: 8-byte little-endian header length, a JSON header
{name: {dtype, shape, data_offsets}}, then the raw little-endian data.
Tensor names are "<case>/<what>"; scalar parameters are 1-element tensors.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(int(os.environ.get("NN_REF_SEED", "1234")))
torch.set_num_threads(1)
D = torch.float64


class Writer:
    """Collects named arrays and writes them as one safetensors file."""

    def __init__(self):
        self.items = []

    def put(self, name, value, dtype=None):
        if isinstance(value, torch.Tensor):
            if value.dtype == torch.bfloat16:
                arr = value.contiguous().view(torch.int16).numpy().view(np.uint16)
                self.items.append((name, "BF16", list(value.shape), arr.tobytes()))
                return
            value = value.detach().numpy()
        arr = np.asarray(value)
        if dtype is not None:
            arr = arr.astype(dtype)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        code = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64",
                np.dtype(np.int32): "I32", np.dtype(np.uint8): "U8"}[arr.dtype]
        self.items.append((name, code, list(arr.shape), np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()))

    def write(self, path):
        header, offset = {}, 0
        for name, code, shape, data in self.items:
            header[name] = {"dtype": code, "shape": shape, "data_offsets": [offset, offset + len(data)]}
            offset += len(data)
        text = json.dumps(header).encode()
        text += b" " * ((8 - len(text) % 8) % 8)
        with open(path + ".tmp", "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for _, _, _, data in self.items:
                f.write(data)
        os.replace(path + ".tmp", path)


def f32(*shape, scale=1.0):
    """Random float32 values (what C gets) returned as float64 for the math."""
    return (torch.randn(*shape) * scale).float()


def leaf(x):
    return x.to(D).clone().requires_grad_(True)


# ---------------------------------------------------------------- dense ---
def dense(out):
    w = Writer()
    # linear f32: (N, in, out, bias); N <= 8 runs gemv.c (in > 1024 crosses its input chunks)
    for i, (N, fin, fout, bias) in enumerate([(1, 7, 5, True), (3, 13, 11, True), (37, 64, 19, False), (2, 96, 130, True), (5, 1103, 9, True), (8, 2051, 6, False)]):
        c = f"linear{i}"
        x, W, b, dy = f32(N, fin), f32(fout, fin, scale=0.2), f32(fout), f32(N, fout)
        xl, Wl, bl = leaf(x), leaf(W), leaf(b)
        y = xl @ Wl.T + (bl if bias else 0)
        y.backward(dy.to(D))
        for k, v in dict(x=x, W=W, b=b, dy=dy).items():
            w.put(f"{c}/{k}", v)
        w.put(f"{c}/has_bias", np.int32(bias))
        w.put(f"{c}/y", y.detach())
        w.put(f"{c}/dx", xl.grad)
        w.put(f"{c}/dW", Wl.grad)
        w.put(f"{c}/db", bl.grad if bias else torch.zeros(fout, dtype=D))
    # linear bf16: N spans the decode kernels (1..8) and the panel path (> 8; 1031 x 1100 takes two 4 MiB panels)
    for i, (N, fin, fout) in enumerate([(1, 37, 9), (2, 64, 5), (3, 37, 11), (5, 40, 3), (8, 96, 7), (9, 37, 300), (20, 64, 513), (4, 1031, 13), (1, 2051, 6), (7, 1100, 5), (9, 1031, 1100)]):
        c = f"bf16_{i}"
        x, W16, b, dy = f32(N, fin), f32(fout, fin, scale=0.2).to(torch.bfloat16), f32(fout), f32(N, fout)
        xl = leaf(x)
        y = xl @ W16.to(D).T + b.to(D)
        y.backward(dy.to(D))
        w.put(f"{c}/x", x)
        w.put(f"{c}/W", W16)
        w.put(f"{c}/b", b)
        w.put(f"{c}/dy", dy)
        w.put(f"{c}/y", y.detach())
        w.put(f"{c}/dx", xl.grad)
        # prefill with bf16 dot products (N > 8 where rgsd uses them): x rounded by torch first
        w.put(f"{c}/y_bf16_inputs", x.to(torch.bfloat16).to(D) @ W16.to(D).T + b.to(D))
    # embedding: repeated ids so the scatter-add adds up
    V, C, N = 11, 7, 9
    table, ids, dout = f32(V, C), torch.tensor([3, 0, 10, 3, 3, 5, 0, 9, 1], dtype=torch.int64), f32(N, C)
    tl = leaf(table)
    o = F.embedding(ids, tl)
    o.backward(dout.to(D))
    w.put("embedding/table", table)
    w.put("embedding/table_bf16", table.to(torch.bfloat16))
    w.put("embedding/out_bf16", table.to(torch.bfloat16).to(D)[ids])
    w.put("embedding/ids", ids.numpy(), np.int32)
    w.put("embedding/dout", dout)
    w.put("embedding/out", o.detach())
    w.put("embedding/dtable", tl.grad)
    # RMSNorm as HF LlamaRMSNorm / Qwen2RMSNorm (f32 compute), here in float64
    for i, (N, C, eps) in enumerate([(5, 13, 1e-6), (12, 64, 1e-5), (1, 896, 1e-6)]):
        c = f"rmsnorm{i}"
        x, weight, dy = f32(N, C, scale=2.0), (1.0 + f32(C, scale=0.1)), f32(N, C)
        xl, wl = leaf(x), leaf(weight)
        var = xl.pow(2).mean(-1, keepdim=True)
        y = wl * (xl * torch.rsqrt(var + eps))
        y.backward(dy.to(D))
        w.put(f"{c}/x", x); w.put(f"{c}/weight", weight); w.put(f"{c}/dy", dy)
        w.put(f"{c}/eps", np.float32(eps))
        w.put(f"{c}/y", y.detach()); w.put(f"{c}/dx", xl.grad); w.put(f"{c}/dweight", wl.grad)
    # SwiGLU: F.silu(gate) * up
    n = 37
    gate, up, dout = f32(n, scale=3.0), f32(n), f32(n)
    gl, ul = leaf(gate), leaf(up)
    o = F.silu(gl) * ul
    o.backward(dout.to(D))
    for k, v in dict(gate=gate, up=up, dout=dout, out=o.detach(), dgate=gl.grad, dup=ul.grad).items():
        w.put(f"swiglu/{k}", v)
    # softmax and log-softmax over rows
    N, V = 4, 33
    x, dy = f32(N, V, scale=3.0), f32(N, V)
    xl = leaf(x)
    y = torch.softmax(xl, -1)
    y.backward(dy.to(D))
    w.put("softmax/x", x); w.put("softmax/dy", dy); w.put("softmax/y", y.detach()); w.put("softmax/dx", xl.grad)
    xl = leaf(x)
    y = torch.log_softmax(xl, -1)
    y.backward(dy.to(D))
    w.put("log_softmax/y", y.detach()); w.put("log_softmax/dx", xl.grad)
    w.write(os.path.join(out, "nn_dense.safetensors"))


# ----------------------------------------------------------------- rope ---
def hf_inv_freq(theta, hd, scaling=None):
    """transformers modeling_rope_utils: _compute_default_rope_parameters and
    _compute_llama3_parameters, in float32 as HF runs them."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    if scaling is None:
        return inv_freq
    factor, low, high, old_len = scaling
    low_freq_wavelen = old_len / low
    high_freq_wavelen = old_len / high
    wavelen = 2 * math.pi / inv_freq
    inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth_factor = (old_len / wavelen - low) / (high - low)
    smoothed = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
    is_medium = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    return torch.where(is_medium, smoothed, inv_freq_llama)


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rope(out):
    w = Writer()
    cases = [
        # theta, hd, n_heads, positions, llama3 scaling (factor, low, high, original_max)
        (10000.0, 64, 3, [0, 1, 2, 3, 4], None),
        (1000000.0, 10, 2, [7, 100, 4095, 30001], None),
        (500000.0, 64, 2, [0, 1, 17, 8191, 20000, 131071], (8.0, 1.0, 4.0, 8192)),
        (500000.0, 128, 1, [5, 9000], (32.0, 1.0, 4.0, 8192)),
    ]
    for i, (theta, hd, nh, pos, scaling) in enumerate(cases):
        c = f"rope{i}"
        T = len(pos)
        inv_freq = hf_inv_freq(theta, hd, scaling)
        position_ids = torch.tensor([pos], dtype=torch.int64)
        # HF LlamaRotaryEmbedding.forward (float32)
        freqs = (inv_freq[None, :, None].float() @ position_ids[:, None, :].float()).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[0], emb.sin()[0]  # [T, hd]
        x, dy = f32(T, nh, hd), f32(T, nh, hd)
        xl = leaf(x)
        # apply_rotary_pos_emb on [T, heads, hd] (unsqueeze over heads)
        y = xl * cos.to(D)[:, None, :] + rotate_half(xl) * sin.to(D)[:, None, :]
        y.backward(dy.to(D))
        w.put(f"{c}/theta", np.float32(theta)); w.put(f"{c}/hd", np.int32(hd)); w.put(f"{c}/n_heads", np.int32(nh))
        w.put(f"{c}/positions", np.array(pos, dtype=np.int32))
        llama3 = scaling is not None
        w.put(f"{c}/llama3", np.int32(llama3))
        w.put(f"{c}/scaling", np.array(scaling if llama3 else (0, 0, 0, 0), dtype=np.float32))
        w.put(f"{c}/inv_freq", inv_freq)
        w.put(f"{c}/cos", cos[:, : hd // 2].contiguous()); w.put(f"{c}/sin", sin[:, : hd // 2].contiguous())
        w.put(f"{c}/x", x); w.put(f"{c}/dy", dy); w.put(f"{c}/y", y.detach()); w.put(f"{c}/dx", xl.grad)
    w.write(os.path.join(out, "nn_rope.safetensors"))


# ------------------------------------------------------------ attention ---
def causal_gqa(q, k, v, n_rep, P=0):
    """q[T, nh, hd], k/v[L, nkv, hd]; query t sits at position P + t. As HF
    eager attention: repeat_kv, scores * 1/sqrt(hd), causal mask, softmax in f32."""
    T, nh, hd = q.shape
    L = k.shape[0]
    k = k.repeat_interleave(n_rep, dim=1)
    v = v.repeat_interleave(n_rep, dim=1)
    scores = torch.einsum("thd,lhd->htl", q, k) / math.sqrt(hd)
    mask = torch.arange(L)[None, :] > (torch.arange(T)[:, None] + P)
    scores = scores.masked_fill(mask[None], float("-inf"))
    probs = torch.softmax(scores, dim=-1)
    return torch.einsum("htl,lhd->thd", probs, v)


def attention(out):
    w = Writer()
    for i, (T, nh, nkv, hd) in enumerate([(7, 2, 2, 64), (9, 4, 2, 16), (6, 7, 1, 10), (70, 4, 2, 8), (13, 14, 2, 64), (130, 4, 2, 64)]):
        c = f"attn{i}"
        q, k, v, dy = f32(T, nh, hd), f32(T, nkv, hd), f32(T, nkv, hd), f32(T, nh, hd)
        ql, kl, vl = leaf(q), leaf(k), leaf(v)
        o = causal_gqa(ql, kl, vl, nh // nkv)
        o.backward(dy.to(D))
        w.put(f"{c}/dims", np.array([T, nh, nkv, hd], dtype=np.int32))
        for k_, v_ in dict(q=q, k=k, v=v, dout=dy, out=o.detach(), dq=ql.grad, dk=kl.grad, dv=vl.grad).items():
            w.put(f"{c}/{k_}", v_)
    # with a KV prefix: prefill after a cache, and single-token decode
    for i, (P, T, nh, nkv, hd) in enumerate([(5, 3, 4, 2, 16), (9, 1, 7, 1, 10), (0, 6, 2, 2, 64), (70, 2, 14, 2, 64)]):
        c = f"cached{i}"
        q, k, v = f32(T, nh, hd), f32(P + T, nkv, hd), f32(P + T, nkv, hd)
        o = causal_gqa(q.to(D), k.to(D), v.to(D), nh // nkv, P)
        w.put(f"{c}/dims", np.array([P, T, nh, nkv, hd], dtype=np.int32))
        w.put(f"{c}/q", q); w.put(f"{c}/k", k); w.put(f"{c}/v", v); w.put(f"{c}/out", o)
    # packed: several segments of different lengths back to back, each its own
    # causal attention (the reference runs them one by one and concatenates)
    for i, (lens, nh, nkv, hd) in enumerate([((5, 70, 1, 33), 4, 2, 16), ((130, 7, 64), 14, 2, 64), ((9,), 7, 1, 10)]):
        c = f"packed{i}"
        N = sum(lens)
        q, k, v, dy = f32(N, nh, hd), f32(N, nkv, hd), f32(N, nkv, hd), f32(N, nh, hd)
        ql, kl, vl = leaf(q), leaf(k), leaf(v)
        starts = np.cumsum((0,) + lens).astype(np.int32)
        o = torch.cat([causal_gqa(ql[a:b], kl[a:b], vl[a:b], nh // nkv) for a, b in zip(starts[:-1], starts[1:])])
        o.backward(dy.to(D))
        w.put(f"{c}/dims", np.array([len(lens), nh, nkv, hd], dtype=np.int32))
        w.put(f"{c}/seq_start", starts)
        for k_, v_ in dict(q=q, k=k, v=v, dout=dy, out=o.detach(), dq=ql.grad, dk=kl.grad, dv=vl.grad).items():
            w.put(f"{c}/{k_}", v_)
    w.write(os.path.join(out, "nn_attention.safetensors"))


# ------------------------------------------------------------ losses ------
def cross_entropy(w):
    N, V = 6, 50
    logits = f32(N, V, scale=3.0)
    targets = torch.randint(0, V, (N,))
    targets[2] = -100  # ignore index
    mask = torch.tensor([1, 1, 1, 0, 1, 1], dtype=torch.uint8)
    counted = (targets != -100) & (mask == 1)
    count = int(counted.sum())
    xl = leaf(logits)
    token_loss = F.cross_entropy(xl, targets.clamp(min=0), reduction="none") * counted
    (token_loss.sum() / count).backward()
    w.put("ce/logits", logits); w.put("ce/targets", targets.numpy(), np.int32); w.put("ce/mask", mask.numpy())
    w.put("ce/token_loss", token_loss.detach()); w.put("ce/loss_sum", token_loss.sum().detach())
    w.put("ce/count", np.int32(count)); w.put("ce/dlogits", xl.grad)


def bucket_log_probs(logp, idx):
    """log-probs of the teacher's top-k entries and of the tail bucket (the rest)."""
    top = logp.gather(-1, idx)
    rest = logp.masked_fill(torch.zeros_like(logp, dtype=torch.bool).scatter(-1, idx, True), float("-inf"))
    return torch.cat([top, torch.logsumexp(rest, -1, keepdim=True)], -1)


def jsd_terms(ls, lt, beta):
    """Per-entry terms of the generalized JSD, by formula (log space)."""
    if beta == 0.0:
        return lt.exp() * (lt - ls)                       # KL(P_T || P_S)
    if beta == 1.0:
        return ls.exp() * (ls - lt)                       # KL(P_S || P_T)
    lm = torch.logsumexp(torch.stack([lt + math.log(beta), ls + math.log(1 - beta)]), 0)
    return beta * lt.exp() * (lt - lm) + (1 - beta) * ls.exp() * (ls - lm)


def support_rows(s, t, top_k, frm):
    """Per row, the sorted support: the teacher's top-k, the student's, or the union."""
    rows = []
    for n in range(s.shape[0]):
        ti = set(torch.topk(t[n], top_k).indices.tolist())
        si = set(torch.topk(s[n].detach(), top_k).indices.tolist())
        rows.append(sorted(ti if frm == "teacher" else si if frm == "student" else ti | si))
    return rows


def jsd_loss(s, t, beta, clip, tau, top_k, frm="teacher", tail="bucket"):
    """Per-token loss [N] and per-entry terms [N, B] for student logits s (with grad).
    top_k: the support is frm's top-k entries (teacher | student | union) with
    one tail bucket (tail "bucket") or renormalised over it (tail "renorm");
    a union's rows differ in size, so the terms are padded with zeros."""
    ls, lt = torch.log_softmax(s, -1), torch.log_softmax(t, -1)
    if top_k and (frm != "teacher" or tail != "bucket"):
        per_row = []
        for n, sup in enumerate(support_rows(s, t, top_k, frm)):
            idx = torch.tensor(sup)
            a, b = ls[n, idx], lt[n, idx]
            if tail == "renorm" or len(sup) == s.shape[-1]:
                a, b = a - torch.logsumexp(a, -1), b - torch.logsumexp(b, -1)
            else:
                a, b = bucket_log_probs(ls[n:n + 1], idx[None])[0], bucket_log_probs(lt[n:n + 1], idx[None])[0]
            per_row.append(jsd_terms(a, b, beta))
        width = max(len(r) for r in per_row)
        terms = torch.stack([torch.cat([r, r.new_zeros(width - len(r))]) for r in per_row])
        return clip_loss(terms, clip, tau), terms
    if top_k:
        idx = torch.topk(t, top_k, dim=-1).indices
        ls, lt = bucket_log_probs(ls, idx), bucket_log_probs(lt, idx)
    terms = jsd_terms(ls, lt, beta)
    return clip_loss(terms, clip, tau), terms


def clip_loss(terms, clip, tau):
    """Per-token loss from per-entry terms under a clip mode."""
    if clip == 1:    # token: min(D, tau), no gradient where clipped
        d = terms.sum(-1)
        return torch.where(d > tau, torch.full_like(d, tau), d)
    if clip == 2:    # entry: sum_i min(d_i, tau)
        return torch.where(terms > tau, torch.full_like(terms, tau), terms).sum(-1)
    return terms.sum(-1)


def pick_tau(values):
    """A threshold in the widest (ratio) gap among the middle of the values
    above 1e-6, so the float32 kernel and this float64 reference agree on
    what is clipped (terms below float32's reach are never near tau)."""
    v = np.unique(np.asarray(values).ravel())
    v = v[v > 1e-6]
    if len(v) < 2:
        return float(v[0] * 2) if len(v) else 1.0
    lo, hi = len(v) // 4, max(len(v) * 3 // 4, len(v) // 4 + 1)
    hi = min(hi, len(v) - 1)
    ratios = v[lo + 1:hi + 1] / v[lo:hi]
    j = lo + int(np.argmax(ratios))
    return float(math.sqrt(v[j] * v[j + 1]))


TOPK_FROM = {"teacher": 0, "student": 1, "union": 2}
TOPK_TAIL = {"bucket": 0, "renorm": 1}


def jsd_case(w, case, s, t, beta, clip, top_k, frm="teacher", tail="bucket"):
    """One JSD case: reference loss, gradient, clip counts, gap, entropy."""
    N, V = s.shape
    targets = torch.randint(0, V, (N,))
    mask = torch.tensor([1, 1, 0, 1, 1, 1], dtype=torch.uint8)
    tau = 0.0
    if clip:
        with torch.no_grad():
            loss0, terms0 = jsd_loss(s.to(D), t.to(D), beta, 0, 0.0, top_k, frm, tail)
        tau = pick_tau(loss0.numpy() if clip == 1 else terms0.numpy())
    tau = float(np.float32(tau))
    sl = leaf(s)
    token_loss, terms = jsd_loss(sl, t.to(D), beta, clip, tau, top_k, frm, tail)
    token_loss = token_loss * mask
    grad_scale = 0.5
    (token_loss.sum() * grad_scale).backward()
    with torch.no_grad():
        m = mask.bool()
        if clip == 1:
            clipped = float(((terms.sum(-1) > tau) & m).sum()); total = float(m.sum())
        elif clip == 2:  # entries per row: the support (a union's varies) + the tail bucket
            widths = torch.full((N,), terms.shape[1])
            if top_k and (frm != "teacher" or tail != "bucket"):
                widths = torch.tensor([len(r) + (tail == "bucket" and len(r) < V) for r in support_rows(s, t, top_k, frm)])
            clipped = float(((terms > tau) & m[:, None]).sum()); total = float((widths * m).sum())
        else:
            clipped, total = 0.0, float(m.sum())
        ls_full, lt_full = torch.log_softmax(s.to(D), -1), torch.log_softmax(t.to(D), -1)
        gap = (lt_full.gather(-1, targets[:, None]) - ls_full.gather(-1, targets[:, None]))[:, 0] * mask
        entropy = -(ls_full.exp() * ls_full).sum(-1) * mask
    assert torch.isfinite(sl.grad).all() and torch.isfinite(token_loss).all()
    c = f"jsd{case}"
    w.put(f"{c}/config", np.array([beta, clip, tau, top_k, grad_scale, TOPK_FROM[frm], TOPK_TAIL[tail]],
                                  dtype=np.float64))
    w.put(f"{c}/student", s); w.put(f"{c}/teacher", t)
    w.put(f"{c}/targets", targets.numpy(), np.int32); w.put(f"{c}/mask", mask.numpy())
    w.put(f"{c}/token_loss", token_loss.detach()); w.put(f"{c}/dstudent", sl.grad)
    w.put(f"{c}/clip_counts", np.array([clipped, total], dtype=np.float64))
    w.put(f"{c}/gap", gap); w.put(f"{c}/entropy", entropy)


def jsd(w):
    # V = 43: 8-wide blocks and a scalar tail in the kernel
    N, V = 6, 43
    case = 0
    sanity_s, sanity_t = f32(3, V, scale=2.0).to(D), f32(3, V, scale=2.0).to(D)
    # beta = 0 and 1 match PyTorch's own kl_div
    fkl = F.kl_div(torch.log_softmax(sanity_s, -1), torch.log_softmax(sanity_t, -1), reduction="none", log_target=True).sum(-1)
    assert torch.allclose(jsd_terms(torch.log_softmax(sanity_s, -1), torch.log_softmax(sanity_t, -1), 0.0).sum(-1), fkl)
    rkl = F.kl_div(torch.log_softmax(sanity_t, -1), torch.log_softmax(sanity_s, -1), reduction="none", log_target=True).sum(-1)
    assert torch.allclose(jsd_terms(torch.log_softmax(sanity_s, -1), torch.log_softmax(sanity_t, -1), 1.0).sum(-1), rkl)
    for logits_kind in ("random", "one_hot"):
        for beta in (0.0, 0.25, 0.5, 1.0):
            for top_k in (0, 5):
                for clip in (0, 1, 2):
                    if logits_kind == "random":
                        s, t = f32(N, V, scale=2.0), f32(N, V, scale=2.0)
                        t[1] = s[1] + f32(V, scale=0.05)  # a close pair: tiny divergence
                    else:
                        # near-one-hot rows, same or different argmax, and one soft row
                        # (a little noise under the -100s: no ties for top-k to break differently)
                        s = -100.0 + f32(N, V, scale=0.1); t = -100.0 + f32(N, V, scale=0.1)
                        for n in range(N):
                            s[n, n % V] = 100.0
                            t[n, (n + (n % 2) * 3) % V] = 100.0
                        s[5] = f32(V, scale=2.0)
                    jsd_case(w, case, s, t, beta, clip, top_k)
                    case += 1
    # a long row (several 1024-entry blocks, top-k indices inside 8-blocks)
    for beta, clip, top_k in ((0.5, 0, 0), (0.25, 2, 16), (0.0, 1, 0), (1.0, 0, 16), (0.5, 1, 7)):
        s, t = f32(N, 2053, scale=3.0), f32(N, 2053, scale=3.0)
        jsd_case(w, case, s, t, beta, clip, top_k)
        case += 1
    # issue 14's supports: the student's top-k, the union (k..2k), tail bucket or renormalised
    for logits_kind in ("random", "one_hot"):
        for beta in (0.0, 0.5, 1.0):
            for frm, tail, clip in (("student", "bucket", 0), ("union", "bucket", 2), ("teacher", "renorm", 0),
                                    ("union", "renorm", 1), ("student", "renorm", 2)):
                if logits_kind == "random":
                    s, t = f32(N, V, scale=2.0), f32(N, V, scale=2.0)
                else:
                    s = -100.0 + f32(N, V, scale=0.1); t = -100.0 + f32(N, V, scale=0.1)
                    for n in range(N):
                        s[n, n % V] = 100.0
                        t[n, (n + (n % 2) * 3) % V] = 100.0
                    s[5] = f32(V, scale=2.0)
                jsd_case(w, case, s, t, beta, clip, 5, frm, tail)
                case += 1
    s, t = f32(N, 2053, scale=3.0), f32(N, 2053, scale=3.0)
    jsd_case(w, case, s, t, 0.5, 0, 16, "union", "renorm")
    case += 1
    w.put("jsd/cases", np.int32(case))
    # The formulas without a PyTorch counterpart (tail bucket, clipping),
    # confirmed by finite differences.
    for beta in (0.0, 0.25, 1.0):
        for clip, tau in ((0, 0.0), (1, 10.0), (2, 0.02)):
            s0, t0 = f32(2, 12, scale=1.5).to(D).requires_grad_(True), f32(2, 12, scale=1.5).to(D)
            assert torch.autograd.gradcheck(lambda x: jsd_loss(x, t0, beta, clip, tau, 4)[0], (s0,), eps=1e-6, atol=1e-5)
            for frm, tail in (("student", "bucket"), ("union", "renorm")):
                assert torch.autograd.gradcheck(lambda x: jsd_loss(x, t0, beta, clip, tau, 4, frm, tail)[0], (s0,),
                                                eps=1e-6, atol=1e-5)


def losses(out):
    w = Writer()
    cross_entropy(w)
    jsd(w)
    w.write(os.path.join(out, "nn_loss.safetensors"))


# ------------------------------------------------------------- training ---
def lora(w):
    """y = y0 + s (x A^T) B^T and its gradients; the merge W + s B A."""
    for i, (N, fin, fout, r, s) in enumerate([(1, 7, 5, 2, 2.0), (9, 33, 17, 4, 0.5), (70, 40, 24, 8, 2.0)]):
        c = f"lora{i}"
        x, A, B, y0, dy = f32(N, fin), f32(r, fin, scale=0.3), f32(fout, r, scale=0.3), f32(N, fout), f32(N, fout)
        xl, Al, Bl = leaf(x), leaf(A), leaf(B)
        xa = xl @ Al.T
        y = y0.to(D) + s * (xa @ Bl.T)
        y.backward(dy.to(D))
        for k, v in dict(x=x, A=A, B=B, y0=y0, dy=dy).items():
            w.put(f"{c}/{k}", v)
        w.put(f"{c}/shape", np.array([N, fin, fout, r], dtype=np.int32)); w.put(f"{c}/scaling", np.float32(s))
        w.put(f"{c}/y", y.detach()); w.put(f"{c}/xa", xa.detach())
        w.put(f"{c}/dx", xl.grad); w.put(f"{c}/dA", Al.grad); w.put(f"{c}/dB", Bl.grad)
        W = f32(fout, fin)
        w.put(f"{c}/W", W)
        w.put(f"{c}/merged", W.to(D) + s * (B.to(D) @ A.to(D)))


def policy_loss(w):
    """The clipped surrogate + k3 KL per token (GRPO), summed and scaled,
    differentiated by autograd; no ratio within 2e-3 of a clip boundary."""
    cases = [(6, 43, 1.0, 0.2, 0.01), (6, 43, -0.7, 0.1, 0.5), (5, 1000, 1.3, 0.2, 0.0), (4, 37, -1.0, 0.2, 0.0)]
    for i, (N, V, A, eps, beta) in enumerate(cases):
        c = f"policy{i}"
        z = f32(N, V, scale=2.0)
        y = torch.randint(0, V, (N,))
        lp0 = torch.log_softmax(z.to(D), -1).gather(-1, y[:, None])[:, 0]
        while True:
            old = (lp0 + torch.randn(N, dtype=D) * 0.3).float()
            ratio = torch.exp(lp0 - old.to(D))
            if (ratio - (1 - eps)).abs().min() > 2e-3 and (ratio - (1 + eps)).abs().min() > 2e-3:
                break
        ref = lp0 + torch.randn(N, dtype=D) * 0.2
        grad_scale = 0.25
        zl = leaf(z)
        lp = torch.log_softmax(zl, -1).gather(-1, y[:, None])[:, 0]
        ratio = torch.exp(lp - old.to(D))
        surr = -torch.min(ratio * A, torch.clamp(ratio, 1 - eps, 1 + eps) * A)
        d = ref - lp
        k3 = torch.exp(d) - d - 1
        loss = surr + beta * k3
        (loss.sum() * grad_scale).backward()
        clipped = ((A > 0) & (ratio > 1 + eps)) | ((A < 0) & (ratio < 1 - eps))
        w.put(f"{c}/config", np.array([A, eps, beta, grad_scale], dtype=np.float64))
        w.put(f"{c}/logits", z); w.put(f"{c}/targets", y.numpy(), np.int32)
        w.put(f"{c}/old", old); w.put(f"{c}/ref", ref.detach())
        kl_sum = k3.sum().item() if beta > 0 else 0.0  # no reference model, no KL to report
        w.put(f"{c}/sums", np.array([loss.sum().item(), surr.sum().item(), kl_sum, ratio.sum().item(),
                                     float(clipped.sum())], dtype=np.float64))
        w.put(f"{c}/dlogits", zl.grad)
    w.put("policy/cases", np.int32(len(cases)))


def adamw(w):
    """torch.optim.AdamW (single-tensor path, float32) over 5 steps with a
    changing learning rate, decay on and off."""
    n, steps = 37, 5
    for i, wd in enumerate((0.1, 0.0)):
        c = f"adamw{i}"
        p0, grads = f32(n), f32(steps, n, scale=0.5)
        lrs = [1e-2, 3e-2, 2e-2, 5e-3, 1e-3]
        p = p0.clone().requires_grad_(True)
        opt = torch.optim.AdamW([p], lr=lrs[0], betas=(0.9, 0.95), eps=1e-8, weight_decay=wd, foreach=False)
        for t in range(steps):
            opt.param_groups[0]["lr"] = lrs[t]
            p.grad = grads[t].clone()
            opt.step()
        st = opt.state[p]
        w.put(f"{c}/config", np.array([0.9, 0.95, 1e-8, wd], dtype=np.float64))
        w.put(f"{c}/lrs", np.array(lrs, dtype=np.float64))
        w.put(f"{c}/p0", p0); w.put(f"{c}/grads", grads)
        w.put(f"{c}/p", p.detach()); w.put(f"{c}/m", st["exp_avg"]); w.put(f"{c}/v", st["exp_avg_sq"])


def training(out):
    w = Writer()
    lora(w)
    policy_loss(w)
    adamw(w)
    w.write(os.path.join(out, "nn_train.safetensors"))


if __name__ == "__main__":
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    dense(out)
    rope(out)
    attention(out)
    losses(out)
    training(out)  # last: its draws do not shift the other groups' inputs
