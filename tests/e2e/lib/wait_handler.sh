# wait_handler.sh — sourced by the e2e tests that send Ctrl-C to a trainer.
#
# wait_for_sigint_handler PID: returns 0 once process PID is rgsd and has a
# SIGINT handler installed (bit 2 of SigCgt in /proc/PID/status), 1 if that
# does not happen within 60 s or the process exits first. A fixed `sleep`
# raced the trainer's start-up on a loaded machine: a signal that comes
# before the handler kills the process instead of testing the handler.
wait_for_sigint_handler() {
    for _ in $(seq 600); do
        if [ "$(cat "/proc/$1/comm" 2>/dev/null)" = rgsd ]; then
            mask=$(sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)
            last=$(printf '%s' "$mask" | tail -c 1) # SIGINT is signal 2: bit 1 of the last hex digit
            [ -n "$last" ] && [ $((0x$last & 2)) -ne 0 ] && return 0
        fi
        kill -0 "$1" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
