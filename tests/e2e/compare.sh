#!/bin/sh
# rgsd compare end to end against the scripted OpenAI-compatible server
# (tests/ref/fake_openai_server.py answers a pairwise prompt with the reply
# that alone holds the marker GOOD, else with reply 1: a judge with a pure
# position bias when it has no preference):
#  - every pair is sent twice, once in each order (read back from the log);
#  - wins / ties / losses and the win rate equal the hand-computed values
#    below; the 95% interval holds the win rate and matches a numpy bootstrap
#    over prompts (0.05: Monte Carlo noise of 1000 resamples);
#  - a rerun from the cache sends no request and writes the same counts;
#  - bad input (a missing report, a folder that is not one, mismatched
#    prompts or conversations, an unequal number of samples, a non-http
#    judge): one line, exit 1, nothing written.
set -u
bin=${RGSD_BIN:?RGSD_BIN not set}
py=/usr/bin/python3
server=${RGSD_NODE_DIR:-tests/ref}/fake_openai_server.py
if [ ! -x "$py" ] || [ ! -f "$server" ]; then echo "needs $py and $server"; exit 77; fi
tmp=$(mktemp -d /tmp/rgsd-e2e-compare.XXXXXX)
pid=""
stop_server() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=""; fi; }
trap 'stop_server; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export NO_PROXY=127.0.0.1

printf '%s\n' '{"pairwise": {"prefer": "GOOD"}}' > "$tmp/script.json"
"$py" "$server" --script "$tmp/script.json" --log "$tmp/requests.jsonl" --lifetime 60 > "$tmp/port" &
pid=$!
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || fail "fake server did not start"
spec="http:http://127.0.0.1:$(cat "$tmp/port")/v1#model=pairwise-e2e&concurrency=4&timeout=5&backoff=0.01"
requests() { if [ -f "$tmp/requests.jsonl" ]; then wc -l < "$tmp/requests.jsonl"; else echo 0; fi; }

# write_report DIR 'id:sample:response' ...: a report as rgsd eval writes it (the fields compare reads).
write_report() {
    "$py" - "$@" <<'PY'
import json, os, sys
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
json.dump({"responses": len(sys.argv) - 2}, open(d + "/report.json", "w"))
with open(d + "/responses.jsonl", "w") as f:
    for spec in sys.argv[2:]:
        pid, sample, text = spec.split(":", 2)
        f.write(json.dumps({"id": pid, "sample": int(sample), "prompt": "<prompt %s>" % pid,
                            "messages": [{"role": "user", "content": "Question %s?" % pid}],
                            "response": text, "response_tokens": len(text.split()), "response_chars": len(text),
                            "verdicts": []}) + "\n")
PY
}

# Hand-computed outcomes for A (GOOD alone in one reply decides both orders; otherwise each
# order prefers its first reply, the orders disagree, a tie):
#   p1 A only GOOD -> win;  p2 B only -> loss;  p3 both -> tie;  p4 neither -> tie;
#   p5 sample 0 A only -> win, sample 1 neither -> tie.
# 6 pairs: 2 wins, 3 ties, 1 loss; win rate (2 + 3/2) / 6 = 7/12.
write_report "$tmp/A" "p1:0:A GOOD one" "p2:0:A two" "p3:0:A GOOD three" "p4:0:A four" "p5:0:A GOOD five" "p5:1:A five bis"
write_report "$tmp/B" "p5:1:B five bis" "p4:0:B four" "p3:0:B GOOD three" "p2:0:B GOOD two" "p1:0:B one" "p5:0:B five"

"$bin" compare --a "$tmp/A" --b "$tmp/B" --judge "$spec" --cache "$tmp/cache.sqlite" --out "$tmp/cmp" \
    > "$tmp/out1" 2> "$tmp/err1" || fail "compare failed: $(cat "$tmp/err1")"
