/* test_world.c — the rubric world: rules and scores checked by hand, files
 * byte-identical per seed, every line valid, every reference scoring 1.0
 * under PCRE2, held-out compositions absent from train and SFT, and the
 * tokenizer equal to @huggingface/tokenizers (ids) and @huggingface/jinja
 * (chat renders) on the world's texts. */
#include "test_util.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <cjson/cJSON.h>
#include <math.h>
#include <pcre2.h>

#include "base/error.h"
#include "io/file.h"
#include "world/world_gen.h"
#include "world/world_rules.h"
#include "world/world_text.h"
#include "world/world_tokenizer.h"

/* ---- an independent scorer: PCRE2 over the criteria's match patterns ---- */

static int pattern_matches(const char *pattern, const char *text) {
    int code;
    PCRE2_SIZE where;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &code, &where, NULL);
    assert_non_null(re);
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    int rc = pcre2_match(re, (PCRE2_SPTR)text, strlen(text), 0, 0, md, NULL);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return rc >= 0;
}

/* HealthBench: met weights over the positive total, clipped to [0, 1]. */
static double score_json_rubric(const cJSON *rubric, const char *response, int *pitfall_met) {
    double got = 0, possible = 0;
    *pitfall_met = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, rubric) {
        double w = cJSON_GetObjectItem(c, "weight")->valuedouble;
        int met = 0;
        const cJSON *p;
        cJSON_ArrayForEach(p, cJSON_GetObjectItem(c, "match")) met |= pattern_matches(p->valuestring, response);
        if (met) got += w;
        if (met && w < 0) *pitfall_met = 1;
        if (w > 0) possible += w;
    }
    double s = got / possible;
    return s < 0 ? 0 : s > 1 ? 1 : s;
}

/* The rubric of a composition as the JSON the generator writes. */
static cJSON *rubric_for(const world_combo *c) {
    world_criterion r[WORLD_MAX_CRITERIA];
    int n = world_rubric(c, r);
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        char *pattern = world_match_pattern(r[i].phrase);
        cJSON *item = cJSON_CreateObject();
        cJSON_AddNumberToObject(item, "weight", r[i].weight);
        cJSON_AddItemToObject(item, "match", cJSON_CreateStringArray((const char *const *)&pattern, 1));
        cJSON_AddItemToArray(arr, item);
        free(pattern);
    }
    return arr;
}

/* glorp, sick, baby, summer: food +5, mint tea +5, keep warm +3; summer's
 * swim is the sick caution, so the season item is dropped and swim is -4.
 * Positive total 13. All expected values computed by hand. */
