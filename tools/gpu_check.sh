#!/bin/bash
# tools/gpu_check.sh — the one command for a GPU machine (docs/cuda.md): on a
# bare H100 with a copy of the tree, build the CUDA back end, run every GPU
# kernel test (make test-gpu's binary), the GPU benchmarks and, where python3
# has torch with CUDA, the same benchmarks in PyTorch, then print a short
# table last. Each phase has its own timeout; all of them add up to under 8
# minutes, so the whole check can be rerun once in a 15-minute window.
#
#   bash tools/gpu_check.sh [OUTDIR]     (default build/gpu_check: logs + table)
#
# Build: with rgsd's build dependencies present (tools/check_deps.sh), `make
# cuda` builds everything here. Without them (a GPU image rarely has cjson or
# OpenBLAS's headers) this machine's nvcc still compiles every .cu file with
# the flags of mk/cuda.mk, and the test and bench binaries are the ones built
# on a CPU machine (`make CUDA=1`) and copied here in build/gpu/ (they link
# OpenBLAS, utf8proc and the CUDA runtime statically; cuBLASLt is found in
# this machine's CUDA or PyTorch install). The table says which was used.
# GPU_CHECK_PREBUILT=1 takes the second way even where the dependencies are.
# Exit status: 0 when the build and every GPU test passed.
set -u
cd "$(dirname "$0")/.." || exit 2
OUT=${1:-build/gpu_check}
mkdir -p "$OUT"
T_INFO=15 T_BUILD=150 T_TEST=120 T_BENCH=90 T_TORCH=90 # 465 s at most
declare -A RC SECS
build_how="not built"

# phase NAME LIMIT CMD...: runs CMD (a program or an exported function) under timeout, log in
# $OUT/NAME.log (shown as it runs).
phase() {
    local name=$1 limit=$2 t0
    shift 2
    t0=$(date +%s)
    echo "== $name (limit ${limit}s)"
    timeout --kill-after=5 "$limit" bash -c '"$@"' "$name" "$@" 2>&1 | tee "$OUT/$name.log"
    RC[$name]=${PIPESTATUS[0]}
    SECS[$name]=$(($(date +%s) - t0))
    [ "${RC[$name]}" = 124 ] && echo "$name: timed out after ${limit}s"
    return "${RC[$name]}"
}

info() {
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
    NVCC=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
    [ -n "$NVCC" ] && "$NVCC" --version | tail -1
    python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())' 2>/dev/null || true
    echo "cpu cores: $(nproc)"
}

