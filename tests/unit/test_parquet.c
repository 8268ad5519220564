/* test_parquet.c — the Parquet reader against independent oracles.
 *
 * - Files written by DuckDB (every codec, page v1 and v2, nulls at every
 *   nesting level, empty lists, dictionary fallback, several row groups,
 *   UTF-8 edge cases) and by hyparquet-writer: rgsd's rows must equal the
 *   rows the oracle's own reader returns (build/ref/parquet, from
 *   tests/ref/parquet_ref.mjs), value for value; numbers compare exactly.
 * - The verl HealthBench split: its rows equal the JSONL export row for row,
 *   and (once object-valued tags are normalised) the same examples as the
 *   HealthBench JSONL.
 * - Bad input, crafted byte by byte: one clear error naming the file, the
 *   row group and the column, never a crash or a huge allocation.
 */
#include "test_util.h"

#include <math.h>

#include "base/error.h"
#include "io/jsonl.h"
#include "io/parquet.h"
#include "rubric/rubric.h"

/* ---- helpers ------------------------------------------------------------- */

/* Exact JSON equality (cJSON_Compare allows an epsilon on numbers). */
static int json_equal(const cJSON *a, const cJSON *b) {
    if ((a->type & 0xff) != (b->type & 0xff)) return 0;
    if (cJSON_IsNumber(a)) return a->valuedouble == b->valuedouble;
    if (cJSON_IsString(a)) return strcmp(a->valuestring, b->valuestring) == 0;
    if (cJSON_IsArray(a)) {
        const cJSON *x = a->child, *y = b->child;
        for (; x && y; x = x->next, y = y->next)
            if (!json_equal(x, y)) return 0;
        return !x && !y;
    }
    if (cJSON_IsObject(a)) {
        if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b)) return 0;
        for (const cJSON *x = a->child; x; x = x->next) {
            const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string);
            if (!y || !json_equal(x, y)) return 0;
        }
        return 1;
    }
    return 1; /* null, true, false: the type said it */
}

static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    *len = fread(buf, 1, (size_t)n, f);
    fclose(f);
    return buf;
}

/* Compares every row of a Parquet reader with a JSONL file; returns rows. */
static long compare_with_jsonl(rg_parquet *pq, const char *expected) {
    rg_jsonl *in;
    assert_int_equal(rg_jsonl_open(&in, expected), RG_OK);
    long rows = 0;
    for (;;) {
        cJSON *got = NULL, *want = NULL;
        long index = -1;
        int g = rg_parquet_next_row(pq, &got, &index);
        if (g < 0) fail_msg("%s", rg_errmsg());
        int w = rg_jsonl_next(in, &want);
        assert_true(w >= 0);
        if (g == 0 || w == 0) {
            if (g != w) fail_msg("%s: rgsd has %s rows than the oracle (%ld)", expected, g ? "more" : "fewer", rows);
            break;
        }
        assert_int_equal(index, rows);
        if (!json_equal(got, want)) {
            char *a = cJSON_PrintUnformatted(got), *b = cJSON_PrintUnformatted(want);
            fail_msg("%s: row %ld differs\n rgsd:   %.600s\n oracle: %.600s", expected, rows, a, b);
        }
        cJSON_Delete(got);
        cJSON_Delete(want);
        rows++;
    }
    rg_jsonl_close(in);
    return rows;
}

/* ---- oracle files ----------------------------------------------------------- */

static void rows_equal_the_oracles_rows(void **state) {
    (void)state;
    char manifest[4200], dir[4000];
    snprintf(dir, sizeof dir, "%s/parquet", test_ref_dir());
    snprintf(manifest, sizeof manifest, "%s/manifest.txt", dir);
    SKIP_UNLESS_FILE(manifest, "Parquet oracle files (node, @duckdb/node-api, hyparquet-writer)");
    FILE *f = fopen(manifest, "r");
    char line[1024];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        char name[256];
        if (sscanf(line, "%255s", name) != 1) continue;
        char pqpath[4600], jpath[4600];
        snprintf(pqpath, sizeof pqpath, "%s/%s.parquet", dir, name);
        snprintf(jpath, sizeof jpath, "%s/%s.expected.jsonl", dir, name);
        /* From the file, and from the same bytes in memory. */
        rg_parquet *pq;
        if (rg_parquet_open(&pq, pqpath)) fail_msg("%s", rg_errmsg());
        long rows = compare_with_jsonl(pq, jpath);
        assert_int_equal(rows, rg_parquet_num_rows(pq));
        rg_parquet_close(pq);
        size_t len;
        uint8_t *bytes = slurp(pqpath, &len);
        if (rg_parquet_open_mem(&pq, bytes, len, pqpath)) fail_msg("%s", rg_errmsg());
        assert_int_equal(compare_with_jsonl(pq, jpath), rows);
        rg_parquet_close(pq);
        free(bytes);
        printf("  parquet oracle: %s", line);
        cases++;
    }
    fclose(f);
    assert_true(cases >= 15);
}

