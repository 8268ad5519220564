#!/bin/sh
# rgsd gap --samples K and rgsd train's judge-free early stopping (issue 14),
# end to end on a tiny model of the rubric world SFT'd for a few seconds:
#   1. rgsd gap --samples 3: one row per held-out example with K samples, each
#      row's gap = logp_plain - logp_rubric, the summary = the mean of the rows
#      with std / sqrt(n) as its standard error; <= 0 on the SFT'd base;
#      the same command twice, the same bytes; --rubric-in system and
#      --teacher-template paper change the teacher prompt (another gap), and
#      `rgsd eval --with-rubric --rubric-in system` shows it in the system turn;
#   2. rgsd train --gap-data --gap-every 3 --early-stop 2 stops before its
#      last step, after 2 measurements without a new best; OUT-best holds the
#      step of the highest logged gap (train_state step, metrics) and
#      `rgsd gap` on it reproduces that gap to the printed digit;
#   3. --stop-after + --resume gives the same metrics, OUT and OUT-best byte
#      for byte (best and patience rebuilt from metrics.jsonl); --resume of
#      an early-stopped run runs no step;
#   4. LoRA with --gap-every writes a PEFT OUT-best; --rubric-in system trains;
#   5. bad values fail with one line.
# Single-threaded (OMP_NUM_THREADS=1). About 15 s.
set -u
[ -f "${RGSD_REF_DIR:-build/ref}/train/.done" ] || { echo "training references not built (make refs needs /usr/bin/python3 with torch)"; exit 77; }
PY=/usr/bin/python3
T=$(mktemp -d /tmp/rgsd-e2e-gap-XXXXXX)
trap 'rm -rf "$T"' EXIT
export OMP_NUM_THREADS=1
die() { echo "FAIL: $*"; exit 1; }
R=$RGSD_BIN

$R world gen --seed 2 --train 64 --heldout 16 --sft 1200 --out "$T/world" >/dev/null 2>"$T/log" || { cat "$T/log"; die "world gen"; }
$PY tests/ref/rgsd_tiny_model.py "$T/init" "$T/world/tokenizer" || die "tiny model"
$R sft --model "$T/init" --data "$T/world/sft.jsonl" --out "$T/base" --batch-size 8 --lr 4e-3 --steps 300 --warmup 10 \
    --no-progress 2>"$T/log" || { cat "$T/log"; die "sft base"; }
DATA=$T/world/train.jsonl
HELD=$T/world/heldout.jsonl

# 1. rgsd gap --samples K
$R gap --model "$T/base" --data "$HELD" --samples 3 --max-new 32 --seed 5 > "$T/gap.jsonl" 2>"$T/log" || { cat "$T/log"; die "rgsd gap"; }
$R gap --model "$T/base" --data "$HELD" --samples 3 --max-new 32 --seed 5 2>/dev/null | cmp -s - "$T/gap.jsonl" || die "rgsd gap is not deterministic"
$PY - "$T/gap.jsonl" 16 3 <<'PYEOF' || die "rgsd gap rows and summary"
import json, math, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
rows, s = lines[:-1], lines[-1]
n, K = int(sys.argv[2]), int(sys.argv[3])
assert s["summary"] and s["examples"] == len(rows) == n, (s, len(rows))
for r in rows:
    assert r["samples"] == K and r["tokens"] > 0, r
    assert abs(r["gap"] - (r["logp_plain"] - r["logp_rubric"])) < 1e-12, r
g = [r["gap"] for r in rows]
mean = sum(g) / n
se = math.sqrt(sum((x - mean) ** 2 for x in g) / (n - 1) / n)
assert abs(s["gap"] - mean) < 1e-6 and abs(s["gap_se"] - se) < 1e-6, (s, mean, se)
assert s["samples"] == n * K and s["tokens"] == sum(r["tokens"] for r in rows) and s["rubric_in"] == "user"
assert s["gap"] < 0, "the SFT'd base should find its rubric-guided answers less likely without the rubric"
PYEOF
summary() { tail -1 "$1" | sed 's/.*"gap": \([-0-9.e]*\).*/\1/'; }
$R gap --model "$T/base" --data "$HELD" --samples 3 --max-new 32 --seed 5 --rubric-in system > "$T/gap-sys.jsonl" \
    2>"$T/log" || { cat "$T/log"; die "rgsd gap --rubric-in system"; }
