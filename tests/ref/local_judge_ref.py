"""Independent reference for the local judge (src/judge/local_judge.c).

Usage: /usr/bin/python3 local_judge_ref.py MODEL_DIR IN.json OUT.json [bf16_inputs]

bf16_inputs: every layer matmul's input rounded to bf16 (model_ref.forward's
bf16_inputs), as rgsd's prefill of bf16 weights on bf16 dot products does.

IN.json: {"cases": [{"ids": [prompt token ids]}, ...]} — the grader prompts
as the judge prefills them. For each case this computes, with the float64
PyTorch forward of model_ref.py over the model folder's safetensors, the
next-token logits after the last prompt id, and reports
    margin = max_{t in YES} logit[t] - max_{t in NO} logit[t]
where YES / NO are read here from the folder's tokenizer.json vocabulary:
the ids of "yes", "Yes", "Ġyes", "ĠYes" (Ġ = a leading space in byte-level
BPE) and of "no", "No", "Ġno", "ĠNo" that exist as single tokens.

OUT.json: {"yes_ids": [...], "no_ids": [...], "margins": [...]}.
Only the logits of those ids are computed (the lm_head rows are sliced), so
a 150k vocabulary costs nothing.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_ref  # noqa: E402

torch.set_grad_enabled(False)


def answer_ids(vocab, spellings):
    return sorted({vocab[s] for s in spellings if s in vocab})


def main():
    model_dir, in_path, out_path = sys.argv[1:4]
    bf16_inputs = sys.argv[4:5] == ["bf16_inputs"]
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(model_dir, "tokenizer.json")) as f:
        vocab = json.load(f)["model"]["vocab"]
    yes = answer_ids(vocab, ["yes", "Yes", "\u0120yes", "\u0120Yes"])
    no = answer_ids(vocab, ["no", "No", "\u0120no", "\u0120No"])
    W = model_ref.read_safetensors(os.path.join(model_dir, "model.safetensors"))
    head = W["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else W["lm_head.weight"]
    # Logits of the answer ids only: an untied head made of their rows.
    W["lm_head.weight"] = head[torch.tensor(yes + no)]
    cfg = dict(cfg, tie_word_embeddings=False)
    with open(in_path) as f:
        cases = json.load(f)["cases"]
    margins = []
    for case in cases:
        last = model_ref.forward(cfg, W, case["ids"], bf16_inputs=bf16_inputs)[-1]
        margins.append(float(last[: len(yes)].max() - last[len(yes):].max()))
    with open(out_path, "w") as f:
        json.dump({"yes_ids": yes, "no_ids": no, "margins": margins}, f)


if __name__ == "__main__":
    main()
