#!/bin/sh
# Nothing lost (issue 10, section 3), end to end on a tiny random model of the
# rubric world (no PyTorch needed):
#   1. a save killed (SIGKILL) inside the checkpoint switch, where the folder
#      is missing under its name: --resume recovers it and continues bit for
#      bit; copies left by dead processes are removed by the next save.
#   2. the verdict cache on a full disk (a file-size limit, `ulimit -f`): the
#      judge stops at the first verdict it cannot store, exit 1, one line; a
#      rerun pays only for what was not stored.
#   3. a full disk (`ulimit -f`) under world gen, world model (the safetensors
#      writer) and eval --out: the OS's reason in the one error line, and no
#      folder (nor a temp copy) left behind.
#   4. Ctrl-C inside a long RGSD step, and inside an evaluation, returns in a
#      fraction of the step (measured), saves the last complete step, and
#      --resume is bit for bit the uninterrupted run; a second Ctrl-C during
#      the save exits at once and --resume recovers the folder.
set -u
T=$(mktemp -d /tmp/rgsd-e2e-durable-XXXXXX)
trap 'rm -rf "$T"' EXIT
export OMP_NUM_THREADS=1
die() { echo "FAIL: $*"; exit 1; }
R=$RGSD_BIN

# Waits (up to 60 s) until file $1 contains the text $2.
wait_for() {
    i=0
    while ! grep -q "$2" "$1" 2>/dev/null; do
        i=$((i + 1)); [ $i -gt 600 ] && return 1
        sleep 0.1
    done
}

$R world gen --seed 3 --train 32 --heldout 8 --sft 64 --out "$T/w" >/dev/null 2>"$T/log" || { cat "$T/log"; die "world gen"; }
$R world model --tokenizer "$T/w/tokenizer" --out "$T/m" --hidden 64 --layers 2 2>"$T/log" || { cat "$T/log"; die "world model"; }

# ---- 1. killed inside the checkpoint switch
SFT="$R sft --model $T/m --data $T/w/sft.jsonl --batch-size 4 --lr 1e-3 --seed 5 --save-every 1 --no-progress"
$SFT --out "$T/full" --steps 4 2>"$T/log" || { cat "$T/log"; die "4 uninterrupted steps"; }
: > "$T/log" # emptied before the job starts: wait_for must not read the previous run's lines
RGSD_TEST_COMMIT_DELAY_MS=60000 $SFT --out "$T/ck" --steps 4 --stop-after 2 2>"$T/log" &
PID=$!
# the save after step 1 made the folder; the one after step 2 has moved it aside: kill there
wait_for "$T/log" "commit window of $T/ck open" || { cat "$T/log"; die "the commit window was never reached"; }
kill -KILL $PID; wait $PID 2>/dev/null
[ -e "$T/ck" ] && die "the test missed the window: $T/ck exists"
ls -d "$T"/ck.* >/dev/null 2>&1 || die "nothing left beside the missing folder"
# a dead process's orphans (each a full copy), as 44 of 57 kills left them
sh -c 'exit 0' & DEAD=$!; wait $DEAD
mkdir "$T/ck.tmp-$DEAD" "$T/ck.old-$DEAD" && : > "$T/ck.tmp-$DEAD/.rgsd-partial" && echo x > "$T/ck.tmp-$DEAD/model.safetensors"
$SFT --out "$T/ck" --steps 4 --resume 2>"$T/log" || { cat "$T/log"; die "--resume after a kill in the commit window"; }
grep -q "recovered from $T/ck.new-$PID" "$T/log" || { cat "$T/log"; die "the complete new copy was not the one recovered"; }
grep -q "resuming at step 2 of 4" "$T/log" || { cat "$T/log"; die "did not resume at step 2"; }
for f in model.safetensors train_state.safetensors; do
    cmp -s "$T/full/$f" "$T/ck/$f" || die "$f differs from the uninterrupted run after recovery + resume"
