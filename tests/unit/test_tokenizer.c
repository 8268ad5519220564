/* test_tokenizer.c — the byte-level BPE tokenizer against an independent
 * reference, @huggingface/tokenizers (npm), on the real Qwen3 and Llama 3.1
 * tokenizer.json files: build/ref/tokenizer_cases.json from
 * tests/ref/tokenizer_ref.js holds its ids for ~3000 built-in texts (scripts,
 * digits, whitespace runs, emoji, special tokens, NFC edge cases, long runs)
 * and every message of HealthBench val 500. Tolerance: none — every id must be
 * equal, and decode(encode(x)) must give back x byte for byte.
 * Also: hand-computed BPE on a tiny tokenizer, config files, bad input. */
#include "test_util.h"

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/strmap.h"
#include "io/file.h"
#include "tok/tokenizer.h"

/* ---- helpers ---- */

static cJSON *load_cases(void) {
    static cJSON *cases; /* parsed once for all tests */
    if (cases) return cases;
    const char *path = test_path(test_ref_dir(), "tokenizer_cases.json");
    SKIP_UNLESS_FILE(path, "reference ids from tests/ref/tokenizer_ref.js (node + npm packages)");
    char *text;
    size_t len;
    assert_int_equal(rg_read_file(path, &text, &len), RG_OK);
    cases = cJSON_ParseWithLength(text, len);
    free(text);
    assert_non_null(cases);
    return cases;
}

/* The text with control and non-ASCII bytes escaped, cut to 120 bytes. */
static void print_escaped(const char *label, const char *s, size_t len) {
    fprintf(stderr, "  %s \"", label);
    for (size_t i = 0; i < len && i < 120; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7F && c != '\\' && c != '"')
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02X", c);
    }
    fprintf(stderr, "%s\" (%zu bytes)\n", len > 120 ? "..." : "", len);
}

static void print_ids(const char *label, const int32_t *ids, int n, int from) {
    fprintf(stderr, "  %s [", label);
    for (int i = from; i < n && i < from + 8; i++) fprintf(stderr, "%s%d", i > from ? " " : "", ids[i]);
    fprintf(stderr, "%s] (%d ids)\n", n > from + 8 ? " ..." : "", n);
}

/* A text of the case: "NAME" as a JSON string, or "NAME_hex" as the hex of
 * its UTF-8 bytes where it holds U+0000 (cJSON strings stop at a NUL).
 * malloc'd; NULL when the case has neither. */
static char *case_text(const cJSON *c, const char *name, size_t *len) {
    char hex_name[64];
    snprintf(hex_name, sizeof hex_name, "%s_hex", name);
    const cJSON *hex = cJSON_GetObjectItem(c, hex_name), *plain = cJSON_GetObjectItem(c, name);
    if (cJSON_IsString(hex)) {
        size_t n = strlen(hex->valuestring) / 2;
        char *out = malloc(n + 1);
        for (size_t i = 0; i < n; i++) {
            unsigned v;
            sscanf(hex->valuestring + 2 * i, "%2x", &v);
            out[i] = (char)v;
        }
        out[n] = 0;
        *len = n;
        return out;
    }
    if (!cJSON_IsString(plain)) return NULL;
    *len = strlen(plain->valuestring);
    return strdup(plain->valuestring);
}

/* Compares our ids with the reference; prints the first difference. */
static int same_ids(const char *what, const char *text, size_t len, const int32_t *ids, int n, const cJSON *expected) {
    int expected_n = cJSON_GetArraySize(expected);
    int first_diff = -1;
    for (int i = 0; i < n || i < expected_n; i++) {
        int ours = i < n ? ids[i] : -1;
        int ref = i < expected_n ? cJSON_GetArrayItem(expected, i)->valueint : -1;
        if (ours != ref) {
            first_diff = i;
            break;
        }
    }
    if (first_diff < 0) return 1;
    fprintf(stderr, "MISMATCH (%s) at id position %d:\n", what, first_diff);
    print_escaped("text", text, len);
    int from = first_diff > 2 ? first_diff - 2 : 0;
    print_ids("rgsd     ", ids, n, from);
    int32_t *ref = malloc(((size_t)expected_n + 1) * sizeof *ref);
    for (int i = 0; i < expected_n; i++) ref[i] = cJSON_GetArrayItem(expected, i)->valueint;
    print_ids("reference", ref, expected_n, from);
    free(ref);
    return 0;
}

