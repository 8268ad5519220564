"""Two training checkpoints are the same run up to summation order
(tests/e2e/mpi.sh: N ranks against one process).

    same_run.py DIR_A DIR_B [WEIGHT_TOL] [LOSS_TOL]

train_state.safetensors: step, cursor, RNG and sizes equal; "trainable" (every
weight) within WEIGHT_TOL of the largest weight of the run (max |a - b| /
max |a|); the Adam moments likewise. metrics.jsonl: the same steps; the
counts equal; loss, grad_norm and the other per-step means within LOSS_TOL
relative (or absolute below 1e-3). Prints the largest deviations seen."""
import json
import struct
import sys

import numpy as np

TIMING = ("_s", "tokens_per_s", "ranks", "comm_bytes")
COUNTS = ("step", "loss_tokens", "response_tokens", "tokens", "rollouts", "judge_verdicts", "judge_calls",
          "seq_tokens", "skipped")


def read_state(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        buf = f.read()
    arrays = {}
    for name, info in header.items():
        if name != "__metadata__":
            a, b = info["data_offsets"]
            arrays[name] = np.frombuffer(buf[a:b], dtype=np.float32).astype(np.float64)
    return header.get("__metadata__", {}), arrays


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def main():
    a_dir, b_dir = sys.argv[1], sys.argv[2]
    wtol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-5
    ltol = float(sys.argv[4]) if len(sys.argv) > 4 else 1e-5
    meta_a, arr_a = read_state(a_dir + "/train_state.safetensors")
    meta_b, arr_b = read_state(b_dir + "/train_state.safetensors")
    for k in ("step", "cursor", "rng", "n_trainable", "mode"):
        if meta_a.get(k) != meta_b.get(k):
            fail("train state %s: %s vs %s" % (k, meta_a.get(k), meta_b.get(k)))
    worst = {}
    for name in ("trainable", "adam.m", "adam.v"):
        a, b = arr_a[name], arr_b[name]
        scale = max(np.abs(a).max(), 1e-30)
        worst[name] = np.abs(a - b).max() / scale
        if worst[name] > wtol:
            fail("%s differs by %.3g of its largest value (tolerance %g)" % (name, worst[name], wtol))
    lines_a = [json.loads(l) for l in open(a_dir + "/metrics.jsonl") if l.strip()]
    lines_b = [json.loads(l) for l in open(b_dir + "/metrics.jsonl") if l.strip()]
    if len(lines_a) != len(lines_b):
        fail("metrics: %d lines vs %d" % (len(lines_a), len(lines_b)))
    worst_metric = 0.0
    for la, lb in zip(lines_a, lines_b):
        for k, va in la.items():
            if k.endswith(TIMING) or k in TIMING or not isinstance(va, (int, float)) or isinstance(va, bool):
                continue
            vb = lb.get(k)
            if k in COUNTS:
                if va != vb:
                    fail("step %s: %s %s vs %s" % (la.get("step"), k, va, vb))
                continue
            d = abs(va - vb) / max(abs(va), 1e-3)
            worst_metric = max(worst_metric, d)
            if d > ltol:
                fail("step %s: %s %s vs %s (relative %.3g, tolerance %g)" % (la.get("step"), k, va, vb, d, ltol))
    print("same run: weights %.2g, adam.m %.2g, adam.v %.2g of their largest; per-step metrics %.2g relative"
          % (worst["trainable"], worst["adam.m"], worst["adam.v"], worst_metric))


main()
