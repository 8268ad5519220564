#!/bin/sh
# rgsd train / rgsd gap end to end on a tiny model of the rubric world:
#   1. a tiny random Qwen2 model with the world's tokenizer is SFT'd for a few
#      seconds on world chats (with and without the rubric in the prompt), so
#      the rubric in context changes its answers (a conditioning gap);
#   2. 60 RGSD steps (full fine-tuning, lr 1e-3) shrink the judge-free gap
#      measured by `rgsd gap` (mean over 4 sampling seeds) by more than 20% and
#      raise log p(reference answer | prompt WITHOUT rubric) measured by
#      `rgsd logprobs` (an independent scorer: the inference path);
#      Margin (issue 10). Measured with tools/kernel_paths.sh and the same
#      steps by hand on an AMD EPYC Zen 4 over OPENBLAS_CORETYPE x RGSD_KERNELS
#      and training seeds 4..9 (RGSD_E2E_SEED), gap0 = 0.0901 on every path:
#        gap1 / gap0: Haswell = Zen 0.481..0.633, SkylakeX = Cooperlake
#          0.472..0.650 (threshold 0.8: worst run 0.15 x gap0 inside it);
#        log p rise: Haswell = Zen +0.39..+0.59, SkylakeX = Cooperlake
#          +0.41..+0.61 nats (threshold > 0);
#        RGSD_KERNELS avx2/avx512 changed no digit.
#      Since issue 14 `rgsd gap` is the study's gap (plain minus rubric, per
#      sample, mean over prompts: <= 0, rising towards 0), so the check reads
#      gap1 > 0.8 gap0 with gap0 < 0; remeasured on the default kernels over
#      training seeds 4..9: gap0 = -0.0914, gap1 / gap0 0.46..0.67 (the old
#      definition gave 0.47..0.65 there).
#      Rejected designs, measured the same way: 30 steps at lr 2e-3 with one
#      gap sample (the old test) reached gap1/gap0 = 1.22 on one seed; 30 steps
#      with 4 samples 0.84; 40 or 60 steps at lr 2e-3 made log p fall by up to
#      1.9 nats on 8 of 24 runs (the student overshoots).
#   3. 6 steps == 3 steps + --resume + 3 steps, byte for byte;
#   4. metrics.jsonl carries every metric of DESIGN section 5, judge_calls 0;
#   5. LoRA writes a PEFT folder PyTorch-side checks accept; --eval-every with
#      the rule judge adds evaluation lines;
#   Ctrl-C saves a resumable checkpoint (exit 130);
#   6. examples the teacher cannot take are skipped and counted, or rejected
#      with --strict; bad flags fail with one line.
# Single-threaded (OMP_NUM_THREADS=1): tiny shapes run faster than with two threads.
set -u
[ -f "${RGSD_REF_DIR:-build/ref}/train/.done" ] || { echo "training references not built (make refs needs /usr/bin/python3 with torch)"; exit 77; }
PY=/usr/bin/python3
T=$(mktemp -d /tmp/rgsd-e2e-rgsd-XXXXXX)
trap 'rm -rf "$T"' EXIT
export OMP_NUM_THREADS=1
die() { echo "FAIL: $*"; exit 1; }
. tests/e2e/lib/wait_handler.sh
R=$RGSD_BIN

$R world gen --seed 2 --train 64 --heldout 16 --sft 1200 --out "$T/world" >/dev/null 2>"$T/log" || { cat "$T/log"; die "world gen"; }
$PY tests/ref/rgsd_tiny_model.py "$T/init" "$T/world/tokenizer" || die "tiny model"
$R sft --model "$T/init" --data "$T/world/sft.jsonl" --out "$T/base" --batch-size 8 --lr 4e-3 --steps 300 --warmup 10 \
    --no-progress 2>"$T/log" || { cat "$T/log"; die "sft base"; }
DATA=$T/world/train.jsonl

