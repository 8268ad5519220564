#!/bin/sh
# Prints the per-suite table and the closing line over every test run.
results=${1:-build/test-results.txt}
[ -f "$results" ] || { echo "no test results in $results"; echo "0 passed, 1 failed"; exit 1; }
echo
echo "== test summary =="
awk '{p[$1]+=$3; f[$1]+=$4; s[$1]+=$5; P+=$3; F+=$4; S+=$5; if ($4>0) bad=bad " " $1 "/" $2}
     END {for (k in p) printf "  %-6s %5d passed %3d failed %3d skipped\n", k, p[k], f[k], s[k];
          if (bad) print "  failing:" bad;
          printf "%d passed, %d failed, %d skipped\n", P, F, S; exit (F>0)}' "$results"
