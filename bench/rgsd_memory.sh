#!/bin/sh
# Peak memory of one LoRA RGSD step on the Qwen2.5-3B shape (hidden 2048,
# intermediate 11008, 36 layers, 16 heads / 2 KV heads of 128, vocab 151936,
# tied embeddings) with random weights: bf16 base, LoRA rank 16 on every
# projection, 4 prompts of ~300 tokens, max-new 128, batch 4 (gen-batch 4).
# Reports the peak resident set (/usr/bin/time -v, "Maximum resident set size")
# of `rgsd train --steps 1` for each binary given, one after the other, plus
# the seconds of the step. Not a test; never fails on a figure.
#   sh bench/rgsd_memory.sh [RGSD_BIN ...]        (default build/rgsd)
# The model folder (6.2 GB of bf16 safetensors at 36 layers, written once by `rgsd world
# model --dtype bf16`) and the data stay in $RGSD_MEMORY_DIR (/tmp/rgsd-memory)
# for the next run; delete it when done. Needs ~13 GB free to write the model
# and as much as the step takes to run: check `free -g` first on a shared machine.
# The tokenizer (Qwen3's: the Qwen2.5 BPE plus the thinking tokens) comes from
# $RGSD_MEMORY_TOKENIZER, default build/ref/model/e2e_qwen3 (make refs).
# RGSD_MEMORY_LAYERS=N (default 36) keeps every shape but the depth: a binary
# that cannot run the full 3B on this machine can be measured at a few depths
# and its per-layer cost extrapolated (memory is affine in the layer count).
# The first binary writes the model (it needs `world model --dtype`).
set -eu
T=${RGSD_MEMORY_DIR:-/tmp/rgsd-memory}
L=${RGSD_MEMORY_LAYERS:-36}
TOK=${RGSD_MEMORY_TOKENIZER:-build/ref/model/e2e_qwen3}
[ $# -gt 0 ] || set -- build/rgsd
mkdir -p "$T"
M=$T/model-$L
if [ ! -f "$M/model.safetensors" ]; then
    [ -f "$TOK/tokenizer.json" ] || { echo "no tokenizer at $TOK (make refs, or set RGSD_MEMORY_TOKENIZER)"; exit 1; }
    "$1" world model --tokenizer "$TOK" --out "$M" --hidden 2048 --intermediate 11008 --layers "$L" --heads 16 \
        --kv-heads 2 --vocab 151936 --context 32768 --dtype bf16
fi
# 4 prompts of ~300 tokens (one token per word of this tokenizer), a short rubric each.
if [ ! -f "$T/data.jsonl" ]; then
    words=$(i=0; while [ $i -lt 280 ]; do printf 'care '; i=$((i + 1)); done)
    for i in 1 2 3 4; do
        printf '{"id":"m%d","messages":[{"role":"user","content":"question %d: %s what should i do?"}],' "$i" "$i" "$words"
        printf '"rubric":[{"text":"Says to keep it warm.","weight":5},{"text":"Says to rest.","weight":3}]}\n'
    done > "$T/data.jsonl"
fi
echo "free memory before (GB):"; free -g | sed -n 1,2p
for bin in "$@"; do
    rm -rf "$T/run"
    /usr/bin/time -v "$bin" train --model "$M" --data "$T/data.jsonl" --out "$T/run" --lora-rank 16 \
        --batch 4 --gen-batch 4 --max-new 128 --steps 1 --seed 1 --no-progress 2>"$T/log" >/dev/null || {
        echo "$bin: failed"; tail -3 "$T/log"; continue; }
    kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$T/log")
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$T/log")
    step=$(sed -n 's/.*"step_s": \([0-9.]*\).*/\1/p' "$T/run/metrics.jsonl" | head -1)
    echo "$bin ($L layers): peak RSS $(awk "BEGIN { printf \"%.2f\", $kb / 1048576 }") GiB, step ${step:-?} s, whole run $wall"
done
rm -rf "$T/run"