static void test_rubric_and_scores_by_hand(void **state) {
    (void)state;
    world_combo c = {0 /* glorp */, 0 /* sick */, 0 /* baby */, 1 /* summer */};
    world_criterion r[WORLD_MAX_CRITERIA];
    assert_int_equal(world_rubric(&c, r), 4);
    const char *want_text[4] = {"Says to feed it moss.", "Says to give it mint tea.", "Says to keep it warm.",
                                "Says to let it swim in the lake."};
    const char *want_pattern[4] = {"\\b(?:feed|give) it moss\\b", "\\bgive it mint tea\\b", "\\bkeep it warm\\b",
                                   "\\blet it swim in the lake\\b"};
    const int want_weight[4] = {5, 5, 3, -4};
    for (int i = 0; i < 4; i++) {
        char *text = world_criterion_text(r[i].phrase), *pattern = world_match_pattern(r[i].phrase);
        assert_string_equal(text, want_text[i]);
        assert_string_equal(pattern, want_pattern[i]);
        assert_int_equal(r[i].weight, want_weight[i]);
        free(text), free(pattern);
    }
    cJSON *rubric = rubric_for(&c);
    struct {
        const char *answer;
        double score; /* by hand, over 13 */
        int pitfall;
    } cases[] = {
        {"sure. give it moss. you should give it mint tea. keep it warm. good luck.", 13.0 / 13, 0},
        {"feed it moss. let it swim in the lake.", (5.0 - 4) / 13, 1},
        {"keep it warm.", 3.0 / 13, 0},
        {"let it swim in the lake.", 0.0 /* -4/13 clipped */, 1},
        {"you should give it mint tea. keep it by the fire.", 5.0 / 13, 0},
        {"feed it mosses. give it mint. keep it warmer.", 0.0 /* no whole-phrase match */, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int pitfall;
        assert_true(fabs(score_json_rubric(rubric, cases[i].answer, &pitfall) - cases[i].score) < 1e-12);
        assert_int_equal(pitfall, cases[i].pitfall);
    }
    cJSON_Delete(rubric);
    /* The generator's structural scorer (used for its summary) on the same sets. */
    int said_partial[2] = {r[0].phrase, r[3].phrase};
    assert_true(fabs(world_score_phrases(r, 4, said_partial, 2) - 1.0 / 13) < 1e-12);
    /* vesk, injured, no age, winter: beetles +5, wound +5, fire +2, long walk -4 (total 12). */
    world_combo v = {3, 1, -1, 3};
    assert_int_equal(world_rubric(&v, r), 4);
    rubric = rubric_for(&v);
    int pitfall;
    double s = score_json_rubric(rubric, "feed it beetles. take it on a long walk. keep it by the fire.", &pitfall);
    assert_true(fabs(s - (5.0 - 4 + 2) / 12) < 1e-12);
    assert_int_equal(pitfall, 1);
    cJSON_Delete(rubric);
}

/* ---- generating into scratch folders ---- */

/* ---- tokenizer against @huggingface/tokenizers and @huggingface/jinja ---- */

typedef struct {
    const world_bpe *bpe;
    int32_t *ids;
    int n, cap;
    int multi_token_chunks;
} encoder;

static void encode_chunk(const char *chunk, size_t len, int is_special, void *ctx) {
    encoder *e = ctx;
    if (e->n + (int)len + 1 > e->cap) {
        e->cap = 2 * (e->n + (int)len + 1);
        e->ids = realloc(e->ids, (size_t)e->cap * sizeof *e->ids);
    }
    if (is_special) {
        for (int k = 0; k < WORLD_N_SPECIAL; k++)
            if (strlen(WORLD_SPECIAL_TOKENS[k]) == len && !memcmp(chunk, WORLD_SPECIAL_TOKENS[k], len))
                e->ids[e->n++] = e->bpe->n_tokens + k;
        return;
    }
    int tmp[256], n = 0;
    assert_true(len < 256);
    assert_int_equal(world_bpe_encode_chunk(e->bpe, chunk, len, tmp, &n), RG_OK);
    e->multi_token_chunks += n > 1;
    for (int i = 0; i < n; i++) e->ids[e->n++] = tmp[i];
}

static char *generate(uint64_t seed, int n_train, int n_heldout, int n_sft) {
    char *dir = test_tmpdir();
    assert_non_null(dir);
    world_config cfg;
    world_config_defaults(&cfg);
    cfg.seed = seed;
    cfg.out_dir = dir;
    cfg.n_train = n_train, cfg.n_heldout = n_heldout, cfg.n_sft = n_sft;
    world_summary summary;
    if (world_generate(&cfg, &summary) != RG_OK) fail_msg("world_generate: %s", rg_errmsg());
    assert_int_equal(summary.n_train, n_train);
    return dir;
}

static const char *const FILES[] = {"train.jsonl", "heldout.jsonl", "sft.jsonl", "world.json",
                                    "tokenizer/tokenizer.json", "tokenizer/tokenizer_config.json"};

static char *read_in(const char *dir, const char *name, size_t *len) {
    char *path = rg_path_join(dir, name), *data = NULL;
    size_t n = 0;
    if (rg_read_file(path, &data, &n) != RG_OK) fail_msg("%s", rg_errmsg());
    free(path);
    if (len) *len = n;
    return data;
}

static void remove_dir(char *dir) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

static void test_same_seed_same_bytes(void **state) {
    (void)state;
    char *a = generate(11, 50, 20, 80), *b = generate(11, 50, 20, 80), *c = generate(12, 50, 20, 80);
    char *d = generate(11, 50, 20, 160); /* more SFT: the splits must not move */
    for (size_t i = 0; i < sizeof FILES / sizeof FILES[0]; i++) {
        size_t la, lb;
        char *x = read_in(a, FILES[i], &la), *y = read_in(b, FILES[i], &lb);
        assert_true(la > 0);
        assert_int_equal(la, lb);
        assert_memory_equal(x, y, la);
        free(x), free(y);
    }
    size_t la, lc, ld;
    char *x = read_in(a, "train.jsonl", &la), *y = read_in(c, "train.jsonl", &lc), *z = read_in(d, "train.jsonl", &ld);
    assert_false(la == lc && memcmp(x, y, la) == 0);
    assert_int_equal(la, ld);
    assert_memory_equal(x, z, la);
    free(x), free(y), free(z);
    remove_dir(a), remove_dir(b), remove_dir(c), remove_dir(d);
}

/* Reads a value word of an attribute from a prompt, independently of the generator. */
static int find_value(const char *prompt, int attr) {
    int found = -1;
    for (int v = 0; v < world_attr_count(attr); v++) {
        char pattern[64];
        snprintf(pattern, sizeof pattern, "\\b%s\\b", world_value_name(attr, v));
        if (pattern_matches(pattern, prompt)) {
            assert_int_equal(found, -1); /* one value per attribute */
            found = v;
        }
    }
    return found;
}

typedef struct {
    int pairs[WORLD_NSPECIES][WORLD_NCONDITIONS];
} pair_set;

static int pair_count(const pair_set *s) {
    int n = 0;
    for (int i = 0; i < WORLD_NSPECIES; i++)
        for (int j = 0; j < WORLD_NCONDITIONS; j++) n += s->pairs[i][j] > 0;
    return n;
}

static void check_split(const char *dir, const char *name, int want_lines, pair_set *pairs) {
    char *data = read_in(dir, name, NULL);
    int lines = 0;
    for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n"), lines++) {
        cJSON *ex = cJSON_Parse(line);
        if (!ex) fail_msg("%s line %d is not JSON", name, lines + 1);
        assert_true(cJSON_IsString(cJSON_GetObjectItem(ex, "id")));
        const cJSON *messages = cJSON_GetObjectItem(ex, "messages");
        assert_int_equal(cJSON_GetArraySize(messages), 1);
        const cJSON *msg = cJSON_GetArrayItem(messages, 0);
        assert_string_equal(cJSON_GetObjectItem(msg, "role")->valuestring, "user");
        const char *prompt = cJSON_GetObjectItem(msg, "content")->valuestring;
        const cJSON *rubric = cJSON_GetObjectItem(ex, "rubric");
        int n = cJSON_GetArraySize(rubric), n_pitfalls = 0, n_essential = 0;
        assert_true(n >= 3 && n <= 5);
        const cJSON *c;
        cJSON_ArrayForEach(c, rubric) {
            assert_true(cJSON_IsString(cJSON_GetObjectItem(c, "text")));
            double w = cJSON_GetObjectItem(c, "weight")->valuedouble;
            const char *tag = cJSON_GetArrayItem(cJSON_GetObjectItem(c, "tags"), 0)->valuestring;
            if (strcmp(tag, "pitfall") == 0) n_pitfalls++, assert_true(w < 0);
            else if (strcmp(tag, "essential") == 0) n_essential++, assert_true(w == 5);
            else assert_true(strcmp(tag, "optional") == 0 && (w == 3 || w == 2));
            assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c, "match")), 1);
        }
        assert_int_equal(n_pitfalls, 1);
        assert_int_equal(n_essential, 2);
        int pitfall;
        const char *reference = cJSON_GetObjectItem(ex, "reference")->valuestring;
        assert_true(score_json_rubric(rubric, reference, &pitfall) == 1.0);
        assert_int_equal(pitfall, 0);
        int species = find_value(prompt, WORLD_SPECIES), condition = find_value(prompt, WORLD_CONDITION);
        assert_true(species >= 0 && condition >= 0);
        pairs->pairs[species][condition]++;
        cJSON_Delete(ex);
    }
    assert_int_equal(lines, want_lines);
    free(data);
}

