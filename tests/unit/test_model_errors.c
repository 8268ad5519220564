/* test_model_errors.c — bad model input gives one clear error, never a crash
 * (this binary also runs under ASan+UBSan): bad config fields, truncated or
 * inconsistent safetensors, missing tensors, wrong shapes and dtypes, prompts
 * longer than the context, token ids outside the vocabulary. Each case checks
 * that loading fails and that the message names the field, file or tensor. */
#include "test_util.h"

#include <sys/stat.h>

#include "base/error.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "model/config.h"
#include "model/infer.h"
#include "model/model.h"

static const char *GOOD_CONFIG =
    "{\"architectures\": [\"Qwen2ForCausalLM\"], \"hidden_size\": 8, \"intermediate_size\": 16,"
    " \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"num_key_value_heads\": 1, \"vocab_size\": 10,"
    " \"max_position_embeddings\": 6, \"rms_norm_eps\": 1e-6, \"rope_theta\": 10000.0,"
    " \"tie_word_embeddings\": true, \"eos_token_id\": [2, 3]}";

/* Parses GOOD_CONFIG with `from` replaced by `to`; expects failure naming `needle`. */
static void expect_config_error(const char *from, const char *to, const char *needle) {
    char text[2048];
    const char *at = strstr(GOOD_CONFIG, from);
    assert_non_null(at);
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - GOOD_CONFIG), GOOD_CONFIG, to, at + strlen(from));
    rg_model_config cfg;
    assert_int_equal(rg_config_parse(text, "config.json", &cfg), RG_ERR);
    if (!strstr(rg_errmsg(), needle)) {
        fprintf(stderr, "error '%s' does not name '%s'\n", rg_errmsg(), needle);
        fail();
    }
}

static void test_config_good(void **state) {
    (void)state;
    rg_model_config cfg;
    assert_int_equal(rg_config_parse(GOOD_CONFIG, "config.json", &cfg), RG_OK);
    assert_int_equal(cfg.arch, RG_ARCH_QWEN2);
    assert_int_equal(cfg.head_dim, 4);
    assert_int_equal(cfg.qkv_bias, 1);
    assert_int_equal(cfg.tie_word_embeddings, 1);
    assert_int_equal(cfg.n_eos, 2);
    assert_true(rg_config_is_eos(&cfg, 3));
    assert_false(rg_config_is_eos(&cfg, 4));
}

static void test_config_errors(void **state) {
    (void)state;
    expect_config_error("Qwen2ForCausalLM", "GPT2LMHeadModel", "architectures");
    expect_config_error("\"hidden_size\": 8,", "", "hidden_size");
    expect_config_error("\"num_key_value_heads\": 1", "\"num_key_value_heads\": 3", "num_key_value_heads");
    expect_config_error("\"vocab_size\": 10", "\"vocab_size\": -1", "vocab_size");
    expect_config_error("\"rope_theta\": 10000.0", "\"rope_theta\": \"big\"", "rope_theta");
    expect_config_error("\"rope_theta\": 10000.0",
                        "\"rope_theta\": 1e4, \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4}",
                        "rope_scaling");
    expect_config_error("\"rope_theta\": 10000.0", "\"rope_theta\": 1e4, \"rope_scaling\": {\"rope_type\": \"llama3\"}",
                        "factor");
    expect_config_error("\"rms_norm_eps\": 1e-6", "\"rms_norm_eps\": 1e-6, \"hidden_act\": \"gelu\"", "hidden_act");
    expect_config_error("\"rms_norm_eps\": 1e-6", "\"rms_norm_eps\": 1e-6, \"use_sliding_window\": true",
                        "use_sliding_window");
    expect_config_error("[2, 3]", "[2, 30]", "eos_token_id");
    expect_config_error("\"rms_norm_eps\": 1e-6", "\"rms_norm_eps\": 1e-6, \"torch_dtype\": \"int8\"", "torch_dtype");
    rg_model_config cfg;
    assert_int_equal(rg_config_parse("{\"architectures\": [", "x/config.json", &cfg), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "x/config.json"));
}

/* ---- files ---------------------------------------------------------------- */

/* A model folder with GOOD_CONFIG (edited) and a safetensors file whose
 * header and byte buffer are given. */