[ "$(requests)" -eq 12 ] || fail "6 pairs x 2 orders should be 12 requests, got $(requests)"
grep -q "A wins / ties / B wins *2 / 3 / 1" "$tmp/out1" || fail "summary: $(cat "$tmp/out1")"
"$py" - "$tmp" <<'PY' || fail "counts, rate, interval or the position swap differ from the expected"
import json, random, re, sys
d = sys.argv[1]
A = {(r["id"], r["sample"]): r["response"] for r in map(json.loads, open(d + "/A/responses.jsonl"))}
B = {(r["id"], r["sample"]): r["response"] for r in map(json.loads, open(d + "/B/responses.jsonl"))}
sent = set()
for line in open(d + "/requests.jsonl"):
    body = json.loads(line)["body"]
    assert body["response_format"]["json_schema"]["name"] == "pairwise_preference", body
    prompt = body["messages"][-1]["content"]
    assert "criteri" not in prompt.lower().split("<conversation>")[1], "a rubric reached the pairwise judge"
    r1 = re.search(r"<reply_1>\n(.*)\n</reply_1>", prompt, re.S).group(1)
    r2 = re.search(r"<reply_2>\n(.*)\n</reply_2>", prompt, re.S).group(1)
    sent.add((r1, r2))
for key in A:  # both orders of every pair, and nothing else
    assert (A[key], B[key]) in sent and (B[key], A[key]) in sent, key
assert len(sent) == 12, sent
c = json.load(open(d + "/cmp/compare.json"))
assert (c["wins"], c["ties"], c["losses"], c["pairs"], c["prompts"]) == (2, 3, 1, 6, 5), c
assert abs(c["win_rate"] - 7 / 12) < 1e-12, c
lo, hi = c["win_rate_ci95"]
assert lo <= c["win_rate"] <= hi, c
pairs = [json.loads(l) for l in open(d + "/cmp/pairs.jsonl")]
want = {("p1", 0): "a", ("p2", 0): "b", ("p3", 0): "tie", ("p4", 0): "tie", ("p5", 0): "a", ("p5", 1): "tie"}
assert {(p["id"], p["sample"]): p["winner"] for p in pairs} == want, pairs
assert [(p["a_first"], p["b_first"]) for p in pairs if p["id"] == "p3"] == [("a", "b")], pairs
# The interval: a bootstrap over prompts (each prompt's pairs together) of the ratio of sums.
per_prompt = {}
for p in pairs:
    s, n = per_prompt.get(p["id"], (0.0, 0))
    per_prompt[p["id"]] = (s + {"a": 1, "tie": 0.5, "b": 0}[p["winner"]], n + 1)
vals = list(per_prompt.values())
rng = random.Random(1)
rates = sorted(sum(v[0] for v in draw) / sum(v[1] for v in draw)
               for draw in ([rng.choice(vals) for _ in vals] for _ in range(100000)))
q = lambda f: rates[int(f * (len(rates) - 1))]
assert abs(lo - q(0.025)) < 0.05 and abs(hi - q(0.975)) < 0.05, (lo, hi, q(0.025), q(0.975))
PY

# A rerun answers from the cache: no request, the same counts (and the folder replaced whole).
"$bin" compare --a "$tmp/A" --b "$tmp/B" --judge "$spec" --cache "$tmp/cache.sqlite" --out "$tmp/cmp" \
    > "$tmp/out2" 2> "$tmp/err2" || fail "cached rerun failed: $(cat "$tmp/err2")"
[ "$(requests)" -eq 12 ] || fail "the cached rerun sent $(($(requests) - 12)) requests"
"$py" -c "import json,sys; c=json.load(open(sys.argv[1])); assert (c['wins'],c['ties'],c['losses'])==(2,3,1) and c['judge_stats']['cache_hits']==12 and c['judge_stats']['requests']==0, c" \
    "$tmp/cmp/compare.json" || fail "cached rerun report differs"
# Swapping A and B mirrors the counts (from the same cache: both orders were asked).
"$bin" compare --a "$tmp/B" --b "$tmp/A" --judge "$spec" --cache "$tmp/cache.sqlite" > "$tmp/out3" 2> "$tmp/err3" \
    || fail "swapped compare failed: $(cat "$tmp/err3")"
