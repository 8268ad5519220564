"""Independent safetensors writer for tests/unit/test_safetensors.c.

Writes files from the format description (8-byte little-endian header size,
JSON header, byte buffer) with PyTorch tensors turned into bytes here — no
rgsd code and no safetensors package. The header is NOT padded and the
tensors are laid out in a shuffled order, unlike rgsd's own writer.

OUTDIR/mixed.safetensors       one tensor of each dtype, a scalar, an empty tensor
OUTDIR/sharded/                 two shards + model.safetensors.index.json
OUTDIR/expected.json            per tensor: dtype, shape, raw bytes (hex) and,
                                for float dtypes, torch's float32 values (u32 bits, hex)
"""
import json, os, random, struct, sys
import numpy as np
import torch

out = sys.argv[1]
os.makedirs(os.path.join(out, "sharded"), exist_ok=True)
torch.manual_seed(7)

DT = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
      torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
      torch.uint8: "U8", torch.bool: "BOOL"}

def raw_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().tobytes()  # little-endian host

def tensors_mixed():
    ts = {}
    ts["model.embed.weight"] = torch.randn(5, 7, dtype=torch.float32)
    ts["half.weight"] = (torch.randn(3, 4) * 100).to(torch.float16)
    ts["brain.weight"] = (torch.randn(2, 3, 4) * 1e-3).to(torch.bfloat16)
    ts["double"] = torch.randn(6, dtype=torch.float64) * 1e10
    ts["ids64"] = torch.tensor([-(2**62), -1, 0, 1, 2**62], dtype=torch.int64)
    ts["ids32"] = torch.tensor([[-(2**31), 0], [2**31 - 1, 5]], dtype=torch.int32)
    ts["i16"] = torch.tensor([-32768, 32767, 3], dtype=torch.int16)
    ts["i8"] = torch.tensor([-128, 127, 0], dtype=torch.int8)
    ts["bytes"] = torch.tensor([0, 255, 17], dtype=torch.uint8)
    ts["mask"] = torch.tensor([True, False, True, True])
    ts["scalar"] = torch.tensor(3.5, dtype=torch.float32)
    ts["empty"] = torch.zeros(0, 3, dtype=torch.float32)
    ts["special"] = torch.tensor([float("inf"), float("-inf"), -0.0, 1e-45, 3.4e38], dtype=torch.float32)
    return ts

def write(path, ts, metadata, order_seed):
    names = list(ts)
    random.Random(order_seed).shuffle(names)
    header, blobs, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name in names:
        b = raw_bytes(ts[name])
        header[name] = {"dtype": DT[ts[name].dtype], "shape": list(ts[name].shape),
                        "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, ensure_ascii=False).encode("utf-8")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)

def describe(ts, expected, where):
    for name, t in ts.items():
        e = {"dtype": DT[t.dtype], "shape": list(t.shape), "raw": raw_bytes(t).hex(), "file": where}
        if t.dtype.is_floating_point:
            e["f32"] = [format(int(x), "08x") for x in t.to(torch.float32).reshape(-1).numpy().view(np.uint32)]
        expected[name] = e

expected = {}
mixed = tensors_mixed()
write(os.path.join(out, "mixed.safetensors"), mixed, {"format": "pt", "note": "h\u00e9llo \"q\""}, 1)
describe(mixed, expected, "mixed.safetensors")

# sharded checkpoint: a tiny llama-like set split across two files
shard_ts = [{}, {}]
for layer in range(3):
    for part in ("q_proj", "k_proj"):
        t = torch.randn(4, 8, dtype=torch.float32).to(torch.bfloat16 if layer % 2 else torch.float32)
        shard_ts[0 if layer < 2 else 1][f"model.layers.{layer}.self_attn.{part}.weight"] = t
shard_ts[1]["lm_head.weight"] = torch.randn(10, 8).to(torch.float16)
weight_map = {}
for i, ts in enumerate(shard_ts):
    fname = f"model-{i + 1:05d}-of-00002.safetensors"
    write(os.path.join(out, "sharded", fname), ts, {"format": "pt"}, 10 + i)
    for name in ts:
        weight_map[name] = fname
    describe(ts, expected, "sharded/" + fname)
with open(os.path.join(out, "sharded", "model.safetensors.index.json"), "w") as f:
    json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=2)

with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
print(f"io_safetensors_ref: {len(expected)} tensors")
