#!/bin/sh
# rgsd eval end to end on a tiny random model that speaks the real Qwen3
# tokenizer (build/ref/model/e2e_qwen3, from tests/ref/model_ref.py):
#  - scores through the whole path with the rule judge, on patterns whose
#    verdicts are known (match anything, match nothing, and a literal string
#    read from a first run's responses, checked with Python's `in`): every
#    per-response score, the clipped means, per-tag scores and the length
#    statistics equal values computed here by hand (1e-9), and the bootstrap
#    standard errors agree with the analytic std/sqrt(n) (15%);
#  - --with-rubric changes the prompt exactly as the teacher template says
#    (the rendered ChatML prompt written out here by hand);
#  - the same seed gives the same responses and report; --batch does not
#    change them; another seed does;
#  - the local judge through rgsd eval, and a rerun from its cache;
#  - --adapter: base + a PEFT LoRA folder generates what the model merged
#    independently in PyTorch generates (greedy), and differs from the base;
#  - bad inputs: one line, exit 1 (2 for usage), no report written.
set -u
REF=${RGSD_REF_DIR:-build/ref}/model
PY=/usr/bin/python3
bin=${RGSD_BIN:?RGSD_BIN not set}
M="$REF/e2e_qwen3"
[ -f "$M/model.safetensors" ] || { echo "skipped: $M missing (PyTorch reference not generated)"; exit 77; }
tmp=$(mktemp -d /tmp/rgsd-e2e-eval-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# Three examples. "a": weights 5 (matches anything), 3 (nothing), -2 (anything),
# -4 (nothing): every response scores (5 - 2) / 8 and balanced (5 + 4) / 14.
# "b": one criterion, 2 points, anything, example tag theme:b: score 1.
# "c": 4 points for a literal string (chosen below), 1 point for nothing.
write_data() { # FILE PATTERN_FOR_C
    $PY - "$1" "$2" <<'PYEOF'
import json, sys
path, literal = sys.argv[1], sys.argv[2]
ANY, NONE = "(?s)^", "(?!)"
rows = [
    {"id": "a", "messages": [{"role": "user", "content": "What is 2+2?"}],
     "rubric": [{"text": "Answers", "weight": 5, "match": [ANY], "tags": ["axis:acc"]},
                {"text": "Explains carry", "weight": 3, "match": [NONE], "tags": ["axis:acc"]},
                {"text": "Is rude", "weight": -2, "match": [ANY]},
                {"text": "Is wrong", "weight": -4, "match": [NONE]}]},
    {"id": "b", "messages": [{"role": "user", "content": "Name a colour."}], "tags": ["theme:b"],
     "rubric": [{"text": "Names a colour", "weight": 2, "match": [ANY]}]},
    {"id": "c", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say something."}],
     "rubric": [{"text": "Says the chosen thing", "weight": 4, "match": [literal]},
                {"text": "Says nothing else", "weight": 1, "match": [NONE]}]},
]
with open(path, "w") as f:
    for r in rows:
        f.write(json.dumps(r) + "\n")
PYEOF
}

run_eval() { # OUT_DIR DATA extra args...
    out=$1 data=$2; shift 2
    "$bin" -q eval --model "$M" --data "$data" --judge rule --samples 2 --max-new 5 --seed 7 --context 512 \
        --out "$out" "$@" > "$out.stdout" 2> "$out.stderr" || fail "rgsd eval $*: $(cat "$out.stderr")"
}

# ---- first run: the literal for "c" matches nothing yet ("(?!)")
write_data "$tmp/d1.jsonl" "(?!)"
run_eval "$tmp/r1" "$tmp/d1.jsonl"
# The literal: the first three characters of c's first response, escaped for PCRE2 with \Q...\E.
lit=$($PY - "$tmp/r1/responses.jsonl" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
c0 = [r for r in rows if r["id"] == "c" and r["sample"] == 0][0]["response"]
assert "\\E" not in c0[:3]
print("\\Q" + c0[:3] + "\\E", end="")
PYEOF
) || fail "reading the first run's responses"
write_data "$tmp/d2.jsonl" "$lit"
run_eval "$tmp/r2" "$tmp/d2.jsonl"

$PY - "$tmp" <<'PYEOF' || fail "scores differ from the hand-computed values"
import json, math, statistics, sys
d = sys.argv[1]
r1 = [json.loads(l) for l in open(d + "/r1/responses.jsonl", encoding="utf-8")]
r2 = [json.loads(l) for l in open(d + "/r2/responses.jsonl", encoding="utf-8")]
rep = json.load(open(d + "/r2/report.json"))
close = lambda a, b, tol=1e-9: abs(a - b) <= tol
# The rubric is not in the prompt, so changing it changes no response.
assert [r["response"] for r in r1] == [r["response"] for r in r2], "responses changed with the rubric"
assert [(r["id"], r["sample"]) for r in r2] == [(i, s) for i in "abc" for s in (0, 1)], [(r["id"], r["sample"]) for r in r2]
c0 = [r for r in r2 if r["id"] == "c" and r["sample"] == 0][0]["response"]
literal = c0[:3]
expected = []
for r in r2:
    if r["id"] == "a":
        score, bal = 3 / 8, 9 / 14
        met = [True, False, True, False]
    elif r["id"] == "b":
        score, bal, met = 1.0, 1.0, [True]
    else:
        hit = literal in r["response"]
        score = (4 if hit else 0) / 5
        bal = score
        met = [hit, False]
    assert [v["met"] for v in r["verdicts"]] == met, (r["id"], r["verdicts"], met)
    assert close(r["score"], score) and close(r["balanced_reward"], bal), (r["id"], r["score"], score)
    expected.append((score, bal))
    # lengths: characters are code points of the text written; tokens at most --max-new
    assert r["response_chars"] == len(r["response"]), r
    assert 0 <= r["response_tokens"] <= 5 and (r["finish_reason"] == "stop" or r["response_tokens"] == 5), r
    assert r["prompt_tokens"] > 0 and r["prompt"].startswith("<|im_start|>")
n = len(expected)
scores = [s for s, _ in expected]
bals = [b for _, b in expected]
mean = min(1, max(0, sum(scores) / n))
assert rep["responses"] == n == 6 and rep["examples"] == 3 and rep["samples"] == 2 and rep["seed"] == 7
assert close(rep["healthbench"]["mean"], mean), (rep["healthbench"], mean)
assert close(rep["balanced"]["mean"], sum(bals) / n), (rep["balanced"], sum(bals) / n)
assert rep["healthbench"]["n"] == 6 and rep["healthbench"]["n_undefined"] == 0
# bootstrap s.e. vs the analytic standard error of a mean (population std / sqrt(n))
for key, vals in (("healthbench", scores), ("balanced", bals)):
    analytic = statistics.pstdev(vals) / math.sqrt(n)
    got = rep[key]["std_error"]
    assert abs(got - analytic) <= 0.15 * analytic + 1e-12, (key, got, analytic)
# per tag: axis:acc over a's criteria 5 (met) and 3 (not) -> 5/8 for a's two responses; theme:b -> 1
assert close(rep["tags"]["axis:acc"]["mean"], 5 / 8) and rep["tags"]["axis:acc"]["n"] == 2, rep["tags"]
assert close(rep["tags"]["theme:b"]["mean"], 1.0) and rep["tags"]["theme:b"]["n"] == 2, rep["tags"]
# length statistics: numpy's linear percentile, by hand
def pct(v, q):
    v = sorted(v); k = q / 100 * (len(v) - 1); lo = math.floor(k); hi = min(lo + 1, len(v) - 1)
    return v[lo] + (k - lo) * (v[hi] - v[lo])
for key, field in (("response_tokens", "response_tokens"), ("response_chars", "response_chars")):
    v = [r[field] for r in r2]
    st = rep[key]
    assert close(st["mean"], sum(v) / n) and close(st["median"], pct(v, 50)) and close(st["p90"], pct(v, 90)), (key, st, v)
    assert st["max"] == max(v)
assert close(rep["stopped_fraction"], sum(r["finish_reason"] == "stop" for r in r2) / n)
assert rep["generation"]["new_tokens"] == sum(r["response_tokens"] for r in r2)
js = rep["judge_stats"]
assert js["verdicts"] == 2 * (4 + 1 + 2) and js["requests"] == 0 and js["failures"] == 0, js
for k in ("model", "data", "judge", "with_rubric", "sampling", "skipped_too_long", "generation"):
    assert k in rep, k
assert rep["judge"] == "rule" and rep["with_rubric"] is False and rep["sampling"]["max_new"] == 5
md = open(d + "/r2/report.md", encoding="utf-8").read()
assert "HealthBench score" in md and "%.4f" % mean in md and "axis:acc" in md, md
out = open(d + "/r2.stdout", encoding="utf-8").read()
assert "HealthBench score" in out and "%.4f" % mean in out, out
print("eval: scores %s, mean %.4f, s.e. %.4f" % ([round(s, 4) for s in scores], mean, rep["healthbench"]["std_error"]))
PYEOF

# ---- --with-rubric: the prompt is the teacher's (the last user message carries the criteria)
run_eval "$tmp/t" "$tmp/d2.jsonl" --with-rubric
$PY - "$tmp" <<'PYEOF' || fail "--with-rubric prompt differs from the teacher template"
import json, sys
d = sys.argv[1]
plain = {(r["id"], r["sample"]): r for r in map(json.loads, open(d + "/r2/responses.jsonl", encoding="utf-8"))}
teach = {(r["id"], r["sample"]): r for r in map(json.loads, open(d + "/t/responses.jsonl", encoding="utf-8"))}
intro = "A strong answer to this request meets the evaluation criteria below. They are private to you."
outro = ("Now write your own complete answer to the request above. Satisfy the criteria naturally, as an expert "
         "would, without mentioning or quoting them.")
def chatml(msgs):
    return "".join("<|im_start|>%s\n%s<|im_end|>\n" % (r, c) for r, c in msgs) + "<|im_start|>assistant\n"
expected_plain = {
    "a": chatml([("user", "What is 2+2?")]),
    "b": chatml([("user", "Name a colour.")]),
    "c": chatml([("system", "Be brief."), ("user", "Say something.")]),
}
expected_teacher = {
    "a": chatml([("user", "What is 2+2?\n\n" + intro + "\n1. Answers\n2. Explains carry\n3. Avoid: Is rude\n"
                  "4. Avoid: Is wrong\n\n" + outro)]),
    "b": chatml([("user", "Name a colour.\n\n" + intro + "\n1. Names a colour\n\n" + outro)]),
    "c": chatml([("system", "Be brief."), ("user", "Say something.\n\n" + intro +
                  "\n1. Says the chosen thing\n2. Says nothing else\n\n" + outro)]),
}
for (i, s), r in plain.items():
    assert r["prompt"] == expected_plain[i], (r["prompt"], expected_plain[i])
    assert teach[(i, s)]["prompt"] == expected_teacher[i], (teach[(i, s)]["prompt"], expected_teacher[i])
    assert teach[(i, s)]["prompt_tokens"] > r["prompt_tokens"]
rep = json.load(open(d + "/t/report.json"))
assert rep["with_rubric"] is True
PYEOF
grep -q "rubric in the prompt" "$tmp/t.stdout" || fail "--with-rubric not in the summary"

# ---- determinism: same seed, same responses and report (timings aside); --batch 1 the same; seed 8 differs
run_eval "$tmp/r3" "$tmp/d2.jsonl"
run_eval "$tmp/r4" "$tmp/d2.jsonl" --batch 1
run_eval "$tmp/r5" "$tmp/d2.jsonl" --seed 8
cmp -s "$tmp/r2/responses.jsonl" "$tmp/r3/responses.jsonl" || fail "same seed, different responses"
cmp -s "$tmp/r2/responses.jsonl" "$tmp/r4/responses.jsonl" || fail "--batch 1 changed the responses"
cmp -s "$tmp/r2/responses.jsonl" "$tmp/r5/responses.jsonl" && fail "another seed gave the same responses"
$PY - "$tmp/r2/report.json" "$tmp/r3/report.json" <<'PYEOF' || fail "same seed, different report"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for r in (a, b):
    r["generation"].pop("seconds"); r["generation"].pop("new_tokens_per_second"); r["judge_stats"].pop("seconds")
assert a == b, (a, b)
PYEOF

# ---- the local judge through rgsd eval (the tiny model judges itself), then from the cache
"$bin" -q eval --model "$M" --data "$tmp/d2.jsonl" --judge "local:$M#batch=4" --max-new 3 --context 512 \
    --cache "$tmp/v.sqlite" --out "$tmp/l1" > /dev/null 2> "$tmp/err" || fail "eval with the local judge: $(cat "$tmp/err")"
"$bin" -q eval --model "$M" --data "$tmp/d2.jsonl" --judge "local:$M#batch=4" --max-new 3 --context 512 \
    --cache "$tmp/v.sqlite" --out "$tmp/l2" > /dev/null 2> "$tmp/err" || fail "eval rerun with the cache: $(cat "$tmp/err")"
$PY - "$tmp" <<'PYEOF' || fail "local judge accounting"
import json, sys
d = sys.argv[1]
a, b = json.load(open(d + "/l1/report.json")), json.load(open(d + "/l2/report.json"))
n = 4 + 1 + 2
assert a["judge_stats"]["verdicts"] == n and a["judge_stats"]["requests"] == n and a["judge_stats"]["cache_hits"] == 0, a
assert a["judge_stats"]["prompt_tokens"] > 100 * n, a
assert b["judge_stats"]["cache_hits"] == n and b["judge_stats"]["requests"] == 0, b
assert a["healthbench"] == b["healthbench"]
for r in map(json.loads, open(d + "/l1/responses.jsonl", encoding="utf-8")):
    for v in r["verdicts"]:
        assert v["explanation"].startswith("P(yes)="), v
PYEOF

# ---- --adapter: base + a random PEFT LoRA adapter generates (greedy) exactly what the model merged
# independently in PyTorch float64 (tests/ref/eval_adapter_ref.py) generates, and not what the base does
here=$(cd "$(dirname "$0")/../.." && pwd)
$PY "$here/tests/ref/eval_adapter_ref.py" "$M" "$tmp/adapter" "$tmp/merged" || fail "writing the adapter reference"
for v in base adapted merged; do
    case $v in base) args="--model $M";; adapted) args="--model $M --adapter $tmp/adapter";; merged) args="--model $tmp/merged";; esac
    # shellcheck disable=SC2086
    "$bin" -q eval $args --data "$tmp/d2.jsonl" --judge rule --temperature 0 --max-new 6 --context 512 \
        --out "$tmp/$v" > /dev/null 2> "$tmp/err" || fail "eval ($v): $(cat "$tmp/err")"
