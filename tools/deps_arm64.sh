#!/bin/sh
# Installs what `make test-arm64` needs, when it is missing (sh tools/deps.sh arm64):
# Debian's cross compiler, qemu-user to run its binaries, and the arm64 builds
# of the C libraries rgsd links (multiarch NAME:arm64 -dev packages, which
# need `dpkg --add-architecture arm64`; the binaries then run under
# qemu-aarch64 without -L, the arm64 loader and libraries being in place).
# Nothing is removed: apt-get runs with --no-remove, and amd64 packages that
# share a version with their arm64 twin (zlib1g, libssl3, ...) may be
# upgraded to the same version, as multiarch requires.
set -e
LIBS="libopenblas-openmp-dev libcjson-dev libpcre2-dev libutf8proc-dev libcurl4-openssl-dev libsqlite3-dev
libcmocka-dev libsnappy-dev libzstd-dev zlib1g-dev liblz4-dev libbrotli-dev"
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
tools=""
for p in gcc-aarch64-linux-gnu libc6-dev-arm64-cross; do installed "$p" || tools="$tools $p"; done
command -v qemu-aarch64 >/dev/null 2>&1 || tools="$tools qemu-user"
libs=""
for p in $LIBS; do installed "$p:arm64" || libs="$libs $p:arm64"; done
[ -z "$tools$libs" ] && exit 0
echo "deps: installing Debian packages for arm64:$tools$libs"
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: not root; run as root: make deps-arm64" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
apt-get update -qq
# qemu-user without its binfmt recommendation: the tests call qemu-aarch64 by
# name, and registering binfmt handlers is a change to the whole machine.
[ -n "$tools" ] && apt-get install -y -qq --no-remove --no-install-recommends $tools >/dev/null
[ -n "$libs" ] && apt-get install -y -qq --no-remove --no-install-recommends $libs >/dev/null
exit 0
