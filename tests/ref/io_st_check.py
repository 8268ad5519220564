"""Independent reader for a safetensors file written by rgsd's rg_st_write in
tests/unit/test_safetensors.c (test_python_reads_ours). Parses the format
itself (struct + json), decodes with numpy/torch and checks the values the
test wrote: x[i] = (i - 12) * 0.5 for the float tensors, (i - 12) * 1000 for
I32. Exit status 0 when everything matches."""
import json, struct, sys
import numpy as np
import torch

path = sys.argv[1]
blob = open(path, "rb").read()
(n,) = struct.unpack("<Q", blob[:8])
header_bytes = blob[8:8 + n]
assert n % 8 == 0, "header not padded to 8"
assert header_bytes.rstrip(b" ").endswith(b"}"), "padding is not spaces"
header = json.loads(header_bytes)
data = blob[8 + n:]
assert header["__metadata__"] == {"format": "pt"}, header.get("__metadata__")
want = np.arange(24, dtype=np.float32) - 12
want *= 0.5
spans = []
for name, info in header.items():
    if name == "__metadata__":
        continue
    b, e = info["data_offsets"]
    spans.append((b, e))
    raw = data[b:e]
    if info["dtype"] == "F32":
        got = torch.frombuffer(bytearray(raw), dtype=torch.float32)
    elif info["dtype"] == "BF16":
        got = torch.frombuffer(bytearray(raw), dtype=torch.bfloat16).float()
    elif info["dtype"] == "F16":
        got = torch.from_numpy(np.frombuffer(raw, dtype="<f2").astype(np.float32))
    elif info["dtype"] == "I32":
        got = torch.from_numpy(np.frombuffer(raw, dtype="<i4").copy())
    else:
        sys.exit(f"unexpected dtype {info['dtype']}")
    got = got.reshape(info["shape"])
    expect = torch.from_numpy(want.copy()).reshape(info["shape"])
    if info["dtype"] == "I32":
        expect = (torch.arange(24, dtype=torch.int32) - 12).reshape(info["shape"]) * 1000
    if not torch.equal(got, expect):
        sys.exit(f"{name}: values differ")
spans.sort()
pos = 0
for b, e in spans:
    assert b == pos, "hole or overlap"
    pos = e
assert pos == len(data), "trailing data"
print("io_st_check: ok")
