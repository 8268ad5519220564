"""demo_report.py OUT — the table, the SVG and report.md of `make demo`.

Reads what tools/demo.sh left in OUT (standard library only, no test oracle):
  eval-base/report.json, eval-base-rubric/report.json   rgsd eval, held-out prompts
  rgsd/metrics.jsonl, grpo/metrics.jsonl                training steps + "eval": true lines
  stage_times.txt                                       wall seconds per stage
  machine.txt                                           CPU model, kernel paths (rgsd --kernels), threads
Writes OUT/curve.svg (held-out score against training wall time, both methods),
OUT/report.md, OUT/summary.json, and prints the table and the three targets."""
import json
import os
import sys

out = sys.argv[1]


def load_json(path):
    with open(path) as f:
        return json.load(f)


def load_metrics(path):
    """(training steps, evaluation lines); an eval line gets the cumulative
    training seconds (sum of step_s up to its step: evaluation time excluded)."""
    if not os.path.exists(path):
        return None, None
    steps, evals, clock = [], [], 0.0
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            m = json.loads(line)
            if m.get("eval"):
                m["train_s"] = clock
                evals.append(m)
            else:
                clock += m.get("step_s", 0.0)
                steps.append(m)
    return steps, evals


times = {}
with open(os.path.join(out, "stage_times.txt")) as f:
    for line in f:
        name, seconds = line.split()
        times[name] = float(seconds)

base = load_json(os.path.join(out, "eval-base", "report.json"))
base_rubric = load_json(os.path.join(out, "eval-base-rubric", "report.json"))
rows = []


def eval_row(name, report):
    hb = report["healthbench"]
    return {"method": name, "score": hb["mean"], "se": hb["std_error"], "judge_calls": 0, "rollouts": 0,
            "train_s": 0.0, "length": report["response_tokens"]["mean"], "eval_judge_verdicts":
            report["judge_stats"]["verdicts"]}


rows.append(eval_row("base, no rubric", base))
rows.append(eval_row("base + rubric in context", base_rubric))
curves = {}
for name, folder, label in (("rgsd", "rgsd", "RGSD (no judge, 1 rollout)"), ("grpo", "grpo", "GRPO (rule judge)")):
    steps, evals = load_metrics(os.path.join(out, folder, "metrics.jsonl"))
    if steps is None or not evals:
        rows.append({"method": label, "missing": True})
        continue
    last = evals[-1]
    rollouts = sum(s.get("rollouts", s.get("response_count", 0)) for s in steps)
    if name == "rgsd":
        # one rollout per prompt: response_tokens / response_len = rollouts of the step
        rollouts = sum(round(s["response_tokens"] / s["response_len"]) if s.get("response_len") else 0 for s in steps)
    judge = sum(s.get("judge_calls", 0) for s in steps)
    if name == "grpo" and rollouts == 0:
        rollouts = sum(s.get("rollouts", 0) for s in steps)
    rows.append({"method": label, "score": last["score"], "se": last["score_se"], "judge_calls": judge,
                 "rollouts": rollouts, "train_s": sum(s.get("step_s", 0.0) for s in steps),
                 "length": last["response_tokens"], "steps": len(steps)})
    curves[name] = [(0.0, base["healthbench"]["mean"])] + [(e["train_s"], e["score"]) for e in evals]

# ---- the table -------------------------------------------------------------
head = "| method | held-out score ± s.e. | judge calls (training) | rollouts | training wall time | mean response tokens |"
lines = [head, "|---|---|---|---|---|---|"]
for r in rows:
    if r.get("missing"):
        lines.append("| %s | not run (command not built) | | | | |" % r["method"])
        continue
    lines.append("| %s | %.3f ± %.3f | %d | %d | %.1f s | %.1f |" % (r["method"], r["score"], r["se"], r["judge_calls"],
                                                                    r["rollouts"], r["train_s"], r["length"]))
table = "\n".join(lines)