static void test_splits_valid_disjoint_and_references_score_one(void **state) {
    (void)state;
    char *dir = generate(3, 300, 120, 400);
    pair_set train = {0}, heldout = {0}, sft = {0};
    check_split(dir, "train.jsonl", 300, &train);
    check_split(dir, "heldout.jsonl", 120, &heldout);
    /* 24 train pairs, 8 held-out pairs (one per species), none shared; every
     * species and condition occurs in train. */
    assert_int_equal(pair_count(&train), 24);
    assert_int_equal(pair_count(&heldout), 8);
    for (int s = 0; s < WORLD_NSPECIES; s++) {
        int held = 0;
        for (int c = 0; c < WORLD_NCONDITIONS; c++) {
            assert_false(train.pairs[s][c] && heldout.pairs[s][c]);
            held += heldout.pairs[s][c] > 0;
        }
        assert_int_equal(held, 1);
    }
    /* SFT: valid chats, never a held-out pair; with a rubric in context the
     * answer meets every listed criterion and says no "Avoid:" one. */
    char *data = read_in(dir, "sft.jsonl", NULL);
    int lines = 0, with_rubric = 0;
    for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n"), lines++) {
        cJSON *ex = cJSON_Parse(line);
        if (!ex) fail_msg("sft.jsonl line %d is not JSON", lines + 1);
        const cJSON *m = cJSON_GetObjectItem(ex, "messages");
        assert_int_equal(cJSON_GetArraySize(m), 2);
        assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(m, 1), "role")->valuestring, "assistant");
        const char *user = cJSON_GetObjectItem(cJSON_GetArrayItem(m, 0), "content")->valuestring;
        const char *answer = cJSON_GetObjectItem(cJSON_GetArrayItem(m, 1), "content")->valuestring;
        char *request = strdup(user), *cut = strstr(request, "\n\n");
        if (cut) *cut = 0;
        int s = find_value(request, WORLD_SPECIES), c = find_value(request, WORLD_CONDITION);
        sft.pairs[s][c]++;
        assert_int_equal(heldout.pairs[s][c], 0);
        if (cut) {
            with_rubric++;
            /* each criterion line "N. [Avoid: ]Says to X." */
            for (int p = 0; p < world_phrase_count(); p++) {
                const world_phrase *ph = world_phrase_at(p);
                char listed[128], avoided[128];
                snprintf(listed, sizeof listed, ". Says to %s.\n", ph->words);
                snprintf(avoided, sizeof avoided, ". Avoid: Says to %s.\n", ph->words);
                char *pattern = world_match_pattern(p);
                int said = pattern_matches(pattern, answer);
                if (strstr(user, listed)) assert_true(said);
                if (strstr(user, avoided)) assert_false(said);
                free(pattern);
            }
        }
        free(request);
        cJSON_Delete(ex);
    }
    assert_int_equal(lines, 400);
    assert_true(with_rubric > 120 && with_rubric < 280); /* --sft-rubric-frac 0.5 of 400 */
    free(data);
    /* every pre-token of every chat is one token of the world tokenizer */
    world_bpe bpe;
    world_pretokenizer *pre = NULL;
    assert_int_equal(world_learn_tokenizer(&bpe), RG_OK);
    assert_int_equal(world_pretokenizer_new(&pre), RG_OK);
    data = read_in(dir, "sft.jsonl", NULL);
    for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *ex = cJSON_Parse(line);
        const cJSON *msg;
        cJSON_ArrayForEach(msg, cJSON_GetObjectItem(ex, "messages")) {
            encoder e = {&bpe, NULL, 0, 0, 0};
            assert_int_equal(world_pretokenize(pre, cJSON_GetObjectItem(msg, "content")->valuestring, encode_chunk, &e), RG_OK);
            assert_int_equal(e.multi_token_chunks, 0);
            free(e.ids);
        }
        cJSON_Delete(ex);
    }
    free(data);
    world_pretokenizer_free(pre);
    world_bpe_free(&bpe);
    /* world.json and the tokenizer files are JSON */
    for (size_t i = 3; i < sizeof FILES / sizeof FILES[0]; i++) {
        char *text = read_in(dir, FILES[i], NULL);
        cJSON *j = cJSON_Parse(text);
        assert_non_null(j);
        cJSON_Delete(j);
        free(text);
    }
    remove_dir(dir);
}