grep -q '"rubric_in": "system"' "$T/gap-sys.jsonl" || die "--rubric-in system not in the summary"
$R gap --model "$T/base" --data "$HELD" --samples 3 --max-new 32 --seed 5 --teacher-template paper > "$T/gap-paper.jsonl" \
    2>"$T/log" || { cat "$T/log"; die "rgsd gap --teacher-template paper"; }
[ "$(summary "$T/gap-sys.jsonl")" != "$(summary "$T/gap.jsonl")" ] || die "--rubric-in system changed nothing"
[ "$(summary "$T/gap-paper.jsonl")" != "$(summary "$T/gap.jsonl")" ] || die "--teacher-template paper changed nothing"
# rgsd eval --with-rubric places the rubric the same way
$R eval --model "$T/base" --data "$HELD" --judge rule --with-rubric --rubric-in system --teacher-template paper \
    --max-new 8 --out "$T/ev" >/dev/null 2>"$T/log" || { cat "$T/log"; die "eval --rubric-in system"; }
head -1 "$T/ev/responses.jsonl" | grep -q '"prompt":"<|im_start|>system\\nHidden evaluation criteria that a good response should satisfy:\\n1\. ' \
    || { head -c 400 "$T/ev/responses.jsonl"; die "eval --rubric-in system: the rubric is not in the system message"; }

# 2. early stopping
RUN="$R train --model $T/base --data $DATA --batch 8 --steps 120 --lr 1e-3 --max-new 32 --seed 4 --no-progress
     --gap-data $HELD --gap-every 3 --gap-samples 2 --early-stop 2"
$RUN --out "$T/es" 2>"$T/log" || { cat "$T/log"; die "rgsd train --early-stop"; }
grep -q "early stop at step" "$T/log" || { cat "$T/log"; die "no early stop in 120 steps"; }
best_step=$($PY - "$T/es/metrics.jsonl" 2 <<'PYEOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
gaps = [l for l in lines if l.get("gap_eval")]
steps = [l["step"] for l in lines if "loss" in l]
assert steps and max(steps) < 120, "did not stop early"
assert gaps[-1]["step"] == max(steps) and gaps[-1]["since_best"] == int(sys.argv[2]), gaps[-1]
assert all(l["since_best"] < int(sys.argv[2]) for l in gaps[:-1]), "went on after patience ran out"
best = max(gaps, key=lambda l: (l["heldout_gap"], -l["step"]))  # the first of the highest
assert gaps[-1]["best_step"] == best["step"] and gaps[-1]["best_gap"] == best["heldout_gap"], (gaps[-1], best)
for l in gaps:
    assert l["prompts"] == 16 and l["samples"] == 32 and l["heldout_gap_se"] > 0, l
print(best["step"])
PYEOF
) || die "early-stopping metrics"
$PY - "$T/es-best" "$best_step" <<'PYEOF' || die "OUT-best is not the best step"
import json, struct, sys
with open(sys.argv[1] + "/train_state.safetensors", "rb") as f:
    header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
assert header["__metadata__"]["step"] == sys.argv[2], (header["__metadata__"]["step"], sys.argv[2])
last = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl")][-1]
assert last.get("gap_eval") and last["step"] == int(sys.argv[2]) and last["since_best"] == 0, last
PYEOF
want=$(grep '"gap_eval"' "$T/es/metrics.jsonl" | sed -n 's/.*"best_gap": \([-0-9.]*\).*/\1/p' | tail -1)
got=$($R gap --model "$T/es-best" --data "$HELD" --samples 2 --seed 4 --max-new 32 2>/dev/null | tail -1 | sed 's/.*"gap": \([-0-9.e]*\), .*/\1/')
[ "$got" = "$want" ] || die "rgsd gap on OUT-best gives $got, the run logged $want"