# ---- the targets -------------------------------------------------------------
gap = 100 * (rows[1]["score"] - rows[0]["score"])
targets = ["conditioning gap (base with rubric - without): %+.1f points (target >= 25): %s"
           % (gap, "met" if gap >= 25 else "NOT met")]
r_rgsd = next(r for r in rows if r["method"].startswith("RGSD"))
r_grpo = next(r for r in rows if r["method"].startswith("GRPO"))
if not r_rgsd.get("missing"):
    gain = 100 * (r_rgsd["score"] - rows[0]["score"])
    ok = gain >= 10 and r_rgsd["judge_calls"] == 0
    targets.append("RGSD gain: %+.1f points with %d judge calls, one rollout per prompt (target >= 10, 0 calls): %s"
                   % (gain, r_rgsd["judge_calls"], "met" if ok else "NOT met"))
if not r_rgsd.get("missing") and not r_grpo.get("missing"):
    gain_r = r_rgsd["score"] - rows[0]["score"]
    gain_g = r_grpo["score"] - rows[0]["score"]
    frac = gain_r / gain_g if gain_g > 0 else float("nan")
    tfrac = r_rgsd["train_s"] / r_grpo["train_s"] if r_grpo["train_s"] > 0 else float("nan")
    ok = gain_g > 0 and frac >= 0.8 and tfrac <= 0.25
    if gain_g <= 0:
        targets.append("RGSD / GRPO: GRPO did not improve the held-out score (%+.1f points), so the ratio is "
                       "undefined; RGSD %+.1f points in %.0f%% of GRPO's training wall time: NOT met"
                       % (100 * gain_g, 100 * gain_r, 100 * tfrac))
    else:
        targets.append("RGSD / GRPO: %.0f%% of GRPO's gain (%+.1f vs %+.1f points) in %.0f%% of its training wall time "
                       "(target >= 80%% in <= 25%%): %s" % (100 * frac, 100 * gain_r, 100 * gain_g, 100 * tfrac,
                                                            "met" if ok else "NOT met"))
    if gain_g > 0:
        # From the curves: the first evaluation at which each method is at 80% of GRPO's final gain.
        level = rows[0]["score"] + 0.8 * gain_g
        reach = {}
        for name in ("rgsd", "grpo"):
            hits = [t for t, score in curves[name] if score >= level]
            reach[name] = hits[0] if hits else None
        fmt = lambda t: "%.1f s" % t if t is not None else "never"
        targets.append("time to reach 80%% of GRPO's final gain (score %.3f): RGSD %s, GRPO %s (training seconds)"
                       % (level, fmt(reach["rgsd"]), fmt(reach["grpo"])))
else:
    targets.append("RGSD / GRPO comparison: not measured (GRPO missing)")

# ---- the SVG -------------------------------------------------------------------
W, H, L, R, T, B = 640, 400, 60, 20, 30, 50
all_points = [p for c in curves.values() for p in c]
x_max = max([p[0] for p in all_points] + [1.0])
y_vals = [p[1] for p in all_points] + [rows[0]["score"], rows[1]["score"]]
y_min, y_max = max(0.0, min(y_vals) - 0.05), min(1.0, max(y_vals) + 0.05)
if y_max <= y_min:
    y_max = y_min + 0.1


def sx(x):
    return L + (W - L - R) * x / x_max


def sy(y):
    return H - B - (H - T - B) * (y - y_min) / (y_max - y_min)


svg = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" '
       'font-size="12">' % (W, H, W, H), '<rect width="100%" height="100%" fill="white"/>',
       '<text x="%d" y="18" font-size="14">held-out score (rule judge) vs training wall time</text>' % L,
       '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (L, H - B, W - R, H - B),
       '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (L, T, L, H - B)]