/* Every case of one model: ids with and without special tokens, and the
 * round trip. Returns the number of mismatching texts. */
static int check_model(const char *name) {
    cJSON *model = cJSON_GetObjectItem(cJSON_GetObjectItem(load_cases(), "models"), name);
    assert_non_null(model);
    const char *dir = cJSON_GetObjectItem(model, "dir")->valuestring;
    SKIP_UNLESS_FILE(test_path(dir, "tokenizer.json"), "the tokenizer.json the references were made with");
    rg_tokenizer *tok;
    if (rg_tokenizer_load(dir, &tok) != RG_OK) fail_msg("load %s: %s", dir, rg_errmsg());
    int mismatches = 0, checked = 0;
    size_t bytes = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(model, "cases")) {
        size_t len;
        char *text = case_text(c, "text", &len);
        size_t expected_len;
        char *expected_back = case_text(c, "decoded", &expected_len);
        if (!expected_back) { /* decodes to the text itself */
            expected_back = text;
            expected_len = len;
        }
        const cJSON *ids_ref = cJSON_GetObjectItem(c, "ids"), *plain_ref = cJSON_GetObjectItem(c, "plain");
        int ok = 1;
        int32_t *ids, *plain;
        int n, n_plain;
        assert_int_equal(rg_tokenizer_encode(tok, text, len, 1, &ids, &n), RG_OK);
        assert_int_equal(rg_tokenizer_encode(tok, text, len, 0, &plain, &n_plain), RG_OK);
        ok &= same_ids("special tokens parsed", text, len, ids, n, ids_ref);
        ok &= same_ids("special tokens as text", text, len, plain, n_plain, plain_ref ? plain_ref : ids_ref);
        char *back;
        size_t back_len;
        assert_int_equal(rg_tokenizer_decode(tok, ids, n, &back, &back_len), RG_OK);
        if (back_len != expected_len || memcmp(back, expected_back, expected_len) != 0) {
            fprintf(stderr, "ROUND TRIP differs:\n");
            print_escaped("text     ", text, len);
            print_escaped("decoded  ", back, back_len);
            print_escaped("reference", expected_back, expected_len);
            ok = 0;
        }
        free(back);
        if (expected_back != text) free(expected_back);
        free(text);
        free(ids);
        free(plain);
        mismatches += !ok;
        checked++;
        bytes += len;
    }
    /* Decoding id lists with special tokens spliced in. */
    int decode_checked = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(model, "decodes")) {
        const cJSON *ids_json = cJSON_GetObjectItem(c, "ids");
        size_t expected_len;
        char *expected = case_text(c, "text", &expected_len);
        int n = cJSON_GetArraySize(ids_json);
        int32_t *ids = malloc(((size_t)n + 1) * sizeof *ids);
        for (int i = 0; i < n; i++) ids[i] = cJSON_GetArrayItem(ids_json, i)->valueint;
        char *text;
        size_t len;
        assert_int_equal(rg_tokenizer_decode(tok, ids, n, &text, &len), RG_OK);
        if (len != expected_len || memcmp(text, expected, len) != 0) {
            fprintf(stderr, "DECODE differs:\n");
            print_escaped("rgsd     ", text, len);
            print_escaped("reference", expected, expected_len);
            mismatches++;
        }
        free(expected);
        decode_checked++;
        free(text);
        free(ids);
    }
    fprintf(stderr, "%s: %d texts (%zu bytes) and %d decodes checked, %d mismatches\n", name, checked, bytes,
            decode_checked, mismatches);
    rg_tokenizer_free(tok);
    return mismatches;
}

