# bench/lib/world_base.sh — sourced by the RGSD experiments (rgsd_clip.sh, rgsd_prompt.sh,
# rgsd_variants.sh): the same SFT'd start for every one of them. world_base DIR makes DIR/world (rubric
# world seed 1) and DIR/base (the 64-wide tiny Qwen2 of tests/ref/rgsd_tiny_model.py, SFT'd 2 epochs),
# unless DIR/base exists. Needs $R (the rgsd binary).
world_base() {
    [ -d "$1/base" ] && return 0
    $R world gen --seed 1 --out "$1/world" >/dev/null 2>&1
    /usr/bin/python3 tests/ref/rgsd_tiny_model.py "$1/init" "$1/world/tokenizer"
    $R sft --model "$1/init" --data "$1/world/sft.jsonl" --out "$1/base" --batch-size 8 --lr 3e-3 --epochs 2 \
        --warmup 20 --no-progress 2>/dev/null
}
