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

# The judge-free gap of `rgsd gap --samples K` (issue 14): per-sample per-token
# means under the plain and the rubric prompt, per-prompt means, the summary
# with its standard error, base and LoRA, in PyTorch float64.
RGSD_GAP_REF_DIR := $(RGSD_REF_DIR)/gap
REFS += $(RGSD_GAP_REF_DIR)/.done

$(RGSD_GAP_REF_DIR)/.done: tests/ref/gap_ref.py tests/ref/rgsd_ref.py tests/ref/model_ref.py
	@mkdir -p $(RGSD_GAP_REF_DIR)
	@if /usr/bin/python3 -c "import torch, numpy" 2>/dev/null; then \
	  /usr/bin/python3 tests/ref/gap_ref.py $(RGSD_GAP_REF_DIR) && touch $@; \
	else echo "gap refs: /usr/bin/python3 with torch missing; gap tests will skip"; fi