/* Decodes ids back to bytes: special tokens as their text, learnt tokens
 * through the inverse of the byte-level mapping. */
static char *decode_ids(const world_bpe *bpe, const int32_t *ids, int n) {
    char byte_chars[256][3];
    for (int b = 0; b < 256; b++) world_byte_char((unsigned char)b, byte_chars[b]);
    size_t cap = 16, len = 0;
    char *out = malloc(cap);
    for (int i = 0; i < n; i++) {
        const char *piece = ids[i] >= bpe->n_tokens ? WORLD_SPECIAL_TOKENS[ids[i] - bpe->n_tokens] : bpe->tokens[ids[i]];
        int special = ids[i] >= bpe->n_tokens;
        while (*piece) {
            if (len + 2 > cap) out = realloc(out, cap *= 2);
            if (special) {
                out[len++] = *piece++;
                continue;
            }
            int b = 0;
            size_t w = ((unsigned char)*piece < 0x80) ? 1 : 2;
            while (b < 256 && strncmp(byte_chars[b], piece, w) != 0) b++;
            assert_true(b < 256);
            out[len++] = (char)b;
            piece += w;
        }
    }
    out[len] = 0;
    return out;
}

static void expect_ids(world_pretokenizer *pre, const world_bpe *bpe, const char *text, const cJSON *ids,
                       int want_one_token_per_chunk) {
    encoder e = {bpe, NULL, 0, 0, 0};
    assert_int_equal(world_pretokenize(pre, text, encode_chunk, &e), RG_OK);
    char *decoded = decode_ids(bpe, e.ids, e.n);
    assert_string_equal(decoded, text); /* rgsd's own round trip */
    free(decoded);
    if (e.n != cJSON_GetArraySize(ids)) fail_msg("%d ids, reference has %d: %s", e.n, cJSON_GetArraySize(ids), text);
    for (int i = 0; i < e.n; i++)
        if (e.ids[i] != cJSON_GetArrayItem(ids, i)->valueint)
            fail_msg("id %d: %d, reference %d in %s", i, e.ids[i], cJSON_GetArrayItem(ids, i)->valueint, text);
    if (want_one_token_per_chunk && e.multi_token_chunks) fail_msg("a world pre-token is several tokens in: %s", text);
    free(e.ids);
}

