# Reference ids for the tokenizer tests, from @huggingface/tokenizers (node),
# on the real Qwen3 / Llama 3.1 tokenizer.json files and HealthBench messages.
# Without node the rule writes nothing and the tests skip with a reason.
TOK_REF := $(RGSD_REF_DIR)/tokenizer_cases.json
REFS += $(TOK_REF)

$(TOK_REF): tests/ref/tokenizer_ref.js $(wildcard $(RGSD_SHARED)/data/healthbench/healthbench_val_500.jsonl)
	@mkdir -p $(dir $@)
	@if command -v node >/dev/null 2>&1 && [ -d $(RGSD_NODE_DIR)/node_modules/@huggingface/tokenizers ]; then \
		echo "ref: tokenizer ids from @huggingface/tokenizers"; \
		node tests/ref/tokenizer_ref.js $@ $(RGSD_SHARED)/data/healthbench/healthbench_val_500.jsonl; \
	else echo "ref: node or @huggingface/tokenizers missing; tokenizer reference tests will skip"; fi
