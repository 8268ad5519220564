#!/bin/sh
# GRPO on 2 ranks sharing one verdict cache (SQLite in WAL mode, a busy
# timeout, one commit per verdict: src/judge/cache.c) with an HTTP judge (the
# scripted server tests/ref/fake_openai_server.py, 50 ms per answer):
#   1. kill -9 of rank 1 mid-run, after the checkpoint of step 2: every verdict
#      the server answered is in the cache, except at most the requests in
#      flight when the job died (one per rank: concurrency 2 is the job's);
#   2. rerun with --resume on 2 ranks: the replayed steps draw the same
#      rollouts, and the server sees again only those in-flight requests, no
#      verdict is paid twice; the replayed steps report cache hits.
# Skipped (77) with the reason without mpirun or an MPI build.
set -u
command -v mpirun >/dev/null 2>&1 || { echo "mpirun not found (make deps installs openmpi-bin)"; exit 77; }
R=$RGSD_BIN
ldd "$R" 2>/dev/null | grep -q libmpi || { echo "$R was built without MPI (make MPI=1 with libopenmpi-dev)"; exit 77; }
PY=/usr/bin/python3
server=tests/ref/fake_openai_server.py
T=$(mktemp -d /tmp/rgsd-e2e-mpicache-XXXXXX)
pid=""
stop_server() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=""; fi; }
mp=""
trap 'stop_server; [ -n "$mp" ] && kill "$mp" 2>/dev/null; rm -rf "$T"' EXIT
die() { echo "FAIL: $*"; exit 1; }
export OMP_NUM_THREADS=1 NO_PROXY=127.0.0.1 RGSD_E2E_KEY=sk-e2e-cache
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN="mpirun --oversubscribe -np 2 -x RGSD_E2E_KEY -x NO_PROXY"

$R world gen --seed 2 --train 32 --heldout 4 --sft 64 --out "$T/world" >/dev/null 2>"$T/log" || { cat "$T/log"; die "world gen"; }
$PY tests/ref/rgsd_tiny_model.py "$T/init" "$T/world/tokenizer" || die "tiny model"

# start_server LOG: a server answering "met" after 50 ms; sets $url
start_server() {
    stop_server
    printf '%s\n' '{"default": {"content": "{\"explanation\": \"ok\", \"criteria_met\": true}", "delay": 0.05}}' \
        > "$T/script.json"
    : > "$T/port"
    "$PY" "$server" --script "$T/script.json" --log "$1" --lifetime 300 > "$T/port" &
    pid=$!
    for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
    [ -s "$T/port" ] || die "fake server did not start"
    url="http://127.0.0.1:$(cat "$T/port")/v1"
}
count() { if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }

start_server "$T/a.jsonl"
GRPO="grpo --model $T/init --data $T/world/train.jsonl --batch 2 --group 2 --lr 1e-3 --max-new 8 --seed 9
  --steps 1000 --save-every 2 --judge-cache $T/cache.sqlite --out $T/run --no-progress
  --judge http:$url#model=grader&key_env=RGSD_E2E_KEY&concurrency=2&timeout=10&backoff=0.01"
$MPIRUN $R $GRPO 2>"$T/a.log" &
mp=$!
for _ in $(seq 1200); do [ -f "$T/run/train_state.safetensors" ] && break; sleep 0.1; done
[ -f "$T/run/train_state.safetensors" ] || { cat "$T/a.log"; die "no checkpoint"; }
n=$(count "$T/a.jsonl")
for _ in $(seq 600); do [ "$(count "$T/a.jsonl")" -gt $((n + 10)) ] && break; sleep 0.1; done # judging past it
p1=""
for p in $(pgrep -P $mp); do
    tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1" && p1=$p
done
[ -n "$p1" ] || die "no rank 1"
kill -KILL "$p1"
wait $mp && die "a job with a killed rank exited 0"
k=$(wc -l < "$T/run/metrics.jsonl")
# the server's distinct requests and the cache's verdicts
bodies() { $PY -c "import json,sys; [print(json.dumps(json.loads(l)['body']['messages'], sort_keys=True)) for l in open(sys.argv[1])]" "$1" | sort -u; }
bodies "$T/a.jsonl" > "$T/a.bodies"
paid=$(wc -l < "$T/a.bodies")
cached=$($PY -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from verdicts').fetchone()[0])" "$T/cache.sqlite") ||
    die "cache unreadable"
[ "$cached" -le "$paid" ] && [ "$cached" -ge $((paid - 2)) ] || die "$paid verdicts paid, $cached in the cache"

start_server "$T/b.jsonl"
GRPO=$(printf '%s' "$GRPO" | sed "s|http://127.0.0.1:[0-9]*/v1|$url|")
$MPIRUN $R $GRPO --resume --stop-after 4 2>"$T/b.log" || { cat "$T/b.log"; die "rerun"; }
grep -q "resuming at step $k of" "$T/b.log" || die "did not resume at step $k"
bodies "$T/b.jsonl" > "$T/b.bodies"
again=$(comm -12 "$T/a.bodies" "$T/b.bodies" | wc -l)
[ "$again" -le $((paid - cached)) ] || die "$again verdicts paid twice ($((paid - cached)) were in flight at the kill)"
hits=$($PY -c "import json,sys; print(sum(json.loads(l).get('judge_cache_hits', 0) for l in open(sys.argv[1]) if '\"eval\"' not in l))" "$T/run/metrics.jsonl")
[ "$hits" -gt 0 ] || die "the replayed steps had no cache hits"
echo "kill -9 of rank 1 at step >= $k: $paid verdicts paid, $cached cached; rerun: $hits cache hits, $again paid again (in flight at the kill)"