static char *make_folder(const char *config, const char *header, size_t n_data_bytes) {
    char *dir = test_tmpdir();
    char *p = rg_path_join(dir, "config.json");
    assert_int_equal(rg_write_file_atomic(p, config, strlen(config)), RG_OK);
    free(p);
    p = rg_path_join(dir, "model.safetensors");
    FILE *f = fopen(p, "wb");
    uint64_t n = strlen(header);
    fwrite(&n, 8, 1, f);
    fwrite(header, 1, n, f);
    for (size_t i = 0; i < n_data_bytes; i++) fputc(0, f);
    fclose(f);
    free(p);
    return dir;
}

static void remove_folder(char *dir) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

static void expect_load_error(char *dir, const char *needle) {
    rg_model model;
    assert_int_equal(rg_model_load(&model, dir, RG_WEIGHTS_F32), RG_ERR);
    fprintf(stderr, "  error as reported: %s\n", rg_errmsg());
    if (!strstr(rg_errmsg(), needle)) {
        fprintf(stderr, "error '%s' does not name '%s'\n", rg_errmsg(), needle);
        fail();
    }
    remove_folder(dir);
}

/* The tensors of GOOD_CONFIG (C=8, I=16, 1 layer, 2 heads of 4, 1 KV head, V=10, tied), as a
 * header with consecutive F32 offsets; `skip` leaves one out, `bad` changes one entry. */
static char *good_header(const char *skip, const char *bad_name, const char *bad_entry, size_t *n_bytes) {
    struct { const char *name; int rows, cols; } t[] = {
        {"model.embed_tokens.weight", 10, 8}, {"model.layers.0.input_layernorm.weight", 8, 0},
        {"model.layers.0.self_attn.q_proj.weight", 8, 8}, {"model.layers.0.self_attn.k_proj.weight", 4, 8},
        {"model.layers.0.self_attn.v_proj.weight", 4, 8}, {"model.layers.0.self_attn.q_proj.bias", 8, 0},
        {"model.layers.0.self_attn.k_proj.bias", 4, 0}, {"model.layers.0.self_attn.v_proj.bias", 4, 0},
        {"model.layers.0.self_attn.o_proj.weight", 8, 8}, {"model.layers.0.post_attention_layernorm.weight", 8, 0},
        {"model.layers.0.mlp.gate_proj.weight", 16, 8}, {"model.layers.0.mlp.up_proj.weight", 16, 8},
        {"model.layers.0.mlp.down_proj.weight", 8, 16}, {"model.norm.weight", 8, 0},
    };
    static char header[8192];
    size_t off = 0, len = 0;
    len += (size_t)snprintf(header + len, sizeof header - len, "{");
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (skip && strcmp(skip, t[i].name) == 0) continue;
        size_t bytes = (size_t)t[i].rows * (t[i].cols ? t[i].cols : 1) * 4;
        if (bad_name && strcmp(bad_name, t[i].name) == 0) {
            /* bad_entry may use this tensor's own offsets: two %zu */
            char entry[512];
            snprintf(entry, sizeof entry, bad_entry, off, off + bytes);
            len += (size_t)snprintf(header + len, sizeof header - len, "%s\"%s\":%s", off ? "," : "", t[i].name,
                                    entry);
        }
        else if (t[i].cols)
            len += (size_t)snprintf(header + len, sizeof header - len,
                                    "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]}",
                                    off ? "," : "", t[i].name, t[i].rows, t[i].cols, off, off + bytes);
        else
            len += (size_t)snprintf(header + len, sizeof header - len,
                                    "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%d],\"data_offsets\":[%zu,%zu]}",
                                    off ? "," : "", t[i].name, t[i].rows, off, off + bytes);
        off += bytes;
    }
    snprintf(header + len, sizeof header - len, "}");
    *n_bytes = off;
    return header;
}

