#!/bin/sh
# tools/packed_check.sh — the packed-batch benchmarks on every core of a machine, for a
# many-core box that cannot build rgsd (the GPU machine: 16 cores, no cJSON/OpenBLAS
# headers, no network). docs/training.md, "Packed batches": on 2 cores the per-sequence
# loop already runs near the sgemm roof; this measures the gain where it does not.
#
#   sh tools/packed_check.sh build      (here) link build/bench/{rgsd,train}'s sources
#                                       into build/portable/, OpenBLAS and the codecs
#                                       static, libcjson.so.1 copied beside them
#   sh tools/packed_check.sh run [OUT]  (there) run both on $(nproc) threads, then on 2,
#                                       logs in OUT (default build/packed_check)
# Carry build/portable to the other machine. Never fails on a figure.
set -eu
cd "$(dirname "$0")/.."
P=build/portable
case "${1:-}" in
build)
    [ -f build/librgsd.a ] || make build/librgsd.a
    mkdir -p "$P"
    BLAS_DIR=${BLAS_DIR:-/usr/lib/x86_64-linux-gnu/openblas-openmp}
    for b in rgsd train; do
        gcc -std=c11 -D_GNU_SOURCE -O2 -march=x86-64-v3 -mtune=generic -fopenmp -Isrc \
            $(pkg-config --cflags libcjson) "bench/$b.c" build/librgsd.a -o "$P/bench_$b" -L"$BLAS_DIR" \
            -Wl,-Bstatic -lopenblas -lpcre2-8 -lutf8proc -lsqlite3 -lsnappy -lzstd -lz -llz4 -lbrotlidec \
            -Wl,-Bdynamic -lcjson -lcurl -fopenmp -lm -lpthread -ldl
    done
    cp -L "$(gcc -print-file-name=libcjson.so.1 | grep / || echo /usr/lib/x86_64-linux-gnu/libcjson.so.1)" "$P/"
    echo "built $P: $(ls "$P" | tr '\n' ' ')"
    ;;
run)
    OUT=${2:-build/packed_check}
    mkdir -p "$OUT"
    [ -x "$P/bench_rgsd" ] || { echo "no $P/bench_rgsd: run 'sh tools/packed_check.sh build' on a build machine"; exit 2; }
    n=$(nproc)
    for th in "$n" 2; do
        echo "== $th threads ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2))"
        LD_LIBRARY_PATH=$P OMP_NUM_THREADS=$th timeout 300 "$P/bench_rgsd" packed 2>&1 | tee "$OUT/rgsd-$th.log" |
            grep -E "fine-tuning|LoRA|one sequence|per-sequence|packed"
        LD_LIBRARY_PATH=$P OMP_NUM_THREADS=$th timeout 300 "$P/bench_train" packed 2>&1 | tee "$OUT/train-$th.log" |
            grep -E "roof|per-sequence|packed"
    done
    ;;
*)
    sed -n 2,12p "$0"
    exit 2
    ;;
esac
