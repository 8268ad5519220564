/* test_dtype.c — dtype table and float conversions against numpy (f16) and
 * PyTorch (bf16): build/ref/io_dtype/ from tests/ref/io_dtype_ref.py.
 * Tolerance: zero mismatches, bit for bit, except that for NaN inputs we only
 * require a NaN of the same sign (numpy keeps signalling NaNs signalling,
 * torch canonicalises bf16 NaN to 0x7FC0; we quieten and keep the payload's
 * top bits, as F16C does). The scalar and AVX2 paths must agree bit for bit
 * on every input, NaNs included. */
#include <math.h>

#include "base/error.h"
#include "io/dtype.h"
#include "test_util.h"
#include "nn/nn.h"

static void *read_ref(const char *name, size_t *len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/io_dtype/%s", test_ref_dir(), name);
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    void *data = malloc((size_t)size);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)size, fp), (size_t)size);
    fclose(fp);
    *len = (size_t)size;
    return data;
}

#define REQUIRE_REF(name, len)                                                          \
    read_ref(name, len);                                                                \
    do {                                                                                \
        char p_[4096];                                                                  \
        snprintf(p_, sizeof p_, "%s/io_dtype/%s", test_ref_dir(), name);                \
        SKIP_UNLESS_FILE(p_, "numpy/torch dtype reference (make refs)");                \
    } while (0)

static uint32_t bits32(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static int f16_is_nan(uint16_t h) { return (h & 0x7c00) == 0x7c00 && (h & 0x3ff); }
static int bf16_is_nan(uint16_t h) { return (h & 0x7f80) == 0x7f80 && (h & 0x7f); }

static void test_table(void **state) {
    (void)state;
    static const struct { const char *name; rg_dtype dtype; size_t size; } table[] = {
        {"F64", RG_F64, 8}, {"F32", RG_F32, 4}, {"F16", RG_F16, 2}, {"BF16", RG_BF16, 2},
        {"I64", RG_I64, 8}, {"I32", RG_I32, 4}, {"I16", RG_I16, 2}, {"I8", RG_I8, 1},
        {"U64", RG_U64, 8}, {"U32", RG_U32, 4}, {"U16", RG_U16, 2}, {"U8", RG_U8, 1},
        {"BOOL", RG_BOOL, 1}, {"Q8_0", RG_Q8_0, 34},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        assert_int_equal(rg_dtype_from_name(table[i].name), table[i].dtype);
        assert_string_equal(rg_dtype_name(table[i].dtype), table[i].name);
        assert_int_equal(rg_dtype_size(table[i].dtype), table[i].size);
    }
    assert_int_equal(rg_dtype_from_name("f32"), RG_DTYPE_INVALID); /* case-sensitive */
    assert_int_equal(rg_dtype_from_name("F8_E4M3"), RG_DTYPE_INVALID);
    int ok;
    assert_int_equal(rg_dtype_bytes(RG_Q8_0, 64, &ok), 68);
    assert_int_equal(ok, 1);
    rg_dtype_bytes(RG_Q8_0, 33, &ok);
    assert_int_equal(ok, 0);
    rg_dtype_bytes(RG_F64, UINT64_MAX / 4, &ok);
    assert_int_equal(ok, 0);
}

/* Every f16 bit pattern, scalar and bulk, against numpy. */
static void test_f16_to_f32_all(void **state) {
    (void)state;
    size_t len = 0;
    uint32_t *expected = REQUIRE_REF("f16_to_f32.bin", &len);
    assert_int_equal(len, 65536 * 4);
    uint16_t *h = malloc(65536 * 2);
    float *bulk = malloc(65536 * 4);
    for (int i = 0; i < 65536; i++) h[i] = (uint16_t)i;
    nn_f16_to_f32_array(bulk, h, 65536);
    int mismatches = 0;
    for (int i = 0; i < 65536; i++) {
        float scalar = nn_f16_to_f32(h[i]);
        if (bits32(scalar) != bits32(bulk[i])) mismatches++;
        if (f16_is_nan(h[i])) {
            if (!isnan(scalar) || (bits32(scalar) >> 31) != (expected[i] >> 31)) mismatches++;
        } else if (bits32(scalar) != expected[i]) {
            mismatches++;
        }
    }
    assert_int_equal(mismatches, 0);
    free(expected);
    free(h);
    free(bulk);
}

static void test_bf16_to_f32_all(void **state) {
    (void)state;
    size_t len = 0;
    uint32_t *expected = REQUIRE_REF("bf16_to_f32.bin", &len);
    assert_int_equal(len, 65536 * 4);
    uint16_t *h = malloc(65536 * 2);
    float *bulk = malloc(65536 * 4);
    for (int i = 0; i < 65536; i++) h[i] = (uint16_t)i;
    nn_bf16_to_f32_array(bulk, h, 65536);
    int mismatches = 0;
    for (int i = 0; i < 65536; i++) {
        uint32_t scalar = bits32(nn_bf16_to_f32(h[i]));
        if (scalar != bits32(bulk[i])) mismatches++;
        if (bf16_is_nan(h[i]) ? !isnan(nn_bf16_to_f32(h[i])) : scalar != expected[i]) mismatches++;
    }
    assert_int_equal(mismatches, 0);
    free(expected);
    free(h);
    free(bulk);
}

typedef struct __attribute__((packed)) {
    uint32_t f32;
    uint16_t f16;
    uint16_t bf16;
} f32_case;

/* ~718k f32 inputs (all ties, edges, random) -> f16 (numpy) and bf16 (torch). */
static void test_f32_to_half_cases(void **state) {
    (void)state;
    size_t len = 0;
    f32_case *cases = REQUIRE_REF("f32_cases.bin", &len);
    size_t n = len / sizeof(f32_case);
    assert_true(n > 600000);
    float *input = malloc(n * 4);
    uint16_t *f16 = malloc(n * 2), *bf16 = malloc(n * 2);
    for (size_t i = 0; i < n; i++) memcpy(&input[i], &cases[i].f32, 4);
    nn_f32_to_f16_array(f16, input, n);
    nn_f32_to_bf16_array(bf16, input, n);
    size_t f16_bad = 0, bf16_bad = 0, path_bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint16_t s16 = nn_f32_to_f16(input[i]), sbf = nn_f32_to_bf16(input[i]);
        if (s16 != f16[i] || sbf != bf16[i]) path_bad++;
        if (isnan(input[i])) {
            uint16_t sign = (uint16_t)((cases[i].f32 >> 16) & 0x8000);
            if (!f16_is_nan(s16) || (s16 & 0x8000) != sign) f16_bad++;
            if (!bf16_is_nan(sbf) || (sbf & 0x8000) != sign) bf16_bad++;
        } else {
            if (s16 != cases[i].f16) {
                if (f16_bad < 5) fprintf(stderr, "f16: %08x -> %04x, numpy %04x\n", cases[i].f32, s16, cases[i].f16);
                f16_bad++;
            }
            if (sbf != cases[i].bf16) {
                if (bf16_bad < 5) fprintf(stderr, "bf16: %08x -> %04x, torch %04x\n", cases[i].f32, sbf, cases[i].bf16);
                bf16_bad++;
            }
        }
    }
    assert_int_equal(f16_bad, 0);
    assert_int_equal(bf16_bad, 0);
    assert_int_equal(path_bad, 0);
    free(cases);
    free(input);
    free(f16);
    free(bf16);
}

