#!/bin/sh
# The Makefile on a machine without the libraries: one line naming the
# Debian packages and `make deps-build`, before any compiler runs (it used to
# be a compiler error about cjson.h). And a quiet build: "  CC file" per
# object, the whole command with V=1, and for make demo one progress line.
# Runs from the repository root.
set -u
[ -f Makefile ] && [ -f tools/check_deps.sh ] || { echo "needs the repository root"; exit 77; }
command -v make >/dev/null 2>&1 || { echo "needs make"; exit 77; }
tmp=$(mktemp -d /tmp/rgsd-e2e-make.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# A make of its own, not a child of the make running the suite (whose
# jobserver, under make -j, it cannot use and would warn about).
unset MAKEFLAGS MFLAGS MAKELEVEL

# pkg-config finding nothing stands for the missing -dev packages.
PKG_CONFIG_LIBDIR=/nonexistent make --no-print-directory B="$tmp/b" >"$tmp/out" 2>&1; rc=$?
[ $rc -ne 0 ] || fail "make succeeded without the libraries"
grep -q "missing: libcjson-dev .*libsqlite3-dev .*libbrotli-dev; run \`make deps-build\` as root" "$tmp/out" \
    || fail "no one-line hint: $(cat "$tmp/out")"
[ "$(wc -l < "$tmp/out")" -eq 1 ] || fail "more than one line: $(cat "$tmp/out")"
[ ! -e "$tmp/b" ] || fail "something was compiled"
PKG_CONFIG_LIBDIR=/nonexistent make --no-print-directory B="$tmp/b" "$tmp/b/tests/test_base" >"$tmp/out" 2>&1
grep -q "libcmocka-dev" "$tmp/out" || fail "a test target does not ask for cmocka: $(cat "$tmp/out")"

# A cross compiler that is not installed: one line naming it and `make deps-arm64`.
make --no-print-directory CC=aarch64-nonexistent-gcc B="$tmp/c" >"$tmp/out" 2>&1 && fail "make succeeded without a compiler"
grep -q "missing: gcc-aarch64-nonexistent.*; run \`make deps-arm64\` as root" "$tmp/out" \
    || fail "no one-line arm64 hint: $(cat "$tmp/out")"
[ "$(wc -l < "$tmp/out")" -eq 1 ] || fail "more than one line: $(cat "$tmp/out")"
[ ! -e "$tmp/c" ] || fail "something was compiled"
# With Debian's cross compiler (make deps-arm64): the target's flags and an arm64 object.
if command -v aarch64-linux-gnu-gcc >/dev/null 2>&1; then
    make --no-print-directory V=1 CC=aarch64-linux-gnu-gcc B="$tmp/a" "$tmp/a/src/base/timer.o" >"$tmp/out" 2>&1 \
        || fail "arm64 build: $(cat "$tmp/out")"
    grep -q -- "-march=armv8-a .*-c src/base/timer.c" "$tmp/out" || fail "arm64 flags: $(cat "$tmp/out")"
    grep -q -- "x86" "$tmp/out" && fail "x86 flags in the arm64 build: $(cat "$tmp/out")"
    od -An -tx1 -j18 -N2 "$tmp/a/src/base/timer.o" | grep -q "b7 00" || fail "not an arm64 object"
fi

# Quiet by default, the full command with V=1 (one small object each).
make --no-print-directory B="$tmp/q" "$tmp/q/src/base/timer.o" >"$tmp/out" 2>&1 || fail "build: $(cat "$tmp/out")"
[ "$(cat "$tmp/out")" = "  CC   src/base/timer.c" ] || fail "not quiet: $(cat "$tmp/out")"
make --no-print-directory V=1 B="$tmp/v" "$tmp/v/src/base/timer.o" >"$tmp/out" 2>&1 || fail "V=1 build: $(cat "$tmp/out")"
grep -q -- "-Wall -Wextra -Werror.*-c src/base/timer.c" "$tmp/out" || fail "V=1 hides the command: $(cat "$tmp/out")"
# make demo's build: one progress line rewritten in place.
make --no-print-directory B="$tmp/p" "$tmp/p/src/base/timer.o" "$tmp/p/src/base/rng.o" \
    | sh tools/build_progress.sh 2 rgsd >"$tmp/out" || fail "progress build"
[ "$(cat "$tmp/out")" = "$(printf '\rbuilding rgsd: 1/2\rbuilding rgsd: 2/2')" ] || fail "progress: $(od -c "$tmp/out")"
exit 0
