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
