# Reference outputs for TRL's GRPO options (issue 14, item 6): every loss type,
# reward scaling, epsilon_high, masked truncated rollouts, and num_iterations
# mu = 3 with clipped tokens, in PyTorch float64 on a tiny random Qwen3.
GRPO_VARIANTS_REF_DIR := $(RGSD_REF_DIR)/grpo_variants
REFS += $(GRPO_VARIANTS_REF_DIR)/.done

$(GRPO_VARIANTS_REF_DIR)/.done: tests/ref/grpo_variants_ref.py tests/ref/grpo_ref.py tests/ref/rgsd_ref.py tests/ref/model_ref.py tests/ref/train_ref.py
	@mkdir -p $(GRPO_VARIANTS_REF_DIR)
	@if /usr/bin/python3 -c "import torch, numpy" 2>/dev/null; then \
	  /usr/bin/python3 tests/ref/grpo_variants_ref.py $(GRPO_VARIANTS_REF_DIR) && touch $@; \
	else echo "grpo variant refs: /usr/bin/python3 with torch missing; GRPO variant tests will skip"; fi