static void test_tokenizer_matches_huggingface(void **state) {
    (void)state;
    const char *path = test_path(test_ref_dir(), "world/tokens.json");
    SKIP_UNLESS_FILE(path, "reference ids from @huggingface/tokenizers (make refs)");
    char *text = NULL;
    size_t len;
    assert_int_equal(rg_read_file(path, &text, &len), RG_OK);
    cJSON *ref = cJSON_Parse(text);
    free(text);
    assert_non_null(ref);
    world_bpe bpe;
    assert_int_equal(world_learn_tokenizer(&bpe), RG_OK);
    world_pretokenizer *pre = NULL;
    assert_int_equal(world_pretokenizer_new(&pre), RG_OK);
    const cJSON *chats = cJSON_GetObjectItem(ref, "chats"), *chat;
    assert_true(cJSON_GetArraySize(chats) >= 390); /* 300 sft + 60 train + 30 held-out */
    cJSON_ArrayForEach(chat, chats) {
        /* jinja's render of the chat_template equals plain ChatML */
        const cJSON *messages = cJSON_GetObjectItem(chat, "messages");
        int n = cJSON_GetArraySize(messages);
        world_message m[4];
        assert_true(n >= 2 && n <= 4);
        for (int i = 0; i < n; i++) {
            const cJSON *msg = cJSON_GetArrayItem(messages, i);
            m[i] = (world_message){cJSON_GetObjectItem(msg, "role")->valuestring,
                                   cJSON_GetObjectItem(msg, "content")->valuestring};
        }
        char *rendered = world_chatml(m, n), *prompt = world_chatml(m, n - 1);
        char *with_header = rg_sprintf("%s<|im_start|>assistant\n", prompt);
        const char *chat_text = cJSON_GetObjectItem(chat, "text")->valuestring;
        assert_string_equal(rendered, chat_text);
        assert_string_equal(with_header, cJSON_GetObjectItem(chat, "prompt")->valuestring);
        /* ids equal, each pre-token of the world's language is one token, decode round-trips */
        expect_ids(pre, &bpe, chat_text, cJSON_GetObjectItem(chat, "ids"), 1);
        expect_ids(pre, &bpe, m[n - 1].content, cJSON_GetObjectItem(chat, "answer_ids"), 1);
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(chat, "answer_ids")),
                         world_count_chunks(pre, m[n - 1].content));
        assert_string_equal(cJSON_GetObjectItem(chat, "decoded")->valuestring, chat_text);
        free(rendered), free(prompt), free(with_header);
    }
    /* other text goes through the byte tokens, still identical */
    const cJSON *other;
    cJSON_ArrayForEach(other, cJSON_GetObjectItem(ref, "other")) {
        const char *t = cJSON_GetObjectItem(other, "text")->valuestring;
        expect_ids(pre, &bpe, t, cJSON_GetObjectItem(other, "ids"), 0);
        assert_string_equal(cJSON_GetObjectItem(other, "decoded")->valuestring, t);
    }
    /* the tokenizer.json the reference loaded is the one learnt here */
    char *tok = NULL;
    assert_int_equal(rg_read_file(test_path(test_ref_dir(), "world/gen/tokenizer/tokenizer.json"), &tok, &len), RG_OK);
    cJSON *tj = cJSON_Parse(tok);
    free(tok);
    const cJSON *model = cJSON_GetObjectItem(tj, "model");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(model, "vocab")), bpe.n_tokens);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(model, "merges")), bpe.n_merges);
    assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(tj, "added_tokens"), 2)->child->valueint,
                     bpe.n_tokens + 2); /* <|im_end|> */
    cJSON_Delete(tj);
    world_pretokenizer_free(pre);
    world_bpe_free(&bpe);
    cJSON_Delete(ref);
}

/* Bad configurations are refused before anything is written. */
static void test_bad_config(void **state) {
    (void)state;
    world_config cfg;
    world_config_defaults(&cfg);
    world_summary summary;
    cfg.out_dir = "/tmp/rgsd-world-never-written";
    cfg.n_train = 0;
    assert_int_equal(world_generate(&cfg, &summary), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "--train"));
    world_config_defaults(&cfg);
    cfg.out_dir = "/tmp/rgsd-world-never-written";
    cfg.counterfactual = 1.5;
    assert_int_equal(world_generate(&cfg, &summary), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "--counterfactual"));
    assert_int_equal(access("/tmp/rgsd-world-never-written", F_OK), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rubric_and_scores_by_hand),
        cmocka_unit_test(test_same_seed_same_bytes),
        cmocka_unit_test(test_splits_valid_disjoint_and_references_score_one),
        cmocka_unit_test(test_tokenizer_matches_huggingface),
        cmocka_unit_test(test_bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
