# Parquet: files written by independent writers (DuckDB with every codec and
# both page versions, hyparquet-writer) and the rows their own readers see,
# for tests/unit/test_parquet.c. Without node or the npm packages the rule
# writes nothing and the oracle tests skip with a reason.
PARQUET_REF := $(RGSD_REF_DIR)/parquet/manifest.txt
REFS += $(PARQUET_REF)

$(PARQUET_REF): tests/ref/parquet_ref.mjs tests/ref/package-lock.json
	@mkdir -p $(dir $@)
	@if command -v node >/dev/null 2>&1 && [ -d $(RGSD_NODE_DIR)/node_modules/@duckdb/node-api ] && \
	    [ -d $(RGSD_NODE_DIR)/node_modules/hyparquet-writer ]; then \
		echo "ref: Parquet files from DuckDB and hyparquet-writer"; \
		node tests/ref/parquet_ref.mjs $(dir $@) >/dev/null || { echo "parquet_ref.mjs failed"; rm -f $@; }; \
	else echo "ref: node, @duckdb/node-api or hyparquet-writer missing; Parquet oracle tests will skip"; fi
