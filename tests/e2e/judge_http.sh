#!/bin/sh
# rgsd judge end to end against a scripted OpenAI-compatible server on
# 127.0.0.1 (tests/ref/fake_openai_server.py): verdicts and scores (expected
# values worked out by hand below), the summary's accounting, a rerun served
# from the cache with zero requests, the retry budget exhausted and an
# unparseable answer (exit 1, one line, no output written, raw answer saved),
# the default max_tokens and the verdict's JSON schema in every request,
# and the API key never in stdout, stderr or any file rgsd writes.
set -u
bin=${RGSD_BIN:?RGSD_BIN not set}
py=/usr/bin/python3
server=${RGSD_NODE_DIR:-tests/ref}/fake_openai_server.py
if [ ! -x "$py" ] || [ ! -f "$server" ]; then echo "needs $py and $server"; exit 77; fi
tmp=$(mktemp -d /tmp/rgsd-e2e-judge.XXXXXX)
pid=""
stop_server() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=""; fi; }
trap 'stop_server; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

export RGSD_E2E_KEY=sk-e2e-NEVER-PRINT-7731
export NO_PROXY=127.0.0.1

# start_server SCRIPT_JSON: sets $url; requests are logged to $tmp/requests.jsonl.
start_server() {
    stop_server
    printf '%s\n' "$1" > "$tmp/script.json"
    : > "$tmp/port"
    rm -f "$tmp/requests.jsonl"
    "$py" "$server" --script "$tmp/script.json" --log "$tmp/requests.jsonl" --lifetime 60 > "$tmp/port" &
    pid=$!
    for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
    [ -s "$tmp/port" ] || fail "fake server did not start"
    url="http://127.0.0.1:$(cat "$tmp/port")/v1"
}
requests() { if [ -f "$tmp/requests.jsonl" ]; then wc -l < "$tmp/requests.jsonl"; else echo 0; fi; }
no_key_in() { for f in "$@"; do ! grep -q "$RGSD_E2E_KEY" "$f" || fail "the API key appears in $f"; done; }

# Two HealthBench-format examples; the markers let the server script decide.
cat > "$tmp/data.jsonl" <<'DATA'
{"prompt_id": "hb-1", "prompt": [{"role": "user", "content": "Burn on my hand, what now?"}], "rubrics": [{"criterion": "[A] Advises cool running water.", "points": 5, "tags": ["axis:accuracy"]}, {"criterion": "[B] Recommends butter.", "points": -4, "tags": ["axis:accuracy"]}, {"criterion": "[C] Says when to see a doctor.", "points": 2, "tags": ["axis:completeness"]}]}
{"prompt_id": "hb-2", "prompt": [{"role": "user", "content": "Is 37.2C a fever?"}], "rubrics": [{"criterion": "[D] Says it is not a fever.", "points": 3, "tags": ["axis:accuracy"]}, {"criterion": "[E] Is kind.", "points": 1}]}
DATA
printf '%s\n' '{"id": "hb-2", "response": "Maybe."}' '{"id": "hb-1", "response": "Cool water, then butter; see a doctor if it blisters."}' > "$tmp/responses.jsonl"

