/* cpu.h — which of rgsd's own kernel sets runs (internal to src/nn and its
 * tests; nn.h has the public part: nn_kernels_init, nn_kernels_name).
 *
 * One switch for every run-time dispatch in src/nn, so a test can force each
 * path on one machine (RGSD_KERNELS=avx2|avx512) and prove that the learning
 * checks hold on CPUs that would pick the other one. A plain-C path ("ref")
 * is planned: add it to nn_kernel_path and to every switch on it. */
#ifndef RG_NN_CPU_H
#define RG_NN_CPU_H

typedef enum {
    NN_KERNELS_AVX2 = 0, /* 8 wide; every CPU rgsd builds for (x86-64-v3) */
    NN_KERNELS_AVX512 = 1, /* 16 wide; chosen by default where the CPU and OS run it */
} nn_kernel_path;

/* 1 when the AVX-512 kernels can run here (CPU and OS), whatever was chosen. */
int nn_cpu_has_avx512(void);
/* The path in use: RGSD_KERNELS if valid, else the best this CPU runs.
 * Resolved once (thread-safe); every dispatch calls this. */
nn_kernel_path nn_cpu_path(void);
/* Pure parse of an RGSD_KERNELS value (NULL or "" or "auto" = best):
 * RG_OK and *path, or RG_ERR with a one-line message. */
int nn_cpu_parse_kernels(const char *value, int has_avx512, nn_kernel_path *path);
const char *nn_cpu_path_name(nn_kernel_path path);

#endif
