# Reference outputs for the GRPO baseline (issue 6): one GRPO step (clipped
# surrogate with fixed rollout log-probs, k3 KL to the base, token mean) in
# PyTorch float64 autograd, full and LoRA, on tiny random HF folders.
GRPO_REF_DIR := $(RGSD_REF_DIR)/grpo
REFS += $(GRPO_REF_DIR)/.done

$(GRPO_REF_DIR)/.done: tests/ref/grpo_ref.py tests/ref/rgsd_ref.py tests/ref/model_ref.py tests/ref/train_ref.py
	@mkdir -p $(GRPO_REF_DIR)
	@if /usr/bin/python3 -c "import torch, numpy" 2>/dev/null; then \
	  /usr/bin/python3 tests/ref/grpo_ref.py $(GRPO_REF_DIR) && touch $@; \
	else echo "grpo refs: /usr/bin/python3 with torch missing; GRPO step tests will skip"; fi