grep -q "A wins / ties / B wins *1 / 3 / 2" "$tmp/out3" || fail "swapped summary: $(cat "$tmp/out3")"
[ "$(requests)" -eq 12 ] || fail "the swapped run should be served by the cache"

# Other replies for B: every pair is new, in both orders (the cache key holds both replies).
write_report "$tmp/B2" "p1:0:B2 one" "p2:0:B2 two" "p3:0:B2 three" "p4:0:B2 four" "p5:0:B2 five" "p5:1:B2 five bis"
"$bin" compare --a "$tmp/A" --b "$tmp/B2" --judge "$spec" --cache "$tmp/cache.sqlite" > "$tmp/out4" 2> "$tmp/err4" \
    || fail "compare with B2 failed: $(cat "$tmp/err4")"
[ "$(requests)" -eq 24 ] || fail "A vs B2 should send 12 new requests, sent $(($(requests) - 12))"
grep -q "A wins / ties / B wins *3 / 3 / 0" "$tmp/out4" || fail "A vs B2 summary: $(cat "$tmp/out4")"

# Bad input: one line naming the problem, exit 1, no output folder.
bad() { # WHAT EXPECTED_PATTERN args...
    what=$1 pattern=$2; shift 2
    "$bin" compare --judge "$spec" --out "$tmp/bad-out" "$@" > "$tmp/bad.out" 2> "$tmp/bad.err"; rc=$?
    [ $rc -eq 1 ] || fail "$what: exit $rc, expected 1"
    [ "$(wc -l < "$tmp/bad.err")" -eq 1 ] || fail "$what: not one line: $(cat "$tmp/bad.err")"
    grep -q "$pattern" "$tmp/bad.err" || fail "$what: unclear error: $(cat "$tmp/bad.err")"
    [ ! -e "$tmp/bad-out" ] || fail "$what: output written"
}
bad "missing report" "nowhere.*no report.json" --a "$tmp/nowhere" --b "$tmp/B"
mkdir -p "$tmp/empty"
bad "not a report" "empty: no report.json" --a "$tmp/empty" --b "$tmp/B"
write_report "$tmp/C" "p1:0:x" "p2:0:x" "p3:0:x" "p4:0:x" "p5:0:x" "p5:1:x" "p6:0:x"
bad "an extra prompt" "do not match: example 'p6' is in .*/C but not in .*/A" --a "$tmp/A" --b "$tmp/C"
write_report "$tmp/D" "p1:0:x" "p2:0:x" "p3:0:x" "p5:0:x" "p5:1:x"
bad "a missing prompt" "do not match: example 'p4' is in .*/A but not in .*/D" --a "$tmp/A" --b "$tmp/D"
write_report "$tmp/E" "p1:0:x" "p2:0:x" "p3:0:x" "p4:0:x" "p5:0:x"
bad "unequal samples" "'p5' has 2 responses in .*/A but 1 in .*/E" --a "$tmp/A" --b "$tmp/E"
sed 's/Question p3/Question other/' "$tmp/B/responses.jsonl" > "$tmp/conv.jsonl" && mkdir -p "$tmp/F" \
    && cp "$tmp/B/report.json" "$tmp/F/" && mv "$tmp/conv.jsonl" "$tmp/F/responses.jsonl"
bad "another conversation" "'p3' has a different conversation" --a "$tmp/A" --b "$tmp/F"
printf '{"id": "p1"}\n' > "$tmp/F/responses.jsonl"
bad "a broken line" "F/responses.jsonl:1: not a response line" --a "$tmp/A" --b "$tmp/F"
"$bin" compare --a "$tmp/A" --b "$tmp/B" --judge rule > "$tmp/bad.out" 2> "$tmp/bad.err"; rc=$?
[ $rc -eq 1 ] && grep -q "needs an http judge" "$tmp/bad.err" || fail "rule judge: exit $rc, $(cat "$tmp/bad.err")"
"$bin" compare --a "$tmp/A" --judge "$spec" > "$tmp/bad.out" 2> "$tmp/bad.err"; rc=$?
[ $rc -eq 2 ] || fail "missing --b: exit $rc, expected 2"
[ "$(requests)" -eq 24 ] || fail "bad input sent requests"
exit 0