/* ---- the real tokenizers against the reference ---- */

static void test_qwen3_matches_reference(void **state) {
    (void)state;
    assert_int_equal(check_model("qwen3"), 0);
}

static void test_llama3_matches_reference(void **state) {
    (void)state;
    assert_int_equal(check_model("llama3"), 0);
}

static void test_variants_match_reference(void **state) {
    (void)state;
    assert_int_equal(check_model("gpt2_style"), 0);
    assert_int_equal(check_model("removed_split"), 0);
    assert_int_equal(check_model("llama3_merges"), 0);
}

/* Several threads encoding with one tokenizer at once (one of them holds the
 * BPE cache, the others run without it): every result still equals the
 * reference. */
static void test_concurrent_encode(void **state) {
    (void)state;
    cJSON *model = cJSON_GetObjectItem(cJSON_GetObjectItem(load_cases(), "models"), "qwen3");
    const char *dir = cJSON_GetObjectItem(model, "dir")->valuestring;
    rg_tokenizer *tok;
    assert_int_equal(rg_tokenizer_load(dir, &tok), RG_OK);
    const cJSON *cases = cJSON_GetObjectItem(model, "cases");
    int n_cases = cJSON_GetArraySize(cases);
    int mismatches = 0;
#pragma omp parallel for num_threads(4) schedule(dynamic, 16) reduction(+ : mismatches)
    for (int i = 0; i < n_cases; i++) {
        const cJSON *c = cJSON_GetArrayItem(cases, i);
        size_t len;
        char *text = case_text(c, "text", &len);
        int32_t *ids;
        int n;
        if (rg_tokenizer_encode(tok, text, len, 1, &ids, &n) != RG_OK) {
            mismatches++;
        } else {
            const cJSON *ref = cJSON_GetObjectItem(c, "ids");
            int ok = n == cJSON_GetArraySize(ref);
            for (int k = 0; ok && k < n; k++) ok = ids[k] == cJSON_GetArrayItem(ref, k)->valueint;
            mismatches += !ok;
            free(ids);
        }
        free(text);
    }
    assert_int_equal(mismatches, 0);
    rg_tokenizer_free(tok);
}

static void test_healthbench_included(void **state) {
    (void)state;
    int n = cJSON_GetObjectItem(load_cases(), "texts_from_healthbench")->valueint;
    if (n == 0) {
        fprintf(stderr, "skipped: HealthBench messages were not in the reference (data/healthbench absent)\n");
        skip();
    }
    assert_true(n > 1000); /* 500 conversations, several messages each */
}

/* bos/eos/pad and the chat template, against what the reference reads from
 * the same tokenizer_config.json. */
static void test_special_ids_match_reference(void **state) {
    (void)state;
    const char *names[] = {"qwen3", "llama3"};
    for (int m = 0; m < 2; m++) {
        cJSON *model = cJSON_GetObjectItem(cJSON_GetObjectItem(load_cases(), "models"), names[m]);
        const char *dir = cJSON_GetObjectItem(model, "dir")->valuestring;
        rg_tokenizer *tok;
        assert_int_equal(rg_tokenizer_load(dir, &tok), RG_OK);
        int bos_added = cJSON_GetObjectItem(model, "bos_added")->valueint;
        assert_int_equal(rg_tokenizer_adds_bos(tok), bos_added >= 0);
        if (bos_added >= 0) assert_int_equal(rg_tokenizer_bos_id(tok), bos_added);
        int ref_bos = cJSON_GetObjectItem(model, "bos_id")->valueint;
        if (ref_bos >= 0) assert_int_equal(rg_tokenizer_bos_id(tok), ref_bos);
        assert_int_equal(rg_tokenizer_eos_id(tok), cJSON_GetObjectItem(model, "eos_id")->valueint);
        assert_int_equal(rg_tokenizer_pad_id(tok), cJSON_GetObjectItem(model, "pad_id")->valueint);
        assert_int_equal(rg_tokenizer_vocab_size(tok), cJSON_GetObjectItem(model, "vocab_size")->valueint);
        const char *tmpl = rg_tokenizer_chat_template(tok);
        assert_non_null(tmpl);
        assert_int_equal((int)strlen(tmpl), cJSON_GetObjectItem(model, "chat_template_length")->valueint);
        rg_tokenizer_free(tok);
    }
}

