#!/bin/sh
# Runs every tests/e2e/*.sh script against $RGSD_BIN. A script passes when it
# exits 0 and is skipped when it exits 77 (the automake convention).
results=${RGSD_RESULTS:-build/test-results.txt}
passed=0; failed=0; skipped=0
# Each script's output goes through a file, not $(...): a background job it leaves behind (a stuck mpirun)
# would hold a pipe open and hang the suite. Each script has 20 minutes.
log=$(mktemp /tmp/rgsd-e2e-log-XXXXXX)
trap 'rm -f "$log"' EXIT
for t in tests/e2e/*.sh; do
    [ -f "$t" ] || continue
    timeout -k 10 1200 sh "$t" > "$log" 2>&1; rc=$?
    out=$(cat "$log")
    [ "$rc" -eq 124 ] && out="$out
timed out after 1200 s"
    case $rc in
        0) passed=$((passed+1)); echo "[e2e] ok      $t" ;;
        77) skipped=$((skipped+1)); echo "[e2e] skipped $t: $(printf '%s' "$out" | tail -1)" ;;
        *) failed=$((failed+1)); echo "[e2e] FAILED  $t (status $rc)"; printf '%s\n' "$out" | tail -20 ;;
    esac
done
echo "e2e e2e $passed $failed $skipped" >> "$results"
[ "$failed" -eq 0 ]
