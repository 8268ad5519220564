# fuzz.mk — libFuzzer harnesses for every parser of untrusted bytes
# (tests/fuzz/, docs/fuzzing.md), built with clang, ASan and UBSan.
#
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="rubric gguf"]
#                   each target FUZZ_SECONDS s, one after the other; prints
#                   runs and coverage; the corpus grows in build-fuzz/corpus/
#   make test-fuzz  (part of `make test`) clang -Werror compile of the release
#                   flags, then a short smoke pass of every harness
#
# The harness list, the one place to add a parser: NAME here means
# tests/fuzz/fuzz_NAME.c and a case for its seeds in tests/fuzz/seeds.sh.
FUZZ_ALL := safetensors safetensors_index gguf model_gguf config tokenizer tokenize tokenizer_config chat_template \
            rubric records parquet judge_answer sft_data peft train_state
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 2
# clang-14 is what tools/deps.sh installs (Debian 12); plain clang otherwise.
FUZZ_CC ?= $(firstword $(shell command -v clang-14 clang 2>/dev/null) clang)
FUZZ_B := build-fuzz
# -fsanitize=fuzzer-no-link: coverage instrumentation in the library without
# libFuzzer's main(), which only the harnesses link.
FUZZ_OPT := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined \
            -fsanitize=fuzzer-no-link
FUZZ_BIN := $(FUZZ_ALL:%=$(FUZZ_B)/fuzz/fuzz_%)
FUZZ_HDR := tests/fuzz/fuzz_util.c $(wildcard tests/fuzz/*.h)
FUZZ_RESULTS := build/test-results.txt
FUZZ_SHARED_DATA := $(SHARED)/data

.PHONY: fuzz fuzz-bins fuzz-build fuzz-seeds test-fuzz clang-check

# Built by the sub-make of fuzz-build (B=build-fuzz, CC=clang). Quiet like
# the other rules where the Makefile has a quiet build ($(say), $(Q)).
$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_HDR) $(B)/librgsd.a
	@mkdir -p $(dir $@)
	$(if $(say),$(say) LINK $@)
	$(Q)$(CC) $(CFLAGS_ALL) -Itests/fuzz $< tests/fuzz/fuzz_util.c $(B)/librgsd.a -o $@ -fsanitize=fuzzer $(LDLIBS_ALL)

fuzz-bins: $(FUZZ_BIN)

fuzz-build:
	@$(MAKE) --no-print-directory B=$(FUZZ_B) CC=$(FUZZ_CC) OPT="$(FUZZ_OPT)" fuzz-bins

# Seeds are rebuilt each time (a second): they follow the refs and the world.
fuzz-seeds: fuzz-build $(B)/rgsd
	@sh tests/fuzz/seeds.sh $(FUZZ_B)/seeds $(B)/rgsd $(FUZZ_B)/fuzz $(RGSD_REF_DIR) $(FUZZ_SHARED_DATA) $(FUZZ_ALL)

fuzz: fuzz-seeds
	@FUZZ_B=$(FUZZ_B) sh tests/fuzz/run.sh fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The release flags (-march=x86-64-v3) through clang's front end, -Werror:
# catches GCC-only code early (the fuzz build compiles without -march).
clang-check:
	@ls $(LIB_SRC) $(CLI_SRC) | xargs -P2 -n8 $(FUZZ_CC) -fsyntax-only $(BASE_CFLAGS) -O2 -march=x86-64-v3 $(PKG_CFLAGS)

# Skipped (not failed) only when clang cannot link a fuzzer at all.
test-fuzz: refs $(B)/rgsd
	@if ! sh tests/fuzz/toolchain.sh $(FUZZ_CC); then echo "fuzz fuzz 0 0 1" >> $(FUZZ_RESULTS); exit 0; fi; \
	st=0; \
	if $(MAKE) --no-print-directory clang-check; then echo "[fuzz] ok      clang -Werror, release flags"; \
	  echo "fuzz clang-check 1 0 0" >> $(FUZZ_RESULTS); \
	else echo "[fuzz] FAILED  clang -Werror, release flags"; echo "fuzz clang-check 0 1 0" >> $(FUZZ_RESULTS); st=1; fi; \
	if $(MAKE) --no-print-directory fuzz-seeds; then \
	  FUZZ_B=$(FUZZ_B) RGSD_RESULTS=$(FUZZ_RESULTS) sh tests/fuzz/run.sh smoke $(FUZZ_SMOKE_SECONDS) $(FUZZ_ALL) || st=1; \
	else echo "[fuzz] FAILED  building the harnesses or their seeds"; echo "fuzz build 0 1 0" >> $(FUZZ_RESULTS); st=1; fi; \
	exit $$st
