/* emu_context.cc — the CPU side of the CUDA emulation (cuda_emu.h): fibers
 * for the threads of a block, barriers, and the context API of nn_cuda.h
 * over host memory, with a plain column-major GEMM in place of cuBLASLt
 * (it checks how the back end maps its products onto BLAS arguments, not
 * cuBLASLt itself). Built only by `make test-gpu-emu`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include <chrono>
#include <memory>
#include <vector>

#include "cuda/internal.cuh"

namespace {

constexpr size_t STACK = 128 * 1024;

struct group { /* a barrier: a warp's (with its exchange slots) or the block's */
    int arrived = 0;
    unsigned gen = 0;
    uint64_t slot[32] = {};
};
struct fiber {
    ucontext_t ctx;
    dim3 idx;
    bool done;
    const group *waiting; /* the barrier it waits at (the scheduler skips it until that opens) */
    unsigned waiting_gen;
};

std::vector<fiber> fibers;
std::unique_ptr<char[]> stacks;
size_t stack_count = 0;
std::vector<group> warps;
group block_barrier;
ucontext_t scheduler;
int current = 0, threads = 0;
unsigned long progress = 0;
std::function<void()> body;

void yield() { swapcontext(&fibers[current].ctx, &scheduler); }

void wait(group &g, int size) {
    unsigned gen = g.gen;
    progress++;
    if (++g.arrived == size) {
        g.arrived = 0;
        g.gen++;
        return;
    }
    fibers[current].waiting = &g;
    fibers[current].waiting_gen = gen;
    while (g.gen == gen) yield();
    fibers[current].waiting = nullptr;
}

void entry(int i) {
    body();
    fibers[i].done = true;
    progress++;
}

/* Runs the fibers of one block round-robin until all are done; aborts on a deadlock. */
void run_block() {
    for (;;) {
        bool alive = false;
        unsigned long before = progress;
        for (int i = 0; i < threads; i++) {
            if (fibers[i].done) continue;
            alive = true;
            if (fibers[i].waiting && fibers[i].waiting->gen == fibers[i].waiting_gen) continue;
            current = i;
            swapcontext(&scheduler, &fibers[i].ctx);
        }
        if (!alive) return;
        if (progress == before) {
            fprintf(stderr, "cuda emulation: deadlock in block (%u, %u): threads wait at a barrier others left\n",
                    emu_block_idx.x, emu_block_idx.y);
            abort();
        }
    }
}

void start_fibers() {
    block_barrier = group();
    for (auto &w : warps) w = group();
    for (int i = 0; i < threads; i++) {
        fiber &f = fibers[i];
        getcontext(&f.ctx);
        f.ctx.uc_stack.ss_sp = stacks.get() + (size_t)i * STACK;
        f.ctx.uc_stack.ss_size = STACK;
        f.ctx.uc_link = &scheduler;
        f.idx = dim3(i % emu_block_dim.x, (i / emu_block_dim.x) % emu_block_dim.y, i / (emu_block_dim.x * emu_block_dim.y));
        f.done = false;
        f.waiting = nullptr;
        makecontext(&f.ctx, (void (*)())entry, 1, i);
    }
}

float load(const void *p, nn_cuda_dtype t, size_t i) {
    return t == NN_CUDA_BF16 ? __bfloat162float(((const __nv_bfloat16 *)p)[i]) : ((const float *)p)[i];
}
void store(void *p, nn_cuda_dtype t, size_t i, float v) {
    if (t == NN_CUDA_BF16)
        ((__nv_bfloat16 *)p)[i] = __float2bfloat16_rn(v);
    else
        ((float *)p)[i] = v;
}

} // namespace

dim3 emu_block_idx, emu_block_dim, emu_grid_dim;
const dim3 &emu_thread_idx(void) { return fibers[current].idx; }
void __syncthreads(void) { wait(block_barrier, threads); }

uint64_t emu_exchange(uint64_t mine, int src) {
    group &w = warps[current / 32];
    w.slot[current % 32] = mine;
    wait(w, 32);
    uint64_t r = w.slot[src];
    wait(w, 32);
    return r;
}

void emu_launch(dim3 grid, dim3 block, std::function<void()> f) {
    body = std::move(f);
    emu_block_dim = block;
    emu_grid_dim = grid;
    threads = (int)(block.x * block.y * block.z);
    if ((size_t)threads > stack_count) {
        stacks.reset(new char[(size_t)threads * STACK]);
        stack_count = (size_t)threads;
    }
    fibers.resize(threads);
    warps.assign((threads + 31) / 32, group());
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++) {
                emu_block_idx = dim3(x, y, z);
                start_fibers();
                run_block();
            }
}

extern "C" int nn_cuda_device_count(int *count, char *why, size_t why_size) {
    *count = 1;
    if (why) snprintf(why, why_size, "CPU emulation");
    return RG_OK;
}