/* ---- a tiny tokenizer with hand-computed merges ---- */

/* Writes a byte-level tokenizer.json: the 256 byte tokens (ids 0..255 in
 * byte order), the given extra tokens and merges, `extra` JSON members. */
static char *write_tiny(const char *dir, const char *extra_vocab, const char *merges, const char *extra) {
    static const char *hex = "0123456789abcdef";
    size_t cap = 64 * 1024;
    char *json = malloc(cap);
    size_t n = (size_t)snprintf(json, cap, "{\"model\":{\"type\":\"BPE\",\"vocab\":{");
    for (int b = 0; b < 256; b++) {
        /* byte-level spelling of byte b, as JSON \u escapes */
        int printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        static int next = 256;
        if (b == 0) next = 256;
        int cp = printable ? b : next++;
        n += (size_t)snprintf(json + n, cap - n, "%s\"\\u%c%c%c%c\":%d", b ? "," : "", hex[(cp >> 12) & 15],
                              hex[(cp >> 8) & 15], hex[(cp >> 4) & 15], hex[cp & 15], b);
    }
    n += (size_t)snprintf(json + n, cap - n, "%s%s},\"merges\":[%s]},%s}", extra_vocab[0] ? "," : "", extra_vocab,
                          merges, extra);
    char *path = malloc(strlen(dir) + 32);
    sprintf(path, "%s/tokenizer.json", dir);
    assert_int_equal(rg_write_file_atomic(path, json, n), RG_OK);
    free(json);
    return path;
}

static const char *TINY_PRE = "\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":false},"
                              "\"decoder\":{\"type\":\"ByteLevel\"},\"added_tokens\":[]";

static void encode_expect(const rg_tokenizer *tok, const char *text, const int32_t *expected, int n_expected) {
    int32_t *ids;
    int n;
    assert_int_equal(rg_tokenizer_encode(tok, text, strlen(text), 1, &ids, &n), RG_OK);
    assert_int_equal(n, n_expected);
    for (int i = 0; i < n; i++) assert_int_equal(ids[i], expected[i]);
    free(ids);
}

