/* test_gguf.c — the GGUF reader against files from an independent Python
 * writer (tests/ref/io_gguf_ref.py, written from ggml's docs/gguf.md).
 * F32/F16/BF16/I32 data: raw bytes identical and f32 values bit-exact;
 * Q8_0: our dequantisation equals numpy's float32(d) * float32(q) bit for
 * bit; metadata of every value type equal to what Python wrote; every
 * corrupt variant refused with a one-line error naming the file and the
 * field or tensor; every truncation of a valid file refused. */
#include <cjson/cJSON.h>
#include <math.h>

#include "base/error.h"
#include "base/rng.h"
#include "io/file.h"
#include "io/gguf.h"
#include "test_util.h"

static cJSON *expected;
static char dir[4096];

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "%s/io_gguf", test_ref_dir());
    char path[4200];
    snprintf(path, sizeof path, "%s/expected.json", dir);
    char *text;
    size_t len;
    if (rg_read_file(path, &text, &len) == 0) {
        expected = cJSON_Parse(text);
        free(text);
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    cJSON_Delete(expected);
    return 0;
}

#define REQUIRE_REF()                                                                          \
    do {                                                                                       \
        if (!expected) {                                                                       \
            fprintf(stderr, "skipped: %s/expected.json absent (Python GGUF reference)\n", dir); \
            skip();                                                                            \
        }                                                                                      \
    } while (0)

