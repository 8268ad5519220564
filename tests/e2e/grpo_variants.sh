#!/bin/sh
# rgsd grpo's TRL options and POW3R end to end (issue 14, items 6-7), rule judge, tiny model of the
# rubric world (SFT'd 150 steps so rewards vary within a group):
#   1. --reward pow3r --iterations 2 --loss-type grpo --scale-rewards batch --epsilon-high 0.28
#      --mask-truncated over 6 prompts, batch 2 (an epoch = 3 steps): 8 steps ==
#      4 steps + --resume + 4 steps byte for byte (model, train_state.safetensors with pow3r.state,
#      metrics) — the resume falls mid-epoch, with verdicts pending; alpha was updated when epochs 1
#      and 2 began (alpha_updates sum 2) and moved off 1; masked and alpha keys logged;
#   2. a default run logs none of the new keys; the setup line names the loss and clip;
#   3. bad values -> one line, non-zero exit, no output folder; resuming a pow3r checkpoint
#      with --reward balanced is refused.
# Single-threaded. About 15 s on a loaded 2-vCPU VM.
set -u
[ -f "${RGSD_REF_DIR:-build/ref}/train/.done" ] || { echo "training references not built (make refs needs /usr/bin/python3 with torch)"; exit 77; }
PY=/usr/bin/python3
T=$(mktemp -d /tmp/rgsd-e2e-grpov-XXXXXX)
trap 'rm -rf "$T"' EXIT
export OMP_NUM_THREADS=1
die() { echo "FAIL: $*"; exit 1; }
R=$RGSD_BIN

$R world gen --seed 2 --train 64 --heldout 16 --sft 600 --out "$T/world" >/dev/null 2>"$T/log" || { cat "$T/log"; die "world gen"; }
$PY tests/ref/rgsd_tiny_model.py "$T/init" "$T/world/tokenizer" || die "tiny model"
$R sft --model "$T/init" --data "$T/world/sft.jsonl" --out "$T/base" --batch-size 8 --lr 4e-3 --steps 150 --warmup 10 \
    --no-progress 2>"$T/log" || { cat "$T/log"; die "sft base"; }
head -6 "$T/world/train.jsonl" >"$T/six.jsonl"

# 1. the variants together; exact resume across an alpha update
RUN="$R grpo --model $T/base --data $T/six.jsonl --judge rule --batch 2 --group 4 --steps 8 --lr 2e-4 --max-new 48
    --seed 9 --save-every 4 --no-progress --reward pow3r --pow3r-lambda 0.8 --pow3r-ema 0.7 --iterations 2
    --loss-type grpo --scale-rewards batch --epsilon-high 0.28 --mask-truncated"
$RUN --out "$T/a" 2>"$T/log" || { cat "$T/log"; die "8 steps"; }
grep -q "2 updates each" "$T/log" || die "setup line does not show the updates per step"
$RUN --out "$T/b" --stop-after 4 2>"$T/log" || { cat "$T/log"; die "4 steps"; }
$RUN --out "$T/b" --resume 2>"$T/log" || { cat "$T/log"; die "resume"; }
grep -q "resuming at step 4 of 8" "$T/log" || die "did not resume at step 4"
for f in model.safetensors train_state.safetensors; do cmp -s "$T/a/$f" "$T/b/$f" || die "$f differs after resume"; done
strip() { sed 's/, "judge_s"[^}]*"optimizer_s": [0-9.]*//' "$1"; }
[ "$(strip "$T/a/metrics.jsonl")" = "$(strip "$T/b/metrics.jsonl")" ] || die "metrics differ after resume"
$PY - "$T/a" "$T/six.jsonl" <<'PYEOF' || die "variant metrics"
import json, struct, sys
d = sys.argv[1]
nc = sum(len(json.loads(l)["rubric"]) for l in open(sys.argv[2]))
rows = [json.loads(l) for l in open(d + "/metrics.jsonl") if '"eval"' not in l]
assert len(rows) == 8, len(rows)
for r in rows:
    for k in ("masked", "alpha_min", "alpha_max", "alpha_updates"):
        assert k in r, k
assert sum(r["alpha_updates"] for r in rows) == 2, [r["alpha_updates"] for r in rows]
assert [r["alpha_updates"] for r in rows].index(1) == 3, "alpha must first move at step 4 (epoch 1 begins)"
assert all(r["alpha_min"] == 1 and r["alpha_max"] == 1 for r in rows[:3])
assert rows[-1]["alpha_min"] < 1 < rows[-1]["alpha_max"], rows[-1]
with open(d + "/train_state.safetensors", "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    h = json.loads(f.read(n))
assert h["__metadata__"]["method_state"] == "pow3r.state" and h["pow3r.state"]["dtype"] == "F64"
# alpha and the pending verdicts of every criterion, then the epoch
assert h["pow3r.state"]["shape"] == [2 * nc + 1], (h["pow3r.state"]["shape"], nc)
print("pow3r alpha after 8 steps: [%.3f, %.3f]; masked per step %s; clip fraction %s" % (
    rows[-1]["alpha_min"], rows[-1]["alpha_max"], [r["masked"] for r in rows],
    [round(r["clip_fraction"], 3) for r in rows]))
PYEOF

# 2. defaults: none of the new keys
$R grpo --model "$T/base" --data "$T/six.jsonl" --judge rule --batch 2 --group 2 --steps 1 --max-new 8 --out "$T/d" \
    --no-progress 2>"$T/log" || { cat "$T/log"; die "default run"; }
grep -q "loss dapo, clip \[1 - 0.20, 1 + 0.20\]" "$T/log" || die "setup line: $(grep 'rgsd grpo:' "$T/log")"
grep -q '"masked"\|"alpha_' "$T/d/metrics.jsonl" && die "a default run logs variant keys"

# 3. bad input
bad() {
    out=$($R grpo --model "$T/base" --data "$T/six.jsonl" --judge rule --out "$T/bad" --steps 1 "$@" 2>&1) && die "accepted $*"
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || die "more than one line for $*: $out"
    [ -e "$T/bad" ] && die "output folder written for $*"
    printf '%s\n' "$out" | grep -q -- "$1" || die "the message for $* does not name $1: $out"
}
bad --loss-type sapo
bad --scale-rewards median
bad --no-std --scale-rewards batch
bad --iterations 0
bad --epsilon-high -1
bad --pow3r-lambda 2 --reward pow3r
out=$($R grpo --model "$T/base" --data "$T/six.jsonl" --judge rule --batch 2 --group 4 --steps 8 --max-new 24 --seed 9 \
    --out "$T/b" --resume --no-progress 2>&1) && die "a pow3r checkpoint resumed with --reward balanced"
printf '%s\n' "$out" | grep -q "pow3r.state" || die "resume refusal does not name the state: $out"
echo "grpo variants e2e: ok"