yes='{\"explanation\": \"ok\", \"criteria_met\": true}'
no='{\"explanation\": \"no\", \"criteria_met\": false}'
verdicts="{\"rules\": [
 {\"if_contains\": \"[A]\", \"content\": \"\`\`\`json\\n$yes\\n\`\`\`\"},
 {\"if_contains\": \"[B]\", \"content\": \"Verdict: $yes\"},
 {\"if_contains\": \"[C]\", \"content\": \"$yes\"},
 {\"if_contains\": \"[D]\", \"content\": \"$no\"},
 {\"if_contains\": \"[E]\", \"content\": \"$yes\"}]}"

# 1. Judge, score, account. hb-1: A, B, C met: (5 - 4 + 2) / 7 = 3/7; balanced (5 + 2) / 11.
#    hb-2: E only: 1/4; balanced 1/4. Means: (3/7 + 1/4) / 2 and (7/11 + 1/4) / 2.
#    axis:accuracy: hb-1 (5 - 4) / 5 = 0.2, hb-2 0/3 = 0 -> 0.1.
start_server "$verdicts"
spec="http:$url#model=grader-e2e&key_env=RGSD_E2E_KEY&concurrency=3&timeout=5&backoff=0.01"
"$bin" -v judge --data "$tmp/data.jsonl" --responses "$tmp/responses.jsonl" --judge "$spec" \
    --out "$tmp/verdicts.jsonl" --summary "$tmp/summary.json" --cache "$tmp/cache.sqlite" \
    > "$tmp/out1" 2> "$tmp/err1" || fail "judge failed: $(cat "$tmp/err1")"
[ "$(requests)" -eq 5 ] || fail "expected 5 requests, got $(requests)"
grep -q "Bearer $RGSD_E2E_KEY" "$tmp/requests.jsonl" || fail "the key was not sent in the Authorization header"
"$py" - "$tmp/requests.jsonl" <<'PY' || fail "requests lack the default max_tokens or the verdict schema"
import json, sys
for line in open(sys.argv[1]):
    body = json.loads(line)["body"]
    assert body["max_tokens"] == 1024, body
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["criteria_met"] == {"type": "boolean"}, schema
PY
grep -q "HealthBench score" "$tmp/out1" || fail "no score on stdout"
[ "$(wc -l < "$tmp/verdicts.jsonl")" -eq 2 ] || fail "verdicts file should have 2 lines"
"$py" - "$tmp/summary.json" "$tmp/verdicts.jsonl" <<'PY' || fail "scores or accounting differ from the hand-computed values"
import json, sys
s = json.load(open(sys.argv[1]))
close = lambda a, b: abs(a - b) < 1e-9
assert close(s["healthbench_score"]["mean"], (3/7 + 1/4) / 2), s["healthbench_score"]
assert close(s["balanced_reward_mean"], (7/11 + 1/4) / 2), s["balanced_reward_mean"]
assert close(s["tags"]["axis:accuracy"]["mean"], 0.1), s["tags"]
acc = s["accounting"]
assert acc["requests"] == 5 and acc["cache_hits"] == 0 and acc["verdicts"] == 5, acc
assert acc["prompt_tokens"] == 5 * 11 and acc["completion_tokens"] == 5 * 7, acc
lines = [json.loads(l) for l in open(sys.argv[2])]
assert [l["id"] for l in lines] == ["hb-2", "hb-1"], lines
assert [v["met"] for v in lines[1]["verdicts"]] == [True, True, True]
assert [v["met"] for v in lines[0]["verdicts"]] == [False, True]
assert close(lines[1]["score"], 3/7) and close(lines[0]["score"], 0.25)
PY

# 2. A rerun with the same cache sends nothing and gives the same scores.
"$bin" -v judge --data "$tmp/data.jsonl" --responses "$tmp/responses.jsonl" --judge "$spec" \
    --summary "$tmp/summary2.json" --cache "$tmp/cache.sqlite" > "$tmp/out2" 2> "$tmp/err2" \
    || fail "rerun failed: $(cat "$tmp/err2")"
[ "$(requests)" -eq 5 ] || fail "the rerun sent $(($(requests) - 5)) requests; the cache should answer all"
"$py" -c "import json,sys; a=json.load(open(sys.argv[1]))['accounting']; assert a['cache_hits']==5 and a['requests']==0, a" \
    "$tmp/summary2.json" || fail "rerun accounting wrong"

# 3. Always 500 and a budget of 1 retry: exit 1, one line, no output written.
start_server '{"default": {"status": 500, "body": "upstream exploded"}}'
spec_fail="http:$url#model=grader-e2e&key_env=RGSD_E2E_KEY&retries=1&backoff=0.01&timeout=2"
"$bin" -v judge --data "$tmp/data.jsonl" --responses "$tmp/responses.jsonl" --judge "$spec_fail" \
    --out "$tmp/fail.jsonl" --summary "$tmp/fail-summary.json" > "$tmp/out3" 2> "$tmp/err3"; rc=$?
[ $rc -eq 1 ] || fail "exhausted retries: exit $rc, expected 1"
[ "$(requests)" -eq 10 ] || fail "5 criteria x 2 attempts should be 10 requests, got $(requests)"
grep "^rgsd: " "$tmp/err3" | grep -q "could not be judged.*HTTP 500.*2 attempts" || fail "unclear error: $(grep '^rgsd:' "$tmp/err3")"
[ "$(grep -c '^rgsd: ' "$tmp/err3")" -eq 1 ] || fail "more than one error line"
[ ! -e "$tmp/fail.jsonl" ] && [ ! -e "$tmp/fail-summary.json" ] || fail "output written despite the failure"

# 4. An answer that never parses: exit 1 and the raw text saved.
start_server '{"default": {"content": "I would say it is partially met."}}'
spec_fail="http:$url#model=grader-e2e&key_env=RGSD_E2E_KEY&retries=1&backoff=0.01&timeout=2"
"$bin" judge --data "$tmp/data.jsonl" --responses "$tmp/responses.jsonl" --judge "$spec_fail" \
    --out "$tmp/bad.jsonl" > "$tmp/out4" 2> "$tmp/err4"; rc=$?
[ $rc -eq 1 ] || fail "unparseable answers: exit $rc, expected 1"
grep -q "partially met" "$tmp/bad.jsonl.failures.jsonl" || fail "raw answer not saved in bad.jsonl.failures.jsonl"
grep -q "bad.jsonl.failures.jsonl" "$tmp/err4" || fail "the error does not say where the raw answers are"

# 5. A key variable that is not set: a clear error before any request.
"$bin" judge --data "$tmp/data.jsonl" --responses "$tmp/responses.jsonl" \
    --judge "http:$url#model=m&key_env=RGSD_E2E_UNSET_KEY" > "$tmp/out5" 2> "$tmp/err5"; rc=$?
[ $rc -eq 1 ] && grep -q "RGSD_E2E_UNSET_KEY" "$tmp/err5" || fail "unset key variable: exit $rc, $(cat "$tmp/err5")"

# The key never leaves through rgsd's own output.
no_key_in "$tmp"/out* "$tmp"/err* "$tmp/verdicts.jsonl" "$tmp/summary.json" "$tmp/bad.jsonl.failures.jsonl"
exit 0