static void test_bpe_rank_order_by_hand(void **state) {
    (void)state;
    char *dir = test_tmpdir();
    /* ids: aa=256, aaa=257, ab=258, aaaa=259, bc=260. Ranks: "a a" 0, "aa a" 1,
     * "b c" 2, "a b" 3, "aa aa" 4. */
    char *path = write_tiny(dir, "\"aa\":256,\"aaa\":257,\"ab\":258,\"aaaa\":259,\"bc\":260",
                            "\"a a\",\"aa a\",\"b c\",\"a b\",\"aa aa\"", TINY_PRE);
    rg_tokenizer *tok;
    if (rg_tokenizer_load(path, &tok) != RG_OK) fail_msg("%s", rg_errmsg());
    /* "aaa": a a -> aa (leftmost of two equal-rank pairs), then aa a -> aaa. */
    encode_expect(tok, "aaa", (int32_t[]){257}, 1);
    /* "aaaa": aa a a -> aa aa (rank 0 again, leftmost), then "aa a" needs a
     * single a: none; "aa aa" rank 4 -> aaaa. */
    encode_expect(tok, "aaaa", (int32_t[]){259}, 1);
    /* "abc": "b c" (rank 2) beats "a b" (rank 3): a + bc. */
    encode_expect(tok, "abc", (int32_t[]){'a', 260}, 2);
    /* 64 a's (plain scan) and 65 (heap): rank 0 pairs left to right -> 32 aa
     * (+ a), then "aa a" (rank 1) before "aa aa": for 65, the last aa takes
     * the a, giving 15 aaaa, aa... worked out: 64 -> 16 aaaa; 65 -> the
     * rank-1 merge applies once at the end (aa a -> aaa) before rank 4:
     * 30 aa -> 15 aaaa, then aa + aaa stay. */
    int32_t sixteen[16], fifteen_plus[17];
    for (int i = 0; i < 16; i++) sixteen[i] = 259;
    for (int i = 0; i < 15; i++) fifteen_plus[i] = 259;
    fifteen_plus[15] = 256;
    fifteen_plus[16] = 257;
    char a64[65], a65[66];
    memset(a64, 'a', 64);
    a64[64] = 0;
    memset(a65, 'a', 65);
    a65[65] = 0;
    encode_expect(tok, a64, sixteen, 16);
    encode_expect(tok, a65, fifteen_plus, 17);
    /* Decoding gives the bytes back; a token id that does not exist is an error. */
    char *text;
    size_t len;
    assert_int_equal(rg_tokenizer_decode(tok, (int32_t[]){259, 258, 10}, 3, &text, &len), RG_OK);
    assert_string_equal(text, "aaaaab\n");
    free(text);
    assert_int_equal(rg_tokenizer_decode(tok, (int32_t[]){261}, 1, &text, &len), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "261"));
    assert_int_equal(rg_tokenizer_token_id(tok, "aaaa"), 259);
    assert_int_equal(rg_tokenizer_token_id(tok, "\xc4\x8a"), 10); /* 'Ċ' is the newline byte */
    assert_string_equal(rg_tokenizer_token_text(tok, 32), "\xc4\xa0"); /* ' ' is 'Ġ' */
    assert_null(rg_tokenizer_token_text(tok, 999));
    assert_int_equal(rg_tokenizer_bos_id(tok), -1);
    rg_tokenizer_free(tok);
    free(path);
    free(dir);
}

/* Added tokens: lstrip/rstrip eat white space beside them, single_word only
 * matches between non-word characters, longest match wins. */
static void test_added_token_flags_by_hand(void **state) {
    (void)state;
    char *dir = test_tmpdir();
    char extra[1024];
    snprintf(extra, sizeof extra,
             "%.*s[{\"id\":300,\"content\":\"<s>\",\"special\":true,\"lstrip\":true,\"rstrip\":true},"
             "{\"id\":301,\"content\":\"<s>x\",\"special\":true},"
             "{\"id\":302,\"content\":\"cat\",\"special\":false,\"single_word\":true,\"normalized\":false}]",
             (int)(strlen(TINY_PRE) - 2), TINY_PRE);
    char *path = write_tiny(dir, "\"aa\":256", "\"a a\"", extra);
    rg_tokenizer *tok;
    if (rg_tokenizer_load(path, &tok) != RG_OK) fail_msg("%s", rg_errmsg());
    encode_expect(tok, "a  <s>  a", (int32_t[]){'a', 300, 'a'}, 3);
    encode_expect(tok, "<s>x", (int32_t[]){301}, 1);
    encode_expect(tok, "cat", (int32_t[]){302}, 1);
    encode_expect(tok, "a cat.", (int32_t[]){'a', ' ', 302, '.'}, 4);
    encode_expect(tok, "cats", (int32_t[]){'c', 'a', 't', 's'}, 4);
    /* Without allow_special, special tokens are text; non-special still match. */
    int32_t *ids;
    int n;
    assert_int_equal(rg_tokenizer_encode(tok, "<s> cat", 7, 0, &ids, &n), RG_OK);
    assert_int_equal(n, 5); /* < s > space cat */
    assert_int_equal(ids[0], '<');
    assert_int_equal(ids[4], 302);
    free(ids);
    assert_int_equal(rg_tokenizer_is_special(tok, 300), 1);
    assert_int_equal(rg_tokenizer_is_special(tok, 302), 0);
    rg_tokenizer_free(tok);
    free(path);
    free(dir);
}

