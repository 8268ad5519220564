# cuda: the CUDA back end (src/cuda/*.cu, docs/cuda.md). Never built by a
# plain `make`: `make CUDA=1` (or `make cuda`) builds build/librgsd_cuda.a, the
# GPU test build/gpu/test_gpu and the benchmark build/gpu/gpu_bench, for sm_90
# plus compute_90 PTX, warnings as errors. `make test` runs check-cuda: where
# nvcc exists it compiles all of it (so it never rots) and runs the test,
# which says "skipped: no GPU" without one; where nvcc is absent it prints a
# skip line. The host arithmetic (src/cuda/*.c) is plain C in librgsd and
# tested by tests/unit/test_cuda_plan.c on every machine.
NVCC ?= $(or $(shell command -v nvcc 2>/dev/null),$(wildcard /usr/local/cuda/bin/nvcc))
CUDA_HOME ?= $(if $(NVCC),$(patsubst %/bin/nvcc,%,$(NVCC)),/usr/local/cuda)
CUDA_ARCH ?= -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90
NVCC_FLAGS = -std=c++17 -O2 -g -Werror all-warnings -Xcompiler -Wall,-Wextra,-Werror,-fopenmp $(CUDA_ARCH) -Isrc
# The GPU binaries link only what they use, static where Debian has the .a
# (OpenBLAS, utf8proc, the CUDA runtime), so a copy built on a CPU machine
# runs on a GPU machine without rgsd's build dependencies; cuBLASLt stays
# shared (540 MB), found through the rpath or LD_LIBRARY_PATH.
CUDA_LIBS = -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudart_static -lcublasLt -lstdc++ -ldl -lrt
GPU_LDLIBS = -L$(BLAS_DIR) -Wl,-Bstatic -lopenblas -lutf8proc -Wl,-Bdynamic -fopenmp -lm -lpthread $(CUDA_LIBS)
CUDA_SRC := $(sort $(wildcard src/cuda/*.cu))
CUDA_OBJ = $(CUDA_SRC:%.cu=$(B)/%.o)
GPU_TEST_TIMEOUT ?= 300

.PHONY: cuda test-gpu check-cuda
ifeq ($(CUDA),1)
all: cuda
endif

cuda: $(B)/librgsd_cuda.a $(B)/gpu/test_gpu $(B)/gpu/gpu_bench

$(B)/src/cuda/%.o: src/cuda/%.cu
	@mkdir -p $(dir $@)
	$(say) NVCC $<
	$(Q)$(NVCC) $(NVCC_FLAGS) -MD -MF $(@:.o=.d) -MP -c $< -o $@

$(B)/librgsd_cuda.a: $(CUDA_OBJ)
	@rm -f $@
	$(say) AR $@
	$(Q)ar rcs $@ $^

$(B)/gpu/test_gpu: tests/gpu/test_gpu.c $(wildcard tests/gpu/*.h) $(B)/librgsd_cuda.a $(B)/librgsd.a
	@mkdir -p $(dir $@)
	$(say) CC $<
	$(Q)$(CC) $(CFLAGS_ALL) -Itests/gpu $< $(B)/librgsd_cuda.a $(B)/librgsd.a -o $@ $(GPU_LDLIBS)

$(B)/gpu/gpu_bench: bench/cuda/gpu_bench.c $(B)/librgsd_cuda.a $(B)/librgsd.a
	@mkdir -p $(dir $@)
	$(say) CC $<
	$(Q)$(CC) $(CFLAGS_ALL) $< $(B)/librgsd_cuda.a $(B)/librgsd.a -o $@ $(GPU_LDLIBS)

# Every CUDA kernel against src/nn's CPU kernels (tests/gpu/test_gpu.c).
test-gpu: cuda
	@RGSD_TEST_WRAP="timeout $(GPU_TEST_TIMEOUT)" sh tests/run_unit.sh "gpu" $(B)/gpu/test_gpu

# In `make test`: compile with warnings as errors and run (skips without a GPU).
check-cuda:
	@mkdir -p build; r=$${RGSD_RESULTS:-build/test-results.txt}; \
	if [ -z "$(NVCC)" ]; then echo "check-cuda: skipped: nvcc not found (the CUDA back end is not compile-checked)"; \
	  echo "cuda check_cuda 0 0 1" >> $$r; exit 0; fi; \
	if $(MAKE) --no-print-directory cuda && RGSD_RESULTS=$$r RGSD_TEST_WRAP="timeout $(GPU_TEST_TIMEOUT)" \
	  sh tests/run_unit.sh "cuda" $(B)/gpu/test_gpu; then \
	  echo "check-cuda: ok (compiled with $(NVCC), -Werror, sm_90 + compute_90 PTX)"; echo "cuda check_cuda 1 0 0" >> $$r; \
	else echo "cuda check_cuda 0 1 0" >> $$r; exit 1; fi

-include $(CUDA_OBJ:.o=.d)

# The kernels on a CPU emulation of CUDA's threads (tests/gpu/emu/cuda_emu.h:
# fibers per block, barriers, warp shuffles; a plain GEMM for cuBLASLt), run by
# the same test_gpu.c: checks the kernels' logic where no GPU is, not the GPU.
EMU_B = $(B)/gpu-emu
EMU_OBJ = $(patsubst src/cuda/%.cu,$(EMU_B)/%.o,$(filter-out src/cuda/context.cu,$(CUDA_SRC))) $(EMU_B)/emu_context.o
EMU_CXXFLAGS = -std=c++20 -O2 -g -Wall -Wextra -Werror -Wno-unknown-pragmas -fopenmp -DRG_CUDA_EMU -Isrc -Itests/gpu/emu

$(EMU_B)/%.o: src/cuda/%.cu src/cuda/internal.cuh src/cuda/nn_cuda.h tests/gpu/emu/cuda_emu.h
	@mkdir -p $(dir $@)
	$(say) CXX $< "(emulated)"
	$(Q)$(CXX) $(EMU_CXXFLAGS) -x c++ -c $< -o $@

$(EMU_B)/emu_context.o: tests/gpu/emu/emu_context.cc src/cuda/internal.cuh tests/gpu/emu/cuda_emu.h
	@mkdir -p $(dir $@)
	$(say) CXX $<
	$(Q)$(CXX) $(EMU_CXXFLAGS) -c $< -o $@

$(EMU_B)/test_gpu: tests/gpu/test_gpu.c $(wildcard tests/gpu/*.h) $(EMU_OBJ) $(B)/librgsd.a
	$(say) CC $< "(emulated)"
	$(Q)$(CC) $(CFLAGS_ALL) -Itests/gpu $< $(EMU_OBJ) $(B)/librgsd.a -o $@ \
		-L$(BLAS_DIR) -Wl,-rpath,$(BLAS_DIR) -lopenblas $(PKG_LIBS) -fopenmp -lm -lpthread -lstdc++

.PHONY: test-gpu-emu
test-gpu-emu: $(EMU_B)/test_gpu
	@RGSD_TEST_WRAP="timeout $(GPU_TEST_TIMEOUT)" sh tests/run_unit.sh "gpu-emu" $(EMU_B)/test_gpu
