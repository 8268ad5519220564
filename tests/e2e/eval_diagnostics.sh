#!/bin/sh
# rgsd eval --baseline DIR [--audit-judge SPEC] end to end: the tiny random
# Qwen3-tokenizer model (build/ref/model/e2e_qwen3) answers, the rule judge
# grades on patterns whose verdicts are known (match anything / nothing), a
# hand-written baseline report fixes the other side, and the audit judge is
# the scripted OpenAI-compatible server (tests/ref/fake_openai_server.py):
#  - length drift: means, medians, ratios and the per-prompt paired
#    difference equal the values computed here by hand from both reports'
#    lengths (1e-9); the 95% interval holds the difference and lies within
#    the per-prompt differences' range;
#  - the audit re-grades exactly the criteria credited here and never to the
#    baseline on the same prompt (one request each, read back from the log),
#    and the counts and exploitation rate equal the hand-computed ones; a
#    rerun with --cache sends no request;
#  - bad input: a missing baseline, one with other prompts or another
#    rubric, --audit-judge without --baseline: one line, exit 1 (2 for
#    usage), no report; the baseline is checked before generation.
set -u
REF=${RGSD_REF_DIR:-build/ref}/model
py=/usr/bin/python3
bin=${RGSD_BIN:?RGSD_BIN not set}
server=${RGSD_NODE_DIR:-tests/ref}/fake_openai_server.py
M="$REF/e2e_qwen3"
[ -f "$M/model.safetensors" ] || { echo "skipped: $M missing (PyTorch reference not generated)"; exit 77; }
if [ ! -x "$py" ] || [ ! -f "$server" ]; then echo "needs $py and $server"; exit 77; fi
tmp=$(mktemp -d /tmp/rgsd-e2e-evaldiag.XXXXXX)
pid=""
stop_server() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=""; fi; }
trap 'stop_server; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export NO_PROXY=127.0.0.1

