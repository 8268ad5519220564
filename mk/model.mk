# Reference outputs for the model forward (issue 3): tiny random-weight HF
# folders of each architecture/variant and their PyTorch float64 logits.
MODEL_REF_DIR := $(RGSD_REF_DIR)/model
REFS += $(MODEL_REF_DIR)/.done

$(MODEL_REF_DIR)/.done: tests/ref/model_ref.py
	@mkdir -p $(MODEL_REF_DIR)
	@if /usr/bin/python3 -c "import torch, numpy" 2>/dev/null; then \
	  /usr/bin/python3 tests/ref/model_ref.py $(MODEL_REF_DIR) $(RGSD_NODE_DIR) && touch $@; \
	else echo "model refs: /usr/bin/python3 with torch missing; model reference tests will skip"; fi