/* The normaliser sees a Parquet row as it sees a JSONL line: a null criterion
 * is reported with the file, the row (from 1) and the field. */
static void rubric_errors_name_the_row(void **state) {
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/parquet/verl_bad_criterion.parquet", test_ref_dir());
    SKIP_UNLESS_FILE(path, "Parquet oracle files");
    rg_dataset ds;
    assert_int_equal(rg_rubric_load_all(path, NULL, &ds), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "verl_bad_criterion.parquet: row 3: reward_model.rubrics[0].criterion"));
    rg_rubric_options skip = {.skip_bad = 1};
    assert_int_equal(rg_rubric_load_all(path, &skip, &ds), RG_OK);
    assert_int_equal(ds.count, 3);
    assert_int_equal(ds.skipped, 1);
    rg_dataset_free(&ds);
}

/* ---- the real verl file ------------------------------------------------------ */

static void verl_healthbench_rows_equal_its_jsonl(void **state) {
    (void)state;
    const char *shared = test_shared_dir();
    if (!shared) skip();
    char pqpath[4096], jpath[4096];
    snprintf(pqpath, sizeof pqpath, "%s/data/verl/healthbench_val.parquet", shared);
    snprintf(jpath, sizeof jpath, "%s/data/verl/healthbench_val.verl.jsonl", shared);
    SKIP_UNLESS_FILE(pqpath, "verl HealthBench Parquet");
    SKIP_UNLESS_FILE(jpath, "verl HealthBench JSONL");
    rg_parquet *pq;
    if (rg_parquet_open(&pq, pqpath)) fail_msg("%s", rg_errmsg());
    assert_int_equal(compare_with_jsonl(pq, jpath), 500);
    rg_parquet_close(pq);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The same examples as the HealthBench JSONL (messages, criteria, weights,
 * polarity, criterion tags as sets; ids and example tags differ by format).
 * Object-valued tags ({axis, cluster, level}) read as "key:value" strings,
 * null values left out, as the JSONL has them. */
static void verl_healthbench_loads_the_same_examples(void **state) {
    (void)state;
    const char *shared = test_shared_dir();
    if (!shared) skip();
    char pqpath[4096], jpath[4096];
    snprintf(pqpath, sizeof pqpath, "%s/data/verl/healthbench_val.parquet", shared);
    snprintf(jpath, sizeof jpath, "%s/data/healthbench/healthbench_val_500.jsonl", shared);
    SKIP_UNLESS_FILE(pqpath, "verl HealthBench Parquet");
    SKIP_UNLESS_FILE(jpath, "HealthBench JSONL");
    rg_dataset a, b;
    if (rg_rubric_load_all(pqpath, NULL, &a) != RG_OK) fail_msg("%s", rg_errmsg());
    assert_int_equal(rg_rubric_load_all(jpath, NULL, &b), RG_OK);
    assert_int_equal(a.count, b.count);
    for (size_t i = 0; i < a.count; i++) {
        const rg_example *x = &a.examples[i], *y = &b.examples[i];
        assert_int_equal(x->nmessages, y->nmessages);
        for (size_t m = 0; m < x->nmessages; m++) {
            assert_int_equal(x->messages[m].role, y->messages[m].role);
            assert_string_equal(x->messages[m].content, y->messages[m].content);
        }
        assert_int_equal(x->ncriteria, y->ncriteria);
        for (size_t c = 0; c < x->ncriteria; c++) {
            const rg_criterion *p = &x->rubric[c], *q = &y->rubric[c];
            assert_string_equal(p->text, q->text);
            assert_true(p->weight == q->weight);
            assert_int_equal(p->polarity, q->polarity);
            assert_int_equal(p->ntags, q->ntags);
            qsort(p->tags, p->ntags, sizeof *p->tags, cmp_str);
            qsort(q->tags, q->ntags, sizeof *q->tags, cmp_str);
            for (size_t t = 0; t < p->ntags; t++) assert_string_equal(p->tags[t], q->tags[t]);
        }
    }
    rg_dataset_free(&a);
    rg_dataset_free(&b);
}

/* ---- crafted files ------------------------------------------------------------ */

/* A Thrift compact writer, just enough to build a file byte by byte. */
typedef struct {
    uint8_t b[4096];
    size_t n;
    int16_t last, stack[16];
    int sp;
} tw;

static void tw_byte(tw *w, uint8_t v) { w->b[w->n++] = v; }
static void tw_varint(tw *w, uint64_t v) {
    while (v >= 0x80) {
        tw_byte(w, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    tw_byte(w, (uint8_t)v);
}
static void tw_field(tw *w, int id, int type) {
    tw_byte(w, (uint8_t)((id - w->last) << 4 | type)); /* ids increase by 1..15 here */
    w->last = (int16_t)id;
}
static void tw_int(tw *w, int id, int type, int64_t v) {
    tw_field(w, id, type);
    tw_varint(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}
static void tw_bin(tw *w, int id, const char *s) {
    tw_field(w, id, 8);
    tw_varint(w, strlen(s));
    memcpy(w->b + w->n, s, strlen(s));
    w->n += strlen(s);
}
static void tw_begin(tw *w) {
    w->stack[w->sp++] = w->last;
    w->last = 0;
}
static void tw_struct(tw *w, int id) {
    tw_field(w, id, 12);
    tw_begin(w);
}
static void tw_end(tw *w) {
    tw_byte(w, 0);
    w->last = w->stack[--w->sp];
}
static void tw_list(tw *w, int id, int n, int type) {
    tw_field(w, id, 9);
    tw_byte(w, (uint8_t)(n << 4 | type));
}

typedef struct {
    int schema_type;   /* physical type in the schema */
    int chunk_type;    /* physical type in the column chunk's metadata */
    int codec;
    int64_t page_compressed, page_uncompressed; /* -1: the true sizes */
    int64_t footer_len;                         /* -1: the true length */
    const uint8_t *data;
    size_t ndata;
    int nvalues;
} craft;

/* PAR1 | page header | values | footer | length | PAR1, one required column "x". */
static size_t build_file(const craft *c, uint8_t *out) {
    size_t n = 0;
    memcpy(out, "PAR1", 4);
    n = 4;
    tw h = {0};
    tw_begin(&h);
    tw_int(&h, 1, 5, 0); /* DATA_PAGE */
    tw_int(&h, 2, 5, c->page_uncompressed >= 0 ? c->page_uncompressed : (int64_t)c->ndata);
    tw_int(&h, 3, 5, c->page_compressed >= 0 ? c->page_compressed : (int64_t)c->ndata);
    tw_struct(&h, 5);
    tw_int(&h, 1, 5, c->nvalues);
    tw_int(&h, 2, 5, 0);
    tw_int(&h, 3, 5, 3);
    tw_int(&h, 4, 5, 3);
    tw_end(&h);
    tw_end(&h);
    memcpy(out + n, h.b, h.n);
    n += h.n;
    memcpy(out + n, c->data, c->ndata);
    n += c->ndata;
    size_t chunk_len = h.n + c->ndata;
    tw f = {0};
    tw_begin(&f);
    tw_int(&f, 1, 5, 1);
    tw_list(&f, 2, 2, 12);
    tw_begin(&f);
    tw_bin(&f, 4, "schema");
    tw_int(&f, 5, 5, 1);
    tw_end(&f);
    tw_begin(&f);
    tw_int(&f, 1, 5, c->schema_type);
    tw_int(&f, 3, 5, 0);
    tw_bin(&f, 4, "x");
    if (c->schema_type == 6) tw_int(&f, 6, 5, 0); /* UTF8 */
    tw_end(&f);
    tw_int(&f, 3, 6, c->nvalues);
    tw_list(&f, 4, 1, 12);
    tw_begin(&f); /* RowGroup */
    tw_list(&f, 1, 1, 12);
    tw_begin(&f); /* ColumnChunk */
    tw_int(&f, 2, 6, 4);
    tw_struct(&f, 3); /* ColumnMetaData */
    tw_int(&f, 1, 5, c->chunk_type);
    tw_list(&f, 2, 1, 5);
    tw_varint(&f, 0);
    tw_list(&f, 3, 1, 8);
    tw_varint(&f, 1);
    tw_byte(&f, 'x');
    tw_int(&f, 4, 5, c->codec);
    tw_int(&f, 5, 6, c->nvalues);
    tw_int(&f, 6, 6, (int64_t)chunk_len);
    tw_int(&f, 7, 6, (int64_t)chunk_len);
    tw_int(&f, 9, 6, 4);
    tw_end(&f);
    tw_end(&f);
    tw_int(&f, 2, 6, (int64_t)chunk_len);
    tw_int(&f, 3, 6, c->nvalues);
    tw_end(&f);
    tw_end(&f);
    memcpy(out + n, f.b, f.n);
    n += f.n;
    uint32_t fl = c->footer_len >= 0 ? (uint32_t)c->footer_len : (uint32_t)f.n;
    for (int i = 0; i < 4; i++) out[n++] = (uint8_t)(fl >> (8 * i));
    memcpy(out + n, "PAR1", 4);
    return n + 4;
}

static const uint8_t INT32_DATA[] = {1, 0, 0, 0, 2, 0, 0, 0, 0xfd, 0xff, 0xff, 0xff};
static craft good_craft(void) {
    return (craft){1, 1, 0, -1, -1, -1, INT32_DATA, sizeof INT32_DATA, 3};
}

/* Reads every row; returns RG_OK or RG_ERR with the message in rg_errmsg(). */
static int read_all(const uint8_t *bytes, size_t len, const char *name, long *rows) {
    rg_parquet *pq;
    *rows = 0;
    if (rg_parquet_open_mem(&pq, bytes, len, name)) return RG_ERR;
    cJSON *row;
    int got;
    while ((got = rg_parquet_next_row(pq, &row, NULL)) == 1) {
        cJSON_Delete(row);
        (*rows)++;
    }
    rg_parquet_close(pq);
    return got < 0 ? RG_ERR : RG_OK;
}

static void expect_error(const craft *c, const char *what, const char *needle, int names_column) {
    uint8_t buf[8192];
    size_t len = build_file(c, buf);
    long rows;
    rg_error_clear();
    if (read_all(buf, len, "crafted.parquet", &rows) == RG_OK) fail_msg("%s: read without an error", what);
    const char *m = rg_errmsg();
    printf("  %s -> %s\n", what, m);
    assert_null(strchr(m, '\n'));
    assert_non_null(strstr(m, "crafted.parquet"));
    if (names_column) {
        assert_non_null(strstr(m, "row group 0"));
        assert_non_null(strstr(m, "column x"));
    }
    if (!strstr(m, needle)) fail_msg("%s: message lacks \"%s\": %s", what, needle, m);
}

static void crafted_file_reads(void **state) {
    (void)state;
    uint8_t buf[8192];
    craft c = good_craft();
    size_t len = build_file(&c, buf);
    rg_parquet *pq;
    if (rg_parquet_open_mem(&pq, buf, len, "crafted.parquet")) fail_msg("%s", rg_errmsg());
    int want[] = {1, 2, -3};
    for (int i = 0; i < 3; i++) {
        cJSON *row;
        long index;
        assert_int_equal(rg_parquet_next_row(pq, &row, &index), 1);
        assert_int_equal(index, i);
        assert_true(cJSON_GetObjectItem(row, "x")->valuedouble == want[i]);
        cJSON_Delete(row);
    }
    cJSON *row;
    assert_int_equal(rg_parquet_next_row(pq, &row, NULL), 0);
    rg_parquet_close(pq);
}

static void bad_input_is_one_clear_error(void **state) {
    (void)state;
    craft c = good_craft();
    c.page_compressed = 0x7fffffff;
    expect_error(&c, "page header pointing past the end", "runs past the end of the column chunk", 1);

    c = good_craft();
    c.codec = 3;
    c.page_uncompressed = 12;
    expect_error(&c, "unsupported codec", "LZO is not supported", 1);

    c = good_craft();
    c.codec = 1;
    c.page_uncompressed = 0x7fffffff;
    expect_error(&c, "2 GB uncompressed page length", "refused", 1);

    c = good_craft();
    c.footer_len = 0x7fffffff;
    expect_error(&c, "2 GB footer length", "footer length 2147483647 does not fit", 0);

    static const uint8_t huge_string[] = {0xff, 0xff, 0xff, 0x7f, 'a', 'b', 'c', 'd'};
    c = good_craft();
    c.schema_type = c.chunk_type = 6;
    c.data = huge_string;
    c.ndata = sizeof huge_string;
    c.nvalues = 1;
    expect_error(&c, "2 GB string length", "length 2147483647", 1);

    static const uint8_t bad_utf8[] = {2, 0, 0, 0, 0xc3, 0x28};
    c.data = bad_utf8;
    c.ndata = sizeof bad_utf8;
    expect_error(&c, "invalid UTF-8", "not valid UTF-8", 1);

    c = good_craft();
    c.chunk_type = 2;
    expect_error(&c, "column of the wrong type", "differs from the schema", 1);

    c = good_craft();
    c.schema_type = c.chunk_type = 3; /* INT96 */
    expect_error(&c, "unsupported column type", "type INT96 is not supported", 0);

    c = good_craft();
    c.nvalues = 1000000; /* the page holds 3 */
    expect_error(&c, "value count beyond the page", "", 1);

    /* Truncated and mislabelled files. */
    uint8_t buf[8192];
    c = good_craft();
    size_t len = build_file(&c, buf);
    long rows;
    assert_int_equal(read_all(buf, len - 20, "crafted.parquet", &rows), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "truncated Parquet file"));
    memcpy(buf + len - 20, buf + len - 8, 8); /* the tail survives, the footer does not */
    assert_int_equal(read_all(buf, len - 12, "crafted.parquet", &rows), RG_ERR);
    printf("  truncated footer -> %s\n", rg_errmsg());
    len = build_file(&c, buf);
    buf[3] = '2';
    assert_int_equal(read_all(buf, len, "crafted.parquet", &rows), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "not a Parquet file"));
    assert_int_equal(rg_parquet_open(&(rg_parquet *){NULL}, "/nonexistent/x.parquet"), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "/nonexistent/x.parquet: cannot open"));
}

/* Every truncation and many byte flips of a real file: an error or rows,
 * never a crash (ASan and UBSan watch this run). */
static void damaged_files_never_crash(void **state) {
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/parquet/hyparquet_flat.parquet", test_ref_dir());
    SKIP_UNLESS_FILE(path, "Parquet oracle files");
    size_t len;
    uint8_t *orig = slurp(path, &len);
    uint8_t *buf = malloc(len);
    long rows;
    for (size_t cut = 0; cut < len; cut += 7) {
        memcpy(buf, orig, cut);
        (void)read_all(buf, cut, "cut.parquet", &rows);
    }
    uint64_t s = 0x9e3779b97f4a7c15ull;
    int errors = 0;
    for (int it = 0; it < 3000; it++) {
        memcpy(buf, orig, len);
        for (int k = 0; k < 1 + it % 4; k++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            buf[(s >> 8) % len] = (uint8_t)s;
        }
        errors += read_all(buf, len, "flip.parquet", &rows) != RG_OK;
    }
    printf("  3000 damaged copies: %d errors, the rest read\n", errors);
    free(buf);
    free(orig);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rows_equal_the_oracles_rows),
        cmocka_unit_test(rubric_errors_name_the_row),
        cmocka_unit_test(verl_healthbench_rows_equal_its_jsonl),
        cmocka_unit_test(verl_healthbench_loads_the_same_examples),
        cmocka_unit_test(crafted_file_reads),
        cmocka_unit_test(bad_input_is_one_clear_error),
        cmocka_unit_test(damaged_files_never_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
