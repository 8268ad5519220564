/* isa.h — compile the functions of one file for an instruction set beyond
 * the build's -march (the sanitizer and fuzz builds have no -march; the
 * release build is x86-64-v3, without AVX-512). Callers pick the kernel at
 * run time from the CPU's flags.
 *
 * GCC spells this `#pragma GCC target`, which clang does not know (it warns
 * and ignores it, then rejects the intrinsics); clang spells it
 * `#pragma clang attribute push(__attribute__((target(...))), ...)`.
 * Use after the #includes, so the attribute is not pushed onto the
 * intrinsic headers' own functions:
 *     RG_ISA_BEGIN("avx2,fma")
 *     ...functions...
 *     RG_ISA_END */
#ifndef RG_NN_ISA_H
#define RG_NN_ISA_H

/* RG_HAVE_X86_SIMD: 1 when compiling for x86-64, where the SIMD kernels
 * (AVX2, AVX-512, F16C; immintrin.h, glibc's libmvec _ZGV* functions,
 * __builtin_cpu_supports) exist; 0 elsewhere (arm64), where only the plain-C
 * reference path is built and RGSD_KERNELS=auto picks it. The rule, for every
 * file with SIMD code (docs/kernels.md, "Other CPUs"):
 *   - `#if RG_HAVE_X86_SIMD` around `#include <immintrin.h>` (<cpuid.h>), around
 *     each RG_ISA_BEGIN ... RG_ISA_END region or target("...") function, and
 *     around the declarations of the SIMD entry points in headers;
 *   - in the dispatch, each call of a SIMD function and each
 *     __builtin_cpu_supports sits in the same `#if`, so the other CPUs fall
 *     through to the ref call that the dispatch already has.
 * A stray call then fails to compile on arm64 (`make test-arm64`) instead of
 * failing to link. */
#if defined(__x86_64__)
#define RG_HAVE_X86_SIMD 1
#else
#define RG_HAVE_X86_SIMD 0
#endif

#define RG_ISA_PRAGMA_(...) _Pragma(#__VA_ARGS__)

#if defined(__clang__)
#define RG_ISA_BEGIN(isa) \
    RG_ISA_PRAGMA_(clang attribute push(__attribute__((target(isa))), apply_to = function))
#define RG_ISA_END RG_ISA_PRAGMA_(clang attribute pop)
#else
#define RG_ISA_BEGIN(isa) RG_ISA_PRAGMA_(GCC push_options) RG_ISA_PRAGMA_(GCC target(isa))
#define RG_ISA_END RG_ISA_PRAGMA_(GCC pop_options)
#endif

#endif
