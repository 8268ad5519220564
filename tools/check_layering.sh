#!/bin/sh
# tools/check_layering.sh — where arithmetic lives (docs/kernels.md): src/nn
# is the only code that touches activation or weight arithmetic, so a second
# back end (CUDA, or arm64's plain C) replaces one directory. Fast (grep),
# run by `make check-layering` and so by `make test`.
#
# Fails, listing file:line, when
#  1. outside src/nn, a source file uses BLAS (cblas_, <cblas.h>), x86 SIMD
#     (immintrin.h, x86intrin.h, cpuid.h, the __m128/__m256/__m512 types) or
#     glibc's vector math (_ZGV* libmvec symbols);
#  2. a kernel in src/nn allocates (malloc, calloc, realloc, aligned_alloc,
#     posix_memalign, rg_malloc*, rg_calloc): kernels take their scratch from
#     the caller, sized by an nn_*_scratch_floats function, so a step does not
#     allocate and a GPU back end can plan its memory once.
# Comments count too: a comment naming an intrinsic outside src/nn is rare
# and easy to reword, and a grep that parses C is not worth its complexity.
#
#   sh tools/check_layering.sh [SRC_DIR]     (default: src)
src=${1:-src}
status=0

# 1. BLAS, SIMD intrinsics and vector math stay in src/nn (its nn/isa.h holds the
#    x86 guard and target macros the SIMD files use).
simd='cblas_|<cblas\.h>|immintrin|x86intrin|<cpuid\.h>|__m128|__m256|__m512|_ZGV'
found=$(find "$src" -path "$src/nn" -prune -o \( -name '*.c' -o -name '*.h' \) -print | sort |
        xargs grep -n -E "$simd" /dev/null 2>/dev/null)
if [ -n "$found" ]; then
    echo "check-layering: BLAS, SIMD intrinsics or vector math outside $src/nn (move the arithmetic into an nn kernel):"
    printf '%s\n' "$found" | sed 's/^/  /'
    status=1
fi

# 2. No allocation inside a kernel. Not kernels, so allowed to allocate: none
#    today (blas.c and cpu.c, the one-time set-up, do not need to). Name a
#    file here only with the reason it must allocate.
allow=''
alloc='(^|[^A-Za-z0-9_])(malloc|calloc|realloc|aligned_alloc|posix_memalign|rg_malloc|rg_malloc_aligned|rg_calloc)[[:space:]]*\('
found=$(find "$src/nn" -name '*.c' | sort | xargs grep -n -E "$alloc" /dev/null 2>/dev/null)
for f in $allow; do found=$(printf '%s\n' "$found" | grep -v "^$src/nn/$f:"); done
if [ -n "$found" ]; then
    echo "check-layering: a kernel in $src/nn allocates (take scratch from the caller, sized by an nn_*_scratch_floats):"
    printf '%s\n' "$found" | sed 's/^/  /'
    status=1
fi

[ "$status" -eq 0 ] && echo "check-layering: ok (arithmetic only in $src/nn, no allocation in its kernels)"
exit $status
