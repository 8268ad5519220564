#!/bin/sh
# Exits 0 when CC can build libFuzzer harnesses with ASan and UBSan (clang
# with its fuzzer runtime: Debian's clang + libclang-rt-14-dev, installed by
# tools/deps.sh), else prints why and exits 77.
cc=${1:-clang}
command -v "$cc" >/dev/null 2>&1 || { echo "fuzz: $cc not found (sh tools/deps.sh test installs it)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' > "$tmp/t.c"
"$cc" -fsanitize=fuzzer,address,undefined -fopenmp "$tmp/t.c" -o "$tmp/t" 2> "$tmp/err" ||
    { echo "fuzz: $cc cannot link a libFuzzer harness: $(head -1 "$tmp/err")"; exit 77; }
exit 0
