/* test_safetensors.c — the safetensors reader and writer.
 *
 * References: the shared sample files (one per dtype, values -3..2, from the
 * safetensors-samples ReadMe), files written by an independent Python writer
 * (tests/ref/io_safetensors_ref.py: torch tensors -> bytes, its own header,
 * unpadded, shuffled layout) with torch's float32 values beside them, and
 * hand-built bad files. Values must match exactly (raw bytes, and f32 bits
 * after conversion); no tolerance. */
#include <cjson/cJSON.h>
#include <sys/stat.h>

#include "base/error.h"
#include "base/rng.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "test_util.h"
#include "nn/nn.h"

static char *scratch;

static int setup(void **state) {
    (void)state;
    scratch = test_tmpdir();
    return scratch ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    if (system(cmd) != 0) return -1;
    free(scratch);
    return 0;
}

/* ---- the shared samples: values -3..2 in each dtype */

static int64_t sample_value(const rg_tensor *t, int i) {
    const uint8_t *p = (const uint8_t *)t->data;
    switch (t->dtype) {
    case RG_U8: return p[i];
    case RG_I8: return (int8_t)p[i];
    case RG_U16: { uint16_t v; memcpy(&v, p + 2 * i, 2); return v; }
    case RG_I16: { int16_t v; memcpy(&v, p + 2 * i, 2); return v; }
    case RG_U32: { uint32_t v; memcpy(&v, p + 4 * i, 4); return v; }
    case RG_I32: { int32_t v; memcpy(&v, p + 4 * i, 4); return v; }
    default: fail_msg("not an integer dtype"); return 0;
    }
}

static void check_sample_tensor(const rg_tensor *t) {
    static const struct { const char *name; rg_dtype dtype; } kinds[] = {
        {"B", RG_U8}, {"H", RG_U16}, {"I", RG_U32}, {"b", RG_I8}, {"d", RG_F64},
        {"e", RG_F16}, {"f", RG_F32}, {"h", RG_I16}, {"i", RG_I32},
    };
    rg_dtype want = RG_DTYPE_INVALID;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        if (strcmp(kinds[k].name, t->name) == 0) want = kinds[k].dtype;
    assert_int_equal(t->dtype, want);
    assert_int_equal(t->ndim, 1);
    assert_int_equal(t->shape[0], 6);
    assert_int_equal(t->numel, 6);
    if (rg_dtype_is_float(t->dtype)) {
        float values[6];
        assert_int_equal(rg_tensor_to_f32(t, values, 6), 0);
        for (int i = 0; i < 6; i++) assert_true(values[i] == (float)(i - 3));
    } else {
        /* unsigned types hold -3..2 wrapped modulo 2^bits */
        int bits = (int)rg_dtype_size(t->dtype) * 8;
        for (int i = 0; i < 6; i++) {
            int64_t expected = i - 3;
            if (t->dtype == RG_U8 || t->dtype == RG_U16 || t->dtype == RG_U32)
                expected = (int64_t)((uint64_t)expected & ((1ull << bits) - 1));
            assert_int_equal(sample_value(t, i), expected);
        }
    }
}

