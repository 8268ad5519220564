# Reference outputs for the RGSD trainer (issue 5): one RGSD step (teacher over
# teacher prompt + y, student over prompt + y, JSD token mean) in PyTorch
# float64 autograd, full and LoRA, on tiny random HF folders; and issue 14's
# variants (top-k supports and renormalised tails, live / EMA teachers,
# sequence mean, importance weight: test_rgsd_variants.c).
RGSD_STEP_REF_DIR := $(RGSD_REF_DIR)/rgsd
REFS += $(RGSD_STEP_REF_DIR)/.done

$(RGSD_STEP_REF_DIR)/.done: tests/ref/rgsd_ref.py tests/ref/model_ref.py tests/ref/nn_ref.py tests/ref/train_ref.py
	@mkdir -p $(RGSD_STEP_REF_DIR)
	@if /usr/bin/python3 -c "import torch, numpy" 2>/dev/null; then \
	  /usr/bin/python3 tests/ref/rgsd_ref.py $(RGSD_STEP_REF_DIR) && touch $@; \
	else echo "rgsd refs: /usr/bin/python3 with torch missing; RGSD step tests will skip"; fi
