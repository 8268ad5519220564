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
#ifndef RG_BASE_ISA_H
#define RG_BASE_ISA_H

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
