#!/bin/sh
# The binary runs, teaches with --help, and rejects bad usage with status 2.
set -u
"$RGSD_BIN" --help | grep -q "commands:" || { echo "no command list in --help"; exit 1; }
"$RGSD_BIN" frobnicate 2>/dev/null; [ $? -eq 2 ] || { echo "unknown command should exit 2"; exit 1; }
"$RGSD_BIN" 2>/dev/null; [ $? -eq 2 ] || { echo "no command should exit 2"; exit 1; }
exit 0
