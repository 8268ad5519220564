#!/bin/sh
# bench/rgsd_variants_demo.sh — issue 14's RGSD variants at the demo's scale (docs/rgsd.md): three
# worlds and bases, the demo's RGSD budget. bench/rgsd_variants.sh is the quicker one-base version.
#
#   sh bench/rgsd_variants_demo.sh BASES_DIR OUT_DIR [SEEDS]
#
# BASES_DIR/s<seed>/ holds the demo's world (world/) and SFT base (base/) for each seed, made with
# the commands of tools/demo.sh (`rgsd world gen --seed S`, `rgsd world model --seed S`, `rgsd sft`).
# Every variant trains from the same base with the demo's RGSD budget (16 prompts x 100 steps,
# lr 1e-3 constant, max-new 64, the seed's rollouts), is evaluated once at the end on the 200
# held-out prompts (rule judge, 2 samples, the same seed), and its held-out gap is measured with
# `rgsd gap --samples 4` with one definition for every row (the default teacher prompt, rubric in the
# user turn: plain minus rubric log-prob per token, <= 0, nearer 0 = more internalised). One TSV row per
# (seed, variant) in OUT_DIR/results.tsv; bench/rgsd_variants_table.py prints the table (mean and s.d.
# over seeds). Not a test.
set -eu
BASES=$1
OUT=$2
SEEDS=${3:-"1 2 3"}
RGSD=${RGSD_BIN:-build/rgsd}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
mkdir -p "$OUT"
RES=$OUT/results.tsv
[ -f "$RES" ] || printf 'seed\tvariant\tscore\tscore_se\tresponse_tokens\tgap\tgap_se\ttrain_s\n' > "$RES"

VARIANTS='default|
teacher-ema|--teacher ema
teacher-live|--teacher live
beta0-clip-none|--beta 0
beta0-clip-entry|--beta 0 --clip-mode entry
beta0.5-clip-entry|--clip-mode entry
topk16-teacher|--topk 16 --topk-from teacher
topk16-student|--topk 16 --topk-from student
topk16-union|--topk 16 --topk-from union
topk16-teacher-renorm|--topk 16 --topk-from teacher --topk-tail renorm
paper-template|--teacher-template paper
rubric-in-system|--rubric-in system'

for s in $SEEDS; do
    W=$BASES/s$s/world
    if ! grep -q "^$s	base	" "$RES"; then # the untrained base: where every variant starts
        b=$OUT/s$s-base
        "$RGSD" eval --model "$BASES/s$s/base" --data "$W/heldout.jsonl" --judge rule --samples 2 --seed "$s" \
            --max-new 64 --batch 8 --out "$b-eval" > "$b.log" 2>&1
        "$RGSD" gap --model "$BASES/s$s/base" --data "$W/heldout.jsonl" --max-new 64 --seed "$s" --samples 4 \
            > "$b.gap.jsonl" 2>/dev/null
        python3 - "$b-eval/report.json" "$b.gap.jsonl" "$s" >> "$RES" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
g = [json.loads(l) for l in open(sys.argv[2]) if '"summary"' in l][-1]
print(f"{sys.argv[3]}\tbase\t{r['healthbench']['mean']:.4f}\t{r['healthbench']['std_error']:.4f}\t"
      f"{r['response_tokens']['mean']:.2f}\t{g['gap']:.4f}\t{g['gap_se']:.4f}\t0.0")
PY
        tail -1 "$RES"
    fi
    echo "$VARIANTS" | while IFS='|' read -r name flags; do
        grep -q "^$s	$name	" "$RES" && continue
        run=$OUT/s$s-$name
        rm -rf "$run"
        t0=$(date +%s.%N)
        # shellcheck disable=SC2086  # flags are word lists on purpose
        "$RGSD" train --model "$BASES/s$s/base" --data "$W/train.jsonl" --out "$run" --batch 16 --steps 100 \
            --lr 1e-3 --warmup 0 --schedule constant --max-new 64 --seed "$s" --eval-data "$W/heldout.jsonl" \
            --eval-every 100 --eval-samples 2 --eval-max-new 64 --judge rule --no-progress $flags > "$run.log" 2>&1 \
            || { echo "variant $name seed $s failed: see $run.log"; continue; }
        t1=$(date +%s.%N)
        "$RGSD" gap --model "$run" --data "$W/heldout.jsonl" --max-new 64 --seed "$s" --samples 4 \
            > "$run.gap.jsonl" 2>/dev/null || echo "gap failed for $name seed $s"
        python3 - "$run/metrics.jsonl" "$run.gap.jsonl" "$s" "$name" "$t0" "$t1" >> "$RES" <<'PY'
import json, sys
m, g, seed, name, t0, t1 = sys.argv[1:]
ev = [json.loads(l) for l in open(m) if '"eval": true' in l][-1]
train_s = sum(json.loads(l).get("step_s", 0) for l in open(m) if '"eval"' not in l)
gap, gap_se = float("nan"), float("nan")
for l in open(g):
    d = json.loads(l)
    if d.get("summary"):
        gap, gap_se = d["gap"], d["gap_se"]
print(f"{seed}\t{name}\t{ev['score']:.4f}\t{ev['score_se']:.4f}\t{ev['response_tokens']:.2f}\t{gap:.4f}\t{gap_se:.4f}\t{train_s:.1f}")
PY
        tail -1 "$RES"
    done
done