/* Scratch files in loops: a plain write (no fsync, which would dominate). */
static void write_plain(const char *path, const void *data, size_t len) {
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static void test_shared_samples(void **state) {
    (void)state;
    const char *shared = test_shared_dir();
    if (!shared) {
        fprintf(stderr, "skipped: shared data directory absent\n");
        skip();
    }
    static const char *names[] = {"B", "H", "I", "b", "d", "e", "f", "h", "i"};
    char path[4096];
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        snprintf(path, sizeof path, "%s/data/safetensors-samples/%s.safetensors", shared, names[k]);
        SKIP_UNLESS_FILE(path, "safetensors samples");
        rg_st_file f;
        assert_int_equal(rg_st_open(&f, path), 0);
        assert_int_equal(f.n_tensors, 1);
        assert_string_equal(rg_st_metadata(&f, "test"), "a");
        const rg_tensor *t = rg_st_find(&f, names[k]);
        assert_non_null(t);
        check_sample_tensor(t);
        rg_st_close(&f);
    }
    snprintf(path, sizeof path, "%s/data/safetensors-samples/overall.safetensors", shared);
    rg_st_set set;
    assert_int_equal(rg_st_set_open(&set, path), 0);
    assert_int_equal(set.n_tensors, 9);
    for (int i = 0; i < set.n_tensors; i++) check_sample_tensor(set.tensors[i]);
    assert_null(rg_st_set_find(&set, "missing"));
    assert_null(rg_st_set_get(&set, "missing"));
    assert_non_null(strstr(rg_errmsg(), "missing"));
    assert_non_null(strstr(rg_errmsg(), "overall.safetensors"));
    rg_st_set_close(&set);
}

/* ---- files from the independent Python writer */

static cJSON *load_expected(void) {
    static char path[4096];
    snprintf(path, sizeof path, "%s/io_st/expected.json", test_ref_dir());
    SKIP_UNLESS_FILE(path, "Python safetensors reference (make refs)");
    char *text;
    size_t len;
    assert_int_equal(rg_read_file(path, &text, &len), 0);
    cJSON *root = cJSON_Parse(text);
    free(text);
    assert_non_null(root);
    return root;
}

static void check_against_expected(const rg_tensor *t, const cJSON *e) {
    assert_string_equal(rg_dtype_name(t->dtype), cJSON_GetObjectItem(e, "dtype")->valuestring);
    const cJSON *shape = cJSON_GetObjectItem(e, "shape");
    assert_int_equal(t->ndim, cJSON_GetArraySize(shape));
    for (int d = 0; d < t->ndim; d++)
        assert_int_equal(t->shape[d], cJSON_GetArrayItem(shape, d)->valueint);
    const char *hex = cJSON_GetObjectItem(e, "raw")->valuestring;
    assert_int_equal(strlen(hex), 2 * t->nbytes);
    for (size_t i = 0; i < t->nbytes; i++) {
        unsigned byte;
        sscanf(hex + 2 * i, "%2x", &byte);
        assert_int_equal(((const uint8_t *)t->data)[i], byte);
    }
    const cJSON *f32 = cJSON_GetObjectItem(e, "f32");
    if (f32) {
        float *values = malloc(((size_t)t->numel + 1) * sizeof(float));
        assert_int_equal(rg_tensor_to_f32(t, values, (size_t)t->numel), 0);
        assert_int_equal(cJSON_GetArraySize(f32), t->numel);
        int i = 0;
        for (const cJSON *v = f32->child; v; v = v->next, i++) {
            uint32_t want = (uint32_t)strtoul(v->valuestring, NULL, 16), have;
            memcpy(&have, &values[i], 4);
            assert_int_equal(have, want);
        }
        free(values);
    } else {
        float dummy;
        assert_int_equal(rg_tensor_to_f32(t, &dummy, (size_t)t->numel), -1);
    }
}

