# io: reference outputs for dtype conversions, safetensors and GGUF files,
# and sampling distributions, written by independent Python (numpy/torch).
IO_PYTHON ?= /usr/bin/python3

REFS += $(RGSD_REF_DIR)/io_dtype/f32_cases.bin
$(RGSD_REF_DIR)/io_dtype/f32_cases.bin: tests/ref/io_dtype_ref.py
	@mkdir -p $(dir $@)
	$(say) REF $<
	$(Q)$(IO_PYTHON) $< $(dir $@) || { echo "io_dtype_ref.py failed (reference tool missing?)"; rm -rf $(dir $@); }

REFS += $(RGSD_REF_DIR)/io_st/done
$(RGSD_REF_DIR)/io_st/done: tests/ref/io_safetensors_ref.py
	@mkdir -p $(dir $@)
	$(say) REF $<
	$(Q)$(IO_PYTHON) $< $(dir $@) && touch $@ || { echo "io_safetensors_ref.py failed"; rm -rf $(dir $@); }

REFS += $(RGSD_REF_DIR)/io_sample/cases.json
$(RGSD_REF_DIR)/io_sample/cases.json: tests/ref/io_sample_ref.py
	@mkdir -p $(dir $@)
	$(say) REF $<
	$(Q)$(IO_PYTHON) $< $(dir $@) || { echo "io_sample_ref.py failed"; rm -rf $(dir $@); }

REFS += $(RGSD_REF_DIR)/io_gguf/expected.json
$(RGSD_REF_DIR)/io_gguf/expected.json: tests/ref/io_gguf_ref.py
	@mkdir -p $(dir $@)
	$(say) REF $<
	$(Q)$(IO_PYTHON) $< $(dir $@) || { echo "io_gguf_ref.py failed"; rm -rf $(dir $@); }