static const char *ref_path(const char *name) {
    static char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static void check_tensors(const rg_gguf_file *g, const cJSON *want) {
    int seen = 0;
    for (const cJSON *e = want->child; e; e = e->next, seen++) {
        const rg_tensor *t = rg_gguf_find_tensor(g, e->string);
        if (!t) fail_msg("tensor %s missing", e->string);
        const char *kind = cJSON_GetObjectItem(e, "kind")->valuestring;
        if (strcmp(kind, "I32") == 0) assert_int_equal(t->dtype, RG_I32);
        else assert_string_equal(rg_dtype_name(t->dtype), kind);
        const cJSON *shape = cJSON_GetObjectItem(e, "shape");
        assert_int_equal(t->ndim, cJSON_GetArraySize(shape));
        for (int d = 0; d < t->ndim; d++) assert_int_equal(t->shape[d], cJSON_GetArrayItem(shape, d)->valueint);
        const char *hex = cJSON_GetObjectItem(e, "raw")->valuestring;
        assert_int_equal(strlen(hex), 2 * t->nbytes);
        for (size_t i = 0; i < t->nbytes; i++) {
            unsigned byte;
            sscanf(hex + 2 * i, "%2x", &byte);
            if (((const uint8_t *)t->data)[i] != byte) fail_msg("%s: byte %zu differs", t->name, i);
        }
        /* every tensor starts on the file's alignment */
        assert_int_equal(((const uint8_t *)t->data - (const uint8_t *)g->map) % g->alignment, 0);
        const cJSON *f32 = cJSON_GetObjectItem(e, "f32");
        if (!f32) continue;
        float *values = malloc((size_t)t->numel * sizeof(float));
        assert_int_equal(rg_tensor_to_f32(t, values, (size_t)t->numel), 0);
        int i = 0;
        for (const cJSON *v = f32->child; v; v = v->next, i++) {
            uint32_t want_bits = (uint32_t)strtoul(v->valuestring, NULL, 16), have;
            memcpy(&have, &values[i], 4);
            if (have != want_bits) fail_msg("%s[%d]: %08x, numpy %08x", t->name, i, have, want_bits);
        }
        assert_int_equal(i, t->numel);
        free(values);
    }
    assert_int_equal(seen, g->n_tensors);
}

/* Scratch files in loops: a plain write (no fsync, which would dominate). */
static void write_plain(const char *path, const void *data, size_t len) {
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static void test_model(void **state) {
    (void)state;
    REQUIRE_REF();
    rg_gguf_file g;
    assert_int_equal(rg_gguf_open(&g, ref_path("model.gguf")), 0);
    const cJSON *model = cJSON_GetObjectItem(expected, "model");
    assert_int_equal(g.version, 3);
    assert_int_equal(g.alignment, 64);
    assert_int_equal(g.data_offset % 64, 0);
    assert_int_equal(g.n_kvs, cJSON_GetObjectItem(model, "n_kv")->valueint);
    check_tensors(&g, cJSON_GetObjectItem(model, "tensors"));
    /* Q8_0 shape: ne = [64, 3] -> row-major [3, 64] */
    const rg_tensor *q = rg_gguf_find_tensor(&g, "blk.1.attn_k.weight");
    assert_int_equal(q->ndim, 2);
    assert_int_equal(q->shape[0], 3);
    assert_int_equal(q->shape[1], 64);
    assert_int_equal(q->nbytes, 6 * 34);
    assert_null(rg_gguf_find_tensor(&g, "nope"));

    /* scalars of every type, as Python wrote them */
    int64_t i;
    double f;
    assert_string_equal(rg_gguf_get_string(&g, "general.architecture"), "llama");
    assert_string_equal(rg_gguf_get_string(&g, "general.name"), "tiny \xc3\xbcnicode");
    struct { const char *key; int64_t value; } ints[] = {
        {"test.u8", 200}, {"test.i8", -100}, {"test.u16", 60000}, {"test.i16", -30000},
        {"test.u32", 4000000000LL}, {"test.i32", -2000000000LL}, {"test.bool", 1},
        {"test.i64", -(1LL << 62)}, {"llama.block_count", 2}, {"general.alignment", 64},
    };
    for (size_t k = 0; k < sizeof ints / sizeof ints[0]; k++) {
        assert_int_equal(rg_gguf_get_int(&g, ints[k].key, &i), 0);
        assert_int_equal(i, ints[k].value);
    }
    const rg_gguf_kv *u64 = rg_gguf_find(&g, "test.u64");
    assert_int_equal(u64->type, RG_GGUF_UINT64);
    assert_true(u64->scalar.u64 == (1ULL << 63) + 5);
    assert_int_equal(rg_gguf_get_int(&g, "test.u64", &i), -1); /* does not fit int64 */
    assert_non_null(strstr(rg_errmsg(), "test.u64"));
    assert_int_equal(rg_gguf_get_float(&g, "test.f32", &f), 0);
    assert_true(f == (double)0.1f);
    assert_int_equal(rg_gguf_get_float(&g, "test.f64", &f), 0);
    assert_true(f == 1.0 / 3.0);
    assert_int_equal(rg_gguf_get_float(&g, "test.u8", &f), -1);
    assert_non_null(strstr(rg_errmsg(), "metadata test.u8 is uint8, expected a float"));
    assert_int_equal(rg_gguf_get_int(&g, "absent.key", &i), -1);
    assert_non_null(strstr(rg_errmsg(), "model.gguf: metadata absent.key is missing"));
    assert_null(rg_gguf_get_string(&g, "test.i8"));

    /* arrays: strings (tokenizer vocabulary), floats, ints, bools, nested, empty */
    const rg_gguf_kv *tokens = rg_gguf_find(&g, "tokenizer.ggml.tokens");
    const cJSON *want_tokens = cJSON_GetObjectItem(model, "tokens");
    assert_int_equal(tokens->array_type, RG_GGUF_STRING);
    assert_int_equal(tokens->array_len, cJSON_GetArraySize(want_tokens));
    for (uint64_t k = 0; k < tokens->array_len; k++) {
        rg_gguf_str s = rg_gguf_array_string(tokens, k);
        const char *w = cJSON_GetArrayItem(want_tokens, (int)k)->valuestring;
        assert_int_equal(s.len, strlen(w));
        assert_memory_equal(s.ptr, w, s.len);
    }
    const rg_gguf_kv *scores = rg_gguf_find(&g, "tokenizer.ggml.scores");
    const cJSON *want_scores = cJSON_GetObjectItem(model, "scores");
    for (uint64_t k = 0; k < scores->array_len; k++) {
        assert_int_equal(rg_gguf_array_float(scores, k, &f), 0);
        assert_true(f == cJSON_GetArrayItem(want_scores, (int)k)->valuedouble);
    }
    assert_int_equal(rg_gguf_array_float(scores, scores->array_len, &f), -1);
    const rg_gguf_kv *types = rg_gguf_find(&g, "tokenizer.ggml.token_type");
    const cJSON *want_types = cJSON_GetObjectItem(model, "token_type");
    for (uint64_t k = 0; k < types->array_len; k++) {
        assert_int_equal(rg_gguf_array_int(types, k, &i), 0);
        assert_int_equal(i, cJSON_GetArrayItem(want_types, (int)k)->valueint);
    }
    assert_int_equal(rg_gguf_array_float(types, 0, &f), -1);
    const rg_gguf_kv *flags = rg_gguf_find(&g, "test.flags");
    int64_t want_flags[3] = {1, 0, 1};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(rg_gguf_array_int(flags, (uint64_t)k, &i), 0);
        assert_int_equal(i, want_flags[k]);
    }
    const rg_gguf_kv *nested = rg_gguf_find(&g, "test.nested");
    assert_int_equal(nested->array_type, RG_GGUF_ARRAY);
    assert_int_equal(nested->array_len, 2);
    assert_int_equal(rg_gguf_array_int(nested, 0, &i), -1);
    assert_int_equal(rg_gguf_find(&g, "test.empty")->array_len, 0);
    rg_gguf_close(&g);
}

static void test_v2(void **state) {
    (void)state;
    REQUIRE_REF();
    rg_gguf_file g;
    assert_int_equal(rg_gguf_open(&g, ref_path("v2.gguf")), 0);
    assert_int_equal(g.version, 2);
    assert_int_equal(g.alignment, 32); /* the default when general.alignment is absent */
    check_tensors(&g, cJSON_GetObjectItem(cJSON_GetObjectItem(expected, "v2"), "tensors"));
    uint16_t bf16[6];
    assert_int_equal(rg_tensor_to_bf16(rg_gguf_find_tensor(&g, "a"), bf16, 6), 0);
    rg_gguf_close(&g);
}

static void test_bad_files(void **state) {
    (void)state;
    REQUIRE_REF();
    const cJSON *bad = cJSON_GetObjectItem(expected, "bad");
    int n = 0;
    for (const cJSON *b = bad->child; b; b = b->next, n++) {
        const char *path = ref_path(b->string);
        rg_gguf_file g;
        int status = rg_gguf_open(&g, path);
        if (status == 0) {
            rg_gguf_close(&g);
            fail_msg("%s opened", b->string);
        }
        const char *msg = rg_errmsg();
        if (!strstr(msg, b->string) || !strstr(msg, b->valuestring) || strchr(msg, '\n'))
            fail_msg("%s: error \"%s\" lacks \"%s\"", b->string, msg, b->valuestring);
    }
    assert_true(n >= 20);
}

/* Every prefix of a valid file that cuts into its data is refused, and the
 * prefixes that only drop the zero padding after the last tensor still open
 * (that padding is optional); nothing crashes. */
static void test_truncations(void **state) {
    (void)state;
    REQUIRE_REF();
    char *data;
    size_t len;
    assert_int_equal(rg_read_file(ref_path("v2.gguf"), &data, &len), 0);
    rg_gguf_file full;
    assert_int_equal(rg_gguf_open(&full, ref_path("v2.gguf")), 0);
    size_t data_end = 0;
    for (int i = 0; i < full.n_tensors; i++) {
        size_t end = (size_t)((const uint8_t *)full.tensors[i].data - (const uint8_t *)full.map) + full.tensors[i].nbytes;
        if (end > data_end) data_end = end;
    }
    rg_gguf_close(&full);
    assert_true(data_end < len); /* the writer padded after the last tensor */
    char *scratch = test_tmpdir();
    char *cut = rg_path_join(scratch, "cut.gguf");
    for (size_t n = 0; n < len; n++) {
        write_plain(cut, data, n);
        rg_gguf_file g;
        int status = rg_gguf_open(&g, cut);
        if (n >= data_end) {
            assert_int_equal(status, 0);
            rg_gguf_close(&g);
            continue;
        }
        if (status == 0) fail_msg("prefix of %zu of %zu bytes opened", n, len);
        assert_non_null(strstr(rg_errmsg(), "cut.gguf"));
    }
    unlink(cut);
    rmdir(scratch);
    free(cut);
    free(scratch);
    free(data);
}

/* Random byte corruptions of a valid file: each either opens (then every
 * float tensor converts, touching all its bytes) or fails naming the file;
 * under ASan this is the no-crash, no-overread check. */
static void test_random_corruption(void **state) {
    (void)state;
    REQUIRE_REF();
    char *data;
    size_t len;
    assert_int_equal(rg_read_file(ref_path("model.gguf"), &data, &len), 0);
    char *scratch = test_tmpdir();
    char *bad = rg_path_join(scratch, "mutant.gguf");
    rg_rng rng;
    rg_rng_seed(&rng, 77);
    int opened = 0, refused = 0;
    for (int round = 0; round < 2000; round++) {
        char *copy = malloc(len);
        memcpy(copy, data, len);
        int flips = 1 + (int)rg_rng_below(&rng, 4);
        /* bias towards the header and tensor infos, where the structure is */
        size_t span = rg_rng_below(&rng, 2) ? len : 1200;
        for (int k = 0; k < flips; k++) copy[rg_rng_below(&rng, span)] = (char)rg_rng_below(&rng, 256);
        write_plain(bad, copy, len);
        free(copy);
        rg_gguf_file g;
        if (rg_gguf_open(&g, bad) == 0) {
            for (int i = 0; i < g.n_tensors; i++) {
                const rg_tensor *t = &g.tensors[i];
                if (!rg_dtype_is_float(t->dtype)) continue;
                float *values = malloc((size_t)t->numel * sizeof(float) + 4);
                assert_int_equal(rg_tensor_to_f32(t, values, (size_t)t->numel), 0);
                free(values);
            }
            rg_gguf_close(&g);
            opened++;
        } else {
            assert_non_null(strstr(rg_errmsg(), "mutant.gguf"));
            refused++;
        }
    }
    assert_true(refused > 100);
    unlink(bad);
    rmdir(scratch);
    free(bad);
    free(scratch);
    free(data);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model),
        cmocka_unit_test(test_v2),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_random_corruption),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