static void test_python_written(void **state) {
    (void)state;
    cJSON *expected = load_expected();
    char path[4096];
    snprintf(path, sizeof path, "%s/io_st/mixed.safetensors", test_ref_dir());
    rg_st_file f;
    assert_int_equal(rg_st_open(&f, path), 0);
    assert_string_equal(rg_st_metadata(&f, "format"), "pt");
    assert_string_equal(rg_st_metadata(&f, "note"), "h\xc3\xa9llo \"q\"");
    int seen = 0;
    for (const cJSON *e = expected->child; e; e = e->next) {
        if (strcmp(cJSON_GetObjectItem(e, "file")->valuestring, "mixed.safetensors") != 0) continue;
        const rg_tensor *t = rg_st_find(&f, e->string);
        assert_non_null(t);
        check_against_expected(t, e);
        seen++;
    }
    assert_int_equal(seen, f.n_tensors);
    const rg_tensor *scalar = rg_st_find(&f, "scalar");
    assert_int_equal(scalar->ndim, 0);
    assert_int_equal(scalar->numel, 1);
    const rg_tensor *empty = rg_st_find(&f, "empty");
    assert_int_equal(empty->numel, 0);
    assert_int_equal(empty->nbytes, 0);
    int64_t want_shape[2] = {5, 7}, wrong_shape[2] = {7, 5};
    assert_int_equal(rg_tensor_expect_shape(rg_st_find(&f, "model.embed.weight"), 2, want_shape), 0);
    assert_int_equal(rg_tensor_expect_shape(rg_st_find(&f, "model.embed.weight"), 2, wrong_shape), -1);
    assert_non_null(strstr(rg_errmsg(), "model.embed.weight: shape [5, 7], expected [7, 5]"));
    rg_st_close(&f);
    cJSON_Delete(expected);
}

static void test_python_sharded(void **state) {
    (void)state;
    cJSON *expected = load_expected();
    char path[4096];
    snprintf(path, sizeof path, "%s/io_st/sharded", test_ref_dir());
    rg_st_set set;
    assert_int_equal(rg_st_set_open(&set, path), 0);
    assert_int_equal(set.n_files, 2);
    int seen = 0;
    for (const cJSON *e = expected->child; e; e = e->next) {
        if (strncmp(cJSON_GetObjectItem(e, "file")->valuestring, "sharded/", 8) != 0) continue;
        const rg_tensor *t = rg_st_set_find(&set, e->string);
        assert_non_null(t);
        assert_non_null(strstr(t->path, cJSON_GetObjectItem(e, "file")->valuestring + 8));
        check_against_expected(t, e);
        uint16_t *bf16 = malloc((size_t)t->numel * 2 + 2);
        assert_int_equal(rg_tensor_to_bf16(t, bf16, (size_t)t->numel), 0);
        free(bf16);
        seen++;
    }
    assert_int_equal(seen, set.n_tensors);
    rg_st_set_close(&set);
    cJSON_Delete(expected);
}

/* ---- writer round trip */

