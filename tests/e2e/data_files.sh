#!/bin/sh
# Data files as people have them, through the rgsd binary:
#   1. the same examples as JSON Lines, .jsonl.gz, a JSON array, one
#      pretty-printed object: rgsd data check and rgsd judge agree;
#   2. files that are not JSON text (UTF-16, xz, a damaged Parquet file,
#      Parquet on standard input) fail with one line saying what the file is;
#   3. nothing usable is a failure: an empty file and a file whose every line
#      is skipped by --skip-bad exit 1 with one line, for data check, judge,
#      eval, train, grpo, gap and sft, and nothing is written.
set -u
bin=${RGSD_BIN:?RGSD_BIN not set}
tmp=$(mktemp -d /tmp/rgsd-e2e-files.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
PY=/usr/bin/python3

cat > "$tmp/data.jsonl" <<'DATA'
{"id": "w1", "messages": [{"role": "user", "content": "Name a fruit."}], "rubric": [{"text": "Names an apple", "weight": 3, "match": ["(?i)apple"]}, {"text": "Is rude", "weight": -2, "match": ["stupid"]}]}
{"id": "w2", "messages": [{"role": "user", "content": "Name a colour."}], "rubric": [{"text": "Names red", "weight": 2, "match": ["red"]}, {"text": "Names blue", "weight": 1, "match": ["blue"]}]}
DATA
gzip -c "$tmp/data.jsonl" > "$tmp/data.jsonl.gz"
$PY - "$tmp" <<'PY' || fail "could not write the fixtures"
import json, sys
d = sys.argv[1]
rows = [json.loads(l) for l in open(d + "/data.jsonl")]
json.dump(rows, open(d + "/array.json", "w"), indent=2)
json.dump(rows[0], open(d + "/one.json", "w"), indent=4)
open(d + "/utf16.jsonl", "wb").write(open(d + "/data.jsonl").read().encode("utf-16"))
PY

# 1. every layout: the same statistics and the same scores
"$bin" data check --json "$tmp/data.jsonl" > "$tmp/plain.json" || fail "data check plain"
for f in data.jsonl.gz array.json; do
    "$bin" data check --json "$tmp/$f" > "$tmp/other.json" 2> "$tmp/err" || fail "data check $f: $(cat "$tmp/err")"
    $PY - "$tmp/plain.json" "$tmp/other.json" <<'PY' || fail "data check $f differs from the JSONL file"
import json, sys
a, b = (json.load(open(p))["files"][0] for p in sys.argv[1:])
del a["path"], b["path"]
assert a == b, (a, b)
PY
done
"$bin" data check "$tmp/one.json" > "$tmp/out" 2> "$tmp/err" || fail "one pretty object: $(cat "$tmp/err")"
grep -q "examples  *1$" "$tmp/out" || fail "one pretty object: $(cat "$tmp/out")"
printf '%s\n' '{"response": "An Apple, stupid."}' '{"response": "red and green"}' > "$tmp/resp.jsonl"
for f in data.jsonl data.jsonl.gz array.json; do
    "$bin" judge --data "$tmp/$f" --responses "$tmp/resp.jsonl" --judge rule --summary "$tmp/s-$f.json" \
        > /dev/null 2> "$tmp/err" || fail "judge on $f: $(cat "$tmp/err")"
    grep -o '"mean":[[:space:]]*[-0-9.e]*' "$tmp/s-$f.json" | head -1 > "$tmp/mean-$f"
done
cmp -s "$tmp/mean-data.jsonl" "$tmp/mean-data.jsonl.gz" && cmp -s "$tmp/mean-data.jsonl" "$tmp/mean-array.json" \
    || fail "judge scores differ between layouts"
# The responses file too: gzip'd, and as a JSON array.
gzip -c "$tmp/resp.jsonl" > "$tmp/resp.jsonl.gz"
printf '[{"response": "An Apple, stupid."},\n {"response": "red and green"}]\n' > "$tmp/resp.json"
for r in resp.jsonl.gz resp.json; do
    "$bin" judge --data "$tmp/data.jsonl" --responses "$tmp/$r" --judge rule --summary "$tmp/s-$r.json" \
        > /dev/null 2> "$tmp/err" || fail "judge responses $r: $(cat "$tmp/err")"
    grep -o '"mean":[[:space:]]*[-0-9.e]*' "$tmp/s-$r.json" | head -1 | cmp -s - "$tmp/mean-data.jsonl" || fail "responses $r: other scores"
done

# An error in an array element names its line, its path from the root and the layout.
printf '[\n  {"id": "a", "messages": [{"role": "user", "content": "Q"}],\n   "rubric": [{"text": "T", "weight": "x"}]}\n]\n' \
    > "$tmp/bad.json"
"$bin" data check "$tmp/bad.json" > /dev/null 2> "$tmp/err"; [ $? -eq 1 ] || fail "bad element: exit status"
grep -qF "bad.json:2: [0].rubric[0].weight: expected a number, got string" "$tmp/err" || fail "bad element: $(cat "$tmp/err")"

# Criteria meant for a code verifier: left out of judging by default (counted
# on stderr), kept on request (then the rule judge finds no pattern), or an error.
cat > "$tmp/verifier.jsonl" <<'DATA'
{"id": "v1", "messages": [{"role": "user", "content": "Name a fruit."}], "rubric": [{"text": "Names an apple", "weight": 3, "match": ["(?i)apple"]}, {"text": "last_word:last_word_sent", "weight": 10, "tags": ["verifier:rule"]}]}
DATA
printf '{"response": "An apple."}\n' > "$tmp/resp1.jsonl"
"$bin" judge --data "$tmp/verifier.jsonl" --responses "$tmp/resp1.jsonl" --judge rule --summary "$tmp/sv.json" \
    > /dev/null 2> "$tmp/err" || fail "judge with a code-verifier criterion: $(cat "$tmp/err")"
grep -q "verifier.jsonl: 1 criteria for a code verifier left out of judging and teacher prompts" "$tmp/err" \
    || fail "no logged count: $(cat "$tmp/err")"
grep -q '"verdicts":[[:space:]]*1,' "$tmp/sv.json" || fail "the code-verifier criterion was judged: $(cat "$tmp/sv.json")"
"$bin" judge --data "$tmp/verifier.jsonl" --responses "$tmp/resp1.jsonl" --judge rule --verifier-criteria keep \
    > /dev/null 2> "$tmp/err" && fail "keep: the rule judge should refuse a criterion without patterns"
"$bin" judge --data "$tmp/verifier.jsonl" --responses "$tmp/resp1.jsonl" --judge rule --verifier-criteria error \
    > /dev/null 2> "$tmp/err"; [ $? -eq 1 ] || fail "error policy: exit status"
grep -qF 'verifier.jsonl:1: rubric[1]: "last_word:last_word_sent" is a check for a code verifier' "$tmp/err" \
    || fail "error policy: $(cat "$tmp/err")"
"$bin" data check --verifier-criteria sometimes "$tmp/verifier.jsonl" 2> /dev/null; [ $? -eq 2 ] || fail "bad policy: not a usage error"

# No positive points anywhere: the mean is undefined, and so is its standard error (null, not 0).
printf '%s\n' '{"id": "n1", "messages": [{"role": "user", "content": "Q"}], "rubric": [{"text": "Is rude", "weight": -2, "match": ["stupid"]}]}' \
    > "$tmp/negonly.jsonl"
"$bin" judge --data "$tmp/negonly.jsonl" --responses "$tmp/resp1.jsonl" --judge rule --summary "$tmp/sn.json" \
    > /dev/null 2> "$tmp/err" || fail "judge negative-only: $(cat "$tmp/err")"
$PY - "$tmp/sn.json" <<'PY' || fail "undefined mean: $(cat "$tmp/sn.json")"
import json, sys
s = json.load(open(sys.argv[1]))["healthbench_score"]
assert s["mean"] is None and s["std_error"] is None, s
PY

# Duplicate ids are reported by data check.
cat "$tmp/data.jsonl" "$tmp/data.jsonl" > "$tmp/dup.jsonl"
"$bin" data check "$tmp/dup.jsonl" > "$tmp/out" || fail "data check dup"
grep -q "duplicate ids  *2 (first: w1)" "$tmp/out" || fail "duplicate ids: $(cat "$tmp/out")"

# generate reads conversations as OpenAI writes them: the same greedy answers
# from the plain file and from a gzip'd JSON array with developer role and text parts.
M=${RGSD_REF_DIR:-build/ref}/model/e2e_qwen3
if [ -f "$M/model.safetensors" ]; then
    printf '%s\n' '{"id": "a", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+2?"}]}' \
        > "$tmp/conv.jsonl"
    printf '%s\n' '[{"id": "a", "messages": [{"role": "developer", "content": [{"type": "text", "text": "Be "},' \
        '{"type": "text", "text": "brief."}]}, {"role": "user", "content": [{"type": "text", "text": "What is 2+2?"}]}]}]' \
        | gzip -c > "$tmp/conv.json.gz"
    for f in conv.jsonl conv.json.gz; do
        "$bin" -q generate --model "$M" --data "$tmp/$f" --temperature 0 --max-new 6 --out "$tmp/gen-$f.jsonl" \
            2> "$tmp/err" || fail "generate $f: $(cat "$tmp/err")"
    done
    strip() { sed 's/,"seconds".*//' "$1"; } # timings differ run to run
    [ "$(strip "$tmp/gen-conv.jsonl.jsonl")" = "$(strip "$tmp/gen-conv.json.gz.jsonl")" ] \
        || fail "generate: OpenAI spellings give other answers"
fi

# 2. not JSON text: what the file is, one line, exit 1
expect_refused() {
    "$bin" data check "$1" > "$tmp/out" 2> "$tmp/err"; rc=$?
    [ $rc -eq 1 ] || fail "$1: exit $rc"
    [ "$(grep -c . "$tmp/err")" -eq 1 ] || fail "$1: not one line: $(cat "$tmp/err")"
    grep -qF -- "$2" "$tmp/err" || fail "$1: expected '$2', got '$(cat "$tmp/err")'"
}
expect_refused "$tmp/utf16.jsonl" "this is UTF-16LE text; rgsd reads UTF-8: convert it with iconv"
printf 'PAR1\025\004' > "$tmp/x.parquet"
expect_refused "$tmp/x.parquet" "not a Parquet file (6 bytes, too short)"
"$bin" data check - < "$tmp/x.parquet" > "$tmp/out" 2> "$tmp/err" && fail "Parquet on stdin accepted"
grep -qF "this is a Parquet file, which is read from its path, not a pipe" "$tmp/err" || fail "Parquet on stdin: $(cat "$tmp/err")"
if command -v xz > /dev/null; then
    xz -c "$tmp/data.jsonl" > "$tmp/data.jsonl.xz"
    expect_refused "$tmp/data.jsonl.xz" "this is xz-compressed"
fi

# 3. nothing usable is a failure, for every command
: > "$tmp/empty.jsonl"
printf '{"x": 1}\n\n{"y": 2}\n' > "$tmp/allbad.jsonl"
model=${RGSD_REF_DIR:-build/ref}/train/qwen3_untied
[ -d "$model" ] || model="$tmp/no-model" # rubric data is read before any model is loaded
expect_nothing() {
    what=$1 text=$2; shift 2
    rm -rf "$tmp/out-dir" "$tmp/o.jsonl"
    "$bin" "$@" > "$tmp/out" 2> "$tmp/err"; rc=$?
    [ $rc -eq 1 ] || fail "$what: exit $rc, expected 1 ($(cat "$tmp/err"))"
    grep -v '^warning: ' "$tmp/err" > "$tmp/err1"
    [ "$(grep -c . "$tmp/err1")" -eq 1 ] || fail "$what: error is not one line: $(cat "$tmp/err")"
    grep -qF -- "$text" "$tmp/err1" || fail "$what: expected '$text', got '$(cat "$tmp/err1")'"
    [ ! -e "$tmp/out-dir" ] && [ ! -e "$tmp/o.jsonl" ] || fail "$what: output written"
}
for f in empty allbad; do
    if [ $f = empty ]; then text="empty.jsonl: no examples: the file holds no records"
    else text="allbad.jsonl: no usable example: all 2 records were skipped (--skip-bad); the first: "; fi
    d="$tmp/$f.jsonl"
    expect_nothing "data check $f" "$text" data check --skip-bad "$d"
    expect_nothing "judge $f" "$text" judge --data "$d" --responses "$tmp/resp.jsonl" --judge rule --skip-bad --out "$tmp/o.jsonl"
    expect_nothing "eval $f" "$text" eval --model "$model" --data "$d" --judge rule --skip-bad --out "$tmp/out-dir"
    expect_nothing "train $f" "$text" train --model "$model" --data "$d" --skip-bad --out "$tmp/out-dir" --no-progress
    expect_nothing "grpo $f" "$text" grpo --model "$model" --data "$d" --judge rule --skip-bad --out "$tmp/out-dir" --no-progress
    expect_nothing "gap $f" "$text" gap --model "$model" --data "$d" --skip-bad
done
if [ -d "$model" ]; then
    expect_nothing "sft empty" "empty.jsonl: no examples" sft --model "$model" --data "$tmp/empty.jsonl" --out "$tmp/out-dir" --no-progress
    printf '[]\n' > "$tmp/empty.json"
    expect_nothing "sft empty array" "empty.json: no examples" sft --model "$model" --data "$tmp/empty.json" --out "$tmp/out-dir" --no-progress
fi
exit 0
