#!/bin/sh
# rgsd data check reads ALL of the shared real data (../shared/data/*/*.jsonl)
# without error, in text and --json, with the totals counted independently.
set -u
bin=${RGSD_BIN:?RGSD_BIN not set}
tmp=$(mktemp -d /tmp/rgsd-e2e-shared.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

shared=${RGSD_SHARED:-../shared}
if ! ls "$shared"/data/*/*.jsonl > /dev/null 2>&1; then
    echo "skipped: shared rubric data not found under $shared/data (set RGSD_SHARED)"
    exit 77
fi
"$bin" data check "$shared"/data/*/*.jsonl > "$tmp/out" 2> "$tmp/err" || fail "shared data: $(cat "$tmp/err")"
# Totals counted independently with Python's json module: 706 lines, 11025 criteria, 1865 negative.
grep -q "^== total (5 files)" "$tmp/out" || fail "no total section"
sed -n '/^== total/,$p' "$tmp/out" > "$tmp/total"
grep -q "examples  *706$" "$tmp/total" || fail "total examples: $(cat "$tmp/total")"
grep -q "criteria  *11025, negative weight 1865 (16.9%)" "$tmp/total" || fail "total criteria: $(cat "$tmp/total")"
grep -q "formats  *healthbench 500 rubrichub 200 rar 6" "$tmp/total" || fail "formats: $(cat "$tmp/total")"

"$bin" data check --json "$shared"/data/*/*.jsonl > "$tmp/out.json" || fail "--json failed"
/usr/bin/python3 - "$tmp/out.json" <<'PY' || fail "--json output"
import json, sys
r = json.load(open(sys.argv[1]))
t = r["total"]
assert len(r["files"]) == 5, len(r["files"])
assert t["examples"] == 706 and t["criteria"] == 11025 and t["negative_weights"] == 1865, t
assert t["formats"] == {"healthbench": 500, "rubrichub": 200, "rar": 6}, t["formats"]
assert sum(w["count"] for w in t["weights"]) == 11025
hb = [f for f in r["files"] if f["path"].endswith("healthbench_val_500.jsonl")][0]
assert hb["messages_per_example"]["max"] == 15 and hb["criteria_per_example"]["min"] == 2, hb
PY
exit 0
