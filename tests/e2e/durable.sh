#!/bin/sh
# Nothing lost (issue 10, section 3), end to end on a tiny random model of the
# rubric world (no PyTorch needed):
#   1. a save killed (SIGKILL) inside the checkpoint switch, where the folder
#      is missing under its name: --resume recovers it and continues bit for
#      bit; copies left by dead processes are removed by the next save.
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
RGSD_TEST_COMMIT_DELAY_MS=60000 $SFT --out "$T/ck" --steps 4 --stop-after 2 2>"$T/log" &
PID=$!
# the save after step 1 made the folder; the one after step 2 has moved it aside: kill there
wait_for "$T/log" "commit window of $T/ck open" || { cat "$T/log"; die "the commit window was never reached"; }
kill -KILL $PID; wait $PID 2>/dev/null
[ -e "$T/ck" ] && die "the test missed the window: $T/ck exists"
ls -d "$T"/ck.* >/dev/null 2>&1 || die "nothing left beside the missing folder"
# a dead process's orphans (each a full copy), as 44 of 57 kills left them
sh -c 'exit 0' & DEAD=$!; wait $DEAD
mkdir "$T/ck.tmp-$DEAD" "$T/ck.old-$DEAD" && echo x > "$T/ck.tmp-$DEAD/model.safetensors"
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

exit 0
