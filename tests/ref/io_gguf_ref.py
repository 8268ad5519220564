"""Independent GGUF writer for tests/unit/test_gguf.c, written from ggml's
docs/gguf.md (no gguf package, no rgsd code): header, metadata of every
value type, tensor infos (ne innermost first), zero padding to the
alignment, tensor data. Q8_0 is quantised here in numpy (blocks of 32:
d = max|x| / 127 stored as f16, q = round(x / d) as int8) and the expected
f32 values are numpy's dequantisation float32(d) * float32(q).

OUTDIR/model.gguf      v3, general.alignment = 64, every metadata type
OUTDIR/v2.gguf         v2, default alignment (32), a different tensor set
OUTDIR/bad_*.gguf      corrupt variants; expected.json lists the error fragment for each
OUTDIR/expected.json   metadata values and per-tensor shape, raw bytes, f32 values"""
import json, os, struct, sys
import numpy as np
import torch

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64 = range(13)
SCALAR_FMT = {UINT8: "<B", INT8: "<b", UINT16: "<H", INT16: "<h", UINT32: "<I", INT32: "<i",
              FLOAT32: "<f", BOOL: "<?", UINT64: "<Q", INT64: "<q", FLOAT64: "<d"}
GGML = {"F32": 0, "F16": 1, "Q8_0": 8, "BF16": 30, "I32": 26, "Q4_K": 12}

def gstr(s):
    b = s.encode("utf-8") if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b

def value(vtype, v):
    if vtype == STRING:
        return gstr(v)
    if vtype == ARRAY:
        etype, items = v
        return struct.pack("<IQ", etype, len(items)) + b"".join(value(etype, x) for x in items)
    return struct.pack(SCALAR_FMT[vtype], v)

def q8_0(x):
    blocks = x.reshape(-1, 32).astype(np.float32)
    amax = np.abs(blocks).max(axis=1)
    d = (amax / 127.0).astype(np.float16)
    dd = d.astype(np.float32)
    inv = np.where(dd > 0, 1.0 / np.where(dd > 0, dd, 1), 0)
    q = np.clip(np.round(blocks * inv[:, None]), -127, 127).astype(np.int8)
    raw = b"".join(d[i].tobytes() + q[i].tobytes() for i in range(len(d)))
    deq = dd[:, None] * q.astype(np.float32)
    return raw, deq.reshape(-1)

def tensor_bytes(kind, arr):
    """raw bytes and the exact f32 values a reader must produce"""
    if kind == "F32":
        a = arr.astype(np.float32)
        return a.tobytes(), a.reshape(-1)
    if kind == "F16":
        a = arr.astype(np.float16)
        return a.tobytes(), a.astype(np.float32).reshape(-1)
    if kind == "BF16":
        t = torch.from_numpy(arr.astype(np.float32)).to(torch.bfloat16)
        return t.view(torch.int16).numpy().tobytes(), t.float().numpy().reshape(-1)
    if kind == "Q8_0":
        return q8_0(arr)
    if kind == "I32":
        a = arr.astype(np.int32)
        return a.tobytes(), None
    raise ValueError(kind)

