#!/bin/sh
# Turns the quiet build's "  CC file" lines (stdin) into one progress line,
# rewritten in place: "building LABEL: N/TOTAL". Compiler errors go to stderr
# and are not read here, so they still print in full.
#   make ... | sh tools/build_progress.sh TOTAL LABEL
total=${1:-0}
label=${2:-rgsd}
awk -v total="$total" -v label="$label" '
    /^  [A-Z]+ / { n++; printf "\rbuilding %s: %d/%d", label, n, total; fflush() }
    END { if (n) printf "\n" }'
