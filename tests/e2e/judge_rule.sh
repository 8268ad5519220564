#!/bin/sh
# rgsd judge with the rule judge: scores on native data with `match` patterns
# (expected values by hand), responses matched by line order and by id, every
# bad-input path (one line, exit 1 or 2, nothing written), and real data
# without patterns refused with a clear message rather than scored zero.
set -u
bin=${RGSD_BIN:?RGSD_BIN not set}
tmp=$(mktemp -d /tmp/rgsd-e2e-rule.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cat > "$tmp/data.jsonl" <<'DATA'
{"id": "w1", "messages": [{"role": "user", "content": "Name a fruit."}], "rubric": [{"text": "Names an apple", "weight": 3, "match": ["(?i)apple"]}, {"text": "Is rude", "weight": -2, "match": ["stupid"]}]}
{"id": "w2", "messages": [{"role": "user", "content": "Name a colour."}], "rubric": [{"text": "Names red", "weight": 2, "match": ["red"]}, {"text": "Names blue", "weight": 1, "match": ["blue"]}]}
DATA

"$bin" judge --help | grep -q -- "--responses" || fail "judge --help lacks --responses"
"$bin" judge --data "$tmp/data.jsonl" 2>/dev/null; [ $? -eq 2 ] || fail "missing --responses should exit 2"

# By line order: w1 "An Apple, stupid." -> apple and rude: (3 - 2) / 3; balanced (3 + 0) / 5.
#                w2 "red and green"     -> red only: 2 / 3; balanced 2 / 3.
printf '%s\n' '{"response": "An Apple, stupid."}' '{"response": "red and green"}' > "$tmp/by-line.jsonl"
"$bin" judge --data "$tmp/data.jsonl" --responses "$tmp/by-line.jsonl" --judge rule --summary "$tmp/s.json" \
    --out "$tmp/v.jsonl" > "$tmp/out" 2> "$tmp/err" || fail "rule judge failed: $(cat "$tmp/err")"
/usr/bin/python3 - "$tmp/s.json" "$tmp/v.jsonl" <<'PY' || fail "rule judge scores differ from the hand-computed values"
import json, sys
s = json.load(open(sys.argv[1]))
close = lambda a, b: abs(a - b) < 1e-9
assert close(s["healthbench_score"]["mean"], (1/3 + 2/3) / 2), s
assert close(s["balanced_reward_mean"], (3/5 + 2/3) / 2), s
assert s["accounting"]["requests"] == 0 and s["accounting"]["verdicts"] == 4, s
lines = [json.loads(l) for l in open(sys.argv[2])]
assert [l["id"] for l in lines] == ["w1", "w2"]
assert [v["met"] for v in lines[0]["verdicts"]] == [True, True]
assert [v["met"] for v in lines[1]["verdicts"]] == [True, False]
PY

# By id, in another order, one example answered twice.
printf '%s\n' '{"id": "w2", "response": "blue"}' '{"id": "w2", "response": "red, blue"}' > "$tmp/by-id.jsonl"
"$bin" judge --data "$tmp/data.jsonl" --responses "$tmp/by-id.jsonl" --judge rule --out "$tmp/v2.jsonl" > /dev/null 2>&1 \
    || fail "matching by id failed"
grep -c '"id":"w2"' "$tmp/v2.jsonl" | grep -q 2 || fail "both responses to w2 should be graded"

# expect_error EXPECTED_STATUS TEXT ARGS...: one error line containing TEXT, nothing on stdout, no output file.
expect_error() {
    want=$1 text=$2; shift 2
    rm -f "$tmp/o.jsonl"
    "$bin" judge "$@" --out "$tmp/o.jsonl" > "$tmp/out" 2> "$tmp/err"; rc=$?
    [ $rc -eq "$want" ] || fail "'$text': exit $rc, expected $want ($(cat "$tmp/err"))"
    [ ! -s "$tmp/out" ] || fail "'$text': wrote to stdout: $(cat "$tmp/out")"
    [ ! -e "$tmp/o.jsonl" ] || fail "'$text': output written on error"
    [ "$(grep -c . "$tmp/err")" -eq 1 ] || fail "'$text': error is not one line: $(cat "$tmp/err")"
    grep -qF -- "$text" "$tmp/err" || fail "expected '$text', got '$(cat "$tmp/err")'"
}
d="$tmp/data.jsonl"
printf '{"response": "x"}\n' > "$tmp/one.jsonl"
expect_error 1 "has 1 responses without ids but" --data "$d" --responses "$tmp/one.jsonl" --judge rule
printf '{"id": "w9", "response": "x"}\n' > "$tmp/unknown.jsonl"
expect_error 1 "unknown.jsonl:1: id 'w9' matches no example" --data "$d" --responses "$tmp/unknown.jsonl" --judge rule
printf '{"id": "w1", "response": "x"}\n{"response": "y"}\n' > "$tmp/mixed.jsonl"
expect_error 1 "mixed.jsonl:2: id: missing" --data "$d" --responses "$tmp/mixed.jsonl" --judge rule
printf '{"id": "w1", "text": "x"}\n' > "$tmp/nofield.jsonl"
expect_error 1 "nofield.jsonl:1: response: missing" --data "$d" --responses "$tmp/nofield.jsonl" --judge rule
printf '{"id": "w1", "response": "x"\n' > "$tmp/broken.jsonl"
expect_error 1 "broken.jsonl:1" --data "$d" --responses "$tmp/broken.jsonl" --judge rule
expect_error 1 "unknown judge" --data "$d" --responses "$tmp/by-id.jsonl" --judge gpt4
expect_error 1 "/no/model" --data "$d" --responses "$tmp/by-id.jsonl" --judge "local:/no/model"
expect_error 1 "no-such.jsonl" --data "$tmp/no-such.jsonl" --responses "$tmp/by-id.jsonl" --judge rule

# Data without patterns (every published format): a clear refusal, not zeros.
printf '%s\n' '{"prompt": [{"role": "user", "content": "Q"}], "rubrics": [{"criterion": "C", "points": 5}]}' > "$tmp/hb.jsonl"
expect_error 1 "1 of 1 criteria to judge" --data "$tmp/hb.jsonl" --responses "$tmp/one.jsonl" --judge rule
shared=${RGSD_SHARED:-../shared}
hb="$shared/data/healthbench/healthbench_val_500.jsonl"
if [ -r "$hb" ]; then
    /usr/bin/python3 -c "
import json, sys
for line in open(sys.argv[1]):
    print(json.dumps({'response': 'Please see a doctor.'}))" "$hb" > "$tmp/hb-responses.jsonl"
    expect_error 1 "have no \`match\` patterns" --data "$hb" --responses "$tmp/hb-responses.jsonl" --judge rule
else
    echo "note: $hb not found; the real-data check was not run"
fi
exit 0
