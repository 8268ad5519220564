/* context.cu — the CUDA context of the back end (nn_cuda.h): device query,
 * stream and cuBLASLt handle, memory, one allocation per kind of buffer, and
 * event timing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/internal.cuh"

extern "C" int nn_cuda_device_count(int *count, char *why, size_t why_size) {
    *count = 0;
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        /* no driver, no device, or a driver older than the runtime: not an
         * error for the caller, only "no GPU here" with the runtime's reason */
        if (why) snprintf(why, why_size, "cudaGetDeviceCount: %s", cudaGetErrorString(e));
        (void)cudaGetLastError(); /* clear the sticky error */
        return RG_OK;
    }
    if (n == 0 && why) snprintf(why, why_size, "cudaGetDeviceCount found 0 devices");
    *count = n;
    return RG_OK;
}

extern "C" int nn_cuda_open(nn_cuda **out, int device, size_t workspace_bytes) {
    *out = NULL;
    nn_cuda *ctx = (nn_cuda *)calloc(1, sizeof *ctx);
    if (!ctx) return rg_error("cuda: out of host memory for the context");
    ctx->device = device;
    int rc = RG_ERR;
    do {
        cudaDeviceProp prop;
        cudaError_t e = cudaSetDevice(device);
        if (e == cudaSuccess) e = cudaGetDeviceProperties(&prop, device);
        if (e != cudaSuccess) {
            rg_error("cuda: cudaSetDevice(%d): %s", device, cudaGetErrorString(e));
            break;
        }
        snprintf(ctx->name, sizeof ctx->name, "%s (sm_%d%d, %.1f GiB)", prop.name, prop.major, prop.minor,
                 (double)prop.totalGlobalMem / (1 << 30));
        if (cudaStreamCreateWithFlags(&ctx->stream, cudaStreamNonBlocking) != cudaSuccess) {
            rg_error("cuda: cudaStreamCreateWithFlags failed on device %d", device);
            break;
        }
        cublasStatus_t s = cublasLtCreate(&ctx->lt);
        if (s != CUBLAS_STATUS_SUCCESS) {
            rg_error("cublasLt: cublasLtCreate: %s", cublasLtGetStatusString(s));
            break;
        }
        if (nn_cuda_malloc(&ctx->workspace, workspace_bytes, "cuBLASLt workspace")) break;
        ctx->workspace_bytes = workspace_bytes;
        rc = RG_OK;
    } while (0);
    if (rc) {
        nn_cuda_close(ctx);
        return RG_ERR;
    }
    *out = ctx;
    return RG_OK;
}

extern "C" void nn_cuda_close(nn_cuda *ctx) {
    if (!ctx) return;
    if (ctx->workspace) cudaFree(ctx->workspace);
    if (ctx->lt) cublasLtDestroy(ctx->lt);
    if (ctx->stream) cudaStreamDestroy(ctx->stream);
    free(ctx);
}

extern "C" int nn_cuda_sync(nn_cuda *ctx) {
    CU_CHECK(cudaStreamSynchronize(ctx->stream));
    return RG_OK;
}

extern "C" const char *nn_cuda_device_name(const nn_cuda *ctx) { return ctx->name; }

extern "C" int nn_cuda_malloc(void **p, size_t bytes, const char *what) {
    *p = NULL;
    if (bytes == 0) return RG_OK;
    cudaError_t e = cudaMalloc(p, bytes);
    if (e != cudaSuccess) {
        *p = NULL;
        return rg_error("cuda: cudaMalloc of %zu bytes for %s: %s", bytes, what, cudaGetErrorString(e));
    }
    return RG_OK;
}

extern "C" void nn_cuda_free(void *p) {
    if (p) cudaFree(p);
}

extern "C" int nn_cuda_upload(nn_cuda *ctx, void *dst, const void *src, size_t bytes) {
    CU_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, ctx->stream));
    return nn_cuda_sync(ctx); /* the host buffer may be reused at once */
}

extern "C" int nn_cuda_download(nn_cuda *ctx, void *dst, const void *src, size_t bytes) {
    CU_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, ctx->stream));
    return nn_cuda_sync(ctx);
}

extern "C" int nn_cuda_copy(nn_cuda *ctx, void *dst, const void *src, size_t bytes) {
    CU_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx->stream));
    return RG_OK;
}

extern "C" int nn_cuda_memset(nn_cuda *ctx, void *p, int byte, size_t bytes) {
    CU_CHECK(cudaMemsetAsync(p, byte, bytes, ctx->stream));
    return RG_OK;
}

extern "C" int nn_cuda_buffers_alloc(nn_cuda_buffers *b, const nn_cuda_layout *layout) {
    memset(b, 0, sizeof *b);
    b->layout = *layout;
    for (int k = 0; k < NN_CUDA_KINDS; k++) {
        if (nn_cuda_malloc((void **)&b->base[k], layout->bytes[k], nn_cuda_kind_name((nn_cuda_kind)k))) {
            nn_cuda_buffers_free(b);
            return RG_ERR;
        }
    }
    return RG_OK;
}

extern "C" void nn_cuda_buffers_free(nn_cuda_buffers *b) {
    for (int k = 0; k < NN_CUDA_KINDS; k++) {
        nn_cuda_free(b->base[k]);
        b->base[k] = NULL;
    }
}

extern "C" void *nn_cuda_slot(const nn_cuda_buffers *b, int i) {
    if (i < 0 || i >= b->layout.n) return NULL;
    return b->base[b->layout.slot[i].kind] + b->layout.slot[i].offset;
}

extern "C" int nn_cuda_time_ms(nn_cuda *ctx, int (*fn)(nn_cuda *, void *), void *arg, int reps, double *ms) {
    cudaEvent_t start, stop;
    CU_CHECK(cudaEventCreate(&start));
    if (cudaEventCreate(&stop) != cudaSuccess) {
        cudaEventDestroy(start);
        return rg_error("cuda: cudaEventCreate(&stop) failed");
    }
    int rc = RG_OK;
    float elapsed = 0.0f;
    if (cudaEventRecord(start, ctx->stream) != cudaSuccess) rc = rg_error("cuda: cudaEventRecord(start) failed");
    for (int r = 0; r < reps && rc == RG_OK; r++) rc = fn(ctx, arg);
    if (rc == RG_OK && (cudaEventRecord(stop, ctx->stream) != cudaSuccess || cudaEventSynchronize(stop) != cudaSuccess ||
                        cudaEventElapsedTime(&elapsed, start, stop) != cudaSuccess))
        rc = rg_error("cuda: timing events failed: %s", cudaGetErrorString(cudaGetLastError()));
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    *ms = elapsed;
    return rc;
}
