#!/usr/bin/env python3
"""PyTorch references for build/gpu/gpu_bench, same shapes, same GPU, same run
(tools/gpu_check.sh). One "bench torch_<name> <value> <unit> <ms> ms" line per
result, the rgsd names prefixed with torch_. Qwen2.5-0.5B training shape:
8 sequences x 1024 positions, hidden 896, 14 heads / 2 kv of 64, MLP 4864,
vocabulary 151936, bf16."""
import sys

import torch
import torch.nn.functional as F

SEQS, T, C, H, KVH, HD, I, V = 8, 1024, 896, 14, 2, 64, 4864, 151936
ROWS = SEQS * T


def timed(fn, reps):
    """Mean milliseconds of fn() over reps runs after two warm-ups (CUDA events)."""
    fn(), fn()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    start.record()
    for _ in range(reps):
        fn()
    stop.record()
    torch.cuda.synchronize()
    return start.elapsed_time(stop) / reps


def report(name, work, unit, ms):
    print(f"bench torch_{name:<16} {work / (ms * 1e-3):10.2f} {unit:<8} {ms:9.4f} ms", flush=True)


def gemm_and_copy(dev):
    n = 8192
    a = torch.rand(n, n, device=dev, dtype=torch.bfloat16) * 2 - 1
    b = torch.rand(n, n, device=dev, dtype=torch.bfloat16) * 2 - 1
    report("gemm_bf16_8192", 2.0 * n**3 / 1e12, "TFLOP/s", timed(lambda: a @ b, 10))
    torch.backends.cuda.matmul.allow_tf32 = False
    a32, b32 = torch.rand(4096, 4096, device=dev), torch.rand(4096, 4096, device=dev)
    report("gemm_f32_4096", 2.0 * 4096**3 / 1e12, "TFLOP/s", timed(lambda: a32 @ b32, 5))
    dst = torch.empty_like(a)
    report("copy_d2d_128MiB", 2.0 * a.numel() * 2 / 1e9, "GB/s", timed(lambda: dst.copy_(a), 20))


def kernels(dev):
    bf = torch.bfloat16
    x, w = torch.randn(ROWS, C, device=dev, dtype=bf), torch.ones(C, device=dev, dtype=bf)
    report("rmsnorm_fwd", 2.0 * x.numel() * 2 / 1e9, "GB/s", timed(lambda: F.rms_norm(x, (C,), w, 1e-6), 20))
    g, u = torch.randn(ROWS, I, device=dev, dtype=bf), torch.randn(ROWS, I, device=dev, dtype=bf)
    report("swiglu_fwd", 3.0 * g.numel() * 2 / 1e9, "GB/s", timed(lambda: F.silu(g) * u, 20))
    q = torch.randn(SEQS, H, T, HD, device=dev, dtype=bf, requires_grad=True)
    k = torch.randn(SEQS, KVH, T, HD, device=dev, dtype=bf, requires_grad=True)
    v = torch.randn(SEQS, KVH, T, HD, device=dev, dtype=bf, requires_grad=True)
    flops = 4.0 * SEQS * H * HD * T * T / 2
    sdpa = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    with torch.no_grad():
        report("attention_fwd", flops / 1e12, "TFLOP/s", timed(sdpa, 10))
    out = sdpa()
    dout = torch.randn_like(out)
    report("attention_bwd", 2.5 * flops / 1e12, "TFLOP/s",
           timed(lambda: torch.autograd.grad(out, (q, k, v), dout, retain_graph=True), 5))


def head_and_adamw(dev):
    h = torch.randn(ROWS, C, device=dev, dtype=torch.bfloat16, requires_grad=True)
    W = torch.randn(V, C, device=dev, dtype=torch.bfloat16, requires_grad=True)
    targets = torch.randint(0, V, (ROWS,), device=dev)

    def head():  # the dense [ROWS, V] logits PyTorch materialises
        loss = F.cross_entropy((h @ W.t()).float(), targets)
        loss.backward()

    report("lm_head_ce_fwd_bwd", 3 * 2.0 * ROWS * C * V / 1e12, "TFLOP/s", timed(head, 3))
    del h, W
    n = 100 << 20
    p = torch.zeros(n, device=dev, requires_grad=True)
    p.grad = torch.zeros(n, device=dev)
    opt = torch.optim.AdamW([p], lr=1e-4, weight_decay=0.1, fused=True)
    report("adamw_100M", n * 18 / 1e9, "GB/s", timed(opt.step, 5))


def main():
    if not torch.cuda.is_available():
        print("gpu_torch_bench: skipped: torch sees no GPU")
        return 0
    dev = torch.device("cuda")
    print(f"gpu_torch_bench: torch {torch.__version__}, {torch.cuda.get_device_name(dev)}", flush=True)
    for part in (gemm_and_copy, kernels, head_and_adamw):
        try:
            part(dev)
        except Exception as e:  # one missing op (an older torch) should not hide the rest
            print(f"gpu_torch_bench: {part.__name__}: {type(e).__name__}: {e}", flush=True)
        torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