/* Hand-checked values, so the test stands without the reference files. */
static void test_known_values(void **state) {
    (void)state;
    assert_int_equal(nn_f32_to_f16(1.0f), 0x3c00);
    assert_int_equal(nn_f32_to_f16(-2.0f), 0xc000);
    assert_int_equal(nn_f32_to_f16(65504.0f), 0x7bff);
    assert_int_equal(nn_f32_to_f16(65520.0f), 0x7c00); /* tie rounds to even = inf */
    assert_int_equal(nn_f32_to_f16(0x1p-24f), 0x0001);
    assert_int_equal(nn_f32_to_f16(0x1p-25f), 0x0000); /* tie to even = 0 */
    assert_int_equal(nn_f32_to_f16(0x1.8p-24f), 0x0002); /* 1.5 ulp: tie to even = 2 */
    assert_true(nn_f16_to_f32(0x0001) == 0x1p-24f);
    assert_true(nn_f16_to_f32(0x7bff) == 65504.0f);
    assert_int_equal(nn_f32_to_bf16(1.0f), 0x3f80);
    assert_int_equal(nn_f32_to_bf16(0x1.01p0f), 0x3f80);  /* exact tie, even stays */
    assert_int_equal(nn_f32_to_bf16(0x1.03p0f), 0x3f82);  /* exact tie, odd rounds up */
    assert_true(nn_bf16_to_f32(0xc040) == -3.0f);
}

/* rg_convert_to_f32/bf16 from misaligned bytes, every float dtype. */
static void test_convert_unaligned(void **state) {
    (void)state;
    enum { N = 37 };
    float values[N];
    for (int i = 0; i < N; i++) values[i] = (float)(i - 18) * 0.25f; /* exact in every type */
    uint8_t raw[N * 8 + 1];
    float out[N];
    uint16_t out16[N];
    /* F16 at an odd address */
    for (int i = 0; i < N; i++) {
        uint16_t h = nn_f32_to_f16(values[i]);
        memcpy(raw + 1 + 2 * i, &h, 2);
    }
    assert_int_equal(rg_convert_to_f32(RG_F16, raw + 1, out, N), 0);
    for (int i = 0; i < N; i++) assert_true(out[i] == values[i]);
    assert_int_equal(rg_convert_to_bf16(RG_F16, raw + 1, out16, N), 0);
    for (int i = 0; i < N; i++) assert_true(nn_bf16_to_f32(out16[i]) == values[i]);
    /* F64 */
    for (int i = 0; i < N; i++) {
        double d = values[i];
        memcpy(raw + 1 + 8 * i, &d, 8);
    }
    assert_int_equal(rg_convert_to_f32(RG_F64, raw + 1, out, N), 0);
    for (int i = 0; i < N; i++) assert_true(out[i] == values[i]);
    /* BF16 and F32 */
    for (int i = 0; i < N; i++) {
        uint16_t b = nn_f32_to_bf16(values[i]);
        memcpy(raw + 1 + 2 * i, &b, 2);
    }
    assert_int_equal(rg_convert_to_f32(RG_BF16, raw + 1, out, N), 0);
    for (int i = 0; i < N; i++) assert_true(out[i] == values[i]);
    memcpy(raw + 3, values, sizeof values);
    assert_int_equal(rg_convert_to_f32(RG_F32, raw + 3, out, N), 0);
    assert_memory_equal(out, values, sizeof values);
    assert_int_equal(rg_convert_to_bf16(RG_F32, raw + 3, out16, N), 0);
    for (int i = 0; i < N; i++) assert_true(nn_bf16_to_f32(out16[i]) == values[i]);
    /* integers are refused with the dtype named */
    assert_int_equal(rg_convert_to_f32(RG_I32, raw, out, 1), -1);
    assert_non_null(strstr(rg_errmsg(), "I32"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_f16_to_f32_all),
        cmocka_unit_test(test_bf16_to_f32_all),
        cmocka_unit_test(test_f32_to_half_cases),
        cmocka_unit_test(test_convert_unaligned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
