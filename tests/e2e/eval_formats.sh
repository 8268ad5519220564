#!/bin/sh
# rgsd eval on every rubric data format (HealthBench, RubricHub, RaR with a
# pitfall, ResearchRubrics, native), on the tiny random Qwen3-tokenizer model:
#  - the rule judge refuses each format without `match` patterns before any
#    generation (one line naming the file and the first criterion), and scores
#    native data with patterns;
#  - the local judge grades a file mixing every format: every criterion is
#    decided (verdict counts = criteria x samples), the per-response scores
#    equal the HealthBench formula applied here to the verdicts written
#    (RaR's "Avoids X" pitfall penalised when NOT met), and the local judge's
#    P(yes)/P(no) explanations are present;
#  - when ../shared is present, the first lines of the real HealthBench,
#    RubricHub and RaR files go through rgsd eval with the local judge.
set -u
REF=${RGSD_REF_DIR:-build/ref}/model
PY=/usr/bin/python3
bin=${RGSD_BIN:?RGSD_BIN not set}
M="$REF/e2e_qwen3"
[ -f "$M/model.safetensors" ] || { echo "skipped: $M missing (PyTorch reference not generated)"; exit 77; }
tmp=$(mktemp -d /tmp/rgsd-e2e-evalfmt-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

printf '%s\n' '{"prompt": [{"role": "user", "content": "I have a cough."}], "rubrics": [{"criterion": "Suggests fluids", "points": 5, "tags": ["axis:completeness"]}, {"criterion": "Prescribes antibiotics", "points": -6, "tags": ["axis:accuracy"]}], "prompt_id": "hb1", "example_tags": ["theme:cough"]}' > "$tmp/healthbench.jsonl"
printf '%s\n' '{"prompt": [{"role": "user", "content": "Explain osmosis."}], "Rubrics": [{"criterion": "Mentions a membrane", "points": 3}, {"criterion": "Mentions concentration", "points": 2}]}' > "$tmp/rubrichub.jsonl"
printf '%s\n' '{"question": "What causes tides?", "reference_answer": "The Moon.", "rubric": [{"title": "Moon", "description": "Essential Criteria: Names the Moon", "weight": 5}, {"title": "No myths", "description": "Pitfall Criteria: Avoids attributing tides to wind", "weight": -2, "polarity": "positive"}]}' > "$tmp/rar.jsonl"
printf '%s\n' '{"prompt": "Survey transformer efficiency methods.", "rubrics": [{"criterion": "Covers sparse attention", "weight": 4, "axis": "coverage"}, {"criterion": "Invents citations", "weight": -3, "axis": "accuracy"}]}' > "$tmp/researchrubrics.jsonl"
printf '%s\n' '{"id": "n1", "messages": [{"role": "user", "content": "Hi"}], "rubric": [{"text": "Replies", "weight": 1, "match": ["(?s)^"]}, {"text": "Mentions zebras", "weight": 1, "match": ["zebra"]}]}' > "$tmp/native.jsonl"

# ---- the rule judge: refused before generation for every format without patterns
for f in healthbench rubrichub rar researchrubrics; do
    "$bin" -q eval --model "$M" --data "$tmp/$f.jsonl" --judge rule --out "$tmp/never" > /dev/null 2> "$tmp/err"; st=$?
    [ "$st" -eq 1 ] || fail "$f: rule judge exit $st ($(cat "$tmp/err"))"
    grep -q "have no \`match\` patterns (first: example '.*' criterion 1)" "$tmp/err" || fail "$f: $(cat "$tmp/err")"
    grep -q "$f.jsonl" "$tmp/err" || fail "$f: the file is not named: $(cat "$tmp/err")"
    [ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "$f: more than one line: $(cat "$tmp/err")"
    [ ! -e "$tmp/never" ] || fail "$f: report written"
done
"$bin" -q eval --model "$M" --data "$tmp/native.jsonl" --judge rule --max-new 3 --out "$tmp/native" > /dev/null \
    2> "$tmp/err" || fail "native: $(cat "$tmp/err")"
$PY - "$tmp/native" <<'PYEOF' || fail "native rule scores"
import json, sys
r = json.loads(open(sys.argv[1] + "/responses.jsonl", encoding="utf-8").readline())
zebra = "zebra" in r["response"]
assert [v["met"] for v in r["verdicts"]] == [True, zebra]
assert abs(r["score"] - (1 + zebra) / 2) < 1e-12
PYEOF

# ---- the local judge on a file mixing every format
cat "$tmp/healthbench.jsonl" "$tmp/rubrichub.jsonl" "$tmp/rar.jsonl" "$tmp/researchrubrics.jsonl" "$tmp/native.jsonl" \
    > "$tmp/all.jsonl"
"$bin" -q eval --model "$M" --data "$tmp/all.jsonl" --judge "local:$M#batch=4" --samples 2 --max-new 3 \
    --context 1024 --out "$tmp/all" > "$tmp/all.stdout" 2> "$tmp/err" || fail "local judge on every format: $(cat "$tmp/err")"
$PY - "$tmp/all" <<'PYEOF' || fail "local judge on every format"
import json, sys
d = sys.argv[1]
rows = [json.loads(l) for l in open(d + "/responses.jsonl", encoding="utf-8")]
rep = json.load(open(d + "/report.json"))
criteria = {"hb1": 2, "rubrichub": 2, "rar": 2, "researchrubrics": 2, "n1": 2}
assert len(rows) == 10 and rep["responses"] == 10 and rep["examples"] == 5, (len(rows), rep["examples"])
assert rep["judge_stats"]["verdicts"] == 20 and rep["judge_stats"]["failures"] == 0, rep["judge_stats"]
# RaR: the pitfall "Avoids attributing tides to wind" (weight -2, polarity positive) costs 2 when NOT met.
polarity_positive_pitfall = {("rar", 1)}
scores = []
for k, r in enumerate(rows):
    ex = k // 2
    w = [v["weight"] for v in r["verdicts"]]
    met = [v["met"] for v in r["verdicts"]]
    applies = [(not m) if (ex == 2 and i == 1) else m for i, m in enumerate(met)]
    earned = sum(wi for wi, a in zip(w, applies) if a)
    possible = sum(wi for wi in w if wi > 0)
    assert abs(r["score"] - earned / possible) < 1e-12, (k, r["score"], earned / possible, w, met)
    scores.append(earned / possible)
    for v in r["verdicts"]:
        assert v["explanation"].startswith("P(yes)="), v
mean = min(1, max(0, sum(scores) / len(scores)))
assert abs(rep["healthbench"]["mean"] - mean) < 1e-12, (rep["healthbench"], mean)
# axis:accuracy tags only a penalty (no positive weight): no value, as simple-evals
assert "theme:cough" in rep["tags"] and "axis:completeness" in rep["tags"] and "axis:accuracy" not in rep["tags"], rep["tags"].keys()
PYEOF

# ---- real data, when present: the first lines of each shared file, local judge
S=${RGSD_SHARED:-../shared}/data
if [ -d "$S" ]; then
    : > "$tmp/real.jsonl"
    for f in "$S/healthbench/healthbench_val_500.jsonl" "$S/rubrichub/rurl-medical-sample-100.jsonl" \
             "$S/rar/rar_medicine_shipped.first3.jsonl"; do
        [ -f "$f" ] && head -n 1 "$f" >> "$tmp/real.jsonl"
    done
    n=$(wc -l < "$tmp/real.jsonl")
    if [ "$n" -gt 0 ]; then
        "$bin" -q eval --model "$M" --data "$tmp/real.jsonl" --judge "local:$M#batch=8" --max-new 4 --skip-long \
            --out "$tmp/real" > /dev/null 2> "$tmp/err" || fail "real data: $(cat "$tmp/err")"
        $PY - "$tmp/real/report.json" "$n" <<'PYEOF' || fail "real data report"
import json, sys
rep = json.load(open(sys.argv[1]))
assert rep["examples"] + rep["skipped_too_long"] == int(sys.argv[2]), rep
assert rep["judge_stats"]["failures"] == 0 and rep["judge_stats"]["verdicts"] > 0, rep["judge_stats"]
print("eval on %d real examples: %d verdicts by the local judge, %d prompt tokens, %.1f s" % (
    rep["examples"], rep["judge_stats"]["verdicts"], rep["judge_stats"]["prompt_tokens"], rep["judge_stats"]["seconds"]))
PYEOF
    fi
else
    echo "note: $S absent; real-data part skipped"
fi
exit 0
