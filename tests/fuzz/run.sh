#!/bin/sh
# Runs fuzz harnesses one after the other and reports, per target, the
# executions and the coverage libFuzzer reached (cov: edges, ft: features).
#   run.sh smoke SECONDS TARGET...  the `make test` pass: seeds, then a fixed
#                                   number of mutations (-seed=1) in a
#                                   throw-away corpus, in-process; stops at
#                                   the first failure; appends one result
#                                   line per target to build/test-results.txt
#   run.sh fuzz SECONDS TARGET...   `make fuzz`: SECONDS each in fork mode
#                                   (one worker), which goes on after a crash
#                                   so one run finds every bug it can; grows
#                                   the kept corpus FUZZ_B/corpus/<target>
# A crash, leak, timeout or out-of-memory leaves its input in
# FUZZ_B/artifacts/<target>/ and fails the target.
mode=$1 seconds=$2
shift 2
B=${FUZZ_B:-build-fuzz}
results=${RGSD_RESULTS:-build/test-results.txt}
runs=${FUZZ_SMOKE_RUNS:-20000}
status=0
mkdir -p "$(dirname "$results")"
for t in "$@"; do
    bin=$B/fuzz/fuzz_$t seeds=$B/seeds/$t art=$B/artifacts/$t/
    mkdir -p "$art"
    before=$(ls "$art" | wc -l)
    if [ "$mode" = smoke ]; then
        work=$(mktemp -d)
        opts="-seed=1 -runs=$runs -max_total_time=$seconds"
    else
        work=$B/corpus/$t
        mkdir -p "$work"
        opts="-max_total_time=$seconds -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1"
    fi
    # -timeout: one input that takes 10 s is a bug (a hang or a quadratic
    # path); -rss_limit_mb: so is one that needs 2 GB; -close_fd_mask=1:
    # what the library prints on stdout is noise here.
    start=$(date +%s)
    out=$("$bin" $opts -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -close_fd_mask=1 \
        -artifact_prefix="$art" "$work" "$seeds" 2>&1)
    rc=$?
    secs=$(($(date +%s) - start))
    # In-process runs end with "stat::number_of_executed_units: N" and
    # "#N<tab>DONE cov: ..."; fork mode with "#N: cov: ...".
    last=$(printf '%s\n' "$out" | grep -E '^#[0-9]+:?[[:space:]].*cov: ' | tail -1)
    execs=$(printf '%s\n' "$out" | sed -n 's/^stat::number_of_executed_units: *//p' | tail -1)
    [ -n "$execs" ] || execs=$(printf '%s\n' "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')
    cov=$(printf '%s\n' "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(printf '%s\n' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    corp=$(printf '%s\n' "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
    found=$(($(ls "$art" | wc -l) - before))
    # Fork mode counts what its workers hit (an input found again keeps its
    # old file name, so new files alone would miss it).
    hits=$(printf '%s\n' "$last" | sed -n 's|.*oom/timeout/crash: \([0-9]*\)/\([0-9]*\)/\([0-9]*\).*|\1 + \2 + \3|p')
    [ -n "$hits" ] && [ $(($hits)) -gt "$found" ] && found=$(($hits))
    summary=$(printf '%-16s %9s runs %4s s  cov %5s  ft %6s  corpus %5s' "$t" "${execs:-?}" "$secs" "${cov:-?}" \
        "${ft:-?}" "${corp:-?}")
    if [ "$rc" -eq 0 ] && [ "$found" -eq 0 ]; then
        echo "[fuzz] ok      $summary"
        [ "$mode" = smoke ] && echo "fuzz fuzz_$t 1 0 0" >> "$results"
    else
        status=1
        echo "[fuzz] FAILED  $summary (status $rc, $found new input(s) in $art)"
        printf '%s\n' "$out" | grep -E 'ERROR|runtime error|SUMMARY|property violated|^ +#[0-9]+ .* in ' | head -40
        echo "[fuzz] replay one: $bin $art<file>"
        [ "$mode" = smoke ] && echo "fuzz fuzz_$t 0 1 0" >> "$results"
    fi
    [ "$mode" = smoke ] && rm -rf "$work"
done
exit $status