done
$PY - "$tmp" <<'PYEOF' || fail "--adapter responses"
import json, sys
d = sys.argv[1]
resp = {v: [json.loads(l)["response"] for l in open(d + "/%s/responses.jsonl" % v, encoding="utf-8")] for v in ("base", "adapted", "merged")}
assert resp["adapted"] == resp["merged"], resp
assert resp["adapted"] != resp["base"], resp
rep = json.load(open(d + "/adapted/report.json"))
assert rep["adapter"] == d + "/adapter", rep["adapter"]
PYEOF

# ---- bad input: one line on stderr, status 1 (2 for usage), no report written
expect_error() { # status needle args...
    want=$1 needle=$2; shift 2
    "$bin" -q eval "$@" > /dev/null 2> "$tmp/err"; st=$?
    [ "$st" -eq "$want" ] || fail "exit $st (wanted $want) for: $* ($(cat "$tmp/err"))"
    grep -q -- "$needle" "$tmp/err" || fail "no '$needle' in: $(cat "$tmp/err")"
    [ "$(wc -l < "$tmp/err")" -le 1 ] || fail "more than one line on stderr: $(cat "$tmp/err")"
    [ ! -e "$tmp/never" ] || fail "report written by: $*"
}
expect_error 2 "--judge" --model "$M" --data "$tmp/d2.jsonl"
expect_error 1 "no-such.jsonl" --model "$M" --data "$tmp/no-such.jsonl" --judge rule --out "$tmp/never"
expect_error 1 "unknown judge" --model "$M" --data "$tmp/d2.jsonl" --judge gpt4 --out "$tmp/never"
expect_error 1 "/no/model" --model "$M" --data "$tmp/d2.jsonl" --judge "local:/no/model" --out "$tmp/never"
expect_error 1 "/no/model" --model /no/model --data "$tmp/d2.jsonl" --judge rule --out "$tmp/never"
expect_error 1 "adapter_config.json" --model "$M" --adapter "$tmp" --data "$tmp/d2.jsonl" --judge rule --out "$tmp/never"
expect_error 2 "bf16" --model "$M" --adapter "$tmp/adapter" --bf16 --data "$tmp/d2.jsonl" --judge rule
expect_error 2 "samples" --model "$M" --data "$tmp/d2.jsonl" --judge rule --samples 0
expect_error 2 "with-rubric" --model "$M" --data "$tmp/d2.jsonl" --judge rule --teacher-template "$tmp/x"
printf '{"prompt": [{"role": "user", "content": "Hi"}], "rubrics": [{"criterion": "Greets", "points": 1, "tags": []}]}\n' \
    > "$tmp/hb.jsonl"
