"""Reference float conversions for tests/unit/test_dtype.c, from numpy
(float16) and PyTorch (bfloat16) — not from rgsd.

Writes into OUTDIR:
  f16_to_f32.bin  65536 little-endian u32: numpy float16(bits h) -> float32 bits
  bf16_to_f32.bin 65536 u32: torch bfloat16(bits h) -> float32 bits
  f32_cases.bin   N records of (u32 f32 bits, u16 numpy f16 bits, u16 torch bf16 bits)
The f32 cases cover zeros, infinities, NaNs, the f16 overflow and underflow
edges, every f16 and bf16 rounding tie (and one f32 ulp either side), f32
subnormals, and random bit patterns."""
import sys, os
import numpy as np
import torch

out = sys.argv[1]
os.makedirs(out, exist_ok=True)

h = np.arange(65536, dtype=np.uint32).astype(np.uint16)
np.seterr(all="ignore")
h.view(np.float16).astype(np.float32).view(np.uint32).astype("<u4").tofile(os.path.join(out, "f16_to_f32.bin"))
# every bf16 bit pattern -> float32 via torch
torch.from_numpy(h.view(np.int16).copy()).view(torch.bfloat16).to(torch.float32).numpy().view(np.uint32).astype("<u4").tofile(os.path.join(out, "bf16_to_f32.bin"))

cases = []
def add(bits):
    cases.extend(int(b) & 0xFFFFFFFF for b in bits)

add([0, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001,
     0x7FBFFFFF, 0x7FFFFFFF, 0x00000001, 0x80000001, 0x007FFFFF, 0x00800000, 0x7F7FFFFF, 0xFF7FFFFF])
# f16 edges: max finite, overflow tie 65520, 2^-14, 2^-24, 2^-25 (tie to 0), around them
for v in [65504.0, 65519.0, 65520.0, 65535.0, 65536.0, 2.0**-14, 2.0**-24, 2.0**-25, 3 * 2.0**-26,
          2.0**-26, 1.0, -1.0, 0.1, 1e-8, 1e8, 3.0e38]:
    b = int(np.array([v], dtype=np.float32).view(np.uint32)[0])
    add([b - 1, b, b + 1, b | 0x80000000])
# every f16 tie: midpoint between consecutive finite f16 values, exact in f32
f16_vals = np.arange(0, 0x7C00, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(np.float64)
mid = ((f16_vals[:-1] + f16_vals[1:]) / 2).astype(np.float32).view(np.uint32).astype(np.int64)
for delta in (-1, 0, 1):
    add(mid + delta)
    add((mid + delta) | 0x80000000)
# every bf16 tie (low half exactly 0x8000) and its neighbours, all exponents and signs
hi = np.arange(65536, dtype=np.int64) << 16
for low in (0x7FFF, 0x8000, 0x8001, 0x0000, 0xFFFF):
    add(hi | low)
rng = np.random.default_rng(1234)
add(rng.integers(0, 2**32, size=200000, dtype=np.uint64).astype(np.int64))

f32 = np.array(cases, dtype=np.uint32)
f16 = f32.view(np.float32).astype(np.float16).view(np.uint16)
bf16 = torch.from_numpy(f32.view(np.float32).copy()).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
rec = np.zeros(len(f32), dtype=[("f32", "<u4"), ("f16", "<u2"), ("bf16", "<u2")])
rec["f32"], rec["f16"], rec["bf16"] = f32, f16, bf16
rec.tofile(os.path.join(out, "f32_cases.bin"))
print(f"io_dtype_ref: {len(f32)} f32 cases")
