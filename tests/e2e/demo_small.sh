#!/bin/sh
# `make demo` scaled down to seconds: the same tools/demo.sh on a tiny world
# (few SFT steps, 2 RGSD and 2 GRPO steps, a handful of held-out prompts);
# checks that every stage ran, the table has every row, curve.svg is
# well-formed XML with both curves, report.md and summary.json exist (naming
# the CPU model and kernel paths), and the RGSD row states zero judge calls while GRPO's counts G x prompts x steps x
# criteria verdicts. The numbers themselves are not checked here (a few
# seconds of training mean nothing); docs/demo.md records a full run.
# Kernel paths (issue 10): passes under all 8 of tools/kernel_paths.sh (OPENBLAS_CORETYPE
# Haswell/SkylakeX/Zen/Cooperlake x RGSD_KERNELS avx2/avx512) on an AMD EPYC Zen 4; nothing
# here is thresholded on a trained number, so there is no margin to keep.
set -u
die() { echo "FAIL: $*"; exit 1; }
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "no /usr/bin/python3 (the demo's reporter needs its standard library)"; exit 77; }
R=${RGSD_BIN:-build/rgsd}
T=$(mktemp -d /tmp/rgsd-e2e-demo-XXXXXX)
trap 'rm -rf "$T"' EXIT

DEMO_OUT=$T/out RGSD_BIN=$R DEMO_WORLD_ARGS="--train 16 --heldout 8 --sft 64" DEMO_HIDDEN=32 DEMO_LAYERS=1 \
    DEMO_SFT_STEPS=4 DEMO_SFT_BATCH=4 DEMO_RL_STEPS=2 DEMO_RL_BATCH=2 DEMO_GROUP=4 DEMO_EVAL_EVERY=1 \
    DEMO_EVAL_SAMPLES=1 DEMO_MAX_NEW=16 DEMO_PROGRESS=--no-progress OMP_NUM_THREADS=1 \
    sh tools/demo.sh > "$T/log" 2>&1 || { cat "$T/log"; die "demo.sh failed"; }
O=$T/out
for f in report.md curve.svg summary.json stage_times.txt machine.txt eval-base/report.json eval-base-rubric/report.json \
    rgsd/metrics.jsonl grpo/metrics.jsonl; do
    [ -s "$O/$f" ] || { cat "$T/log"; die "missing $f"; }
done
for s in world init sft eval_base eval_base_rubric rgsd grpo total; do
    grep -q "^$s [0-9.]*$" "$O/stage_times.txt" || die "no time for stage $s"
done
"$PY" - "$O" <<'PYEOF' || die "report check"
import json, sys, xml.etree.ElementTree as ET
out = sys.argv[1]
svg = ET.parse(out + "/curve.svg").getroot()
ns = "{http://www.w3.org/2000/svg}"
assert svg.tag == ns + "svg", svg.tag
assert len(svg.findall(ns + "polyline")) == 2, "want one curve per method"
s = json.load(open(out + "/summary.json"))
rows = {r["method"].split(" ")[0]: r for r in s["rows"]}
assert [r["method"] for r in s["rows"]][:2] == ["base, no rubric", "base + rubric in context"]
rgsd, grpo = rows["RGSD"], rows["GRPO"]
assert rgsd["judge_calls"] == 0 and rgsd["rollouts"] == 2 * 2, rgsd   # 2 steps x 2 prompts x 1 rollout
assert grpo["rollouts"] == 2 * 2 * 4, grpo                            # x G = 4
assert grpo["judge_calls"] >= grpo["rollouts"] * 3, grpo              # >= 3 criteria per rubric
for r in s["rows"]:
    assert 0.0 <= r["score"] <= 1.0 and r["se"] >= 0 and r["length"] > 0, r
assert len(s["curves"]["rgsd"]) == 3 and len(s["curves"]["grpo"]) == 3  # step 0 + 2 evaluations
report = open(out + "/report.md").read()
for word in ("RGSD", "GRPO", "conditioning gap", "curve.svg"):
    assert word in report, word
# the machine the numbers came from: CPU model and kernel paths (they move trained scores)
m = s["machine"]
assert m["cpu"] and "family" in m["cpu"], m
assert m["kernels"].startswith("OpenBLAS ") and any(", rgsd %s (" % p in m["kernels"] for p in ("ref", "avx2", "avx512")), m
assert "Machine: %s; kernels: %s" % (m["cpu"], m["kernels"]) in report, "report.md does not name the machine"
PYEOF
grep -q "| RGSD" "$T/log" || die "the table was not printed"

# rgsd world model: the folder's config matches the flags and the tokenizer
# (631 tokens, eos = <|im_end|>, read from tokenizer.json by Python); bad input
# fails with one line and writes nothing.
"$PY" - "$O/init" <<'PYEOF' || die "world model config"
import json, sys
d = sys.argv[1]
cfg = json.load(open(d + "/config.json"))
tok = json.load(open(d + "/tokenizer.json"))
vocab = 1 + max(max(tok["model"]["vocab"].values()), max(t["id"] for t in tok["added_tokens"]))
im_end = [t["id"] for t in tok["added_tokens"] if t["content"] == "<|im_end|>"][0]
assert cfg["architectures"] == ["Qwen2ForCausalLM"] and cfg["hidden_size"] == 32 and cfg["num_hidden_layers"] == 1
assert cfg["vocab_size"] == vocab == 631 and cfg["eos_token_id"] == im_end and cfg["tie_word_embeddings"] is True
PYEOF
"$R" world model --tokenizer "$O/world/tokenizer" --out "$T/m" --hidden 30 2>"$T/err"; rc=$?
[ $rc -ne 0 ] && [ "$(wc -l < "$T/err")" -eq 1 ] && [ ! -e "$T/m" ] || die "bad --hidden: exit $rc, $(cat "$T/err")"
"$R" world model --tokenizer "$T/nowhere" --out "$T/m" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "nowhere" "$T/err" && [ ! -e "$T/m" ] || die "missing tokenizer: exit $rc, $(cat "$T/err")"
"$R" world model --tokenizer "$O/world/tokenizer" 2>"$T/err"; [ $? -eq 2 ] || die "missing --out: not a usage error"
mkdir "$T/keep" && echo precious > "$T/keep/notes.txt"
"$R" world model --tokenizer "$O/world/tokenizer" --out "$T/keep" 2>"$T/err" && die "replaced a folder that is no model"
[ "$(cat "$T/keep/notes.txt")" = precious ] || die "an unrelated --out folder was touched"
"$R" world model --tokenizer "$O/world/tokenizer" --out "$T/m" --arch llama --layers 2 --hidden 32 2>"$T/err" \
    || die "llama: $(cat "$T/err")"
"$R" generate --model "$T/m" --prompt "hello" --max-new 4 >/dev/null 2>&1 || die "the llama folder does not load"
echo "demo_small: ok ($(grep '^total' "$O/stage_times.txt"))"
exit 0
