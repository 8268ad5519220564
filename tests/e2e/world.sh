#!/bin/sh
# rgsd world gen: deterministic, atomic, teaches with --help, rejects bad
# usage, and its output passes the independent Python cross-check.
# No learning and no float sums: passes unchanged under all 8 paths of
# tools/kernel_paths.sh (OpenBLAS core types x RGSD_KERNELS) on an AMD EPYC Zen 4.
set -u
tmp=$(mktemp -d /tmp/rgsd-world-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "world.sh: $*"; exit 1; }

"$RGSD_BIN" world --help | grep -q "world gen" || fail "--help does not teach 'world gen'"
"$RGSD_BIN" world gen --seed 5 --out "$tmp/a" --train 120 --heldout 60 --sft 400 2>"$tmp/log" || fail "gen failed: $(cat "$tmp/log")"
grep -q "partial-knowledge answers score" "$tmp/log" || fail "no summary on stderr"
"$RGSD_BIN" world gen --seed 5 --out "$tmp/b" --train 120 --heldout 60 --sft 400 2>/dev/null || fail "second gen failed"
diff -r "$tmp/a" "$tmp/b" >/dev/null || fail "same seed gave different files"
"$RGSD_BIN" world gen --seed 6 --out "$tmp/c" --train 120 --heldout 60 --sft 400 2>/dev/null || fail "seed 6 failed"
cmp -s "$tmp/a/train.jsonl" "$tmp/c/train.jsonl" && fail "seeds 5 and 6 gave the same train.jsonl"
for f in train.jsonl heldout.jsonl sft.jsonl world.json tokenizer/tokenizer.json tokenizer/tokenizer_config.json; do
    [ -s "$tmp/a/$f" ] || fail "missing $f"
done
[ "$(wc -l < "$tmp/a/train.jsonl")" -eq 120 ] || fail "train.jsonl should have 120 lines"
ls "$tmp/a" "$tmp/a/tokenizer" | grep -q "\.tmp" && fail "temporary files left behind"

# Bad usage: status 2 and one line; a bad output place: status 1, nothing written.
for args in "gen" "gen --out $tmp/x --train abc" "gen --out $tmp/x --known-frac 2" "make --out $tmp/x" \
            "gen --out $tmp/x --train 0" "gen --out $tmp/x --bogus 1"; do
    # shellcheck disable=SC2086
    "$RGSD_BIN" world $args 2>"$tmp/err"; st=$?
    # (the shared flag parser reports a malformed number with status 1)
    case "$args" in *abc*) [ $st -ne 0 ] ;; *) [ $st -eq 2 ] ;; esac || fail "'world $args' exited $st, want 2"
    [ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "'world $args' should print one line: $(cat "$tmp/err")"
done
[ -e "$tmp/x" ] && fail "bad usage created the output folder"
touch "$tmp/file"
"$RGSD_BIN" world gen --out "$tmp/file/sub" 2>"$tmp/err"; st=$?
[ $st -eq 1 ] || fail "output under a file exited $st, want 1"
grep -q "$tmp/file" "$tmp/err" || fail "error does not name the path: $(cat "$tmp/err")"

if [ -x /usr/bin/python3 ]; then
    /usr/bin/python3 tests/ref/world_check.py "$tmp/a" || fail "Python cross-check failed"
else
    echo "world.sh: /usr/bin/python3 missing; Python cross-check skipped"
fi
exit 0
