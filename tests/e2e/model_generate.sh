#!/bin/sh
# rgsd generate / rgsd logprobs end to end on tiny random models that speak
# the real Qwen3 and Llama 3.1 tokenizers (written by tests/ref/model_ref.py
# into build/ref/model/e2e_*). Checks: output fields and order, greedy
# results independent of --batch, GGUF == safetensors, logprobs equal to the
# PyTorch reference (1e-4 absolute), and one clear error with exit status 1
# (2 for bad usage) for each bad input, with no output file left behind.
set -u
REF=${RGSD_REF_DIR:-build/ref}/model
PY=/usr/bin/python3
here=$(cd "$(dirname "$0")/../.." && pwd)
for m in e2e_qwen3 e2e_llama3; do
    [ -f "$REF/$m/model.safetensors" ] || { echo "skipped: $REF/$m missing (PyTorch reference not generated)"; exit 77; }
done
tmp=$(mktemp -d /tmp/rgsd-e2e-model-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cat > "$tmp/data.jsonl" <<'JSON'
{"id": "a", "messages": [{"role": "user", "content": "What is 2+2?"}]}
{"prompt": [{"role": "user", "content": "I have a headache."}], "rubrics": [{"criterion": "Suggests rest", "points": 5, "tags": []}], "prompt_id": "hb1"}
{"prompt": "Tell me a joke about élan and 東京 🙂."}
JSON

for m in e2e_qwen3 e2e_llama3; do
    M="$REF/$m"
    "$RGSD_BIN" -q generate --model "$M" --data "$tmp/data.jsonl" --temperature 0 --max-new 6 --batch 2 \
        --out "$tmp/b2.jsonl" || fail "$m: generate --batch 2"
    "$RGSD_BIN" -q generate --model "$M" --data "$tmp/data.jsonl" --temperature 0 --max-new 6 --batch 1 \
        --out "$tmp/b1.jsonl" || fail "$m: generate --batch 1"
    "$RGSD_BIN" -q generate --model "$M/model.gguf" --tokenizer "$M" --data "$tmp/data.jsonl" --temperature 0 \
        --max-new 6 --out "$tmp/gguf.jsonl" || fail "$m: generate from GGUF"
    $PY - "$tmp" <<'PYEOF' || fail "$m: generate outputs"
import json, sys
d = sys.argv[1]
b2 = [json.loads(l) for l in open(d + "/b2.jsonl")]
b1 = [json.loads(l) for l in open(d + "/b1.jsonl")]
gg = [json.loads(l) for l in open(d + "/gguf.jsonl")]
assert [r["id"] for r in b2] == ["a", "hb1", d + "/data.jsonl:3"], [r["id"] for r in b2]
for r in b2:
    for k in ("response", "prompt_tokens", "response_tokens", "finish_reason", "seconds", "tokens_per_second"):
        assert k in r, k
    assert r["finish_reason"] in ("stop", "length") and r["prompt_tokens"] > 5 and r["response_tokens"] <= 6
assert [r["response"] for r in b1] == [r["response"] for r in b2], "greedy output depends on --batch"
assert [r["response"] for r in gg] == [r["response"] for r in b2], "GGUF and safetensors differ"
# logprobs input: the generated responses
with open(d + "/lp.jsonl", "w") as f:
    msgs = [[{"role": "user", "content": "What is 2+2?"}], [{"role": "user", "content": "I have a headache."}]]
    for m, r in zip(msgs, b2):
        f.write(json.dumps({"messages": m, "response": r["response"] or "ok"}) + "\n")
    f.write(json.dumps({"messages": msgs[0], "response": "Four, of course. 4 = 2+2 ✓"}) + "\n")
PYEOF
    "$RGSD_BIN" -q logprobs --model "$M" --data "$tmp/lp.jsonl" --ids --out "$tmp/lpo.jsonl" || fail "$m: logprobs"
    [ "$(wc -l < "$tmp/lpo.jsonl")" -eq 3 ] || fail "$m: logprobs wrote $(wc -l < "$tmp/lpo.jsonl") lines, expected 3"
    err=$($PY "$here/tests/ref/model_ref.py" --check-logprobs "$M" "$tmp/lpo.jsonl") || fail "$m: logprobs reference"
    $PY -c "import sys; sys.exit(0 if float('$err') <= 1e-4 else 1)" || fail "$m: logprobs differ from PyTorch by $err"
    echo "$m: logprobs max abs error vs PyTorch $err (tolerance 1e-4)"
    "$RGSD_BIN" -q generate --model "$M" --prompt "Hi" --max-new 4 --seed 5 > "$tmp/p1.txt" || fail "$m: --prompt"
    "$RGSD_BIN" -q generate --model "$M" --prompt "Hi" --max-new 4 --seed 5 > "$tmp/p2.txt" || fail "$m: --prompt"
    cmp -s "$tmp/p1.txt" "$tmp/p2.txt" || fail "$m: same seed gave different text"
done

# ---- real rubric data (multi-turn HealthBench, RubricHub, RaR), when ../shared/data is here
D=${RGSD_SHARED:-../shared}/data
if [ -d "$D/healthbench" ]; then
    { head -n 3 "$D/healthbench/healthbench_val_500.jsonl"; head -n 2 "$D/rubrichub/rurl-medical-sample-100.jsonl";
      head -n 2 "$D/rar/rar_science_shipped.first3.jsonl"; } > "$tmp/real.jsonl"
    "$RGSD_BIN" -q generate --model "$REF/e2e_qwen3" --data "$tmp/real.jsonl" --max-new 4 --batch 4 --seed 1 \
        --out "$tmp/real_out.jsonl" || fail "generate on real rubric data"
    [ "$(wc -l < "$tmp/real_out.jsonl")" -eq 7 ] || fail "real data: expected 7 output lines"
else
    echo "note: $D absent; real-data generation not checked"
fi

# ---- bad input: one line on stderr, status 1 (2 for usage), no output file
M="$REF/e2e_qwen3"
expect_error() { # status needle command...
    want=$1 needle=$2; shift 2
    "$@" > /dev/null 2> "$tmp/err"; st=$?
    [ "$st" -eq "$want" ] || fail "exit $st (wanted $want) for: $* ($(cat "$tmp/err"))"
    grep -q "$needle" "$tmp/err" || fail "no '$needle' in: $(cat "$tmp/err")"
    [ "$(wc -l < "$tmp/err")" -le 1 ] || fail "more than one line on stderr: $(cat "$tmp/err")"
    [ ! -e "$tmp/never.jsonl" ] || fail "output file left behind by: $*"
}
expect_error 2 "prompt" "$RGSD_BIN" -q generate --model "$M"
expect_error 1 "/nonexistent" "$RGSD_BIN" -q generate --model /nonexistent --prompt hi
mkdir "$tmp/bad"; cp "$M"/config.json "$M"/tokenizer*.json "$tmp/bad/"
head -c 100000 "$M/model.safetensors" > "$tmp/bad/model.safetensors"
expect_error 1 "model.safetensors" "$RGSD_BIN" -q generate --model "$tmp/bad" --prompt hi --out "$tmp/never.jsonl"
sed 's/Qwen3ForCausalLM/GPTNeoXForCausalLM/' "$M/config.json" > "$tmp/bad/config.json"
expect_error 1 "architectures" "$RGSD_BIN" -q logprobs --model "$tmp/bad" --data "$tmp/lp.jsonl" --out "$tmp/never.jsonl"
printf '{"prompt": "ok"}\n{not json\n' > "$tmp/badline.jsonl"
expect_error 1 "badline.jsonl:2" "$RGSD_BIN" -q generate --model "$M" --data "$tmp/badline.jsonl" --out "$tmp/never.jsonl"
printf '{"messages": [{"role": "user", "content": "x"}]}\n' > "$tmp/noresp.jsonl"
expect_error 1 "response" "$RGSD_BIN" -q logprobs --model "$M" --data "$tmp/noresp.jsonl" --out "$tmp/never.jsonl"
expect_error 1 "longer than the context" "$RGSD_BIN" -q generate --model "$M" --context 16 \
    --prompt "a long prompt that certainly takes more than sixteen tokens once the chat template is around it" \
    --out "$tmp/never.jsonl"
expect_error 2 "top-p" "$RGSD_BIN" -q generate --model "$M" --prompt hi --top-p 1.5
exit 0
