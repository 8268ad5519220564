#!/usr/bin/env python3
"""Writes variants of a tokenizer.json as fuzz seeds for fuzz_tokenizer: the
same vocabulary with the other layouts rgsd reads (docs/tokenizer.md), so the
fuzzer starts from every branch of the loader, not only the rubric world's
Qwen2 layout. Usage: tokenizer_variants.py TOKENIZER_JSON OUT_DIR"""
import copy
import json
import sys

src, out = sys.argv[1], sys.argv[2]
base = json.load(open(src, encoding="utf-8"))


def merges_as_pairs(t):
    t["model"]["merges"] = [m.split(" ", 1) if isinstance(m, str) else m for m in t["model"]["merges"]]


def write(name, t):
    with open(f"{out}/variant_{name}", "w", encoding="utf-8") as f:
        json.dump(t, f, ensure_ascii=False)


# Llama 3 style: [a, b] merges, ignore_merges, no normalizer, BOS added by a
# TemplateProcessing post-processor.
t = copy.deepcopy(base)
merges_as_pairs(t)
t["model"]["ignore_merges"] = True
t["normalizer"] = None
t["post_processor"] = {"type": "Sequence", "processors": [
    {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
    {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}},
                                              {"Sequence": {"id": "A", "type_id": 0}}],
     "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [628], "tokens": ["<|endoftext|>"]}}}]}
write("llama3", t)

# GPT-2 style: ByteLevel alone (its own regex, prefix space), NFC in a
# Sequence, added tokens with every flag.
t = copy.deepcopy(base)
t["pre_tokenizer"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
t["normalizer"] = {"type": "Sequence", "normalizers": [{"type": "NFC"}]}
for a in t["added_tokens"]:
    a.update(lstrip=True, rstrip=True)
t["added_tokens"].append({"id": len(t["model"]["vocab"]) + len(t["added_tokens"]), "content": "<think>",
                          "single_word": True, "lstrip": False, "rstrip": False, "normalized": True,
                          "special": False})
write("gpt2", t)

# Split on a literal String, behavior Removed, inverted.
t = copy.deepcopy(base)
t["pre_tokenizer"]["pretokenizers"][0].update(pattern={"String": " "}, behavior="Removed", invert=True)
write("removed_invert", t)