for i in range(6):
    x = x_max * i / 5
    y = y_min + (y_max - y_min) * i / 5
    svg.append('<text x="%.1f" y="%d" text-anchor="middle">%.0f</text>' % (sx(x), H - B + 16, x))
    svg.append('<text x="%d" y="%.1f" text-anchor="end">%.2f</text>' % (L - 6, sy(y) + 4, y))
svg.append('<text x="%d" y="%d" text-anchor="middle">training seconds (evaluation excluded)</text>'
           % ((L + W - R) // 2, H - 12))
svg.append('<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">score</text>'
           % ((T + H - B) // 2, (T + H - B) // 2))
for value, label in ((rows[0]["score"], "base, no rubric"), (rows[1]["score"], "base + rubric")):
    svg.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="gray" stroke-dasharray="4 4"/>'
               % (L, sy(value), W - R, sy(value)))
    svg.append('<text x="%d" y="%.1f" text-anchor="end" fill="gray">%s</text>' % (W - R - 4, sy(value) - 4, label))
colors = {"rgsd": "#1f77b4", "grpo": "#d62728"}
for k, (name, points) in enumerate(curves.items()):
    path = " ".join("%.1f,%.1f" % (sx(x), sy(y)) for x, y in points)
    svg.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>' % (path, colors[name]))
    for x, y in points:
        svg.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>' % (sx(x), sy(y), colors[name]))
    # Legend: a colour swatch, then the name (some renderers ignore a text fill).
    svg.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>'
               % (L + 10, T + 12 + 16 * k, L + 28, T + 12 + 16 * k, colors[name]))
    svg.append('<text x="%d" y="%d" fill="%s">%s</text>' % (L + 34, T + 16 + 16 * k, colors[name],
                                                           "RGSD" if name == "rgsd" else "GRPO (rule judge)"))
svg.append("</svg>")
with open(os.path.join(out, "curve.svg"), "w") as f:
    f.write("\n".join(svg) + "\n")

# ---- the machine: trained numbers vary with the CPU's kernels (docs/demo.md) ----------
machine = {}
if os.path.exists(os.path.join(out, "machine.txt")):
    with open(os.path.join(out, "machine.txt")) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition(" ")
            machine[key] = value
machine_line = ("Machine: %s; kernels: %s; %s thread(s). The trained rows vary with the CPU's BLAS/SIMD kernels "
                "(docs/demo.md gives the spread)." % (machine.get("cpu") or "unknown CPU",
                                                      machine.get("kernels") or "unknown",
                                                      machine.get("threads") or "?"))

# ---- report.md, summary.json, stdout --------------------------------------------------
stage_lines = "\n".join("| %s | %.1f s |" % (k, v) for k, v in times.items())
cfg = {"examples": base["examples"], "samples": base["samples"], "seed": base["seed"], "sampling": base["sampling"]}
report = ["# rgsd demo: RGSD vs GRPO on the rubric world", "",
          "Held-out prompts: %d, %d responses each (temperature %s, at most %s tokens, seed %s), rule judge; "
          "s.e. by bootstrap over prompts." % (cfg["examples"], cfg["samples"], cfg["sampling"]["temperature"],
                                               cfg["sampling"]["max_new"], cfg["seed"]), "", machine_line, "",
          table, "",
          "## Targets", ""] + ["- " + t for t in targets] + ["", "## Stage wall times", "", "| stage | time |",
                                                              "|---|---|", stage_lines, "",
                                                              "![curve](curve.svg)", ""]
with open(os.path.join(out, "report.md"), "w") as f:
    f.write("\n".join(report))
with open(os.path.join(out, "summary.json"), "w") as f:
    json.dump({"rows": rows, "targets": targets, "stage_seconds": times, "curves": curves, "machine": machine}, f,
              indent=1)
print(table)
print()
for t in targets:
    print("  " + t)
print()
print(machine_line)
print("stage wall times: " + ", ".join("%s %.1f s" % kv for kv in times.items()))
print("wrote %s/report.md, %s/curve.svg, %s/summary.json" % (out, out, out))