static void test_write_round_trip(void **state) {
    (void)state;
    float f32[6] = {1.5f, -2.0f, 0.0f, 3.25f, -0.0f, 1e-30f};
    uint16_t bf16[4] = {0x3f80, 0xc040, 0x7f80, 0x0001};
    uint16_t f16[3] = {0x3c00, 0x7bff, 0x8001};
    int64_t i64[2] = {-5, INT64_MAX};
    uint8_t flags[3] = {1, 0, 1};
    double f64[1] = {0.1};
    rg_st_entry entries[] = {
        {.name = "z.bf16", .dtype = RG_BF16, .ndim = 2, .shape = {2, 2}, .data = bf16},
        {.name = "a.flags", .dtype = RG_BOOL, .ndim = 1, .shape = {3}, .data = flags},
        {.name = "m.f32", .dtype = RG_F32, .ndim = 2, .shape = {2, 3}, .data = f32},
        {.name = "h.f16", .dtype = RG_F16, .ndim = 1, .shape = {3}, .data = f16},
        {.name = "i.i64", .dtype = RG_I64, .ndim = 1, .shape = {2}, .data = i64},
        {.name = "s.scalar", .dtype = RG_F64, .ndim = 0, .data = f64},
        {.name = "e.empty", .dtype = RG_F32, .ndim = 2, .shape = {0, 4}, .data = NULL},
    };
    int n = (int)(sizeof entries / sizeof entries[0]);
    const char *metadata[] = {"format", "pt", "by", "rgsd", NULL};
    char *path = rg_path_join(scratch, "round.safetensors");
    char *again = rg_path_join(scratch, "again.safetensors");
    assert_int_equal(rg_st_write(path, entries, n, metadata), 0);
    assert_int_equal(rg_st_write(again, entries, n, metadata), 0);
    /* deterministic: same bytes twice */
    char *a, *b;
    size_t la, lb;
    assert_int_equal(rg_read_file(path, &a, &la), 0);
    assert_int_equal(rg_read_file(again, &b, &lb), 0);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    /* header padded with spaces to a multiple of 8 */
    uint64_t header_len;
    memcpy(&header_len, a, 8);
    assert_int_equal(header_len % 8, 0);
    assert_int_equal(a[8 + header_len - 1], a[8 + header_len - 1] == ' ' ? ' ' : '}');
    free(a);
    free(b);

    rg_st_file f;
    assert_int_equal(rg_st_open(&f, path), 0);
    assert_int_equal(f.n_tensors, n);
    assert_string_equal(rg_st_metadata(&f, "format"), "pt");
    assert_string_equal(rg_st_metadata(&f, "by"), "rgsd");
    for (int i = 0; i < n; i++) {
        const rg_tensor *t = rg_st_find(&f, entries[i].name);
        assert_non_null(t);
        assert_int_equal(t->dtype, entries[i].dtype);
        assert_int_equal(t->ndim, entries[i].ndim);
        for (int d = 0; d < t->ndim; d++) assert_int_equal(t->shape[d], entries[i].shape[d]);
        if (t->nbytes) assert_memory_equal(t->data, entries[i].data, t->nbytes);
        /* each tensor aligned to its element size in the file */
        assert_int_equal(((uintptr_t)t->data - (uintptr_t)f.map) % rg_dtype_size(t->dtype), 0);
    }
    rg_st_close(&f);

    /* from_f32: converted while writing, equal to the bulk conversions
     * (themselves checked against numpy/torch in test_dtype) */
    enum { BIG = 40000 }; /* more than one conversion chunk */
    float *master = malloc(BIG * sizeof(float));
    uint16_t *want_bf16 = malloc(BIG * 2), *want_f16 = malloc(BIG * 2);
    rg_rng rng;
    rg_rng_seed(&rng, 9);
    for (int i = 0; i < BIG; i++) master[i] = rg_rng_normal(&rng) * 10.0f;
    nn_f32_to_bf16_array(want_bf16, master, BIG);
    nn_f32_to_f16_array(want_f16, master, BIG);
    rg_st_entry converted[3] = {
        {.name = "as.bf16", .dtype = RG_BF16, .ndim = 2, .shape = {200, 200}, .from_f32 = master},
        {.name = "as.f16", .dtype = RG_F16, .ndim = 1, .shape = {BIG}, .from_f32 = master},
        {.name = "as.f32", .dtype = RG_F32, .ndim = 1, .shape = {BIG}, .from_f32 = master},
    };
    char *conv_path = rg_path_join(scratch, "converted.safetensors");
    assert_int_equal(rg_st_write(conv_path, converted, 3, metadata), 0);
    assert_int_equal(rg_st_open(&f, conv_path), 0);
    assert_memory_equal(rg_st_find(&f, "as.bf16")->data, want_bf16, BIG * 2);
    assert_memory_equal(rg_st_find(&f, "as.f16")->data, want_f16, BIG * 2);
    assert_memory_equal(rg_st_find(&f, "as.f32")->data, master, BIG * 4);
    rg_st_close(&f);
    rg_st_entry to_int = {.name = "bad", .dtype = RG_I32, .ndim = 1, .shape = {4}, .from_f32 = master};
    assert_int_equal(rg_st_write(conv_path, &to_int, 1, NULL), -1);
    assert_non_null(strstr(rg_errmsg(), "cannot convert f32 to I32"));
    free(conv_path);
    free(master);
    free(want_bf16);
    free(want_f16);

    /* no tensors at all: a valid, empty checkpoint */
    char *empty = rg_path_join(scratch, "empty.safetensors");
    assert_int_equal(rg_st_write(empty, NULL, 0, NULL), 0);
    assert_int_equal(rg_st_open(&f, empty), 0);
    assert_int_equal(f.n_tensors, 0);
    assert_int_equal(f.buffer_size, 0);
    rg_st_close(&f);
    free(empty);

    /* refused input leaves nothing behind, not even a temp file */
    char *bad = rg_path_join(scratch, "dup.safetensors");
    rg_st_entry dup[2] = {entries[2], entries[2]};
    assert_int_equal(rg_st_write(bad, dup, 2, NULL), -1);
    assert_non_null(strstr(rg_errmsg(), "m.f32 given twice"));
    assert_false(rg_file_exists(bad));
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -q tmp", scratch);
    assert_int_not_equal(system(cmd), 0);
    rg_st_entry q8 = {.name = "q", .dtype = RG_Q8_0, .ndim = 1, .shape = {32}, .data = f32};
    assert_int_equal(rg_st_write(bad, &q8, 1, NULL), -1);
    assert_false(rg_file_exists(bad));
    free(bad);
    free(path);
    free(again);
}