/* A pattern that backtracks through a long piece needs more than PCRE2's
 * default 32 KiB JIT stack: the encoder retries with a larger one. */
static void test_regex_deep_backtracking(void **state) {
    (void)state;
    char *dir = test_tmpdir();
    char *path = write_tiny(dir, "", "",
                            "\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":["
                            "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(?:a|b)+c\"},\"behavior\":\"Isolated\"},"
                            "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":false}]}");
    rg_tokenizer *tok;
    if (rg_tokenizer_load(path, &tok) != RG_OK) fail_msg("%s", rg_errmsg());
    size_t len = 200001;
    char *text = malloc(len + 1);
    for (size_t i = 0; i + 1 < len; i++) text[i] = "ab"[i % 2];
    text[len - 1] = 'c';
    text[len] = 0;
    int32_t *ids;
    int n;
    if (rg_tokenizer_encode(tok, text, len, 1, &ids, &n) != RG_OK) fail_msg("%s", rg_errmsg());
    assert_int_equal(n, (int)len); /* no merges: one id per byte */
    assert_int_equal(ids[0], 'a');
    assert_int_equal(ids[n - 1], 'c');
    free(ids);
    free(text);
    rg_tokenizer_free(tok);
    free(path);
    free(dir);
}

/* ---- configs ---- */

static void test_generation_config_eos_list(void **state) {
    (void)state;
    cJSON *model = cJSON_GetObjectItem(cJSON_GetObjectItem(load_cases(), "models"), "llama3");
    const char *src = cJSON_GetObjectItem(model, "dir")->valuestring;
    char *dir = test_tmpdir();
    char link_path[512], target[512];
    snprintf(link_path, sizeof link_path, "%s/tokenizer.json", dir);
    snprintf(target, sizeof target, "%s/tokenizer.json", src);
    assert_int_equal(symlink(target, link_path), 0);
    const char *config = "{\"eos_token\": {\"content\": \"<|eot_id|>\", \"lstrip\": false}, \"bos_token\": null}";
    assert_int_equal(rg_write_file_atomic(test_path(dir, "tokenizer_config.json"), config, strlen(config)), RG_OK);
    const char *generation = "{\"bos_token_id\": 128000, \"eos_token_id\": [128001, 128008, 128009]}";
    assert_int_equal(rg_write_file_atomic(test_path(dir, "generation_config.json"), generation, strlen(generation)),
                     RG_OK);
    rg_tokenizer *tok;
    if (rg_tokenizer_load(dir, &tok) != RG_OK) fail_msg("%s", rg_errmsg());
    assert_int_equal(rg_tokenizer_eos_id(tok), 128009);
    assert_int_equal(rg_tokenizer_bos_id(tok), 128000);
    const int32_t *eos;
    assert_int_equal(rg_tokenizer_eos_ids(tok, &eos), 3);
    assert_int_equal(eos[0], 128009);
    assert_int_equal(eos[1], 128001);
    assert_int_equal(eos[2], 128008);
    assert_null(rg_tokenizer_chat_template(tok));
    rg_tokenizer_free(tok);

    /* A generation_config.json id outside the vocabulary is refused. */
    generation = "{\"eos_token_id\": 999999}";
    assert_int_equal(rg_write_file_atomic(test_path(dir, "generation_config.json"), generation, strlen(generation)),
                     RG_OK);
    assert_int_equal(rg_tokenizer_load(dir, &tok), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "eos_token_id"));
    /* So is an eos_token that is not a token. */
    config = "{\"eos_token\": \"<|no_such_token|>\"}";
    assert_int_equal(rg_write_file_atomic(test_path(dir, "tokenizer_config.json"), config, strlen(config)), RG_OK);
    assert_int_equal(rg_tokenizer_load(dir, &tok), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "eos_token"));
    free(dir);
}

