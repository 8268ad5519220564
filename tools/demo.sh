#!/bin/sh
# make demo: the paper's comparison on the rubric world (docs/demo.md).
#
#   1. world      rgsd world gen (train / held-out prompts with rubrics, SFT chats, tokenizer)
#   2. base       rgsd world model (a random tiny Qwen2) + rgsd sft on the world's chats
#   3. baseline   rgsd eval on the held-out prompts, without and with the rubric (rule judge)
#   4. RGSD       rgsd train: one rollout per prompt, zero judge calls, eval every N steps
#   5. GRPO       rgsd grpo --judge rule, G = 8, the same prompts per step, steps and lr
#   6. report     tools/demo_report.py: one table, an SVG of held-out score vs training
#                 time, report.md (with the CPU model and kernel paths of machine.txt)
#                 — all under $DEMO_OUT (default demo-out/)
#
# Every size is an environment variable (the scaled-down test, tests/e2e/demo_small.sh,
# sets them). The evaluation protocol is the same for every row: held-out prompts,
# rule judge, temperature 1, DEMO_EVAL_SAMPLES responses per prompt, the same seed,
# at most DEMO_MAX_NEW tokens; nothing in it depends on the method.
set -eu
RGSD=${RGSD_BIN:-build/rgsd}
OUT=${DEMO_OUT:-demo-out}
SEED=${DEMO_SEED:-1}
WORLD_ARGS=${DEMO_WORLD_ARGS:-}
HIDDEN=${DEMO_HIDDEN:-128}
LAYERS=${DEMO_LAYERS:-2}
SFT_STEPS=${DEMO_SFT_STEPS:-1500}
SFT_BATCH=${DEMO_SFT_BATCH:-16}
SFT_LR=${DEMO_SFT_LR:-3e-3}
RL_STEPS=${DEMO_RL_STEPS:-100}
RL_BATCH=${DEMO_RL_BATCH:-16}
RL_LR=${DEMO_RL_LR:-1e-3}
GROUP=${DEMO_GROUP:-8}
EVAL_EVERY=${DEMO_EVAL_EVERY:-10}
EVAL_SAMPLES=${DEMO_EVAL_SAMPLES:-2}
MAX_NEW=${DEMO_MAX_NEW:-64}
PROGRESS=${DEMO_PROGRESS:-}          # "--no-progress" to silence the bars
PY=${DEMO_PYTHON:-/usr/bin/python3}  # standard library only
# Tiny shapes run faster on one thread than on two (docs/demo.md).
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

[ -x "$RGSD" ] || { echo "demo: $RGSD not built (run make)"; exit 1; }
[ -x "$PY" ] || PY=python3
rm -rf "$OUT"
mkdir -p "$OUT"
TIMES="$OUT/stage_times.txt"
: > "$TIMES"
now() { date +%s.%N; }
DEMO_START=$(now)
stage() { # stage NAME COMMAND...: runs it, records its wall seconds
    name=$1; shift
    echo "== $name"
    t0=$(now)
    "$@"
    t1=$(now)
    s=$(echo "$t1 $t0" | awk '{printf "%.1f", $1 - $2}')
    echo "$name $s" >> "$TIMES"
    echo "   ($name: $s s)"
}

# The machine: numbers after training vary with the CPU's BLAS/SIMD kernels
# (float sums in another order; docs/demo.md). report.md records them.
{
    # model name, and family/model: a VM may show only "AMD EPYC"
    echo "cpu $(awk -F': *' '/^model name/ {n = $2} /^cpu family/ {f = $2} /^model\t/ {m = $2}
        END {printf "%s (family %s, model %s)", n, f, m}' /proc/cpuinfo 2>/dev/null)"
    echo "kernels $("$RGSD" --kernels)"
    echo "threads $OMP_NUM_THREADS"
} > "$OUT/machine.txt"

W=$OUT/world
stage world "$RGSD" world gen --seed "$SEED" --out "$W" $WORLD_ARGS
stage init "$RGSD" world model --tokenizer "$W/tokenizer" --out "$OUT/init" --hidden "$HIDDEN" --layers "$LAYERS" \
    --seed "$SEED"
stage sft "$RGSD" sft --model "$OUT/init" --data "$W/sft.jsonl" --out "$OUT/base" --batch-size "$SFT_BATCH" \
    --lr "$SFT_LR" --steps "$SFT_STEPS" --warmup 50 --seed "$SEED" $PROGRESS

EVAL="--data $W/heldout.jsonl --judge rule --samples $EVAL_SAMPLES --seed $SEED --max-new $MAX_NEW --batch 8"
stage eval_base "$RGSD" eval --model "$OUT/base" $EVAL --out "$OUT/eval-base"
stage eval_base_rubric "$RGSD" eval --model "$OUT/base" $EVAL --with-rubric --out "$OUT/eval-base-rubric"

COMMON="--model $OUT/base --data $W/train.jsonl --batch $RL_BATCH --steps $RL_STEPS --lr $RL_LR --warmup 0
  --schedule constant --max-new $MAX_NEW --seed $SEED --eval-data $W/heldout.jsonl --eval-every $EVAL_EVERY
  --eval-samples $EVAL_SAMPLES --eval-max-new $MAX_NEW --judge rule"
stage rgsd "$RGSD" train $COMMON --out "$OUT/rgsd" $PROGRESS
if "$RGSD" grpo --help >/dev/null 2>&1; then
    stage grpo "$RGSD" grpo $COMMON --group "$GROUP" --out "$OUT/grpo" $PROGRESS
else
    echo "== grpo: not built in this binary ('rgsd grpo' missing); the GRPO column stays empty"
fi

total=$(echo "$(now) $DEMO_START" | awk '{printf "%.1f", $1 - $2}')
echo "total $total" >> "$TIMES"
echo "== report"
"$PY" tools/demo_report.py "$OUT"
