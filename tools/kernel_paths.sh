#!/bin/sh
# tools/kernel_paths.sh — re-prove that the e2e learning checks hold on any
# x86-64 CPU: runs each check under every kernel path that differs between
# machines (OpenBLAS core types x rgsd's own AVX2 / AVX-512 kernels) on this
# one machine and prints the metric each check thresholds.
#
# Why: float sums in another order round differently, and a few hundred
# training steps turn that into a different model; a threshold set from one
# machine's run has no margin on the next (issue 10). The spread printed
# here is what each test's header quotes.
#
#   sh tools/kernel_paths.sh                       # all 8 paths, all checks
#   CORES="Haswell Zen" KERNELS=avx2 CHECKS=grpo sh tools/kernel_paths.sh
#   SEEDS="3 4 5 6" CHECKS="grpo rgsd" sh tools/kernel_paths.sh   # + training seeds
#
# SEEDS sets RGSD_E2E_SEED, the training seed of grpo.sh, rgsd.sh and sft.sh (empty:
# each test's own). A kernel path perturbs training the way another seed
# does, so the spread over seeds shows how far another CPU can land.
#
# Needs build/rgsd and the training references (make refs). Single-threaded,
# as the tests. RGSD_KERNELS=avx512 is skipped on a CPU without AVX-512; for a
# core type the CPU cannot run, OpenBLAS takes another, and the last column
# (rgsd --kernels) shows which. All 8 paths: 18 min on a 2-vCPU VM at load 6-11.
set -u
cd "$(dirname "$0")/.."
CORES=${CORES:-Haswell SkylakeX Zen Cooperlake}
KERNELS=${KERNELS:-avx2 avx512}
CHECKS=${CHECKS:-grpo rgsd sft demo_small world}
SEEDS=${SEEDS:-default}
export RGSD_BIN=${RGSD_BIN:-$PWD/build/rgsd}
export RGSD_REF_DIR=${RGSD_REF_DIR:-$PWD/build/ref}
export RGSD_SHARED=${RGSD_SHARED:-$(cd .. && pwd)/shared}
export OMP_NUM_THREADS=1 RGSD_E2E_LEARNING_ONLY=1
OUT=$(mktemp -d /tmp/rgsd-kernel-paths-XXXXXX)
trap 'rm -rf "$OUT"' EXIT
echo "CPU: $(grep -m1 '^model name' /proc/cpuinfo | sed 's/.*: //')"
printf '%-11s %-7s %-7s %-10s %-6s %s\n' openblas rgsd seed check result metric
for core in $CORES; do
    for k in $KERNELS; do
        # the path as the binary reports it (OpenBLAS ignores a core type it
        # cannot run here and says what it chose instead)
        path=$(OPENBLAS_CORETYPE=$core RGSD_KERNELS=$k "$RGSD_BIN" --kernels 2>&1) || { echo "$core $k: skipped ($path)"; continue; }
        for c in $CHECKS; do for seed in $SEEDS; do
            [ "$seed" = default ] && unset RGSD_E2E_SEED || export RGSD_E2E_SEED=$seed
            OPENBLAS_CORETYPE=$core RGSD_KERNELS=$k sh "tests/e2e/$c.sh" > "$OUT/log" 2>&1
            rc=$?
            case $rc in 0) res=ok ;; 77) res=skip ;; *) res=FAIL ;; esac
            # the line each check prints before it thresholds
            metric=$(grep -E '^(balanced reward|gap |sft loss|demo_small: ok)' "$OUT/log" | tr '\n' ' ')
            printf '%-11s %-7s %-7s %-10s %-6s %s   [%s]\n' "$core" "$k" "$seed" "$c" "$res" "$metric" "$path"
            [ $rc -eq 0 ] || [ $rc -eq 77 ] || tail -3 "$OUT/log" | sed 's/^/    /'
        done; done
    done
done
