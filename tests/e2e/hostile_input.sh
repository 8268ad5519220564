#!/bin/sh
# rgsd judge on hostile input, end to end: a 100k-line responses file matched
# by id in linear time (was 134 s), and data or ids holding terminal escapes
# printed as one escaped line, never as raw control bytes.
set -u
bin=${RGSD_BIN:?RGSD_BIN not set}
tmp=$(mktemp -d /tmp/rgsd-e2e-hostile.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
esc=$(printf '\033')

# 100k examples, responses by id in reverse order; bound 30 s (about 1 s here).
/usr/bin/python3 - "$tmp" <<'PY'
import json, sys
d = sys.argv[1]
n = 100000
with open(d + "/data.jsonl", "w") as f:
    for i in range(n):
        f.write(json.dumps({"id": "e%d" % i, "messages": [{"role": "user", "content": "q"}],
                            "rubric": [{"text": "says yes", "weight": 1, "match": ["yes"]}]}) + "\n")
with open(d + "/responses.jsonl", "w") as f:
    for i in reversed(range(n)):
        f.write(json.dumps({"id": "e%d" % i, "response": "yes" if i % 2 else "no"}) + "\n")
PY
now() { /usr/bin/python3 -c 'import time; print(time.time())'; }
start=$(now)
"$bin" judge --data "$tmp/data.jsonl" --responses "$tmp/responses.jsonl" --judge rule --summary "$tmp/s.json" \
    > "$tmp/out" 2> "$tmp/err" || fail "judge on 100k lines failed: $(tail -1 "$tmp/err")"
secs=$(/usr/bin/python3 -c "import sys; print('%.2f' % ($(now) - $start))")
echo "rgsd judge, 100000 responses matched by id: $secs s (bound 30 s)"
/usr/bin/python3 -c "import sys; sys.exit(0 if $secs < 30 else 1)" || fail "100k-line judge took $secs s"
/usr/bin/python3 -c "import json,sys; s=json.load(open(sys.argv[1])); assert abs(s['healthbench_score']['mean']-0.5)<1e-9, s" \
    "$tmp/s.json" || fail "100k-line scores are wrong"

# A tag that clears the screen, printed in the summary: escaped.
printf '%s\n' '{"id": "a", "tags": ["axis:\u001b[2Jboom"], "messages": [{"role": "user", "content": "q"}], "rubric": [{"text": "yes", "weight": 1, "match": ["yes"]}]}' \
    > "$tmp/tagged.jsonl"
printf '{"id": "a", "response": "yes"}\n' > "$tmp/one.jsonl"
"$bin" judge --data "$tmp/tagged.jsonl" --responses "$tmp/one.jsonl" --judge rule > "$tmp/out" 2> "$tmp/err" \
    || fail "judge with an odd tag failed: $(cat "$tmp/err")"
grep -q "$esc" "$tmp/out" && fail "a raw ESC reached stdout"
grep -qF 'axis:\x1b[2Jboom' "$tmp/out" || fail "the tag is not shown escaped: $(cat "$tmp/out")"

# An id with escapes and a newline that matches nothing: one escaped error line.
printf '{"id": "x\\u001b]0;pwned\\u0007\\ny", "response": "r"}\n' > "$tmp/bad-id.jsonl"
"$bin" judge --data "$tmp/tagged.jsonl" --responses "$tmp/bad-id.jsonl" --judge rule > "$tmp/out" 2> "$tmp/err"
[ $? -eq 1 ] || fail "unknown id should exit 1"
[ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "error is not one line: $(cat "$tmp/err")"
grep -q "$esc" "$tmp/err" && fail "a raw ESC reached stderr"
grep -qF "id 'x\\x1b]0;pwned\\x07\\ny' matches no example" "$tmp/err" || fail "unexpected error: $(cat "$tmp/err")"
echo "hostile input: ok"
