#!/bin/sh
# rgsd train's issue-14 variants end to end on a tiny random world model:
#   1. --teacher ema (full fine-tuning and LoRA) with every other variant on
#      (--topk-from union --topk-tail renorm --loss-mean sequence --is-weight
#      token): 6 steps == 3 steps + --resume + 3 steps, byte for byte (weights,
#      train state with its teacher.ema tensor, metrics);
#   2. --teacher live runs (no teacher copy) and logs is_weight;
#   3. an EMA run cannot resume a checkpoint without the average; bad values
#      of the new flags fail with one line.
# The losses themselves are checked against PyTorch in test_rgsd_variants.
set -u
[ -f "${RGSD_REF_DIR:-build/ref}/train/.done" ] || { echo "training references not built (make refs needs /usr/bin/python3 with torch)"; exit 77; }
PY=/usr/bin/python3
T=$(mktemp -d /tmp/rgsd-e2e-variants-XXXXXX)
trap 'rm -rf "$T"' EXIT
export OMP_NUM_THREADS=1
die() { echo "FAIL: $*"; exit 1; }
R=$RGSD_BIN

$R world gen --seed 2 --train 32 --heldout 4 --sft 8 --out "$T/world" >/dev/null 2>"$T/log" || { cat "$T/log"; die "world gen"; }
$PY tests/ref/rgsd_tiny_model.py "$T/base" "$T/world/tokenizer" || die "tiny model"
DATA=$T/world/train.jsonl
VARIANTS="--topk 8 --topk-from union --topk-tail renorm --loss-mean sequence --is-weight token --is-clip 2"

# 1. exact resume with an EMA teacher, full fine-tuning and LoRA
resume_check() { # name, files to compare, extra flags
    name=$1; files=$2; shift 2
    RUN="$R train --model $T/base --data $DATA --batch 4 --steps 6 --lr 2e-3 --max-new 16 --seed 9 --save-every 2 \
        --teacher ema --teacher-ema-decay 0.9 $VARIANTS --no-progress $*"
    $RUN --out "$T/$name-a" 2>"$T/log" || { cat "$T/log"; die "$name: 6 steps"; }
    grep -q "teacher: ema" "$T/log" || { cat "$T/log"; die "$name: the setup line does not name the EMA teacher"; }
    $RUN --out "$T/$name-b" --stop-after 3 2>"$T/log" || { cat "$T/log"; die "$name: 3 steps"; }
    $RUN --out "$T/$name-b" --resume 2>"$T/log" || { cat "$T/log"; die "$name: resume"; }
    grep -q "resuming at step 3 of 6" "$T/log" || die "$name: did not resume at step 3"
    for f in $files train_state.safetensors; do cmp -s "$T/$name-a/$f" "$T/$name-b/$f" || die "$name: $f differs after resume"; done
    [ "$(sed 's/, "tokens_per_s".*//' "$T/$name-a/metrics.jsonl")" = "$(sed 's/, "tokens_per_s".*//' "$T/$name-b/metrics.jsonl")" ] \
        || die "$name: metrics differ after resume"
    $PY - "$T/$name-a" <<'PYEOF' || die "$name: train state / metrics"
import json, struct, sys
d = sys.argv[1]
with open(d + "/train_state.safetensors", "rb") as f:
    header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
assert "teacher.ema" in header, sorted(header)
assert header["teacher.ema"]["shape"] == header["trainable"]["shape"], (header["teacher.ema"], header["trainable"])
lines = [json.loads(l) for l in open(d + "/metrics.jsonl")]
assert len(lines) == 6 and all(0 < l["is_weight"] < 2 and 0 <= l["is_clip_fraction"] <= 1 for l in lines), lines
PYEOF
}
resume_check full "model.safetensors" --teacher-dtype f32
resume_check lora "adapter_model.safetensors" --lora-rank 4

# 2. a live teacher: no copy, the student itself with the rubric
$R train --model "$T/base" --data "$DATA" --out "$T/live" --batch 4 --steps 2 --max-new 16 --teacher live \
    --is-weight token --no-progress 2>"$T/log" || { cat "$T/log"; die "live teacher"; }
grep -q "teacher: live (the student, no gradient)" "$T/log" || { cat "$T/log"; die "live: setup line"; }
grep -q '"is_weight"' "$T/live/metrics.jsonl" || die "live: no is_weight in metrics"

# 3. an EMA resume of a checkpoint without the average; bad values
$R train --model "$T/base" --data "$DATA" --out "$T/live" --batch 4 --steps 3 --max-new 16 --teacher ema --resume \
    --no-progress 2>"$T/log" && die "an EMA run resumed a checkpoint without teacher.ema"
grep -q "the checkpoint holds method state \"none\", this run needs \"teacher.ema\"" "$T/log" || { cat "$T/log"; die "the EMA resume error does not say why"; }
bad() { # flags..., the message must be one line
    $R train --model "$T/base" --data "$DATA" --out "$T/x" "$@" 2>"$T/log" && die "accepted: $*"
    [ "$(wc -l < "$T/log")" -eq 1 ] || { cat "$T/log"; die "not one line: $*"; }
}
bad --teacher sometimes
bad --teacher ema --teacher-dtype bf16
bad --teacher live --teacher-dtype f32
bad --teacher ema --teacher-ema-decay 1
bad --topk 4 --topk-from everyone
bad --topk 4 --topk-tail drop
bad --loss-mean batch
bad --is-weight sequence
bad --is-weight token --is-clip 0
[ -e "$T/x" ] && die "a refused run left an output folder"
echo "rgsd variants e2e: ok"
exit 0
