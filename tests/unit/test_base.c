/* test_base.c — error messages, RNG reproducibility, atomic writes. */
#include "test_util.h"

#include <sys/stat.h>

#include "base/error.h"
#include "base/rng.h"
#include "io/file.h"

static void error_prefix_keeps_message(void **state) {
    (void)state;
    assert_int_equal(rg_error("field '%s' missing", "prompt"), RG_ERR);
    rg_error_prefix("data.jsonl:%d", 7);
    assert_string_equal(rg_errmsg(), "data.jsonl:7: field 'prompt' missing");
}

/* Reference values of xoshiro256** seeded by splitmix64(0), computed
 * independently in Python from the published algorithms (Blackman & Vigna):
 * see tests/ref/xoshiro.py. */
/* The kind of an error (bad usage or not) travels with it, never read from its text. */
static void usage_error_kind_travels_with_the_message(void **state) {
    (void)state;
    assert_int_equal(rg_usage_error("rgsd x: unknown flag '--y' (see rgsd x --help)"), RG_ERR);
    assert_true(rg_error_is_usage());
    rg_error_prefix("context");
    assert_true(rg_error_is_usage()); /* a prefix keeps the kind */
    rg_error("cannot open 'see --help.jsonl'");
    assert_false(rg_error_is_usage()); /* an ordinary error, whatever its text */
    rg_usage_error("bad");
    rg_error_clear();
    assert_false(rg_error_is_usage());
}

static void rng_matches_reference_sequence(void **state) {
    (void)state;
    rg_rng rng;
    rg_rng_seed(&rng, 0);
    const uint64_t expected[3] = {0x99ec5f36cb75f2b4ULL, 0xbf6e1f784956452aULL, 0x1a5f849d4933e6e0ULL};
    for (int i = 0; i < 3; i++) assert_true(rg_rng_u64(&rng) == expected[i]);
}

static void rng_below_stays_in_range(void **state) {
    (void)state;
    rg_rng rng;
    rg_rng_seed(&rng, 42);
    int counts[5] = {0};
    for (int i = 0; i < 5000; i++) counts[rg_rng_below(&rng, 5)]++;
    for (int i = 0; i < 5; i++) assert_in_range(counts[i], 850, 1150); /* ~1000 ± 5 sigma */
}

static void atomic_write_replaces_whole_file(void **state) {
    (void)state;
    char *dir = test_tmpdir();
    char *path = rg_path_join(dir, "out.txt");
    assert_int_equal(rg_write_file_atomic(path, "first", 5), RG_OK);
    assert_int_equal(rg_write_file_atomic(path, "second", 6), RG_OK);
    char *data;
    size_t len;
    assert_int_equal(rg_read_file(path, &data, &len), RG_OK);
    assert_int_equal(len, 6);
    assert_string_equal(data, "second");
    free(data);
    /* An aborted write leaves the old file and no temp file. */
    rg_atomic_file f;
    assert_int_equal(rg_atomic_open(&f, path), RG_OK);
    fputs("half", f.fp);
    char *temp = rg_strdup(f.temp_path);
    rg_atomic_abort(&f);
    assert_false(rg_file_exists(temp));
    assert_int_equal(rg_read_file(path, &data, &len), RG_OK);
    assert_string_equal(data, "second");
    free(data);
    free(temp);
    unlink(path);
    rmdir(dir);
    free(path);
    free(dir);
}

static void read_missing_file_names_it(void **state) {
    (void)state;
    char *data;
    assert_int_equal(rg_read_file("/nonexistent/x.json", &data, NULL), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "/nonexistent/x.json"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(error_prefix_keeps_message),
        cmocka_unit_test(usage_error_kind_travels_with_the_message),
        cmocka_unit_test(rng_matches_reference_sequence),
        cmocka_unit_test(rng_below_stays_in_range),
        cmocka_unit_test(atomic_write_replaces_whole_file),
        cmocka_unit_test(read_missing_file_names_it),
    };
    return cmocka_run_group_tests_name("base", tests, NULL, NULL);
}
