#!/bin/sh
# Runs cmocka test binaries, prints their output, and appends one line per
# binary to build/test-results.txt: "<suite> <binary> <passed> <failed> <skipped>".
# Usage: run_unit.sh SUITE BINARY...
# RGSD_TEST_WRAP, when set, is put before each binary: `make test-arm64` runs
# them as "timeout 300 qemu-aarch64 BINARY".
suite=$1; shift
results=${RGSD_RESULTS:-build/test-results.txt}
mkdir -p "$(dirname "$results")"
status=0
for bin in "$@"; do
    name=$(basename "$bin")
    out=$($RGSD_TEST_WRAP "$bin" 2>&1); rc=$?
    printf '%s\n' "$out"
    passed=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    failed=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    skipped=$(printf '%s\n' "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' | tail -1)
    passed=${passed:-0}; failed=${failed:-0}; skipped=${skipped:-0}
    # A binary that crashed or exited non-zero without a cmocka summary failed.
    if [ "$rc" -eq 124 ] && [ -n "$RGSD_TEST_WRAP" ]; then
        echo "[$suite] $name timed out ($RGSD_TEST_WRAP)"
        failed=$((failed + 1))
    elif [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
        echo "[$suite] $name exited with status $rc"
        failed=1
    fi
    [ "$failed" -ne 0 ] && status=1
    echo "$suite $name $passed $failed $skipped" >> "$results"
done
exit $status
