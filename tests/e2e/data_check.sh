#!/bin/sh
# rgsd data check on fixtures written here: help and usage errors, every
# bad-input path gives ONE line naming file:line: field with exit 1 and
# nothing on stdout, and --skip-bad counts. (The shared real data:
# data_check_shared.sh.)
set -u
bin=${RGSD_BIN:?RGSD_BIN not set}
tmp=$(mktemp -d /tmp/rgsd-e2e-data.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$bin" data --help | grep -q "check FILE" || fail "rgsd data --help does not list check"
"$bin" data check --help | grep -q -- "--skip-bad" || fail "rgsd data check --help does not list --skip-bad"
"$bin" data 2>/dev/null; [ $? -eq 2 ] || fail "rgsd data without a subcommand should exit 2"
"$bin" data frobnicate 2>/dev/null; [ $? -eq 2 ] || fail "unknown subcommand should exit 2"
"$bin" data check 2>/dev/null; [ $? -eq 2 ] || fail "data check without FILE should exit 2"
"$bin" data check --bogus x 2>/dev/null; [ $? -eq 2 ] || fail "unknown flag should exit 2"

good='{"prompt": [{"role": "user", "content": "Q"}], "rubrics": [{"criterion": "C", "points": 5}]}'

# expect_error NAME LINE2 EXPECTED: a file whose line 2 is bad; the error
# must be exactly one line, contain EXPECTED, and leave stdout empty.
expect_error() {
    f="$tmp/$1.jsonl"
    printf '%s\n%s\n' "$good" "$2" > "$f"
    "$bin" data check "$f" > "$tmp/out" 2> "$tmp/err"; rc=$?
    [ $rc -eq 1 ] || fail "$1: exit status $rc, expected 1"
    [ ! -s "$tmp/out" ] || fail "$1: wrote to stdout on error: $(cat "$tmp/out")"
    [ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "$1: error is not one line: $(cat "$tmp/err")"
    grep -qF "rgsd: $f:2: $3" "$tmp/err" || fail "$1: got '$(cat "$tmp/err")', expected '$f:2: $3'"
}

expect_error wrong_type '{"prompt": [{"role": "user", "content": "Q"}], "rubrics": [{"criterion": "C", "points": 1}, {"criterion": "D", "points": "5"}]}' \
    'rubrics[1].points: expected a number, got string'
expect_error missing_field '{"prompt": [{"role": "user", "content": "Q"}], "rubrics": [{"points": 1}]}' \
    'rubrics[0].criterion: expected a string, got nothing'
expect_error empty_rubric '{"question": "Q", "rubric": []}' \
    'rubric: empty rubric'
expect_error non_finite '{"messages": [{"role": "user", "content": "Q"}], "rubric": [{"text": "T", "weight": -1e999}]}' \
    'rubric[0].weight: not a finite number'
expect_error unknown_role '{"prompt": [{"role": "robot", "content": "Q"}], "rubrics": [{"criterion": "C", "points": 5}]}' \
    'prompt[0].role: unknown role "robot" (known: system, user, assistant)'
expect_error unknown_format '{"input": "Q", "output": "A"}' \
    'unknown format (keys: input, output); known: rgsd native'
expect_error bad_json '{"prompt": [' \
    'invalid JSON near column'
expect_error ends_with_assistant '{"prompt": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}], "rubrics": [{"criterion": "C", "points": 5}]}' \
    'prompt[1]: the conversation must end with a user message'
expect_error bad_pattern '{"messages": [{"role": "user", "content": "Q"}], "rubric": [{"text": "T", "weight": 1, "match": ["a("]}]}' \
    'rubric[0].match[0]: invalid PCRE2 pattern'

"$bin" data check "$tmp/none.jsonl" > "$tmp/out" 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q "none.jsonl: cannot open" "$tmp/err" || fail "missing file: status $rc, $(cat "$tmp/err")"

# --skip-bad: two bad lines skipped and counted, the good ones checked.
printf '%s\nnot json\n%s\n{"question": 3, "rubric": []}\n' "$good" "$good" > "$tmp/mixed.jsonl"
"$bin" data check --skip-bad "$tmp/mixed.jsonl" > "$tmp/out" 2> "$tmp/err" || fail "--skip-bad failed: $(cat "$tmp/err")"
grep -q "examples  *2 (2 bad lines skipped)" "$tmp/out" || fail "--skip-bad count: $(cat "$tmp/out")"
grep -q "skipped: .*mixed.jsonl:2: invalid JSON" "$tmp/err" || fail "--skip-bad should warn: $(cat "$tmp/err")"

exit 0
