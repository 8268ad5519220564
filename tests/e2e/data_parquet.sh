#!/bin/sh
# rgsd data check on Parquet: told by its magic bytes (not the name), rows
# normalised as JSONL lines are (errors "file: row N: field: problem"),
# --skip-bad counts, a damaged file is one error line. Uses the oracle files
# in build/ref/parquet (tests/ref/parquet_ref.mjs) and the shared verl split.
set -u
bin=${RGSD_BIN:?RGSD_BIN not set}
ref=${RGSD_REF_DIR:-build/ref}/parquet
shared=${RGSD_SHARED:-../shared}
[ -f "$ref/verl_bad_criterion.parquet" ] || { echo "no Parquet oracle files in $ref (node, @duckdb/node-api)"; exit 77; }
tmp=$(mktemp -d /tmp/rgsd-e2e-parquet.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

f="$tmp/rubrics.data"   # no .parquet: the magic bytes decide
cp "$ref/verl_bad_criterion.parquet" "$f"
"$bin" data check "$f" > "$tmp/out" 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] || fail "bad row: exit status $rc, expected 1"
[ ! -s "$tmp/out" ] || fail "bad row: wrote to stdout on error"
[ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "bad row: error is not one line: $(cat "$tmp/err")"
grep -qF "rgsd: $f: row 3: reward_model.rubrics[0].criterion: expected a string, got null" "$tmp/err" ||
    fail "bad row: got '$(cat "$tmp/err")'"

"$bin" data check --skip-bad "$f" > "$tmp/out" 2> "$tmp/err" || fail "--skip-bad: exit status $?: $(cat "$tmp/err")"
grep -Eq "examples +3" "$tmp/out" || fail "--skip-bad: expected 3 examples: $(cat "$tmp/out")"
grep -Eq "skipped.*1|1.*skipped" "$tmp/out" "$tmp/err" || fail "--skip-bad: the skipped row is not counted"

# A damaged file: cut in the middle.
head -c 500 "$ref/verl_bad_criterion.parquet" > "$tmp/cut.parquet"
"$bin" data check "$tmp/cut.parquet" > "$tmp/out" 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] || fail "truncated: exit status $rc, expected 1"
[ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "truncated: error is not one line: $(cat "$tmp/err")"
grep -qF "rgsd: $tmp/cut.parquet: truncated Parquet file" "$tmp/err" || fail "truncated: got '$(cat "$tmp/err")'"

# The verl HealthBench split as published: its object tags ({axis, cluster,
# level}) read as key:value tags; the same 500 examples as its JSONL form.
hb="$shared/data/verl/healthbench_val.parquet"
if [ -f "$hb" ]; then
    "$bin" data check "$hb" > "$tmp/out" 2> "$tmp/err" || fail "verl HealthBench: $(cat "$tmp/err")"
    grep -Eq "examples +500" "$tmp/out" || fail "verl HealthBench: expected 500 examples: $(cat "$tmp/out")"
    "$bin" data check "$shared/data/verl/healthbench_val.verl.jsonl" > "$tmp/out.jsonl" 2>/dev/null ||
        fail "verl HealthBench JSONL"
    # same statistics, line for line, but the file name
    [ "$(grep -v "$hb" "$tmp/out")" = "$(grep -v healthbench_val.verl.jsonl "$tmp/out.jsonl")" ] ||
        fail "verl HealthBench: Parquet and JSONL statistics differ"
fi
exit 0