done
strip() { sed 's/, "tokens_per_s".*//' "$1"; }
[ "$(strip "$T/full/metrics.jsonl")" = "$(strip "$T/ck/metrics.jsonl")" ] || die "metrics differ after recovery + resume"
left=$(ls -d "$T"/ck.* 2>/dev/null | wc -l)
[ "$left" -eq 0 ] || { ls -d "$T"/ck.*; die "$left copies left beside the checkpoint"; }
echo "ok: killed in the commit window -> recovered, resumed bit for bit, orphans removed"
# the same kill, then a reader (--model): it finds the folder too
: > "$T/log" # emptied before the job starts: wait_for must not read the previous run's lines
RGSD_TEST_COMMIT_DELAY_MS=60000 $SFT --out "$T/ck2" --steps 4 --stop-after 2 2>"$T/log" &
PID=$!
wait_for "$T/log" "commit window of $T/ck2 open" || { cat "$T/log"; die "the commit window was never reached (2)"; }
kill -KILL $PID; wait $PID 2>/dev/null
$R generate --model "$T/ck2" --prompt hello --max-new 2 >/dev/null 2>"$T/log" || { cat "$T/log"; die "--model after a kill in the commit window"; }
[ "$(ls -d "$T"/ck2.* 2>/dev/null | wc -l)" -eq 0 ] || die "copies left beside ck2 after a reader recovered it"
echo "ok: killed in the commit window -> a reader (--model) recovers the folder"

# ---- 2. the verdict cache cannot grow (the local judge: the PyTorch-made tiny Qwen3, when built)
M=${RGSD_REF_DIR:-build/ref}/model/e2e_qwen3
if [ -f "$M/model.safetensors" ]; then
    /usr/bin/python3 - "$T" <<'PYEOF' || die "judge data"
import json, sys
with open(sys.argv[1] + "/d.jsonl", "w") as d, open(sys.argv[1] + "/r.jsonl", "w") as r:
    for i in range(40):
        d.write(json.dumps({"id": f"ex{i}", "messages": [{"role": "user", "content": f"question {i}"}],
                            "rubric": [{"text": f"criterion {c} of example {i}: the answer says so", "weight": c + 1}
                                       for c in range(5)]}) + "\n")
        r.write(json.dumps({"id": f"ex{i}", "response": f"answer number {i}"}) + "\n")