/* Our writer's output read by an independent Python reader (json + torch),
 * which checks the values itself. */
static void test_python_reads_ours(void **state) {
    (void)state;
    SKIP_UNLESS_FILE("/usr/bin/python3", "PyTorch interpreter");
    SKIP_UNLESS_FILE("tests/ref/io_st_check.py", "Python checker (run from the repo root)");
    enum { N = 24 };
    float f32[N];
    uint16_t bf16[N], f16[N];
    int32_t i32[N];
    for (int i = 0; i < N; i++) {
        f32[i] = (float)(i - 12) * 0.5f;
        bf16[i] = nn_f32_to_bf16(f32[i]);
        f16[i] = nn_f32_to_f16(f32[i]);
        i32[i] = (i - 12) * 1000;
    }
    rg_st_entry entries[] = {
        {.name = "w.f32", .dtype = RG_F32, .ndim = 2, .shape = {4, 6}, .data = f32},
        {.name = "w.bf16", .dtype = RG_BF16, .ndim = 3, .shape = {2, 3, 4}, .data = bf16},
        {.name = "w.f16", .dtype = RG_F16, .ndim = 1, .shape = {24}, .data = f16},
        {.name = "w.i32", .dtype = RG_I32, .ndim = 2, .shape = {6, 4}, .data = i32},
    };
    const char *metadata[] = {"format", "pt", NULL};
    char *path = rg_path_join(scratch, "ours.safetensors");
    assert_int_equal(rg_st_write(path, entries, 4, metadata), 0);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/ref/io_st_check.py '%s'", path);
    assert_int_equal(system(cmd), 0);
    free(path);
}

/* ---- bad input */

/* Writes 8-byte size + header + n_data bytes of data (0x11 each). */
static char *write_raw(const char *name, const char *header, size_t n_data, int64_t size_override) {
    char *path = rg_path_join(scratch, name);
    FILE *fp = fopen(path, "wb");
    uint64_t len = size_override >= 0 ? (uint64_t)size_override : strlen(header);
    fwrite(&len, 8, 1, fp);
    fwrite(header, 1, strlen(header), fp);
    for (size_t i = 0; i < n_data; i++) fputc(0x11, fp);
    fclose(fp);
    return path;
}

static void expect_open_error(const char *path, const char *fragment) {
    rg_st_file f;
    int status = rg_st_open(&f, path);
    if (status == 0) rg_st_close(&f);
    assert_int_equal(status, -1);
    const char *msg = rg_errmsg();
    if (!strstr(msg, path) || !strstr(msg, fragment))
        fail_msg("error \"%s\" should name %s and say \"%s\"", msg, path, fragment);
    assert_null(strchr(msg, '\n'));
}

