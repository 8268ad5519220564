# nn: reference values for the kernels (src/nn), computed by PyTorch autograd
# in float64 (tests/ref/nn_ref.py) and read by tests/unit/test_nn_*.c.
NN_PYTORCH ?= /usr/bin/python3
NN_REF_DIR := $(RGSD_REF_DIR)/nn
REFS += $(NN_REF_DIR)/.done

$(NN_REF_DIR)/.done: tests/ref/nn_ref.py
	@mkdir -p $(NN_REF_DIR)
	@if $(NN_PYTORCH) -c "import torch, numpy" 2>/dev/null; then \
	  $(NN_PYTORCH) tests/ref/nn_ref.py $(NN_REF_DIR) && touch $@; \
	else echo "nn refs: $(NN_PYTORCH) with torch missing; the nn reference tests will skip"; fi
