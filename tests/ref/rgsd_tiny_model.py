"""rgsd_tiny_model.py OUT TOKENIZER_DIR [HIDDEN LAYERS] — a tiny random Qwen2
model folder (config.json, model.safetensors, the tokenizer files copied) whose
vocabulary is the tokenizer's, for the RGSD end-to-end tests and experiments.
Random weights come from model_ref.make_weights (seeded)."""
import json
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_ref  # noqa: E402

out, tok_dir = sys.argv[1], sys.argv[2]
hidden = int(sys.argv[3]) if len(sys.argv) > 3 else 64
layers = int(sys.argv[4]) if len(sys.argv) > 4 else 2
with open(os.path.join(tok_dir, "tokenizer.json")) as f:
    tok = json.load(f)
vocab = max(max(tok["model"]["vocab"].values()), max(t["id"] for t in tok.get("added_tokens", []))) + 1
im_end = [t["id"] for t in tok["added_tokens"] if t["content"] == "<|im_end|>"][0]
cfg = model_ref.base_cfg("Qwen2ForCausalLM", hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2, vocab_size=vocab,
                         max_position_embeddings=512, tie_word_embeddings=True, rope_theta=10000.0,
                         bos_token_id=None, eos_token_id=im_end)
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "config.json"), "w") as f:
    json.dump(cfg, f, indent=2)
W = model_ref.make_weights(cfg, torch.Generator().manual_seed(11))
model_ref.write_safetensors(os.path.join(out, "model.safetensors"), list(W.items()), "float32")
for name in ("tokenizer.json", "tokenizer_config.json"):
    shutil.copy(os.path.join(tok_dir, name), os.path.join(out, name))