static void test_bad_files(void **state) {
    (void)state;
    struct {
        const char *name, *header, *fragment;
        size_t n_data;
        int64_t size_override;
    } cases[] = {
        {"past_eof", "{}", "truncated", 0, 1000},
        {"huge_header", "{}", "exceeds", 0, INT64_MAX},
        {"bad_json", "{\"w\": {\"dtype\": \"F32\",", "not valid JSON", 0, -1},
        {"not_object", "[1, 2]", "not a JSON object", 0, -1},
        {"trailing", "{} x", "trailing", 0, -1},
        {"out_of_range", "{\"w\":{\"dtype\":\"F32\",\"shape\":[25],\"data_offsets\":[0,100]}}",
         "tensor w: data_offsets [0, 100] outside", 8, -1},
        {"reversed", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", "tensor w", 8, -1},
        {"overlap",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
         "tensor b: data [4, 12) overlaps tensor a", 12, -1},
        {"hole",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}",
         "tensor b: hole of 4 bytes", 20, -1},
        {"leading_hole", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}",
         "tensor a: hole of 2 bytes", 4, -1},
        {"after_last", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}",
         "3 bytes after the last tensor", 5, -1},
        {"wrong_size", "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}",
         "tensor w: 8 bytes in data_offsets, but F32 [3] needs 12", 8, -1},
        {"unknown_dtype", "{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}",
         "tensor w: unknown dtype \"F8_E4M3\"", 2, -1},
        {"q8_dtype", "{\"w\":{\"dtype\":\"Q8_0\",\"shape\":[32],\"data_offsets\":[0,34]}}",
         "unknown dtype", 34, -1},
        {"negative_dim", "{\"w\":{\"dtype\":\"U8\",\"shape\":[-2],\"data_offsets\":[0,2]}}",
         "tensor w: shape[0]", 2, -1},
        {"fraction_dim", "{\"w\":{\"dtype\":\"U8\",\"shape\":[1.5],\"data_offsets\":[0,2]}}",
         "tensor w: shape[0]", 2, -1},
        {"overflow_shape",
         "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4],\"data_offsets\":[0,2]}}",
         "tensor w: shape overflows", 2, -1},
        {"bytes_overflow",
         "{\"w\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904],\"data_offsets\":[0,2]}}",
         "tensor w", 2, -1},
        {"missing_offsets", "{\"w\":{\"dtype\":\"U8\",\"shape\":[2]}}", "tensor w: \"data_offsets\"", 2, -1},
        {"missing_dtype", "{\"w\":{\"shape\":[2],\"data_offsets\":[0,2]}}", "tensor w: missing \"dtype\"", 2, -1},
        {"duplicate",
         "{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
         "\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
         "tensor w appears twice", 2, -1},
        {"meta_number", "{\"__metadata__\":{\"n\":3}}", "__metadata__ value of \"n\"", 0, -1},
        {"too_many_dims", "{\"w\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}",
         "tensor w: 9 dimensions", 1, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s.safetensors", cases[i].name);
        char *path = write_raw(name, cases[i].header, cases[i].n_data, cases[i].size_override);
        expect_open_error(path, cases[i].fragment);
        free(path);
    }
    /* shorter than the 8-byte size field, and absent */
    char *tiny = rg_path_join(scratch, "tiny.safetensors");
    assert_int_equal(rg_write_file_atomic(tiny, "abc", 3), 0);
    expect_open_error(tiny, "truncated");
    free(tiny);
    char *absent = rg_path_join(scratch, "absent.safetensors");
    expect_open_error(absent, "cannot open");
    free(absent);
}

