# Reference renders of the real chat templates (tests/ref/chat_ref.js, with
# @huggingface/jinja) for tests/unit/test_chat.c. Without node or the npm
# package the rule writes nothing and test_chat skips with the reason.
CHAT_REF := $(RGSD_REF_DIR)/chat_cases.json
CHAT_HEALTHBENCH := $(wildcard $(RGSD_SHARED)/data/healthbench/healthbench_val_500.jsonl)
REFS += $(CHAT_REF)

$(CHAT_REF): tests/ref/chat_ref.js $(wildcard tests/fixtures/*.json) $(CHAT_HEALTHBENCH)
	@mkdir -p $(dir $@)
	@if command -v node >/dev/null 2>&1 && [ -f $(RGSD_NODE_DIR)/node_modules/@huggingface/jinja/package.json ]; then \
		node tests/ref/chat_ref.js $@ "$(RGSD_SHARED)"; \
	else \
		echo "chat_ref: node or @huggingface/jinja missing (make deps); test_chat will skip"; \
	fi

# A second, optional reference: Python's jinja2 configured as transformers
# configures it (tests/ref/chat_ref_py.py). Used when some python3 on this
# machine has jinja2 (Debian's /usr/bin/python3 may not); otherwise skipped.
CHAT_REF_PY := $(RGSD_REF_DIR)/chat_cases_py.json
REFS += $(CHAT_REF_PY)

$(CHAT_REF_PY): $(CHAT_REF) tests/ref/chat_ref_py.py
	@py=""; for p in python3 /usr/bin/python3; do \
		if command -v $$p >/dev/null 2>&1 && $$p -c 'import jinja2' 2>/dev/null; then py=$$p; break; fi; \
	done; \
	if [ -n "$$py" ] && [ -f $(CHAT_REF) ]; then \
		$$py tests/ref/chat_ref_py.py $(CHAT_REF) $@; \
	else \
		rm -f $@; echo "chat_ref_py: no python3 with jinja2 (optional second reference); skipped"; \
	fi
