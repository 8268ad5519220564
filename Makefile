# rgsd — build, test, demo.  `make help` lists the targets.
#
# Layout: src/<layer>/*.c -> build/librgsd.a (the library: no CLI object);
# src/cli/*.c -> build/rgsd, and all but main.c -> build/librgsd_cli.a, which
# only the unit tests link besides rgsd (to test CLI helpers in-process);
# tests/unit/test_*.c -> build/tests/test_* (cmocka), also built with
# ASan+UBSan under build-asan/. Reference outputs from independent
# implementations (PyTorch, npm tokenizers, jinja) are generated into
# build/ref/ by the rules in mk/*.mk and read by the unit tests.

SHELL := /bin/bash
CC ?= gcc
ifeq ($(origin CC),default)
CC := gcc
endif

# The target CPU comes from the compiler, so one Makefile builds for x86-64
# and, with CC=aarch64-linux-gnu-gcc (`make test-arm64`), for arm64. Debian's
# multiarch directory is <cpu>-linux-gnu whatever the compiler's own triplet
# says (clang: x86_64-pc-linux-gnu).
HOST_CPU := $(shell uname -m)
TARGET_CPU := $(firstword $(subst -, ,$(shell $(CC) -dumpmachine 2>/dev/null)))
# A compiler not installed yet: its name tells (aarch64-linux-gnu-gcc), else
# the build machine's CPU, so the deps check names the right packages.
ifeq ($(TARGET_CPU),)
TARGET_CPU := $(if $(filter aarch64-%,$(notdir $(CC))),aarch64,$(HOST_CPU))
endif
MULTIARCH := $(TARGET_CPU)-linux-gnu
# Debian's name for the CPU (NAME:arm64 packages) when cross-compiling.
DEB_ARCH_aarch64 := arm64
# x86-64: AVX2 + FMA in the release build, AVX-512 chosen at run time
# (src/nn/isa.h). aarch64: the plain-C kernels only (docs/kernels.md), for
# any ARMv8-A CPU. Another CPU gets plain -O2.
OPT_x86_64 := -O2 -march=x86-64-v3 -mtune=generic
OPT_aarch64 := -O2 -march=armv8-a -mtune=generic
OPT ?= $(or $(OPT_$(TARGET_CPU)),-O2)

