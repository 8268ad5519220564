# The rubric world's tokenizer reference: build/rgsd writes a small world,
# then @huggingface/tokenizers encodes (and @huggingface/jinja renders) its
# texts; tests/unit/test_world.c compares those ids with rgsd's own. Without
# the npm packages the reference is not written and that test skips.
WORLD_REF_DIR := $(RGSD_REF_DIR)/world
REFS += $(WORLD_REF_DIR)/tokens.json

$(WORLD_REF_DIR)/tokens.json: $(B)/rgsd tests/ref/world_tokens.mjs
	@mkdir -p $(WORLD_REF_DIR)
	@$(B)/rgsd -q world gen --seed 7 --out $(WORLD_REF_DIR)/gen --train 60 --heldout 30 --sft 300 2>/dev/null
	@if [ -d tests/ref/node_modules/@huggingface/tokenizers ] && [ -d tests/ref/node_modules/@huggingface/jinja ]; then \
		node tests/ref/world_tokens.mjs $(WORLD_REF_DIR)/gen > $@.tmp && mv $@.tmp $@; \
	else \
		echo "world: tests/ref/node_modules lacks @huggingface/tokenizers or jinja; tokenizer reference not written"; \
	fi