PYEOF
    JUDGE="$R judge --data $T/d.jsonl --responses $T/r.jsonl --judge local:$M#batch=4&context=512 --cache $T/v.sqlite"
    # 64 KiB for any file: the cache's write-ahead log fills after a few verdicts (SIGXFSZ ignored: write fails EFBIG)
    (trap '' XFSZ; ulimit -f 64; $JUDGE --summary "$T/s1.json" >/dev/null 2>"$T/log"); rc=$?
    [ $rc -eq 1 ] || { cat "$T/log"; die "a verdict cache that cannot be written: exit $rc, want 1"; }
    [ "$(grep -c '^rgsd: ' "$T/log")" -eq 1 ] || { cat "$T/log"; die "want one error line"; }
    grep -q "^rgsd: verdict cache $T/v.sqlite: write: .*could not be stored" "$T/log" || { cat "$T/log"; die "unclear cache error"; }
    grep -q "^warning" "$T/log" && die "warnings instead of a stop"
    [ -e "$T/s1.json" ] && die "a summary was written despite the failure"
    stored=$(/usr/bin/python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from verdicts').fetchone()[0])" "$T/v.sqlite")
    $JUDGE --summary "$T/s2.json" >/dev/null 2>"$T/log" || { cat "$T/log"; die "rerun with room"; }
    /usr/bin/python3 -c "
import json, sys
a = json.load(open(sys.argv[1]))['accounting']; stored = int(sys.argv[2])
assert 0 < stored < 200 and a['cache_hits'] == stored and a['requests'] == 200 - stored, (stored, a)" "$T/s2.json" "$stored" \
        || die "the rerun did not pay only for the verdicts not stored"
    echo "ok: cache full after $stored of 200 verdicts -> exit 1, one line; the rerun paid $((200 - stored))"
else
    echo "skipped section 2: $M missing (PyTorch reference not generated)"
fi

# ---- 3. a full disk: the reason kept, nothing left behind
full() { # full KIB NAME CMD...: runs CMD under a file-size limit; expects exit 1, "File too large", no NAME*
    kib=$1; name=$2; shift 2
    (trap '' XFSZ; ulimit -f "$kib"; "$@" >/dev/null 2>"$T/log"); rc=$?
    [ $rc -eq 1 ] || { cat "$T/log"; die "$name on a full disk: exit $rc, want 1"; }
    [ "$(grep -c '^rgsd: ' "$T/log")" -eq 1 ] || { cat "$T/log"; die "$name: want one error line"; }
    grep -q "^rgsd: .*File too large" "$T/log" || { cat "$T/log"; die "$name: the reason (errno) is missing"; }
    ls -d "$T/$name"* >/dev/null 2>&1 && { ls -d "$T/$name"*; die "$name: a folder was left behind"; }
    return 0
}
full 100 wfull $R world gen --seed 3 --out "$T/wfull"
full 100 mfull $R world model --tokenizer "$T/w/tokenizer" --out "$T/mfull" --hidden 256 --layers 4
full 2 efull $R -q eval --model "$T/m" --data "$T/w/heldout.jsonl" --judge rule --max-new 16 --samples 4 --out "$T/efull"
echo "ok: world gen, world model, eval --out on a full disk: errno kept, no folder left"

# ---- 4. signals: stop inside the step / the evaluation; a second one exits at once
now() { date +%s.%N; }
$R world model --tokenizer "$T/w/tokenizer" --out "$T/big" --hidden 256 --layers 4 2>"$T/log" || { cat "$T/log"; die "big model"; }
BASE="$R train --model $T/big --data $T/w/train.jsonl --batch 12 --lr 1e-3 --seed 3 --save-every 1"
LONG="$BASE --no-progress --max-new 384"
# a. inside step 2 (its generation: several seconds): the checkpoint of step 1 is the sign that step 2 began
$LONG --steps 2 --out "$T/s_full" 2>"$T/log" || { cat "$T/log"; die "2 long steps"; }
step2=$(sed -n 2p "$T/s_full/metrics.jsonl" | sed 's/.*"step_s": \([0-9.]*\).*/\1/')
: > "$T/log" # emptied before the job starts: wait_for must not read the previous run's lines
$LONG --steps 2 --out "$T/s_int" 2>"$T/log" &
PID=$!
i=0; while [ ! -f "$T/s_int/train_state.safetensors" ]; do i=$((i + 1)); [ $i -gt 600 ] && die "step 1 never saved"; sleep 0.1; done
sleep 0.3
t0=$(now); kill -INT $PID; wait $PID; rc=$?; t1=$(now)
stop_s=$(echo "$t1 $t0" | awk '{printf "%.2f", $1 - $2}')
[ $rc -eq 130 ] || { cat "$T/log"; die "SIGINT inside a step: exit $rc, want 130"; }
grep -q "interrupted: step 1 saved" "$T/log" || { cat "$T/log"; die "the abandoned step 2 was not left out (or step 1 not saved)"; }
awk -v s="$stop_s" -v t="$step2" 'BEGIN { exit !(s < 2.0 && s < t / 2) }' || die "the stop took $stop_s s (a step: $step2 s)"
$LONG --steps 2 --out "$T/s_int" --resume 2>"$T/log" || { cat "$T/log"; die "resume after a stop inside a step"; }
grep -q "resuming at step 1 of 2" "$T/log" || { cat "$T/log"; die "did not resume at step 1"; }
for f in model.safetensors train_state.safetensors; do cmp -s "$T/s_full/$f" "$T/s_int/$f" || die "$f differs after a stop inside a step + resume"; done
echo "ok: SIGINT inside a ${step2} s step: exit 130 after $stop_s s, step 1 saved, resume bit for bit"

# b. inside the evaluation after step 2 (short steps, a long evaluation); the progress line of step 2
#    (printed at each tenth of the run when stderr is not a terminal) comes right before its evaluation
EVAL="$BASE --max-new 16 --eval-data $T/w/heldout.jsonl --eval-every 2 --judge rule --eval-samples 8 --eval-max-new 384"
$EVAL --steps 3 --out "$T/e_full" 2>"$T/log" || { cat "$T/log"; die "3 steps with evaluations"; }
eval_s=$(grep '"eval": true' "$T/e_full/metrics.jsonl" | head -1 | sed 's/.*"eval_s": \([0-9.]*\).*/\1/')
: > "$T/log" # emptied before the job starts: wait_for must not read the previous run's lines
$EVAL --steps 3 --out "$T/e_int" 2>"$T/log" &
PID=$!
wait_for "$T/log" "rgsd .*2/3" || { cat "$T/log"; die "step 2 never ended"; }
sleep 0.1
t0=$(now); kill -TERM $PID; wait $PID; rc=$?; t1=$(now)
stop_s=$(echo "$t1 $t0" | awk '{printf "%.2f", $1 - $2}')
[ $rc -eq 143 ] || { cat "$T/log"; die "SIGTERM inside an evaluation: exit $rc, want 143"; }
grep -q "interrupted: step 2 saved" "$T/log" || { cat "$T/log"; die "the step the evaluation was for is not the one saved"; }
grep -q '"eval": true' "$T/e_int/metrics.jsonl" && die "the stopped evaluation left a line"
awk -v s="$stop_s" -v t="$eval_s" 'BEGIN { exit !(s < 2.0 && s < t / 2) }' || die "the stop took $stop_s s (an evaluation: $eval_s s)"
$EVAL --steps 3 --out "$T/e_int" --resume 2>"$T/log" || { cat "$T/log"; die "resume after a stop inside an evaluation"; }
grep -q "resuming at step 2 of 3" "$T/log" || { cat "$T/log"; die "did not resume at step 2"; }
for f in model.safetensors train_state.safetensors; do cmp -s "$T/e_full/$f" "$T/e_int/$f" || die "$f differs after a stop inside an evaluation + resume"; done
echo "ok: SIGTERM inside a ${eval_s} s evaluation: exit 143 after $stop_s s, step 2 saved, resume bit for bit"

# c. a second Ctrl-C while the interrupted run saves (held 60 s in its commit window): exits at once
: > "$T/log" # emptied before the job starts: wait_for must not read the previous run's lines
RGSD_TEST_COMMIT_DELAY_MS=60000 $LONG --steps 2 --out "$T/d_int" 2>"$T/log" &
PID=$!
i=0; while [ ! -f "$T/d_int/train_state.safetensors" ]; do i=$((i + 1)); [ $i -gt 600 ] && die "step 1 never saved"; sleep 0.1; done
kill -INT $PID
wait_for "$T/log" "commit window of $T/d_int open" || { cat "$T/log"; die "the final save never began"; }
t0=$(now); kill -INT $PID; wait $PID; rc=$?; t1=$(now)
stop_s=$(echo "$t1 $t0" | awk '{printf "%.2f", $1 - $2}')
[ $rc -eq 130 ] || { cat "$T/log"; die "a second SIGINT: exit $rc, want 130"; }
awk -v s="$stop_s" 'BEGIN { exit !(s < 2.0) }' || die "the second signal took $stop_s s"
$LONG --steps 2 --out "$T/d_int" --resume 2>"$T/log" || { cat "$T/log"; die "resume after a second signal"; }
grep -q "resuming at step 1 of 2" "$T/log" || { cat "$T/log"; die "did not resume at step 1 after a second signal"; }
for f in model.safetensors train_state.safetensors; do cmp -s "$T/s_full/$f" "$T/d_int/$f" || die "$f differs after a second signal + resume"; done
echo "ok: a second SIGINT during the save: exit 130 after $stop_s s; resume recovered and bit for bit"

exit 0