PKGS := libcjson libpcre2-8 libutf8proc libcurl sqlite3 zlib
# One threading runtime (OpenMP) for both BLAS and our kernels: link the
# OpenMP build of OpenBLAS explicitly, whatever the system alternative says.
BLAS_DIR := /usr/lib/$(MULTIARCH)/openblas-openmp
# Cross builds read the target's .pc files (Debian multiarch -dev packages),
# not the build machine's.
ifneq ($(TARGET_CPU),$(HOST_CPU))
PKG_ENV := PKG_CONFIG_LIBDIR=/usr/lib/$(MULTIARCH)/pkgconfig:/usr/share/pkgconfig
endif
PKG_CFLAGS = $(shell $(PKG_ENV) pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell $(PKG_ENV) pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -g $(WARN) -fopenmp -Isrc -I/usr/include/$(MULTIARCH)
CFLAGS_ALL = $(BASE_CFLAGS) $(OPT) $(PKG_CFLAGS) $(EXTRA_CFLAGS)
# Parquet's codecs (src/io/parquet_page.c): Debian's libsnappy, libzstd, zlib, liblz4, libbrotli.
CODEC_LIBS := -lsnappy -lzstd -lz -llz4 -lbrotlidec
LDLIBS_ALL = -L$(BLAS_DIR) -Wl,-rpath,$(BLAS_DIR) -lopenblas $(PKG_LIBS) $(CODEC_LIBS) -fopenmp -lm -lpthread

LIB_SRC := $(sort $(filter-out src/cli/% src/dist/dist_mpi.c,$(wildcard src/*/*.c)))
CLI_SRC := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
BENCH_SRC := $(sort $(wildcard bench/*.c))

B ?= build
LIB_OBJ = $(LIB_SRC:%.c=$(B)/%.o)

# MPI (docs/distributed.md): build/rgsd links src/dist/dist_mpi.c instead of
# dist_single.c when MPI=1, which is the default when mpicc is found (Debian's
# libopenmpi-dev) and the build is not a cross build; MPI=0 builds the
# single-process binary. Only rgsd changes:
# librgsd and the unit tests are always single-process. `make clean` after
# changing MPI (the objects do not record it).
MPICC ?= mpicc
ifeq ($(origin MPI),undefined)
MPI := $(if $(and $(filter $(HOST_CPU),$(TARGET_CPU)),$(shell command -v $(MPICC) 2>/dev/null)),1,0)
endif
ifeq ($(MPI),1)
RGSD_DIST_OBJ = $(B)/src/dist/dist_mpi.o
MPI_CFLAGS = $(shell $(MPICC) --showme:compile)
MPI_LIBS = $(shell $(MPICC) --showme:link)
else
RGSD_DIST_OBJ = $(B)/src/dist/dist_single.o
endif
RGSD_OBJ = $(filter-out $(B)/src/dist/dist_single.o,$(LIB_OBJ)) $(RGSD_DIST_OBJ) $(CLI_OBJ)
CLI_OBJ = $(CLI_SRC:%.c=$(B)/%.o)
TEST_BIN = $(TEST_SRC:tests/unit/%.c=$(B)/tests/%)
BENCH_BIN = $(BENCH_SRC:bench/%.c=$(B)/bench/%)
# CLI objects except main: build/librgsd_cli.a, for the unit tests only.
CLI_LIB_OBJ = $(filter-out $(B)/src/cli/main.o,$(CLI_OBJ))

# Quiet by default: one "  CC file" line per step; V=1 shows the commands.
ifeq ($(V),1)
Q :=
say = @:
else
Q := @
say = @printf '  %-4s %s\n'
endif

# Before compiling anything, name what is missing in one line (a fresh
# machine otherwise meets a compiler error about cjson.h). Only checked, never
# installed here: `make deps-build` / `make deps` install as root, and `make
# demo` and `make test` run them first, so they are not checked at this level.
# test-arm64 is checked in its cross sub-make (CC=aarch64-linux-gnu-gcc),
# against the arm64 packages that `make deps-arm64` installs.
CHECKED_GOALS := $(filter-out help deps deps-build deps-arm64 test-arm64 clean demo test check-layering,$(or $(MAKECMDGOALS),all))
ifneq ($(CHECKED_GOALS),)
DEPS_KIND := $(if $(filter test-% $(B)/tests/% build/tests/% build-asan/tests/%,$(CHECKED_GOALS)),test,build)
ifeq ($(TARGET_CPU),$(HOST_CPU))
MISSING_DEPS := $(shell MPI=$(MPI) MPICC=$(MPICC) sh tools/check_deps.sh $(DEPS_KIND) $(BLAS_DIR))
DEPS_HINT := run `make deps-build` as root (or `make deps` for the tests)
else
MISSING_DEPS := $(shell $(PKG_ENV) CC=$(CC) sh tools/check_deps.sh $(DEPS_KIND) $(BLAS_DIR) \
                $(or $(DEB_ARCH_$(TARGET_CPU)),$(TARGET_CPU)))
DEPS_HINT := run `make deps-arm64` as root
endif
ifneq ($(MISSING_DEPS),)
$(error missing: $(MISSING_DEPS); $(DEPS_HINT))
endif
endif

REFS :=
SHARED ?= $(abspath ../shared)
export RGSD_SHARED ?= $(SHARED)
export RGSD_REF_DIR ?= $(abspath build/ref)
export RGSD_NODE_DIR ?= $(abspath tests/ref)

.PHONY: all help deps deps-build deps-arm64 test test-unit test-ref test-asan test-e2e test-arm64 check-layering refs demo bench clean
all: $(B)/rgsd

help:
	@echo "make          build build/rgsd (V=1 shows every compiler command)"
	@echo "make deps     install missing Debian and npm packages for build and tests (apt-get as root)"
	@echo "make deps-build  only what building and the demo need"
	@echo "make test     deps + build + every test (layering check, unit, unit on RGSD_KERNELS=ref, reference, ASan+UBSan, end-to-end, fuzz smoke, arm64, CUDA compile check)"
	@echo "make test-ref the unit suite on the plain-C kernels (RGSD_KERNELS=ref)"
	@echo "make check-layering  BLAS/SIMD/vector math only in src/nn, no allocation in its kernels (docs/kernels.md)"
	@echo "make test-arm64  the unit suite cross-compiled for arm64 (build-arm64/), run under qemu-aarch64"
	@echo "make deps-arm64  install the arm64 cross compiler, qemu-user and arm64 libraries (apt-get as root)"
	@echo "make fuzz     run every fuzz harness FUZZ_SECONDS (default 60) each; docs/fuzzing.md"
	@echo "make demo     run the main job on the built-in default"
	@echo "make bench    build and run the benchmarks in bench/ (never fail on timing)"
	@echo "make CUDA=1   also build the CUDA back end (build/librgsd_cuda.a, build/gpu/; docs/cuda.md)"
	@echo "make test-gpu every CUDA kernel against the CPU kernels (skips without a GPU); tools/gpu_check.sh"
	@echo "make test-gpu-emu  the same tests over the kernels on a CPU emulation of CUDA (no GPU needed)"

deps:
	@sh tools/deps.sh test

deps-build:
	@sh tools/deps.sh build

deps-arm64:
	@sh tools/deps.sh arm64

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(say) CC $<
	$(Q)$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(B)/librgsd.a: $(LIB_OBJ)
	@rm -f $@
	$(say) AR $@
	$(Q)ar rcs $@ $^

$(B)/librgsd_cli.a: $(CLI_LIB_OBJ)
	@rm -f $@
	$(say) AR $@
	$(Q)ar rcs $@ $^

$(B)/src/dist/dist_mpi.o: src/dist/dist_mpi.c
	@mkdir -p $(dir $@)
	$(say) CC $<
	$(Q)$(CC) $(CFLAGS_ALL) $(MPI_CFLAGS) -MMD -MP -c $< -o $@

$(B)/rgsd: $(RGSD_OBJ)
	$(say) LD $@
	$(Q)$(CC) $(CFLAGS_ALL) $^ -o $@ $(LDLIBS_ALL) $(MPI_LIBS)

$(B)/tests/%: tests/unit/%.c tests/unit/test_util.h $(B)/librgsd_cli.a $(B)/librgsd.a
	@mkdir -p $(dir $@)
	$(say) CC $<
	$(Q)$(CC) $(CFLAGS_ALL) -Itests/unit $< $(B)/librgsd_cli.a $(B)/librgsd.a -o $@ $(LDLIBS_ALL) -lcmocka

$(B)/bench/%: bench/%.c $(B)/librgsd.a
	@mkdir -p $(dir $@)
	$(say) CC $<
	$(Q)$(CC) $(CFLAGS_ALL) $< $(B)/librgsd.a -o $@ $(LDLIBS_ALL)

-include mk/*.mk

refs: $(REFS)

test-unit: $(B)/rgsd $(TEST_BIN) refs
	@RGSD_BIN=$(abspath $(B)/rgsd) sh tests/run_unit.sh "unit" $(TEST_BIN)

# The same unit tests on the plain-C kernels (RGSD_KERNELS=ref, docs/kernels.md),
# same tolerances: the reference path must meet the PyTorch references too.
# About 40 s on a 2-vCPU VM, so `make test` runs it.
test-ref: $(B)/rgsd $(TEST_BIN) refs
	@RGSD_KERNELS=ref RGSD_BIN=$(abspath $(B)/rgsd) sh tests/run_unit.sh "ref" $(TEST_BIN)

# Same tests, built with AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan: refs
	@$(MAKE) --no-print-directory B=build-asan MPI=0 OPT="-O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" build-asan/rgsd $(TEST_SRC:tests/unit/%.c=build-asan/tests/%)
	@ASAN_OPTIONS=detect_leaks=1 RGSD_BIN=$(abspath build-asan/rgsd) RGSD_ASAN=1 sh tests/run_unit.sh "asan" $(TEST_SRC:tests/unit/%.c=build-asan/tests/%)

# Where arithmetic lives (docs/kernels.md): a grep over src/, under a second.
# One line in the results file, so tests/summary.sh counts it.
check-layering:
	@mkdir -p build; if sh tools/check_layering.sh src; then r="1 0"; else r="0 1"; fi; \
	echo "layering check_layering $$r 0" >> $${RGSD_RESULTS:-build/test-results.txt}; [ "$$r" = "1 0" ]

test-e2e: $(B)/rgsd
	@RGSD_BIN=$(abspath $(B)/rgsd) sh tests/run_e2e.sh

# arm64: librgsd, rgsd and the unit tests cross-compiled into build-arm64/ with
# Debian's aarch64-linux-gnu-gcc, run under qemu-user (`make deps-arm64`
# installs both and the arm64 -dev packages). The reference outputs are the
# x86 ones in build/ref (data files). Only the plain-C kernels exist there
# (src/nn/isa.h, docs/kernels.md). The whole unit suite, same tolerances:
# 167 s of CPU under qemu (wall on a 2-vCPU VM: 3.5 min at load 4-9, 7.5 at
# load 10; test_sample the longest), so a few minutes on 2 quiet cores;
# ARM64_TESTS="test_nn_dense test_model" runs a subset.
# Each test gets ARM64_TIMEOUT seconds.
ARM64_B := build-arm64
ARM64_CC ?= aarch64-linux-gnu-gcc
ARM64_TIMEOUT ?= 300
ARM64_TESTS ?= $(TEST_SRC:tests/unit/%.c=%)
test-arm64: refs
	@$(MAKE) --no-print-directory B=$(ARM64_B) MPI=0 CC=$(ARM64_CC) OPT="$(OPT_aarch64)" $(ARM64_B)/rgsd \
		$(ARM64_TESTS:%=$(ARM64_B)/tests/%)
	@echo "[arm64] $$(qemu-aarch64 $(ARM64_B)/rgsd --kernels)"
	@RGSD_TEST_WRAP="timeout $(ARM64_TIMEOUT) qemu-aarch64" sh tests/run_unit.sh "arm64" $(ARM64_TESTS:%=$(ARM64_B)/tests/%)

# Every suite runs even when an earlier one fails; tests/summary.sh prints the
# closing "N passed, N failed, N skipped" line over all of them.
test: deps deps-arm64
	@mkdir -p build; rm -f build/test-results.txt; st=0; \
	for t in check-layering test-unit test-ref test-asan test-e2e test-fuzz test-arm64 check-cuda; do $(MAKE) --no-print-directory $$t || st=1; done; \
	sh tests/summary.sh build/test-results.txt || st=1; exit $$st

bench: $(BENCH_BIN) $(B)/rgsd
	@for b in $(BENCH_BIN); do echo "== $$b"; $$b || true; done

# The build as one progress line (the steps at most: every object and the link).
demo: deps-build
	@set -o pipefail; $(MAKE) --no-print-directory $(B)/rgsd | \
		sh tools/build_progress.sh $(words $(LIB_OBJ) $(CLI_OBJ) link) $(B)/rgsd
	@sh tools/demo.sh

clean:
	rm -rf build build-asan build-fuzz build-clang build-arm64

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(B)/src/dist/dist_mpi.d