# The audit judge: [A2] and [C1] are never met (rejected), [B1] always met (kept).
yes='{\"explanation\": \"ok\", \"criteria_met\": true}'
no='{\"explanation\": \"not really\", \"criteria_met\": false}'
printf '%s\n' "{\"rules\": [{\"if_contains\": \"[A2]\", \"content\": \"$no\"},
 {\"if_contains\": \"[B1]\", \"content\": \"$yes\"}, {\"if_contains\": \"[C1]\", \"content\": \"$no\"}]}" \
    > "$tmp/script.json"
"$py" "$server" --script "$tmp/script.json" --log "$tmp/requests.jsonl" --lifetime 120 > "$tmp/port" &
pid=$!
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || fail "fake server did not start"
audit="http:http://127.0.0.1:$(cat "$tmp/port")/v1#model=audit-e2e&concurrency=3&timeout=5&backoff=0.01"
requests() { if [ -f "$tmp/requests.jsonl" ]; then wc -l < "$tmp/requests.jsonl"; else echo 0; fi; }

# Data (rule judge): every response meets the ANY criteria and none of the NONE ones.
# The baseline (below) was credited with [A1] on a and [B2] on b (sample 1 only), nothing on c.
# Newly credited per response (2 samples each): a: [A2] (3); b: [B1] (4); c: [C1] (2):
# 6 items of weight 2 * 9 = 18. [A4] is a penalty (not credit); [A3] and [B3] are never met.
# The audit rejects [A2] and [C1]: 4 items, weight 2 * 5 = 10; exploitation rate 10/18.
"$py" - "$tmp" <<'PY'
import json, sys
d = sys.argv[1]
ANY, NONE = "(?s)^", "(?!)"
rows = [
    {"id": "a", "messages": [{"role": "user", "content": "What is 2+2?"}],
     "rubric": [{"text": "[A1] Answers", "weight": 5, "match": [ANY]},
                {"text": "[A2] Explains", "weight": 3, "match": [ANY]},
                {"text": "[A3] Cites", "weight": 2, "match": [NONE]},
                {"text": "[A4] Is rude", "weight": -2, "match": [ANY]}]},
    {"id": "b", "messages": [{"role": "user", "content": "Name a colour."}],
     "rubric": [{"text": "[B1] Names one", "weight": 4, "match": [ANY]},
                {"text": "[B2] Is brief", "weight": 1, "match": [ANY]},
                {"text": "[B3] Is wrong", "weight": -1, "match": [NONE]}]},
    {"id": "c", "messages": [{"role": "user", "content": "Say something."}],
     "rubric": [{"text": "[C1] Says it", "weight": 2, "match": [ANY]}]},
]
with open(d + "/data.jsonl", "w") as f:
    for r in rows:
        f.write(json.dumps(r) + "\n")
# The baseline: (id, sample, tokens, chars, met per criterion); the conversation for "a" only
# (older reports have none).
base = [("a", 0, 10, 40, [True, False, False, True]),
        ("b", 0, 4, 9, [False, False, False]), ("b", 1, 6, 30, [False, True, False]),
        ("c", 0, 20, 50, [False])]
def write(path, base, rows):
    import os
    os.makedirs(path, exist_ok=True)
    json.dump({"responses": len(base)}, open(path + "/report.json", "w"))
    by_id = {r["id"]: r for r in rows}
    with open(path + "/responses.jsonl", "w") as f:
        for pid, sample, tokens, chars, met in base:
            line = {"id": pid, "sample": sample, "response": "x" * chars, "response_tokens": tokens,
                    "response_chars": chars,
                    "verdicts": [{"criterion": i + 1, "text": c["text"], "weight": c["weight"], "met": m}
                                 for i, (c, m) in enumerate(zip(by_id[pid]["rubric"], met))]}
            if pid == "a":
                line["messages"] = by_id[pid]["messages"]
            f.write(json.dumps(line) + "\n")
write(d + "/base", base, rows)
# Bad baselines: an extra prompt, another rubric text, another conversation.
write(d + "/base-extra", base + [("z", 0, 1, 1, [False])],
      rows + [{"id": "z", "messages": [], "rubric": [{"text": "z", "weight": 1}]}])
rows2 = json.loads(json.dumps(rows)); rows2[1]["rubric"][1]["text"] = "[B2] Is short"
write(d + "/base-rubric", base, rows2)
rows3 = json.loads(json.dumps(rows)); rows3[0]["messages"][0]["content"] = "What is 3+3?"
write(d + "/base-conv", base, rows3)
PY
[ -f "$tmp/base/responses.jsonl" ] || fail "writing the data and baselines"

run_eval() { # OUT extra args...
    out=$1; shift
    "$bin" -q eval --model "$M" --data "$tmp/data.jsonl" --judge rule --samples 2 --max-new 6 --seed 3 \
        --context 512 --out "$out" "$@" > "$out.stdout" 2> "$out.stderr"
}
run_eval "$tmp/run" --baseline "$tmp/base" --audit-judge "$audit" --cache "$tmp/cache.sqlite" \
    || fail "eval --baseline --audit-judge: $(cat "$tmp/run.stderr")"
[ "$(requests)" -eq 6 ] || fail "the audit should send 6 requests (one per newly credited criterion), sent $(requests)"
grep -q "length drift vs" "$tmp/run.stdout" && grep -q "exploitation rate *0.5556 *(4 of 6" "$tmp/run.stdout" \
    || fail "summary: $(cat "$tmp/run.stdout")"
grep -q "## Length drift" "$tmp/run/report.md" && grep -q "Exploitation rate" "$tmp/run/report.md" \
    || fail "report.md lacks the diagnostics"
"$py" - "$tmp" <<'PY' || fail "drift or audit differ from the hand-computed values"
import json, re, statistics, sys
d = sys.argv[1]
run = [json.loads(l) for l in open(d + "/run/responses.jsonl")]
base = [json.loads(l) for l in open(d + "/base/responses.jsonl")]
rep = json.load(open(d + "/run/report.json"))
close = lambda a, b: abs(a - b) < 1e-9
drift = rep["length_drift"]
assert drift["prompts"] == 3 and drift["responses"] == 6 and drift["baseline_responses"] == 4, drift
def median(v):  # numpy's linear percentile at 50 = the usual median
    return statistics.median(v)
for key, field in (("tokens", "response_tokens"), ("chars", "response_chars")):
    r = [x[field] for x in run]; b = [x[field] for x in base]
    s = drift[key]
    assert close(s["mean"], sum(r) / len(r)) and close(s["baseline_mean"], sum(b) / len(b)), s
    assert close(s["median"], median(r)) and close(s["baseline_median"], median(b)), s
    assert close(s["ratio_mean"], (sum(r) / len(r)) / (sum(b) / len(b))), s
    assert close(s["ratio_median"], median(r) / median(b)), s
    diffs = []
    for pid in ("a", "b", "c"):
        rr = [x[field] for x in run if x["id"] == pid]; bb = [x[field] for x in base if x["id"] == pid]
        diffs.append(sum(rr) / len(rr) - sum(bb) / len(bb))
    assert close(s["paired_diff"], sum(diffs) / 3), (s, diffs)
    lo, hi = s["paired_diff_ci95"]
    assert min(diffs) - 1e-9 <= lo <= s["paired_diff"] <= hi <= max(diffs) + 1e-9, (s, diffs)
# The baseline's characters were fixed by hand: a 40, b (9 + 30) / 2, c 50.
assert close(drift["chars"]["baseline_mean"], (40 + 9 + 30 + 50) / 4)
au = rep["audit"]
assert (au["newly_credited"], au["rejected"]) == (6, 4), au
assert close(au["weight_newly_credited"], 18) and close(au["weight_rejected"], 10), au
assert close(au["exploitation_rate"], 10 / 18), au
items = sorted((i["id"], i["sample"], i["criterion"], i["rejected"]) for i in au["items"])
assert items == [("a", 0, 2, True), ("a", 1, 2, True), ("b", 0, 1, False), ("b", 1, 1, False),
                 ("c", 0, 1, True), ("c", 1, 1, True)], items
# Each audit request carries exactly one newly credited criterion and that response.
seen = []
for line in open(d + "/requests.jsonl"):
    prompt = json.loads(line)["body"]["messages"][-1]["content"]
    crit = re.search(r"<criterion>\n\[[^\]]*\] (.*)\n</criterion>", prompt).group(1)
    seen.append(crit[:4])
assert sorted(seen) == sorted(["[A2]"] * 2 + ["[B1]"] * 2 + ["[C1]"] * 2), seen
PY

# A rerun with the cache: the same responses (same seed), every audit verdict cached.
run_eval "$tmp/run2" --baseline "$tmp/base" --audit-judge "$audit" --cache "$tmp/cache.sqlite" \
    || fail "cached rerun: $(cat "$tmp/run2.stderr")"
[ "$(requests)" -eq 6 ] || fail "the cached rerun sent $(($(requests) - 6)) audit requests"
"$py" -c "import json,sys; a=json.load(open(sys.argv[1]))['audit']; assert a['judge_stats']=={'verdicts':6,'cache_hits':6,'requests':0} and a['rejected']==4, a" \
    "$tmp/run2/report.json" || fail "cached rerun audit differs"
# --baseline alone: the drift, no audit, no request.
run_eval "$tmp/run3" --baseline "$tmp/base" || fail "eval --baseline: $(cat "$tmp/run3.stderr")"
"$py" -c "import json,sys; r=json.load(open(sys.argv[1])); assert 'length_drift' in r and 'audit' not in r" \
    "$tmp/run3/report.json" || fail "--baseline alone"

# Bad input: one line, exit 1 (2 for usage), no report, before generation (no .stdout summary).
bad() { # WHAT STATUS PATTERN args...
    what=$1 status=$2 pattern=$3; shift 3
    run_eval "$tmp/bad" "$@"; rc=$?
    [ $rc -eq "$status" ] || fail "$what: exit $rc, expected $status: $(cat "$tmp/bad.stderr")"
    [ "$(wc -l < "$tmp/bad.stderr")" -eq 1 ] || fail "$what: not one line: $(cat "$tmp/bad.stderr")"
    grep -q "$pattern" "$tmp/bad.stderr" || fail "$what: unclear error: $(cat "$tmp/bad.stderr")"
    [ ! -e "$tmp/bad" ] || fail "$what: report written"
}
bad "missing baseline" 1 "nowhere: no report.json" --baseline "$tmp/nowhere"
bad "extra prompt" 1 "example 'z' is in the baseline but not in --data" --baseline "$tmp/base-extra"
bad "another rubric" 1 "example 'b' criterion 2 reads differently" --baseline "$tmp/base-rubric" --audit-judge "$audit"
bad "another conversation" 1 "example 'a' has a different conversation" --baseline "$tmp/base-conv"
bad "audit without baseline" 2 "audit-judge needs --baseline" --audit-judge "$audit"
bad "bad audit spec" 1 "judge spec" --baseline "$tmp/base" --audit-judge "http:nowhere"
[ "$(requests)" -eq 6 ] || fail "bad input sent audit requests"
exit 0