def build(version, kvs, tensors, alignment, tweak=None):
    """kvs: [(key, type, value)]; tensors: [(name, kind, numpy array)]"""
    tweak = tweak or {}
    infos, blobs, offset = b"", [], 0
    for name, kind, arr in tensors:
        raw, _ = tensor_bytes(kind, arr)
        ne = list(reversed(arr.shape))
        off = tweak.get(("offset", name), offset)
        ggml_type = tweak.get(("type", name), GGML[kind])
        infos += gstr(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", n) for n in ne)
        infos += struct.pack("<IQ", ggml_type, off)
        blobs.append(raw)
        offset += len(raw)
        offset += (-offset) % alignment
    meta = b"".join(gstr(k) + struct.pack("<I", t) + value(t, v) for k, t, v in kvs)
    n_tensors = tweak.get("n_tensors", len(tensors))
    n_kv = tweak.get("n_kv", len(kvs))
    head = b"GGUF" + struct.pack("<IQQ", version, n_tensors, n_kv) + meta + infos
    head += b"\0" * ((-len(head)) % alignment)
    data = b""
    for raw in blobs:
        data += raw
        data += b"\0" * ((-len(data)) % alignment)
    return head + data

rng = np.random.default_rng(5)
tokens = ["<s>", "</s>", "hello", " world", "\u00e9t\u00e9", "\U0001F600", "", "a\nb"]
kvs = [
    ("general.architecture", STRING, "llama"),
    ("general.alignment", UINT32, 64),
    ("general.name", STRING, "tiny \u00fcnicode"),
    ("test.u8", UINT8, 200), ("test.i8", INT8, -100),
    ("test.u16", UINT16, 60000), ("test.i16", INT16, -30000),
    ("test.u32", UINT32, 4000000000), ("test.i32", INT32, -2000000000),
    ("test.f32", FLOAT32, 0.1), ("test.bool", BOOL, True),
    ("test.u64", UINT64, 2**63 + 5), ("test.i64", INT64, -(2**62)),
    ("test.f64", FLOAT64, 1.0 / 3.0),
    ("llama.block_count", UINT32, 2),
    ("tokenizer.ggml.tokens", ARRAY, (STRING, tokens)),
    ("tokenizer.ggml.scores", ARRAY, (FLOAT32, [0.0, -1.5, 2.25, -1e10, 3.0, 0.5, -0.0, 1.0])),
    ("tokenizer.ggml.token_type", ARRAY, (INT32, [3, 3, 1, 1, 1, 1, -1, 2])),
    ("test.flags", ARRAY, (BOOL, [True, False, True])),
    ("test.nested", ARRAY, (ARRAY, [(UINT8, [1, 2]), (UINT8, [3])])),
    ("test.empty", ARRAY, (INT64, [])),
]
tensors = [
    ("token_embd.weight", "F32", rng.normal(size=(8, 16))),
    ("blk.0.attn_q.weight", "F16", rng.normal(size=(16, 16)) * 10),
    ("blk.0.ffn_up.weight", "BF16", rng.normal(size=(4, 16)) * 1e-2),
    ("blk.1.attn_k.weight", "Q8_0", rng.normal(size=(3, 64))),
    ("output_norm.weight", "F32", rng.normal(size=(16,))),
    ("blk.1.q8_zero", "Q8_0", np.zeros((1, 32))),
    ("positions", "I32", np.arange(-5, 5).reshape(2, 5)),
]

def expected_tensors(tensors):
    out = {}
    for name, kind, arr in tensors:
        raw, f32 = tensor_bytes(kind, arr)
        e = {"kind": kind, "shape": list(arr.shape), "raw": raw.hex()}
        if f32 is not None:
            e["f32"] = [format(int(b), "08x") for b in np.asarray(f32, dtype=np.float32).view(np.uint32)]
        out[name] = e
    return out

def save(name, blob):
    with open(os.path.join(out, name), "wb") as f:
        f.write(blob)

model = build(3, kvs, tensors, 64)
save("model.gguf", model)
v2_kvs = [("general.architecture", STRING, "llama"), ("test.i32", INT32, 7)]
v2_tensors = [("a", "F16", rng.normal(size=(2, 3))), ("b", "Q8_0", rng.normal(size=(32,))),
              ("c", "BF16", rng.normal(size=(5,)))]
save("v2.gguf", build(2, v2_kvs, v2_tensors, 32))

bad = {}
def bad_file(name, blob, fragment):
    save(name, blob)
    bad[name] = fragment

bad_file("bad_magic.gguf", b"GGUX" + model[4:], "bad magic")
bad_file("bad_version.gguf", model[:4] + struct.pack("<I", 99) + model[8:], "version 99")
bad_file("bad_v1.gguf", model[:4] + struct.pack("<I", 1) + model[8:], "version 1")
bad_file("bad_bigendian.gguf", model[:4] + struct.pack(">I", 3) + model[8:], "big-endian")
bad_file("bad_tensor_count.gguf", build(3, kvs, tensors, 64, {"n_tensors": 2**60}), "tensor count")
bad_file("bad_kv_count.gguf", build(3, kvs, tensors, 64, {"n_kv": 2**62}), "metadata count")
bad_file("bad_more_kv.gguf", build(3, kvs, tensors, 64, {"n_kv": len(kvs) + 3}), "")
bad_file("bad_offset.gguf", build(3, kvs, tensors, 64, {("offset", "output_norm.weight"): 2**40}),
         "tensor output_norm.weight: data")
bad_file("bad_misaligned.gguf", build(3, kvs, tensors, 64, {("offset", "output_norm.weight"): 8}),
         "tensor output_norm.weight: offset 8 is not a multiple of the alignment 64")
bad_file("bad_overlap.gguf", build(3, kvs, tensors, 64, {("offset", "blk.0.attn_q.weight"): 0}),
         "overlaps")
bad_file("bad_type.gguf", build(3, kvs, tensors, 64, {("type", "output_norm.weight"): 12}),
         "tensor output_norm.weight: ggml type Q4_K (12) is not supported")
bad_file("bad_type_id.gguf", build(3, kvs, tensors, 64, {("type", "output_norm.weight"): 4000}),
         "tensor output_norm.weight: ggml type unknown (4000)")
bad_file("bad_string_len.gguf", b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 2**62) + b"key" + b"\0" * 64,
         "metadata key needs")