static void test_good_folder_loads(void **state) {
    (void)state;
    size_t n;
    char *h = good_header(NULL, NULL, NULL, &n);
    char *dir = make_folder(GOOD_CONFIG, h, n);
    rg_model model;
    if (rg_model_load(&model, dir, RG_WEIGHTS_F32) != RG_OK) fprintf(stderr, "%s\n", rg_errmsg());
    assert_non_null(model.params);
    /* prompt longer than the context (max_position_embeddings 6) */
    rg_infer_state st;
    assert_int_equal(rg_infer_init(&st, &model, 1, 100, 8), RG_OK);
    assert_int_equal(st.max_seq, 6);
    int32_t ids[7] = {1, 2, 3, 4, 5, 6, 7};
    float logits[10];
    assert_int_equal(rg_infer_prefill(&st, &model, 0, ids, 7, logits, 0), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "longer than the context"));
    assert_int_equal(rg_infer_prefill(&st, &model, 0, ids, 6, logits, 0), RG_OK);
    const int32_t *next = ids; int one = 1, slot = 0;
    assert_int_equal(rg_infer_step(&st, &model, 1, &slot, &next, &one, logits, 0), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "longer than the context"));
    rg_infer_reset(&st, 0);
    int32_t bad_id = 10;
    const int32_t *bad = &bad_id;
    assert_int_equal(rg_infer_step(&st, &model, 1, &slot, &bad, &one, logits, 0), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "outside the vocabulary"));
    rg_infer_free(&st);
    rg_model_free(&model);
    remove_folder(dir);
}

static void test_missing_tensor(void **state) {
    (void)state;
    size_t n;
    char *h = good_header("model.layers.0.mlp.up_proj.weight", NULL, NULL, &n);
    expect_load_error(make_folder(GOOD_CONFIG, h, n), "model.layers.0.mlp.up_proj.weight");
}

static void test_wrong_shape(void **state) {
    (void)state;
    size_t n;
    /* same byte count, transposed shape */
    char *h = good_header(NULL, "model.layers.0.mlp.down_proj.weight",
                          "{\"dtype\":\"F32\",\"shape\":[16,8],\"data_offsets\":[%zu,%zu]}", &n);
    expect_load_error(make_folder(GOOD_CONFIG, h, n), "model.layers.0.mlp.down_proj.weight");
}

static void test_wrong_dtype(void **state) {
    (void)state;
    size_t n;
    char *h = good_header(NULL, "model.norm.weight", "{\"dtype\":\"I32\",\"shape\":[8],\"data_offsets\":[%zu,%zu]}",
                          &n);
    expect_load_error(make_folder(GOOD_CONFIG, h, n), "model.norm.weight");
}

static void test_offsets_out_of_range(void **state) {
    (void)state;
    size_t n;
    char *h = good_header(NULL, "model.norm.weight",
                          "{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[%zu,99999999]}", &n);
    expect_load_error(make_folder(GOOD_CONFIG, h, n), "model.safetensors");
}

static void test_offsets_overlap(void **state) {
    (void)state;
    size_t n;
    char *h = good_header(NULL, "model.norm.weight", "{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32]}", &n);
    expect_load_error(make_folder(GOOD_CONFIG, h, n - 32), "model.safetensors");
}

static void test_truncated_file(void **state) {
    (void)state;
    size_t n;
    char *h = good_header(NULL, NULL, NULL, &n);
    expect_load_error(make_folder(GOOD_CONFIG, h, n / 2), "model.safetensors");
}

static void test_truncated_header(void **state) {
    (void)state;
    char *dir = make_folder(GOOD_CONFIG, "", 0);
    char *p = rg_path_join(dir, "model.safetensors");
    assert_int_equal(truncate(p, 5), 0);
    free(p);
    expect_load_error(dir, "model.safetensors");
}

static void test_unknown_architecture_folder(void **state) {
    (void)state;
    size_t n;
    char *h = good_header(NULL, NULL, NULL, &n);
    char config[2048];
    snprintf(config, sizeof config, "%s", GOOD_CONFIG);
    memcpy(strstr(config, "Qwen2ForCausalLM"), "MambaForCausalLM", 16);
    expect_load_error(make_folder(config, h, n), "architectures");
}

static void test_not_a_model(void **state) {
    (void)state;
    rg_model model;
    assert_int_equal(rg_model_load(&model, "/nonexistent/model", RG_WEIGHTS_F32), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "/nonexistent/model"));
    char *dir = test_tmpdir();
    assert_int_equal(rg_model_load(&model, dir, RG_WEIGHTS_F32), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "config.json"));
    remove_folder(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_good),          cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_good_folder_loads),    cmocka_unit_test(test_missing_tensor),
        cmocka_unit_test(test_wrong_shape),          cmocka_unit_test(test_wrong_dtype),
        cmocka_unit_test(test_offsets_out_of_range), cmocka_unit_test(test_offsets_overlap),
        cmocka_unit_test(test_truncated_file),       cmocka_unit_test(test_truncated_header),
        cmocka_unit_test(test_unknown_architecture_folder), cmocka_unit_test(test_not_a_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
