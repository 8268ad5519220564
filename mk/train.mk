# Reference outputs for the training engine (issue 4): tiny random HF folders,
# PyTorch float64 autograd gradients (full and LoRA), PEFT adapter folders,
# and torch.optim.AdamW / clip_grad_norm_ trajectories.
TRAIN_REF_DIR := $(RGSD_REF_DIR)/train
REFS += $(TRAIN_REF_DIR)/.done

$(TRAIN_REF_DIR)/.done: tests/ref/train_ref.py tests/ref/model_ref.py
	@mkdir -p $(TRAIN_REF_DIR)
	@if /usr/bin/python3 -c "import torch, numpy" 2>/dev/null; then \
	  /usr/bin/python3 tests/ref/train_ref.py $(TRAIN_REF_DIR) && touch $@; \
	else echo "train refs: /usr/bin/python3 with torch missing; training reference tests will skip"; fi
