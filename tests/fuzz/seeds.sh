#!/bin/sh
# Builds the seed corpus of every fuzz harness, OUT/<target>/, from valid
# files that the tests and the library write. Shared data is read from its
# place, never copied into the repository.
#   tests/fuzz/corpus/<target>/   committed: hand-written seeds and the
#                                 regression inputs of bugs fuzzing found
#   `rgsd world gen`              the rubric world: tokenizer, ChatML chat
#                                 template, rubric lines, SFT chats
#   REF_DIR (build/ref)           the unit tests' reference files (`make refs`):
#                                 safetensors, GGUF (valid and broken), models,
#                                 config.json, PEFT adapters; skipped if absent
#   SHARED (../shared/data)       a few lines of each published rubric data
#                                 set, the safetensors samples; skipped if absent
#   the harness itself            files only the library writes (a train
#                                 state, a PEFT adapter): RGSD_FUZZ_WRITE_SEEDS
# Harness inputs with a leading option byte get a printable one ('0', '1',
# ...) here; see each tests/fuzz/fuzz_<target>.c for its input layout.
# Usage: seeds.sh OUT RGSD_BIN FUZZ_BIN_DIR REF_DIR SHARED_DATA TARGET...
set -e
out=$1 rgsd=$2 bins=$3 ref=$4 shared=$5
shift 5
max_kb=128 # bigger seeds only slow every mutation down
rm -rf "$out"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# put TARGET NAME: stdin -> OUT/TARGET/NAME (dropped when over max_kb)
put() {
    cat > "$out/$1/$2"
    [ "$(wc -c < "$out/$1/$2")" -le $((max_kb * 1024)) ] || rm -f "$out/$1/$2"
}
# copy TARGET FILE...: each existing file, named after its last two path parts
copy() {
    t=$1; shift
    for f in "$@"; do
        [ -f "$f" ] || continue
        put "$t" "$(basename "$(dirname "$f")")_$(basename "$f")" < "$f"
    done
}
# lines TARGET PREFIX FILE N: the first N lines of FILE, one seed each, then all N as one seed
lines() {
    [ -f "$3" ] || return 0
    base=$(basename "$3" .jsonl)
    i=1
    while [ $i -le "$4" ]; do
        { printf '%s' "$2"; sed -n "${i}p" "$3"; } | put "$1" "${base}_$i"
        i=$((i + 1))
    done
    { printf '%s' "$2"; head -n "$4" "$3"; } | put "$1" "${base}_head$4"
}

"$rgsd" world gen --out "$tmp/world" --train 8 --heldout 4 --sft 8 >/dev/null 2>&1
w=$tmp/world
wt=$w/tokenizer

for t in "$@"; do
    mkdir -p "$out/$t"
    [ -d "tests/fuzz/corpus/$t" ] && cp tests/fuzz/corpus/"$t"/* "$out/$t/" 2>/dev/null || true
    case $t in
    safetensors)
        copy $t "$ref"/io_st/*.safetensors "$ref"/io_st/sharded/*.safetensors "$ref"/nn/*.safetensors \
            "$ref"/model/*/model.safetensors "$ref"/train/*/adapter/adapter_model.safetensors \
            "$shared"/safetensors-samples/*.safetensors ;;
    safetensors_index) # the shards are the harness's own; its index comes from the harness too
        copy $t "$ref"/io_st/sharded/model.safetensors.index.json ;;
    gguf)
        copy $t "$ref"/io_gguf/*.gguf "$ref"/model/*/*.gguf ;;
    model_gguf)
        copy $t "$ref"/io_gguf/model.gguf "$ref"/io_gguf/v2.gguf "$ref"/model/*/*.gguf ;;
    config)
        copy $t "$ref"/model/*/config.json "$ref"/train/*/config.json ;;
    tokenizer)
        copy $t "$wt/tokenizer.json"
        python3 tests/fuzz/tokenizer_variants.py "$wt/tokenizer.json" "$out/$t" ;;
    tokenize)
        lines $t 1 "$w/train.jsonl" 2
        lines $t 0 "$w/sft.jsonl" 2
        lines $t 1 "$shared/rar/rar_medicine_shipped.first3.jsonl" 1 ;;
    tokenizer_config)
        copy $t "$wt/tokenizer_config.json" tests/fixtures/*.json
        { cat "$wt/tokenizer_config.json"; printf '\0{"bos_token_id": 629, "eos_token_id": [630, 628], "pad_token_id": 628}'; } |
            put $t world_with_generation_config ;;
    chat_template)
        copy $t "$wt/tokenizer_config.json" tests/fixtures/*.json
        for f in "$wt/tokenizer_config.json" tests/fixtures/*.json; do
            # a conversation: options '1', a system, a user, an assistant with
            # reasoning ('>'), a user turn (see fuzz_chat_template.c)
            { cat "$f"; printf '\0%s\0%s\0%s\001%s\0%s' '10Be brief.' '1Hi there' '>the answer' 'thinking' '1And now?'; } |
                put $t "conv_$(basename "$f")"
        done ;;
    rubric)
        for f in "$w/train.jsonl" "$w/heldout.jsonl" "$shared"/healthbench/*.jsonl "$shared"/rubrichub/*.jsonl \
            "$shared"/rar/*.jsonl "$shared"/verl/*.jsonl; do
            lines $t 0 "$f" 2
        done ;;
    judge_answer) ;; # hand-written only (tests/fuzz/corpus/judge_answer)
    sft_data)
        lines $t '~' "$w/sft.jsonl" 3 ;;
    records) # a few lines of each layout's real files; the harness writes arrays, gzip, pretty JSON
        lines $t '' "$w/train.jsonl" 2
        lines $t '' "$shared"/verl/healthbench_val.verl.jsonl 1 ;;
    peft)
        for d in "$ref"/train/*/adapter; do
            [ -f "$d/adapter_config.json" ] || continue
            { cat "$d/adapter_config.json"; printf '\0'; cat "$d/adapter_model.safetensors"; } |
                put $t "$(basename "$(dirname "$d")")_adapter"
        done ;;
    parquet)
        copy $t "$ref"/parquet/*.parquet "$shared"/verl/*.parquet ;;
    esac
    # Files only the library writes, from the harness (a no-op for most).
    RGSD_FUZZ_WRITE_SEEDS="$out/$t" "$bins/fuzz_$t" >/dev/null 2>&1 ||
        { echo "seeds: fuzz_$t could not write its seeds" >&2; exit 1; }
    # Without its reference files (no node for the Parquet oracles, say) a
    # target starts from nothing: weaker, but still a valid run.
    [ -n "$(ls "$out/$t")" ] || echo "seeds: no seeds for $t (are the refs built?); it starts empty" >&2
done