# 3. resume: the same decisions; an early-stopped run stays stopped
$RUN --out "$T/es2" --stop-after $((best_step + 1)) 2>"$T/log" || { cat "$T/log"; die "first half"; }
$RUN --out "$T/es2" --resume 2>"$T/log" || { cat "$T/log"; die "resume"; }
grep -q "early stopping: best held-out gap" "$T/log" || { cat "$T/log"; die "resume did not restore the best gap"; }
strip() { sed 's/, "tokens_per_s".*//; s/, "gap_s".*//' "$1"; }
[ "$(strip "$T/es/metrics.jsonl")" = "$(strip "$T/es2/metrics.jsonl")" ] || die "metrics differ after resume"
for f in model.safetensors train_state.safetensors; do
    cmp -s "$T/es/$f" "$T/es2/$f" || die "OUT/$f differs after resume"
    cmp -s "$T/es-best/$f" "$T/es2-best/$f" || die "OUT-best/$f differs after resume"
done
$RUN --out "$T/es" --resume 2>"$T/log" || { cat "$T/log"; die "resume of a stopped run"; }
grep -q "patience already ran out" "$T/log" || { cat "$T/log"; die "a stopped run did not stay stopped"; }
[ "$(strip "$T/es/metrics.jsonl")" = "$(strip "$T/es2/metrics.jsonl")" ] || die "resuming a stopped run changed its metrics"

# 4. LoRA; --rubric-in system
$R train --model "$T/base" --data "$DATA" --out "$T/lora" --lora-rank 4 --batch 4 --steps 4 --lr 1e-2 --max-new 16 \
    --gap-data "$HELD" --gap-every 2 --no-progress 2>"$T/log" || { cat "$T/log"; die "LoRA --gap-every"; }
[ -f "$T/lora-best/adapter_config.json" ] || die "LoRA: no PEFT adapter in OUT-best"
[ "$(grep -c '"gap_eval": true' "$T/lora/metrics.jsonl")" -eq 2 ] || die "LoRA: expected 2 gap lines"
$R train --model "$T/base" --data "$DATA" --out "$T/sys" --rubric-in system --teacher-template paper --batch 4 --steps 2 \
    --max-new 16 --no-progress 2>"$T/log" || { cat "$T/log"; die "train --rubric-in system"; }

# 5. bad values: one line each
one_line() { # what, exit status wanted, args...
    what=$1; shift; want=$1; shift
    "$R" "$@" >/dev/null 2>"$T/log"; rc=$?
    [ $rc -eq "$want" ] || { cat "$T/log"; die "$what: exit $rc, want $want"; }
    [ "$(wc -l < "$T/log")" -eq 1 ] || { cat "$T/log"; die "$what: not one line"; }
}
one_line "gap --samples 0" 2 gap --model "$T/base" --data "$HELD" --samples 0
one_line "gap --rubric-in both" 1 gap --model "$T/base" --data "$HELD" --rubric-in both
one_line "gap --teacher-template missing" 1 gap --model "$T/base" --data "$HELD" --teacher-template "$T/none.txt"
one_line "train --gap-every without --gap-data" 1 train --model "$T/base" --data "$DATA" --out "$T/x" --gap-every 2
one_line "train --gap-data without --gap-every" 1 train --model "$T/base" --data "$DATA" --out "$T/x" --gap-data "$HELD"
one_line "train --early-stop without --gap-every" 1 train --model "$T/base" --data "$DATA" --out "$T/x" --early-stop 2
one_line "train --early-stop -1" 2 train --model "$T/base" --data "$DATA" --out "$T/x" --gap-data "$HELD" --gap-every 2 --early-stop -1
one_line "train --rubric-in both" 1 train --model "$T/base" --data "$DATA" --out "$T/x" --rubric-in both
one_line "eval --rubric-in without --with-rubric" 2 eval --model "$T/base" --data "$HELD" --judge rule --rubric-in system
[ -e "$T/x" ] && die "a refused run left an output folder"
echo "rgsd gap e2e: ok"
exit 0