/* A valid file cut short at every length must fail cleanly (never crash). */
static void test_truncations(void **state) {
    (void)state;
    float values[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    rg_st_entry e[2] = {
        {.name = "a", .dtype = RG_F32, .ndim = 1, .shape = {4}, .data = values},
        {.name = "b", .dtype = RG_F32, .ndim = 1, .shape = {4}, .data = values + 4},
    };
    char *path = rg_path_join(scratch, "full.safetensors");
    assert_int_equal(rg_st_write(path, e, 2, NULL), 0);
    char *data;
    size_t len;
    assert_int_equal(rg_read_file(path, &data, &len), 0);
    char *cut = rg_path_join(scratch, "cut.safetensors");
    for (size_t n = 0; n < len; n++) {
        write_plain(cut, data, n);
        rg_st_file f;
        assert_int_equal(rg_st_open(&f, cut), -1);
        assert_non_null(strstr(rg_errmsg(), cut));
    }
    free(data);
    free(cut);
    free(path);
}

/* Random byte corruptions of a valid Python-written file: each either opens
 * (then every float tensor converts) or fails naming the file; never a crash
 * or an out-of-bounds read (this also runs under ASan). */
static void test_random_corruption(void **state) {
    (void)state;
    char src[4096];
    snprintf(src, sizeof src, "%s/io_st/mixed.safetensors", test_ref_dir());
    SKIP_UNLESS_FILE(src, "Python safetensors reference (make refs)");
    char *data;
    size_t len;
    assert_int_equal(rg_read_file(src, &data, &len), 0);
    uint64_t header_len;
    memcpy(&header_len, data, 8);
    char *bad = rg_path_join(scratch, "mutant.safetensors");
    rg_rng rng;
    rg_rng_seed(&rng, 11);
    int refused = 0;
    for (int round = 0; round < 2000; round++) {
        char *copy = malloc(len);
        memcpy(copy, data, len);
        int flips = 1 + (int)rg_rng_below(&rng, 3);
        for (int k = 0; k < flips; k++) {
            /* mostly digits and structure inside the header, sometimes anywhere */
            size_t at = rg_rng_below(&rng, 4) ? 8 + rg_rng_below(&rng, header_len) : rg_rng_below(&rng, len);
            static const char pool[] = "0123456789[]{},:\"-. ";
            copy[at] = rg_rng_below(&rng, 2) ? pool[rg_rng_below(&rng, sizeof pool - 1)]
                                             : (char)rg_rng_below(&rng, 256);
        }
        write_plain(bad, copy, len);
        free(copy);
        rg_st_file f;
        if (rg_st_open(&f, bad) == 0) {
            for (int i = 0; i < f.n_tensors; i++) {
                const rg_tensor *t = &f.tensors[i];
                if (!rg_dtype_is_float(t->dtype)) continue;
                float *values = malloc((size_t)t->numel * sizeof(float) + 4);
                assert_int_equal(rg_tensor_to_f32(t, values, (size_t)t->numel), 0);
                free(values);
            }
            rg_st_close(&f);
        } else {
            assert_non_null(strstr(rg_errmsg(), "mutant.safetensors"));
            refused++;
        }
    }
    assert_true(refused > 100);
    free(bad);
    free(data);
}

static void write_text(const char *dir, const char *name, const char *text) {
    char *path = rg_path_join(dir, name);
    assert_int_equal(rg_write_file_atomic(path, text, strlen(text)), 0);
    free(path);
}

static void test_bad_index(void **state) {
    (void)state;
    char *dir = rg_path_join(scratch, "ckpt");
    assert_int_equal(rg_mkdir_p(dir), 0);
    float values[4] = {1, 2, 3, 4};
    rg_st_entry e[2] = {
        {.name = "a", .dtype = RG_F32, .ndim = 1, .shape = {2}, .data = values},
        {.name = "b", .dtype = RG_F32, .ndim = 1, .shape = {2}, .data = values + 2},
    };
    char *shard1 = rg_path_join(dir, "s1.safetensors"), *shard2 = rg_path_join(dir, "s2.safetensors");
    assert_int_equal(rg_st_write(shard1, &e[0], 1, NULL), 0);
    assert_int_equal(rg_st_write(shard2, &e[1], 1, NULL), 0);
    rg_st_set set;

    write_text(dir, "model.safetensors.index.json",
               "{\"weight_map\": {\"a\": \"s1.safetensors\", \"b\": \"s2.safetensors\"}}");
    assert_int_equal(rg_st_set_open(&set, dir), 0);
    assert_int_equal(set.n_files, 2);
    float out[2];
    assert_int_equal(rg_tensor_to_f32(rg_st_set_get(&set, "b"), out, 2), 0);
    assert_true(out[0] == 3 && out[1] == 4);
    assert_int_equal(rg_tensor_to_f32(rg_st_set_get(&set, "b"), out, 1), -1);
    assert_non_null(strstr(rg_errmsg(), "tensor b: has 2 values, destination holds 1"));
    rg_st_set_close(&set);

    struct { const char *index, *fragment; } cases[] = {
        {"{\"weight_map\": {\"a\": \"s1.safetensors\", \"c\": \"s2.safetensors\", \"b\": \"s2.safetensors\"}}",
         "tensor c is listed in the index but missing from shard s2.safetensors"},
        {"{\"weight_map\": {\"a\": \"s1.safetensors\", \"b\": \"s3.safetensors\"}}",
         "s3.safetensors (holding tensor b) is missing"},
        {"{\"weight_map\": {\"a\": \"s1.safetensors\", \"b\": \"s1.safetensors\"}}",
         "tensor b is listed in the index but missing from shard s1.safetensors"},
        {"{\"weight_map\": {\"a\": \"../s1.safetensors\"}}", "plain file name"},
        {"{\"weight_map\": {\"a\": 3}}", "weight_map entry a"},
        {"{\"metadata\": {}}", "missing \"weight_map\""},
        {"{\"weight_map\": ", "not valid JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_text(dir, "model.safetensors.index.json", cases[i].index);
        int status = rg_st_set_open(&set, dir);
        if (status == 0) rg_st_set_close(&set);
        assert_int_equal(status, -1);
        if (!strstr(rg_errmsg(), cases[i].fragment) || !strstr(rg_errmsg(), "ckpt"))
            fail_msg("index case %zu: error \"%s\" lacks \"%s\"", i, rg_errmsg(), cases[i].fragment);
    }
    /* a shard holding a tensor the index does not list */
    float extra_values[2] = {5, 6};
    rg_st_entry extra[2] = {e[1], {.name = "c", .dtype = RG_F32, .ndim = 1, .shape = {2}, .data = extra_values}};
    assert_int_equal(rg_st_write(shard2, extra, 2, NULL), 0);
    write_text(dir, "model.safetensors.index.json",
               "{\"weight_map\": {\"a\": \"s1.safetensors\", \"b\": \"s2.safetensors\"}}");
    assert_int_equal(rg_st_set_open(&set, dir), -1);
    assert_non_null(strstr(rg_errmsg(), "tensor c in"));
    assert_non_null(strstr(rg_errmsg(), "s2.safetensors is not listed in the index"));
    /* a tensor in two shards */
    rg_st_entry both[2] = {e[0], e[1]};
    assert_int_equal(rg_st_write(shard2, both, 2, NULL), 0);
    assert_int_equal(rg_st_set_open(&set, dir), -1);
    assert_non_null(strstr(rg_errmsg(), "tensor a is in both"));
    /* empty directory */
    char *empty = rg_path_join(scratch, "emptydir");
    assert_int_equal(rg_mkdir_p(empty), 0);
    assert_int_equal(rg_st_set_open(&set, empty), -1);
    assert_non_null(strstr(rg_errmsg(), "no model.safetensors"));
    free(empty);
    free(shard1);
    free(shard2);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_samples),
        cmocka_unit_test(test_python_written),
        cmocka_unit_test(test_python_sharded),
        cmocka_unit_test(test_write_round_trip),
        cmocka_unit_test(test_python_reads_ours),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_random_corruption),
        cmocka_unit_test(test_bad_index),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
