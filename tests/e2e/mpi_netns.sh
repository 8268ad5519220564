#!/bin/sh
# Data parallel across "machines": two network namespaces on this machine,
# joined by a veth pair, each with its own address (10.77.R.1, 10.77.R.2),
# stand in for two hosts. mpirun runs in the first with a hostfile naming both
# addresses; its launcher (plm_rsh_agent, ssh on real machines) is a script
# that enters the other namespace; the ranks talk over TCP only (--mca btl
# tcp,self) on the veth pair. The 2-host run of RGSD (3 steps, global batch
# 8) must equal one process: rollouts token for token, weights, Adam moments
# and metrics within 1e-5 (tests/e2e/lib/same_run.py, as tests/e2e/mpi.sh).
# Skipped (77) with the reason without mpirun, an MPI build, `ip`, or the
# privilege to create namespaces (root, or CAP_NET_ADMIN).
set -u
command -v mpirun >/dev/null 2>&1 || { echo "mpirun not found (make deps installs openmpi-bin)"; exit 77; }
R=$RGSD_BIN
ldd "$R" 2>/dev/null | grep -q libmpi || { echo "$R was built without MPI (make MPI=1 with libopenmpi-dev)"; exit 77; }
command -v ip >/dev/null 2>&1 || { echo "no ip command (iproute2) to create network namespaces"; exit 77; }
PY=/usr/bin/python3
$PY -c "import numpy" 2>/dev/null || { echo "numpy missing (make deps)"; exit 77; }
T=$(mktemp -d /tmp/rgsd-e2e-netns-XXXXXX)
N=$$ # names and a subnet of this run's own
NS0=rgsd$N-a NS1=rgsd$N-b V0=rv$N-a V1=rv$N-b
SUB=10.77.$((N % 250 + 1))
cleanup() { ip netns del "$NS0" 2>/dev/null; ip netns del "$NS1" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
die() { echo "FAIL: $*"; exit 1; }
ip netns add "$NS0" 2>"$T/log" || { echo "cannot create network namespaces: $(head -1 "$T/log")"; exit 77; }
ip netns add "$NS1" && ip link add "$V0" type veth peer name "$V1" && ip link set "$V0" netns "$NS0" &&
    ip link set "$V1" netns "$NS1" && ip -n "$NS0" addr add "$SUB.1/24" dev "$V0" &&
    ip -n "$NS1" addr add "$SUB.2/24" dev "$V1" && ip -n "$NS0" link set "$V0" up && ip -n "$NS1" link set "$V1" up &&
    ip -n "$NS0" link set lo up && ip -n "$NS1" link set lo up || die "veth pair between the namespaces"
export OMP_NUM_THREADS=1
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# The launcher: mpirun calls it as ssh would ("AGENT [options] HOST COMMAND..."), to start its daemon there.
cat > "$T/agent.sh" <<AGENT
#!/bin/sh
while [ \$# -gt 0 ]; do case \$1 in -*) shift ;; *) break ;; esac; done
case \$1 in $SUB.1) ns=$NS0 ;; $SUB.2) ns=$NS1 ;; *) echo "agent: unknown host \$1" >&2; exit 1 ;; esac
shift
exec ip netns exec \$ns sh -c "\$*"
AGENT
chmod +x "$T/agent.sh"
printf '%s slots=1\n%s slots=1\n' "$SUB.1" "$SUB.2" > "$T/hostfile"

$R world gen --seed 2 --train 32 --heldout 4 --sft 64 --out "$T/world" >/dev/null 2>"$T/log" || { cat "$T/log"; die "world gen"; }
$PY tests/ref/rgsd_tiny_model.py "$T/init" "$T/world/tokenizer" || die "tiny model"
$R sft --model "$T/init" --data "$T/world/sft.jsonl" --out "$T/base" --batch-size 8 --lr 4e-3 --steps 40 --warmup 5 \
    --no-progress 2>"$T/log" || { cat "$T/log"; die "sft base"; }
RGSD="train --model $T/base --data $T/world/train.jsonl --batch 8 --lr 1e-3 --max-new 16 --seed 9 --steps 3 --no-progress"
mkdir -p "$T/one.trace" "$T/two.trace"
RGSD_TEST_ROLLOUTS="$T/one.trace" $R $RGSD --out "$T/one" 2>"$T/log" || { cat "$T/log"; die "1 process"; }
export RGSD_TEST_ROLLOUTS="$T/two.trace"
ip netns exec "$NS0" timeout 300 mpirun --hostfile "$T/hostfile" -np 2 --mca plm_rsh_agent "$T/agent.sh" \
    --mca btl tcp,self --mca btl_tcp_if_include "$SUB.0/24" --mca oob_tcp_if_include "$SUB.0/24" \
    -x OMP_NUM_THREADS -x RGSD_TEST_ROLLOUTS $R $RGSD --out "$T/two" 2>"$T/two.log" ||
    { cat "$T/two.log"; die "2 hosts"; }
[ -s "$T/two.trace/rollouts-0.txt" ] && [ -s "$T/two.trace/rollouts-1.txt" ] || die "a host drew no rollouts"
$PY tests/e2e/lib/same_run.py "$T/one" "$T/two" 1e-5 1e-5 || die "2 hosts vs 1 process"
cat "$T/one.trace"/* | sort > "$T/a"; cat "$T/two.trace"/* | sort > "$T/b"
cmp -s "$T/a" "$T/b" || die "the rollouts differ"
grep -q '"ranks": 2' "$T/two/metrics.jsonl" || die "not a 2-rank run"
echo "2 hosts (network namespaces, TCP over veth) == 1 process"
