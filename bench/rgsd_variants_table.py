#!/usr/bin/env python3
"""bench/rgsd_variants_table.py RESULTS.tsv — the variant table of docs/rgsd.md: mean and sample s.d. over
seeds of the held-out score, the held-out gap and the mean response length, per variant (standard library)."""
import csv, statistics, sys

rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
order = []
by = {}
for r in rows:
    if r["variant"] not in by:
        order.append(r["variant"])
    by.setdefault(r["variant"], []).append(r)

def ms(xs):
    xs = [float(x) for x in xs]
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return f"{statistics.mean(xs):.3f} ± {sd:.3f}"

def paired(rs):
    """score minus the default's on the same seed (the seeds differ more than most variants do)"""
    base = {r["seed"]: float(r["score"]) for r in by.get("default", [])}
    d = [float(r["score"]) - base[r["seed"]] for r in rs if r["seed"] in base]
    return ms(d) if d else "—"

print("| variant | seeds | held-out score | score − default, same seed | held-out gap | response tokens | per-seed scores |")
print("|---|---|---|---|---|---|---|")
order.sort(key=lambda v: v != "base")  # the untrained base first
for v in order:
    rs = by[v]
    print(f"| {v} | {len(rs)} | {ms(r['score'] for r in rs)} | {paired(rs)} | {ms(r['gap'] for r in rs)} | "
          f"{ms(r['response_tokens'] for r in rs)} | {', '.join(r['score'] for r in rs)} |")
