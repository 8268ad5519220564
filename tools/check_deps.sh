#!/bin/sh
# Prints, space-separated, the Debian packages that building rgsd (build) or
# its unit tests (test) still needs; prints nothing when all are there.
#   sh tools/check_deps.sh build|test BLAS_DIR [DEB_ARCH]
# The Makefile calls it before compiling anything, so a fresh machine gets
# one line naming what to install instead of a compiler error about cjson.h.
# It checks what the compiler will look for (pkg-config modules, the OpenBLAS
# library), not dpkg, so libraries installed another way count too.
# DEB_ARCH (arm64) is a cross build: $CC is the cross compiler, pkg-config
# reads the target's .pc files (PKG_CONFIG_LIBDIR, set by the Makefile), the
# libraries are named NAME:arm64, and the tests also need qemu-user.
what=${1:-build}
blas_dir=${2:-/usr/lib/x86_64-linux-gnu/openblas-openmp}
arch=${3:-}
sfx=${arch:+:$arch}
missing=""
if [ -n "$arch" ]; then
    command -v "$CC" >/dev/null 2>&1 || missing="$missing gcc-${CC%-gcc}"
    [ "$what" = test ] && { command -v qemu-aarch64 >/dev/null 2>&1 || missing="$missing qemu-user"; }
else
    command -v "${CC:-gcc}" >/dev/null 2>&1 || missing="$missing gcc"
fi
if command -v pkg-config >/dev/null 2>&1; then
    # pkg-config module : Debian package
    mods="libcjson:libcjson-dev libpcre2-8:libpcre2-dev libutf8proc:libutf8proc-dev libcurl:libcurl4-openssl-dev
sqlite3:libsqlite3-dev zlib:zlib1g-dev snappy:libsnappy-dev libzstd:libzstd-dev liblz4:liblz4-dev
libbrotlidec:libbrotli-dev"
    [ "$what" = test ] && mods="$mods cmocka:libcmocka-dev"
    for pair in $mods; do
        pkg-config --exists "${pair%%:*}" || missing="$missing ${pair#*:}$sfx"
    done
else
    missing="$missing pkg-config"
fi
[ -e "$blas_dir/libopenblas.so" ] || missing="$missing libopenblas-openmp-dev$sfx"
# MPI=1 (the Makefile's default only when mpicc is there): the data-parallel
# build needs Open MPI's compiler wrapper and headers (docs/distributed.md).
if [ "${MPI:-0}" = 1 ] && [ -z "$arch" ]; then
    command -v "${MPICC:-mpicc}" >/dev/null 2>&1 || missing="$missing openmpi-bin libopenmpi-dev"
fi
echo $missing
