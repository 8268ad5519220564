#!/bin/sh
# The binary runs, teaches with --help, rejects bad usage with status 2, and
# gives status 1 to any other error, even one whose message quotes "--help".
set -u
"$RGSD_BIN" --help | grep -q "commands:" || { echo "no command list in --help"; exit 1; }
"$RGSD_BIN" frobnicate 2>/dev/null; [ $? -eq 2 ] || { echo "unknown command should exit 2"; exit 1; }
"$RGSD_BIN" 2>/dev/null; [ $? -eq 2 ] || { echo "no command should exit 2"; exit 1; }
"$RGSD_BIN" tokenize --bogus 2>/dev/null; [ $? -eq 2 ] || { echo "unknown flag should exit 2"; exit 1; }
# A file that is not there is a runtime error, whatever its name says.
tmp=$(mktemp -d /tmp/rgsd-e2e-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$RGSD_BIN" data check "$tmp/see --help.jsonl" 2>"$tmp/err"; rc=$?
grep -q -- "--help" "$tmp/err" || { echo "the message should quote the file name: $(cat "$tmp/err")"; exit 1; }
[ $rc -eq 1 ] || { echo "a missing file named '--help' exited $rc, expected 1"; exit 1; }
exit 0
