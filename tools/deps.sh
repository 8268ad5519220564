#!/bin/sh
# Installs what rgsd needs, when it is missing.
#   sh tools/deps.sh build   the compiler and C libraries (what `make` and `make demo` need), and
#                            Open MPI (mpirun, mpicc: the data-parallel build, docs/distributed.md)
#   sh tools/deps.sh test    the same plus the test oracles: PyTorch, numpy, jinja2 (Debian)
#                            and the npm reference tokenizers under tests/ref/node_modules,
#                            and clang with its fuzzer runtime (tests/fuzz)
#   sh tools/deps.sh arm64   the arm64 cross build and its test runner (`make test-arm64`):
#                            Debian's cross gcc, qemu-user and the arm64 -dev packages
# Debian packages come from apt-get (as root); nothing is installed when all are present.
set -e
what=${1:-test}
if [ "$what" = arm64 ]; then
    exec sh "$(dirname "$0")/deps_arm64.sh"
fi
PKGS="gcc make pkg-config libopenblas-openmp-dev libcjson-dev libpcre2-dev libutf8proc-dev
libcurl4-openssl-dev libsqlite3-dev libcmocka-dev python3
libsnappy-dev libzstd-dev zlib1g-dev liblz4-dev libbrotli-dev
openmpi-bin libopenmpi-dev"
if [ "$what" = test ]; then
    PKGS="$PKGS python3-torch python3-numpy python3-jinja2"
    # clang with its fuzzer runtime and OpenMP: the fuzz harnesses (tests/fuzz) and the clang build check
    PKGS="$PKGS clang-14 libclang-rt-14-dev libomp-14-dev"
fi
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ "$what" = test ]; then
    # Node.js may come from elsewhere than Debian (the image's own build): ask
    # for the commands, not the packages.
    command -v node >/dev/null 2>&1 || missing="$missing nodejs"
    command -v npm >/dev/null 2>&1 || missing="$missing npm"
fi
if [ -n "$missing" ]; then
    echo "deps: installing Debian packages:$missing"
    if [ "$(id -u)" -ne 0 ]; then
        echo "deps: not root; run: sudo apt-get install -y$missing" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq $missing >/dev/null
fi
# Reference implementations for the tests (never linked into rgsd). The
# marker holds the lock file's hash, so a changed package-lock.json (a new
# oracle) reinstalls instead of being taken as already done.
if [ "$what" = test ] && [ -f tests/ref/package-lock.json ]; then
    lock_hash=$(sha256sum tests/ref/package-lock.json | cut -d' ' -f1)
    if [ "$(cat tests/ref/node_modules/.rgsd-ok 2>/dev/null)" != "$lock_hash" ]; then
        echo "deps: installing npm reference packages into tests/ref/node_modules"
        (cd tests/ref && npm ci --no-audit --no-fund --loglevel=error && echo "$lock_hash" > node_modules/.rgsd-ok)
    fi
fi