# 2. gap shrinks, p(reference | no rubric) rises
# the gap of one sampled response per prompt is noisy (one seed moved it by
# 0.02 alone): the mean over 4 sampling seeds, 256 responses
gap_of() {
    for g in 1 2 3 4; do
        $R gap --model "$1" --data "$DATA" --max-new 48 --seed $g 2>/dev/null | tail -1 | sed 's/.*"gap": \([-0-9.e]*\).*/\1/'
    done | $PY -c "import sys; v = [float(l) for l in sys.stdin]; assert len(v) == 4; print(round(sum(v) / 4, 6))"
}
$PY - "$DATA" "$T/refs.jsonl" <<'PYEOF' || die "reference lines"
import json, sys
with open(sys.argv[1]) as f, open(sys.argv[2], "w") as out:
    for line in f:
        ex = json.loads(line)
        out.write(json.dumps({"messages": ex["messages"], "response": ex["reference"]}) + "\n")
PYEOF
logp_of() { $R logprobs --model "$1" --data "$T/refs.jsonl" 2>/dev/null | $PY -c "
import json, sys
v = [json.loads(l)['sum'] for l in sys.stdin if l.strip()]
print(sum(v) / len(v))"; }
gap0=$(gap_of "$T/base"); logp0=$(logp_of "$T/base")
$R train --model "$T/base" --data "$DATA" --out "$T/full" --batch 8 --steps 60 --lr 1e-3 --max-new 48 --seed "${RGSD_E2E_SEED:-4}" \
    --no-progress 2>"$T/log" || { cat "$T/log"; die "rgsd train full"; }
grep -q "judge calls during training: 0" "$T/log" || die "the log does not state zero judge calls"
gap1=$(gap_of "$T/full"); logp1=$(logp_of "$T/full")
echo "gap $gap0 -> $gap1; mean log p(reference | no rubric) $logp0 -> $logp1"
$PY -c "import sys; sys.exit(0 if $gap1 > 0.8 * $gap0 and $gap0 < 0 else 1)" || die "the gap did not shrink by 20% ($gap0 -> $gap1)"
$PY -c "import sys; sys.exit(0 if $logp1 > $logp0 else 1)" || die "log p(reference | no rubric) did not rise ($logp0 -> $logp1)"
$PY tests/ref/train_check.py check-hf "$T/full" "$T/base" || die "HF folder check"
# tools/kernel_paths.sh reruns only the learning check above under each kernel path
[ -n "${RGSD_E2E_LEARNING_ONLY:-}" ] && { echo "rgsd e2e: learning check only"; exit 0; }

# 3. exact resume
RUN="$R train --model $T/base --data $DATA --batch 4 --steps 6 --lr 2e-3 --max-new 32 --seed 9 --save-every 2 --no-progress"
$RUN --out "$T/a" 2>"$T/log" || { cat "$T/log"; die "6 steps"; }
$RUN --out "$T/b" --stop-after 3 2>"$T/log" || { cat "$T/log"; die "3 steps"; }
$RUN --out "$T/b" --resume 2>"$T/log" || { cat "$T/log"; die "resume"; }
grep -q "resuming at step 3 of 6" "$T/log" || die "did not resume at step 3"
for f in model.safetensors train_state.safetensors; do cmp -s "$T/a/$f" "$T/b/$f" || die "$f differs after resume"; done
strip() { sed 's/, "tokens_per_s".*//' "$1"; }
[ "$(strip "$T/a/metrics.jsonl")" = "$(strip "$T/b/metrics.jsonl")" ] || die "metrics differ after resume"

# 4. every metric
$PY - "$T/a/metrics.jsonl" <<'PYEOF' || die "metrics fields"
import json, sys
keys = ["step", "loss", "clip_fraction", "gap", "entropy", "response_len", "tokens_per_s", "generation_s", "teacher_s",
        "student_s", "backward_s", "optimizer_s", "judge_calls", "lr", "grad_norm"]
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == 6, len(lines)
for l in lines:
    missing = [k for k in keys if k not in l]
    assert not missing, missing
    assert l["judge_calls"] == 0 and l["loss"] >= 0 and l["response_len"] > 0
PYEOF

# 5. LoRA (bf16 base, adapters off = teacher) + evaluation with the rule judge
$R train --model "$T/base" --data "$DATA" --out "$T/lora" --lora-rank 4 --batch 4 --steps 4 --lr 1e-2 --max-new 32 \
    --eval-data "$T/world/heldout.jsonl" --eval-every 2 --judge rule --eval-out "$T/evals" --no-progress 2>"$T/log" \
    || { cat "$T/log"; die "rgsd train LoRA"; }
$PY tests/ref/train_check.py check-peft "$T/lora" "$T/base" || die "PEFT folder check"
[ "$(grep -c '"eval": true' "$T/lora/metrics.jsonl")" -eq 2 ] || die "expected 2 evaluation lines"
[ -f "$T/evals/step-4/report.json" ] || die "no evaluation report"
$R gap --model "$T/base" --adapter "$T/lora" --data "$DATA" --max-new 16 >/dev/null 2>"$T/log" || { cat "$T/log"; die "gap --adapter"; }

# Ctrl-C: finishes the step, saves, exits 130; --resume continues
$R train --model "$T/base" --data "$DATA" --out "$T/int" --steps 1000000 --batch 2 --max-new 16 --no-progress 2>"$T/log" &
PID=$!
wait_for_sigint_handler $PID || { cat "$T/log"; die "SIGINT: the handler was never installed"; }
kill -INT $PID
wait $PID; rc=$?
[ $rc -eq 130 ] || { cat "$T/log"; die "SIGINT: exit $rc, want 130"; }
[ -f "$T/int/train_state.safetensors" ] || die "SIGINT: no checkpoint"
$R train --model "$T/base" --data "$DATA" --out "$T/int" --steps 1000000 --batch 2 --max-new 16 --stop-after 1 \
    --resume --no-progress 2>"$T/log" || { cat "$T/log"; die "resume after SIGINT"; }
ls "$T" | grep -q "tmp-" && die "a temp folder was left behind"

# 6. examples the teacher cannot take; bad input
$R train --model "$T/base" --data "$DATA" --out "$T/short" --context 120 --max-new 16 --steps 1 --batch 2 --no-progress \
    2>"$T/log" || { cat "$T/log"; die "skipping long examples"; }
grep -q "examples skipped" "$T/log" || die "no skip count in the log"
$R train --model "$T/base" --data "$DATA" --out "$T/strict" --context 120 --max-new 16 --steps 1 --strict --no-progress \
    2>"$T/log" && die "--strict accepted a teacher prompt past the context"
grep -q "passes the context" "$T/log" || die "--strict error does not say why"
[ -e "$T/strict" ] && die "--strict failure left an output folder"
# An example with an empty rubric gives the teacher nothing to condition on: skipped and counted (not a
# loader error), or refused by --strict with the example named.
{ head -n 3 "$DATA"; echo '{"id": "no-criteria", "messages": [{"role": "user", "content": "hello"}], "rubric": []}'; } \
    > "$T/empty.jsonl"
$R train --model "$T/base" --data "$T/empty.jsonl" --out "$T/empty" --max-new 16 --steps 1 --batch 2 --no-progress \
    2>"$T/log" || { cat "$T/log"; die "an empty rubric stopped the run"; }
grep -q "1 with nothing for the teacher" "$T/log" || { cat "$T/log"; die "the empty-rubric example was not counted"; }
$R train --model "$T/base" --data "$T/empty.jsonl" --out "$T/empty-strict" --max-new 16 --steps 1 --strict \
    --no-progress 2>"$T/log" && die "--strict accepted an empty rubric"
grep -q "no-criteria.*empty rubric" "$T/log" || { cat "$T/log"; die "--strict error does not name the example"; }
$R train --model "$T/base" --data "$DATA" --out "$T/x" --clip-mode sometimes 2>"$T/log"; [ $? -ne 0 ] || die "bad --clip-mode accepted"
[ "$(wc -l < "$T/log")" -eq 1 ] || die "bad --clip-mode: not one line"
$R train --model "$T/base" --data "$DATA" --out "$T/x" --beta 1.5 2>/dev/null && die "--beta 1.5 accepted"
echo '{"prompt": "oops"' > "$T/bad.jsonl"
$R train --model "$T/base" --data "$T/bad.jsonl" --out "$T/x" 2>"$T/log" && die "bad data accepted"
grep -q "bad.jsonl" "$T/log" || die "bad data error does not name the file"
echo "rgsd e2e: ok"
exit 0