/* ---- bad input ---- */

static void expect_load_error(const char *json, const char *needle) {
    char *dir = test_tmpdir();
    char *path = malloc(strlen(dir) + 32);
    sprintf(path, "%s/tokenizer.json", dir);
    assert_int_equal(rg_write_file_atomic(path, json, strlen(json)), RG_OK);
    rg_tokenizer *tok = (rg_tokenizer *)1;
    assert_int_equal(rg_tokenizer_load(dir, &tok), RG_ERR);
    assert_null(tok);
    if (!strstr(rg_errmsg(), needle)) fail_msg("error \"%s\" does not mention \"%s\"", rg_errmsg(), needle);
    assert_non_null(strstr(rg_errmsg(), "tokenizer.json"));
    free(path);
    free(dir);
}

static void test_bad_files(void **state) {
    (void)state;
    rg_tokenizer *tok;
    assert_int_equal(rg_tokenizer_load("/nonexistent/tokenizer.json", &tok), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "/nonexistent/tokenizer.json"));
    assert_int_equal(rg_tokenizer_load("/tmp", &tok), RG_ERR); /* a folder without tokenizer.json */
    assert_non_null(strstr(rg_errmsg(), "tokenizer.json"));
    expect_load_error("{\"model\": {\"type\": \"BPE\",\n \"vocab\": {\"a\": 0,,}}}", ":2: malformed JSON");
    expect_load_error("[1, 2]", "not a JSON object");
    expect_load_error("{}", "no \"model\"");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"merges\": []}}", "model.vocab");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}}", "model.merges");
    expect_load_error("{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 0.0]]}}", "Unigram");
    expect_load_error("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}}", "WordPiece");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [], \"byte_fallback\": true}}",
                      "byte_fallback");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -1}, \"merges\": []}}", "model.vocab[\"a\"]");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}", "byte 0x00");
    expect_load_error("{\"normalizer\": {\"type\": \"NFKC\"}, \"model\": {}}", "NFKC");

    /* With all 256 bytes: merges naming unknown tokens, other pre-tokenizers. */
    char *dir = test_tmpdir();
    char *path = write_tiny(dir, "", "\"a zz\"", TINY_PRE);
    assert_int_equal(rg_tokenizer_load(path, &tok), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "merges[0]"));
    free(path);
    path = write_tiny(dir, "", "\"a b\"", TINY_PRE);
    assert_int_equal(rg_tokenizer_load(path, &tok), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "merged token \"ab\""));
    free(path);
    path = write_tiny(dir, "", "", "\"pre_tokenizer\": {\"type\": \"Metaspace\"}");
    assert_int_equal(rg_tokenizer_load(path, &tok), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "Metaspace"));
    free(path);
    path = write_tiny(dir, "", "",
                      "\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"(unclosed\"}, "
                      "\"behavior\": \"Isolated\"}");
    assert_int_equal(rg_tokenizer_load(path, &tok), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "cannot compile pattern"));
    free(path);
    free(dir);
}