bad_file("bad_array_len.gguf", b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + gstr("big") +
         struct.pack("<IIQ", ARRAY, UINT32, 2**61), "metadata big: array of")
bad_file("bad_value_type.gguf", b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + gstr("k") + struct.pack("<I", 13)
         + b"\0" * 16, "metadata k: unknown value type 13")
bad_file("bad_bool.gguf", b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + gstr("flag") + struct.pack("<IB", BOOL, 2)
         + b"\0" * 16, "metadata flag: bool value 2")
bad_file("bad_dup_key.gguf", build(3, kvs + [("test.u8", UINT8, 1)], tensors, 64), "metadata key test.u8 appears twice")
bad_file("bad_alignment.gguf", build(3, [("general.alignment", UINT32, 12)], [], 32), "general.alignment 12")
bad_file("bad_alignment_type.gguf", build(3, [("general.alignment", UINT64, 32)], [], 32), "general.alignment is uint64")
bad_file("bad_dims.gguf", b"GGUF" + struct.pack("<IQQ", 3, 1, 0) + gstr("t") + struct.pack("<I", 9) + b"\0" * 200,
         "tensor t: 9 dimensions")
bad_file("bad_dim_overflow.gguf", b"GGUF" + struct.pack("<IQQ", 3, 1, 0) + gstr("t") + struct.pack("<IQQQ", 3, 2**32, 2**32, 2**32)
         + struct.pack("<IQ", 0, 0) + b"\0" * 64, "tensor t: dimensions overflow")
bad_file("bad_q8_row.gguf", build(3, [], [("q", "Q8_0", np.zeros((2, 32)))], 32, None).replace(
         struct.pack("<QQ", 32, 2), struct.pack("<QQ", 16, 4)), "tensor q: Q8_0 rows of 16")
bad_file("bad_dup_tensor.gguf", build(3, [], [("t", "F32", np.zeros(8)), ("t", "F32", np.ones(8))], 32), "tensor t appears twice")

expected = {
    "model": {"tensors": expected_tensors(tensors), "n_kv": len(kvs), "tokens": tokens,
              "scores": [float(np.float32(s)) for s in kvs[16][2][1]], "token_type": kvs[17][2][1]},
    "v2": {"tensors": expected_tensors(v2_tensors)},
    "bad": bad,
}
with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1, ensure_ascii=True)
print(f"io_gguf_ref: {len(tensors) + len(v2_tensors)} tensors, {len(bad)} bad files")