# The CUDA sources compiled by this machine's nvcc, warnings as errors, as mk/cuda.mk does.
nvcc_compile() {
    local nvcc=$1 f
    mkdir -p "$OUT/obj"
    for f in src/cuda/*.cu; do
        "$nvcc" -std=c++17 -O2 -Werror all-warnings -Xcompiler -Wall,-Wextra,-Werror -gencode arch=compute_90,code=sm_90 \
            -gencode arch=compute_90,code=compute_90 -Isrc -c "$f" -o "$OUT/obj/$(basename "$f" .cu).o" || return 1
        echo "compiled $f"
    done
}

build() {
    local nvcc missing
    nvcc=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
    missing=$(sh tools/check_deps.sh build 2>/dev/null)
    [ -n "${GPU_CHECK_PREBUILT:-}" ] && missing="nothing, GPU_CHECK_PREBUILT is set"
    if [ -z "$missing" ] && [ -n "$nvcc" ]; then
        make -j"$(nproc)" cuda NVCC="$nvcc" && echo "BUILD: built here (make cuda)" && return 0
        return 1
    fi
    echo "no source build here (missing: ${missing:-nvcc}): nvcc compile check, then the binaries in build/gpu/"
    [ -n "$nvcc" ] && { nvcc_compile "$nvcc" || return 1; }
    [ -x build/gpu/test_gpu ] && [ -x build/gpu/gpu_bench ] ||
        { echo "no build/gpu/test_gpu: build it with make CUDA=1 on a CPU machine and copy build/gpu here"; return 1; }
    echo "BUILD: nvcc compile check here${nvcc:+ ($nvcc)}, binaries built on a CPU machine"
}

# cuBLASLt where the binaries' rpath does not find it: this machine's CUDA, or PyTorch's wheels.
cublas_path() {
    local d nvcc
    nvcc=$(command -v nvcc || true)
    for d in ${nvcc:+$(dirname "$nvcc")/../lib64} /usr/local/cuda/lib64 \
        $(python3 -c 'import nvidia, os; print(" ".join(os.path.join(p, s, "lib") for p in nvidia.__path__ for s in os.listdir(p)))' 2>/dev/null); do
        ls "$d"/libcublasLt.so.13 >/dev/null 2>&1 && printf '%s:' "$d"
    done
}

export OUT
export -f info nvcc_compile build
phase info $T_INFO info
phase build $T_BUILD build
grep -q '^BUILD: built here' "$OUT/build.log" && build_how="built here (make cuda)"
grep -q '^BUILD: nvcc compile' "$OUT/build.log" && build_how="nvcc compile here, CPU-built binaries"
export LD_LIBRARY_PATH="$(cublas_path)${LD_LIBRARY_PATH:-}"
if [ "${RC[build]}" = 0 ]; then
    RGSD_RESULTS=$OUT/results.txt phase test-gpu $T_TEST sh tests/run_unit.sh gpu build/gpu/test_gpu
    phase bench $T_BENCH build/gpu/gpu_bench
fi
if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    phase torch $T_TORCH python3 tools/gpu_torch_bench.py
fi

# ---- the table ----
table() {
    local tests
    tests=$(sed -n 's/^\[ *\([A-Z]*\) *\] \([0-9]*\) test.*/\2 \1/p' "$OUT/test-gpu.log" 2>/dev/null |
        tr '\n' ' ')
    echo
    echo "== gpu_check: $(sed -n 's/^gpu_bench: //p' "$OUT/bench.log" 2>/dev/null | head -1) =="
    printf '%-10s %4s %5s  %s\n' phase rc secs result
    printf '%-10s %4s %5s  %s\n' build "${RC[build]:--}" "${SECS[build]:--}" "$build_how"
    printf '%-10s %4s %5s  %s\n' test-gpu "${RC[test-gpu]:--}" "${SECS[test-gpu]:--}" "${tests:-not run}"
    printf '%-10s %4s %5s\n' bench "${RC[bench]:--}" "${SECS[bench]:--}"
    printf '%-10s %4s %5s\n' torch "${RC[torch]:--}" "${SECS[torch]:--}"
    echo
    cat "$OUT/bench.log" "$OUT/torch.log" 2>/dev/null | awk '
        /^bench / { name = $2; torch = sub(/^torch_/, "", name); v[name, torch] = $3; u[name] = $4; ms[name, torch] = $5
                    if (!(name in seen)) { seen[name] = 1; order[n++] = name } }
        END { printf "%-22s %12s %12s %-8s %7s\n", "benchmark", "rgsd", "torch", "unit", "rgsd/torch"
              for (i = 0; i < n; i++) { k = order[i]; r = ((k, 0) in v) ? v[k, 0] : "-"; t = ((k, 1) in v) ? v[k, 1] : "-"
                  ratio = (r != "-" && t != "-" && t > 0) ? sprintf("%.2f", r / t) : "-"
                  printf "%-22s %12s %12s %-8s %7s\n", k, r, t, u[k], ratio } }'
    echo "not measured here: training step, decode and RGSD/GRPO step rates (the trainers do not run on the device yet)"
}
table | tee "$OUT/table.txt"
ok=0
[ "${RC[build]}" = 0 ] && [ "${RC[test-gpu]:-1}" = 0 ] && ! grep -q '^\[  FAILED  \]' "$OUT/test-gpu.log" &&
    ! grep -q 'skipped: no GPU' "$OUT/test-gpu.log" && ok=1
[ $ok = 1 ] && echo "gpu_check: PASS (build and every GPU test)" || echo "gpu_check: FAIL (see $OUT/*.log)"
[ $ok = 1 ]
