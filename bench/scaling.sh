#!/bin/sh
# bench/scaling.sh — data-parallel scaling on one machine (docs/distributed.md):
# the same global batch trained as 1 rank x 2 OpenMP threads and as 2 MPI
# ranks x 1 thread, back to back in the same run (and 1 rank x 1 thread, the
# reference for the speedup), on
#   demo   the demo world's shape (tools/demo.sh: hidden 128, 2 layers, f32,
#          full fine-tuning, 16 prompts x max-new 64 per step);
#   0.5b   the Qwen2.5-0.5B shape (hidden 896, 24 layers, vocab 151936, bf16
#          base, LoRA rank 16: full fine-tuning's f32 Adam state would need
#          ~8 GB per rank), 2 prompts x max-new 16 per step.
# Random weights (rollouts run to max-new, so both layouts do the same work).
# Prints per-step seconds (mean over the steps after the first), the
# communication share of the 2-rank step and the ratios. Never fails on timing.
#   sh bench/scaling.sh [demo|0.5b|all] (default all); RGSD_BIN (default build/rgsd); STEPS (default 4)
set -u
R=${RGSD_BIN:-build/rgsd}
WHICH=${1:-all}
STEPS=${STEPS:-4}
command -v mpirun >/dev/null 2>&1 || { echo "scaling: mpirun not found (make deps)"; exit 0; }
ldd "$R" | grep -q libmpi || { echo "scaling: $R built without MPI (make MPI=1)"; exit 0; }
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
PY=/usr/bin/python3
T=$(mktemp -d /tmp/rgsd-scaling-XXXXXX)
trap 'rm -rf "$T"' EXIT
$R world gen --seed 1 --out "$T/world" >/dev/null 2>&1 || { echo "scaling: world gen failed"; exit 0; }

# mean_of DIR KEY: mean of KEY over metrics.jsonl's steps after the first
mean_of() {
    $PY -c "import json,sys; v=[json.loads(l)[sys.argv[2]] for l in open(sys.argv[1]+'/metrics.jsonl')][1:]
print('%.4f' % (sum(v) / len(v)))" "$1" "$2"
}

# compare NAME MODEL ARGS...: the two layouts, same global batch, same run
compare() {
    name=$1 model=$2
    shift 2
    OMP_NUM_THREADS=2 $R train --model "$model" --data "$T/world/train.jsonl" --steps "$STEPS" --out "$T/$name-1x2" \
        --no-progress "$@" 2>"$T/log" || { tail -3 "$T/log"; return; }
    mpirun --oversubscribe --bind-to none -np 2 -x OMP_NUM_THREADS=1 $R train --model "$model" \
        --data "$T/world/train.jsonl" --steps "$STEPS" --out "$T/$name-2x1" --no-progress "$@" 2>"$T/log" ||
        { tail -3 "$T/log"; return; }
    OMP_NUM_THREADS=1 $R train --model "$model" --data "$T/world/train.jsonl" --steps "$STEPS" --out "$T/$name-1x1" \
        --no-progress "$@" 2>"$T/log" || { tail -3 "$T/log"; return; }
    one=$(mean_of "$T/$name-1x2" step_s) two=$(mean_of "$T/$name-2x1" step_s) base=$(mean_of "$T/$name-1x1" step_s)
    comm=$(mean_of "$T/$name-2x1" comm_s) bytes=$(mean_of "$T/$name-2x1" comm_bytes)
    echo "$name: seconds per step: 1 rank x 2 threads $one, 2 ranks x 1 thread $two, 1 rank x 1 thread $base"
    echo "$name: (1x2)/(2x1) $(echo "$one $two" | awk '{printf "%.2f", $1 / $2}'), speedup of 2 ranks over 1x1" \
        "$(echo "$base $two" | awk '{printf "%.2f", $1 / $2}'); 2-rank communication $comm s =" \
        "$(echo "$comm $two" | awk '{printf "%.1f", 100 * $1 / $2}')% of its step," \
        "$(echo "$bytes" | awk '{printf "%.2f", $1 / 1e6}') MB all-reduced per rank per step"
}

echo "scaling bench: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $($R --kernels)"
if [ "$WHICH" = demo ] || [ "$WHICH" = all ]; then
    $R world model --tokenizer "$T/world/tokenizer" --out "$T/demo-init" --hidden 128 --layers 2 --seed 1 >/dev/null 2>&1
    compare demo "$T/demo-init" --batch 16 --max-new 64 --lr 1e-3 --seed 1
fi
if [ "$WHICH" = 0.5b ] || [ "$WHICH" = all ]; then
    $R world model --tokenizer "$T/world/tokenizer" --out "$T/05b-init" --hidden 896 --layers 24 --heads 14 \
        --kv-heads 2 --intermediate 4864 --vocab 151936 --context 1024 --dtype bf16 >/dev/null 2>&1
    compare 0.5b "$T/05b-init" --batch 2 --max-new 16 --lr 1e-4 --lora-rank 16 --seed 1
fi