static void test_invalid_utf8_is_rejected(void **state) {
    (void)state;
    char *dir = test_tmpdir();
    char *path = write_tiny(dir, "", "", TINY_PRE);
    rg_tokenizer *tok;
    assert_int_equal(rg_tokenizer_load(path, &tok), RG_OK);
    const struct {
        const char *bytes;
        size_t offset;
    } bad[] = {
        {"ab\x80", 2},          /* lone continuation byte */
        {"\xC0\xAF", 0},        /* overlong '/' */
        {"x\xE0\x80\xAF", 1},   /* overlong, 3 bytes */
        {"\xED\xA0\x80", 0},    /* UTF-16 surrogate */
        {"ok \xE2\x82", 3},     /* truncated */
        {"\xF4\x90\x80\x80", 0}, /* above U+10FFFF */
        {"\xFF", 0},
        {"\xC3\x28", 0}, /* bad continuation */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int32_t *ids = (int32_t *)1;
        int n = 7;
        assert_int_equal(rg_tokenizer_encode(tok, bad[i].bytes, strlen(bad[i].bytes), 1, &ids, &n), RG_ERR);
        assert_null(ids);
        assert_int_equal(n, 0);
        char needle[64];
        snprintf(needle, sizeof needle, "offset %zu", bad[i].offset);
        if (!strstr(rg_errmsg(), "not valid UTF-8") || !strstr(rg_errmsg(), needle))
            fail_msg("case %zu: error \"%s\"", i, rg_errmsg());
    }
    /* Valid edge cases: NUL inside, U+10FFFF, empty. */
    int32_t *ids;
    int n;
    assert_int_equal(rg_tokenizer_encode(tok, "a\0b\xF4\x8F\xBF\xBF", 7, 1, &ids, &n), RG_OK);
    assert_int_equal(n, 7);
    assert_int_equal(ids[1], 0);
    free(ids);
    assert_int_equal(rg_tokenizer_encode(tok, "", 0, 1, &ids, &n), RG_OK);
    assert_int_equal(n, 0);
    free(ids);
    rg_tokenizer_free(tok);
    free(path);
    free(dir);
}

/* ---- the string map others reuse ---- */

static void test_strmap(void **state) {
    (void)state;
    rg_strmap m;
    assert_int_equal(rg_strmap_init(&m, 4), RG_OK);
    char key[32];
    for (int i = 0; i < 10000; i++) { /* grows many times */
        int len = snprintf(key, sizeof key, "key%d", i);
        assert_int_equal(rg_strmap_put(&m, key, (size_t)len, (uint64_t)i * 3), RG_OK);
    }
    assert_int_equal((int)m.count, 10000);
    uint64_t v;
    for (int i = 0; i < 10000; i++) {
        int len = snprintf(key, sizeof key, "key%d", i);
        assert_int_equal(rg_strmap_get(&m, key, (size_t)len, &v), 1);
        assert_int_equal((int)v, i * 3);
    }
    assert_int_equal(rg_strmap_get(&m, "key10000", 8, &v), 0);
    assert_int_equal(rg_strmap_put(&m, "key5", 4, 7), RG_OK); /* overwrite */
    assert_int_equal(rg_strmap_get(&m, "key5", 4, &v), 1);
    assert_int_equal((int)v, 7);
    assert_int_equal((int)m.count, 10000);
    assert_int_equal(rg_strmap_put(&m, "a\0b", 3, 1), RG_OK); /* NUL inside a key */
    assert_int_equal(rg_strmap_get(&m, "a\0c", 3, &v), 0);
    assert_int_equal(rg_strmap_put(&m, "", 0, 9), RG_OK); /* empty key */
    assert_int_equal(rg_strmap_get(&m, "", 0, &v), 1);
    assert_int_equal((int)v, 9);
    rg_strmap_clear(&m);
    assert_int_equal(rg_strmap_get(&m, "key1", 4, &v), 0);
    rg_strmap_free(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strmap),
        cmocka_unit_test(test_bpe_rank_order_by_hand),
        cmocka_unit_test(test_added_token_flags_by_hand),
        cmocka_unit_test(test_regex_deep_backtracking),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_invalid_utf8_is_rejected),
        cmocka_unit_test(test_qwen3_matches_reference),
        cmocka_unit_test(test_llama3_matches_reference),
        cmocka_unit_test(test_variants_match_reference),
        cmocka_unit_test(test_concurrent_encode),
        cmocka_unit_test(test_healthbench_included),
        cmocka_unit_test(test_special_ids_match_reference),
        cmocka_unit_test(test_generation_config_eos_list),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    return rc;
}
