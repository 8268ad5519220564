#!/bin/sh
# function_lengths.sh — the longest C functions under src/ (or the folders
# given), longest first: "LINES file:line name". A small brace counter in awk
# (no ctags needed): a function starts at a line in column 0 that names it
# (`type name(...)`, not ending in ';'), and runs to the '}' that closes its
# body; strings, character literals and comments are skipped when counting.
#
#   tools/function_lengths.sh [-n N] [DIR...]    N rows (default 20; 0 = all)
n=20
if [ "${1:-}" = "-n" ]; then n=$2; shift 2; fi
[ $# -eq 0 ] && set -- src
find "$@" -name '*.c' | sort | xargs awk '
FNR == 1 { depth = 0; in_comment = 0; sig = ""; start = 0 }
{
    line = $0
    # the line without comments, strings and character literals
    out = ""; i = 1; L = length(line)
    while (i <= L) {
        c = substr(line, i, 1); c2 = substr(line, i, 2)
        if (in_comment) { if (c2 == "*/") { in_comment = 0; i += 2 } else i++; continue }
        if (c2 == "/*") { in_comment = 1; i += 2; continue }
        if (c2 == "//") break
        if (c == "\"" || c == "\047") {
            q = c; i++
            while (i <= L && substr(line, i, 1) != q) { if (substr(line, i, 1) == "\\") i++; i++ }
            i++; continue
        }
        out = out c; i++
    }
    if (depth == 0 && sig == "" && out ~ /^[A-Za-z_][A-Za-z0-9_ \t\*]*[A-Za-z_][A-Za-z0-9_]*[ \t]*\(/ && out !~ /;[ \t]*$/ &&
        out !~ /^(typedef|struct|enum|union|static[ \t]+const)[ \t]/ && out !~ /=/) {
        s = out; sub(/[ \t]*\(.*/, "", s); sub(/.*[ \t\*]/, "", s)
        sig = s; start = FNR
    }
    opens = gsub(/\{/, "{", out); closes = gsub(/\}/, "}", out)
    depth += opens - closes
    if (sig != "" && depth == 0 && (opens > 0 || closes > 0)) {
        printf "%d %s:%d %s\n", FNR - start + 1, FILENAME, start, sig
        sig = ""
    } else if (sig != "" && depth == 0 && out ~ /;[ \t]*$/) sig = ""   # a prototype over several lines
}' | sort -k1,1nr -k2 | { if [ "$n" -gt 0 ]; then head -n "$n"; else cat; fi; }
