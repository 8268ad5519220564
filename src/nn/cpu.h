/* cpu.h — which of rgsd's own kernel sets runs (src/nn, and the SIMD passes
 * of src/model, src/io and src/gen, which consult the same switch; nn.h has
 * the public part: nn_kernels_init, nn_kernels_describe).
 *
 * One switch for every run-time dispatch, so a test can force each path on
 * one machine (RGSD_KERNELS=ref|avx2|avx512|avx512-nobf16) and prove that the learning
 * checks hold on CPUs that would pick another one. "ref" is plain C: the
 * specification the SIMD kernels are tested against, and what a CPU without
 * AVX2/FMA runs — and every CPU other than x86-64 (arm64), where the SIMD
 * kernels are not compiled at all (nn/isa.h, RG_HAVE_X86_SIMD). */
#ifndef RG_NN_CPU_H
#define RG_NN_CPU_H

/* Ordered by what the CPU must run: a path runs wherever a later one does. */
typedef enum {
    NN_KERNELS_REF = 0, /* plain C, any CPU (and the tests' specification) */
    NN_KERNELS_AVX2 = 1, /* 8 wide, AVX2 + FMA (x86-64-v3) */
    NN_KERNELS_AVX512 = 2, /* 16 wide; chosen by default where the CPU and OS run it */
} nn_kernel_path;

/* 1 when the AVX-512 kernels can run here (CPU and OS), whatever was chosen. */
int nn_cpu_has_avx512(void);
/* 1 when the CPU has AVX2 and F16C (the f16 array conversions use both). */
int nn_cpu_has_f16c(void);
/* 1 when the AVX-512 BF16 dot products (vdpbf16ps) can run here. */
int nn_cpu_has_avx512bf16(void);

/* The math of inference (prefill and decode) over bf16 weights (matmul_bf16.c, gemv.c): */
typedef enum {
    NN_BF16_INFER_F32 = 0,        /* f32 activations: f32 products, sgemm for prefill (avx2, avx512-nobf16) */
    NN_BF16_INFER_DOT_REF = 1,    /* x rounded to bf16, plain C (RGSD_KERNELS=ref) */
    NN_BF16_INFER_DOT_AVX512 = 2, /* x rounded to bf16, vdpbf16ps (auto/avx512 on a CPU with AVX-512 BF16) */
} nn_bf16_infer;
/* Follows the path (RGSD_KERNELS): ref -> DOT_REF; avx512 on a CPU with
 * AVX-512 BF16 -> DOT_AVX512, unless RGSD_KERNELS=avx512-nobf16; else F32
 * (and F32 on every path after nn_cpu_set_bf16dot(0)). */
nn_bf16_infer nn_cpu_bf16_infer(void);
/* The best path this CPU (and OS) runs: AVX512, else AVX2 (AVX2 + FMA), else REF. */
nn_kernel_path nn_cpu_best(void);
/* The path in use: RGSD_KERNELS if valid, else the best this CPU runs.
 * Resolved once (thread-safe); every dispatch calls this. */
nn_kernel_path nn_cpu_path(void);
/* Pure parse of an RGSD_KERNELS value (NULL or "" or "auto" = best) for a CPU
 * whose best path is `best`: RG_OK and *path, or RG_ERR with a one-line
 * message (an unknown value, or a path this CPU cannot run).
 * "avx512-nobf16" is the avx512 path (nn_cpu_bf16_infer tells them apart). */
int nn_cpu_parse_kernels(const char *value, nn_kernel_path best, nn_kernel_path *path);
const char *nn_cpu_path_name(nn_kernel_path path);
/* Tests only: every later dispatch uses `path` (one this CPU runs), so one
 * process can run a kernel on each path and compare. Call it between kernel
 * calls, never while one runs (it is a plain store). */
void nn_cpu_set_path_for_tests(nn_kernel_path path);
/* Tests and benches: 0 turns the bf16 dot products off as avx512-nobf16
 * does (on the ref path too: f32 activations), 1 back on (between kernel
 * calls, like nn_cpu_set_path_for_tests). */
void nn_cpu_set_bf16dot(int on);

#endif
