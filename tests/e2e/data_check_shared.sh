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
# Totals counted independently with Python's json module over the 7 files (the
# verl HealthBench and RubricHub instruction-following rows included): 1306
# lines, 17372 criteria, 3724 negative; 282 of the criteria (RubricHub
# instruction-following, tags.verifier "rule") are for a code verifier and are
# left out by default, which leaves 17090.
grep -q "^== total (7 files)" "$tmp/out" || fail "no total section"
sed -n '/^== total/,$p' "$tmp/out" > "$tmp/total"
grep -q "examples  *1306$" "$tmp/total" || fail "total examples: $(cat "$tmp/total")"
grep -q "criteria  *17090, negative weight 3724 (21.8%)" "$tmp/total" || fail "total criteria: $(cat "$tmp/total")"
grep -q "formats  *healthbench 500 rubrichub 800 rar 6" "$tmp/total" || fail "formats: $(cat "$tmp/total")"
grep -q "code-verifier criteria  *282, left out" "$tmp/total" || fail "code-verifier criteria: $(cat "$tmp/total")"
"$bin" data check --verifier-criteria keep "$shared"/data/*/*.jsonl > "$tmp/keep" 2> "$tmp/err" || fail "keep: $(cat "$tmp/err")"
grep -q "criteria  *17372, negative weight 3724 (21.4%)" "$tmp/keep" || fail "keep: $(cat "$tmp/keep")"
"$bin" data check --verifier-criteria error "$shared"/data/rubrichub/rurl-instructionfollowing-sample-100.jsonl \
    > /dev/null 2> "$tmp/err" && fail "--verifier-criteria error accepted the instruction-following file"
grep -qF 'rurl-instructionfollowing-sample-100.jsonl:1: reward_model.rubrics[0]: "last_word:last_word_sent" is a check for a code verifier' \
    "$tmp/err" || fail "error policy: $(cat "$tmp/err")"

"$bin" data check --json "$shared"/data/*/*.jsonl > "$tmp/out.json" || fail "--json failed"
/usr/bin/python3 - "$tmp/out.json" <<'PY' || fail "--json output"
import json, sys
r = json.load(open(sys.argv[1]))
t = r["total"]
assert len(r["files"]) == 7, len(r["files"])
assert t["examples"] == 1306 and t["criteria"] == 17090 and t["negative_weights"] == 3724, t
assert t["formats"] == {"healthbench": 500, "rubrichub": 800, "rar": 6}, t["formats"]
assert sum(w["count"] for w in t["weights"]) == 17090
assert t["code_verifier_criteria_skipped"] == 282 and t["code_verifier_criteria"] == 0, t
assert t["duplicate_ids"] == 0, t
hb = [f for f in r["files"] if f["path"].endswith("healthbench_val_500.jsonl")][0]
assert hb["messages_per_example"]["max"] == 15 and hb["criteria_per_example"]["min"] == 2, hb
PY
exit 0