expect_error 1 "no \`match\` patterns" --model "$M" --data "$tmp/hb.jsonl" --judge rule --out "$tmp/never"
printf '{"id": "x", "messages": [{"role": "user", "content": "x"}], "rubric": [{"text": "t", "weight": 1, "match": ["("]}]}\n' \
    > "$tmp/badpat.jsonl"
expect_error 1 "match" --model "$M" --data "$tmp/badpat.jsonl" --judge rule --max-new 2 --out "$tmp/never"
# A context too short for a prompt: an error naming the example, or with --skip-long a counted skip.
$PY - "$tmp/long.jsonl" <<'PYEOF'
import json, sys
with open(sys.argv[1], "w") as f:
    f.write(json.dumps({"id": "short", "messages": [{"role": "user", "content": "Hi"}], "rubric": [{"text": "t", "weight": 1, "match": ["(?s)^"]}]}) + "\n")
    f.write(json.dumps({"id": "long", "messages": [{"role": "user", "content": "word " * 80}], "rubric": [{"text": "t", "weight": 1, "match": ["(?s)^"]}]}) + "\n")
PYEOF
expect_error 1 "example 'long' (line 2): its prompt is" --model "$M" --data "$tmp/long.jsonl" --judge rule --context 32 \
    --out "$tmp/never"
"$bin" -q eval --model "$M" --data "$tmp/long.jsonl" --judge rule --context 32 --max-new 2 --skip-long --out "$tmp/s" \
    > /dev/null 2> "$tmp/err" || fail "--skip-long: $(cat "$tmp/err")"
$PY -c "
import json; r = json.load(open('$tmp/s/report.json'))
assert r['skipped_too_long'] == 1 and r['examples'] == 1 and r['responses'] == 1 and r['healthbench']['mean'] == 1, r" \
    || fail "--skip-long report"
expect_error 1 "every example" --model "$M" --data "$tmp/long.jsonl" --judge rule --context 8 --skip-long --out "$tmp/never"
exit 0