extern "C" int nn_cuda_open(nn_cuda **out, int device, size_t workspace_bytes) {
    (void)workspace_bytes;
    *out = (nn_cuda *)calloc(1, sizeof(nn_cuda));
    if (!*out) return rg_error("emulation: out of memory");
    (*out)->device = device;
    snprintf((*out)->name, sizeof (*out)->name, "CPU emulation of CUDA (tests/gpu/emu), plain GEMM for cuBLASLt");
    return RG_OK;
}
extern "C" void nn_cuda_close(nn_cuda *ctx) { free(ctx); }
extern "C" int nn_cuda_sync(nn_cuda *) { return RG_OK; }
extern "C" const char *nn_cuda_device_name(const nn_cuda *ctx) { return ctx->name; }

extern "C" int nn_cuda_malloc(void **p, size_t bytes, const char *what) {
    *p = NULL;
    if (bytes == 0) return RG_OK;
    *p = aligned_alloc(NN_CUDA_ALIGN, (bytes + NN_CUDA_ALIGN - 1) / NN_CUDA_ALIGN * NN_CUDA_ALIGN);
    return *p ? RG_OK : rg_error("emulation: no memory for %s (%zu bytes)", what, bytes);
}
extern "C" void nn_cuda_free(void *p) { free(p); }
extern "C" int nn_cuda_upload(nn_cuda *, void *dst, const void *src, size_t bytes) {
    memcpy(dst, src, bytes);
    return RG_OK;
}
extern "C" int nn_cuda_download(nn_cuda *, void *dst, const void *src, size_t bytes) {
    memcpy(dst, src, bytes);
    return RG_OK;
}
extern "C" int nn_cuda_copy(nn_cuda *, void *dst, const void *src, size_t bytes) {
    memmove(dst, src, bytes);
    return RG_OK;
}
extern "C" int nn_cuda_memset(nn_cuda *, void *p, int byte, size_t bytes) {
    memset(p, byte, bytes);
    return RG_OK;
}

extern "C" int nn_cuda_buffers_alloc(nn_cuda_buffers *b, const nn_cuda_layout *layout) {
    memset(b, 0, sizeof *b);
    b->layout = *layout;
    for (int k = 0; k < NN_CUDA_KINDS; k++)
        if (nn_cuda_malloc((void **)&b->base[k], layout->bytes[k], nn_cuda_kind_name((nn_cuda_kind)k))) {
            nn_cuda_buffers_free(b);
            return RG_ERR;
        }
    return RG_OK;
}
extern "C" void nn_cuda_buffers_free(nn_cuda_buffers *b) {
    for (int k = 0; k < NN_CUDA_KINDS; k++) {
        free(b->base[k]);
        b->base[k] = NULL;
    }
}
extern "C" void *nn_cuda_slot(const nn_cuda_buffers *b, int i) {
    if (i < 0 || i >= b->layout.n) return NULL;
    return b->base[b->layout.slot[i].kind] + b->layout.slot[i].offset;
}

extern "C" int nn_cuda_time_ms(nn_cuda *ctx, int (*fn)(nn_cuda *, void *), void *arg, int reps, double *ms) {
    auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; r++)
        if (fn(ctx, arg)) return RG_ERR;
    *ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return RG_OK;
}

/* BLAS semantics, column-major: C[m,n] = alpha op(A) op(B) + beta C (C not read when beta = 0). */
extern "C" int nn_cuda_matmul(nn_cuda *, nn_cuda_dtype ab, nn_cuda_dtype c, int transa, int transb, int m, int n, int k,
                              float alpha, const void *A, int lda, const void *B, int ldb, float beta, void *C,
                              int ldc) {
    if (m < 0 || n < 0 || k < 0) return rg_error("cuda matmul: negative size (m %d, n %d, k %d)", m, n, k);
    if (lda < (transa ? k : m) || ldb < (transb ? n : k) || ldc < m)
        return rg_error("emulated matmul: leading dimension too small (lda %d, ldb %d, ldc %d)", lda, ldb, ldc);
#pragma omp parallel for schedule(static)
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double acc = 0.0;
            for (int l = 0; l < k; l++) {
                float a = load(A, ab, transa ? (size_t)l + (size_t)i * lda : (size_t)i + (size_t)l * lda);
                float b = load(B, ab, transb ? (size_t)j + (size_t)l * ldb : (size_t)l + (size_t)j * ldb);
                acc += (double)a * b;
            }
            size_t at = (size_t)i + (size_t)j * ldc;
            float prev = beta != 0.0f ? load(C, c, at) : 0.0f;
            store(C, c, at, (float)(alpha * acc + beta * prev));
        }
    return RG_OK;
}
