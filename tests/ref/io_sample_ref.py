"""Reference sampling distributions for tests/unit/test_sample.c, computed
with PyTorch (float64) following Hugging Face transformers' logits warpers,
written here from their documented behaviour (transformers is not installed):

  TemperatureLogitsWarper: scores / temperature
  TopKLogitsWarper:  remove scores < topk(scores, k)[-1]   (ties at the k-th value stay)
  TopPLogitsWarper:  sort ascending (stable: of tied tokens the higher id counts as more probable), cumsum of softmax, remove where cumsum <= 1 - top_p,
                     always keep the most probable token
  then softmax over what is left.

Each case also carries log_softmax(logits) at temperature 1 (untruncated).
Writes OUTDIR/cases.json."""
import json, os, sys
import numpy as np
import torch

out = sys.argv[1]
os.makedirs(out, exist_ok=True)

def warp(logits32, temperature, top_k, top_p):
    scores = torch.tensor(logits32, dtype=torch.float32).to(torch.float64)
    if temperature <= 0:
        probs = torch.zeros_like(scores)
        # greedy: first index of the maximum
        probs[int(torch.nonzero(scores == scores.max())[0])] = 1.0
        return probs
    scores = scores / temperature
    if top_k > 0:
        k = min(top_k, scores.numel())
        kth = torch.topk(scores, k)[0][-1]
        scores = scores.masked_fill(scores < kth, -float("inf"))
    if top_p < 1.0:
        sorted_logits, sorted_idx = torch.sort(scores, descending=False, stable=True)
        cum = sorted_logits.softmax(-1).cumsum(-1)
        finite = torch.isfinite(sorted_logits)
        # cases are chosen so no cumulative sum sits within 1e-9 of the cut
        margin = (cum[finite] - (1 - top_p)).abs().min().item()
        assert margin > 1e-9, f"top_p boundary too close: {margin}"
        remove = cum <= (1 - top_p)
        remove[-1] = False
        scores = scores.masked_fill(torch.zeros_like(remove).scatter(0, sorted_idx, remove), -float("inf"))
    return scores.softmax(-1)

def f32_list(x):
    return [float(v) for v in np.asarray(x, dtype=np.float32)]

cases = []
def add(name, logits, temperature, top_k, top_p):
    logits = f32_list(logits)
    probs = warp(logits, temperature, top_k, top_p)
    logp = torch.tensor(logits, dtype=torch.float64).log_softmax(-1)
    bits = np.asarray(logits, dtype=np.float32).view(np.uint32)
    cases.append({"name": name, "logits_f32_hex": [format(int(b), "08x") for b in bits], "temperature": temperature, "top_k": top_k,
                  "top_p": top_p, "probs": [float(p) for p in probs],
                  "logprob_t1": [float(v) if np.isfinite(v) else -1e300 for v in logp.tolist()]})

ninf = float("-inf")
small = [1.0, 2.0, 0.5, ninf, 3.0, 3.0, -1.0, 0.0, 2.5, ninf]
add("small_plain", small, 1.0, 0, 1.0)
add("small_temp", small, 0.625, 0, 1.0)
add("small_topk3", small, 1.0, 3, 1.0)
add("small_topk2_tie", small, 1.0, 2, 1.0)
add("small_topk1_tie", small, 1.0, 1, 1.0)
add("small_topp", small, 1.0, 0, 0.8)
add("small_all", small, 1.25, 4, 0.7)
add("small_topk_big", small, 1.0, 50, 1.0)
add("small_topp_tiny", small, 1.0, 0, 0.01)
add("small_greedy", small, 0.0, 0, 1.0)
ties = [0.5, 2.0, 2.0, 2.0, 1.0, 2.0, 0.5]
add("ties_topk2", ties, 1.0, 2, 1.0)
add("ties_greedy", ties, 0.0, 0, 1.0)
rng = np.random.default_rng(99)
for i, (t, k, p) in enumerate([(0.75, 50, 0.9), (1.25, 0, 0.5), (1.0, 5, 1.0), (0.5, 0, 0.95),
                                (2.0, 100, 0.8), (1.0, 0, 1.0)]):
    logits = rng.normal(size=1000) * 3.0
    logits[rng.integers(0, 1000, size=20)] = ninf
    add(f"random{i}", logits, t, k, p)

# a larger vocabulary, so the nucleus search partitions many times
for i, (t, k, p) in enumerate([(1.5, 0, 0.99), (1.0, 0, 0.3), (0.75, 2000, 0.97)]):
    logits = rng.normal(size=5000) * (1.0 + i)
    add(f"large{i}", logits, t, k, p)

with open(os.path.join(out, "cases.json"), "w") as f:
    json.dump(cases, f)
print(f"io_sample_ref: {len(cases)} cases")
