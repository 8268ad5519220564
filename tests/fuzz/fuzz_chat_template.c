/* fuzz_chat_template.c — chat template detection from a tokenizer_config.json
 * text (chat_template as a string or a named list, bos_token) and native
 * rendering of conversations with the detected template.
 *
 * Input: "tokenizer_config.json\0conversation" (see fuzz_split). The
 * conversation is NUL-separated messages; a message's first byte picks its
 * role (system/user/assistant, and for assistant turns whether the part after
 * a '\x01' is the reasoning) and the rest is its content. Its very first byte
 * picks the options. Without a conversation a fixed one is rendered. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tok/chat.h"

#define MAX_MESSAGES 16

static const char *const roles[] = {"system", "user", "assistant"};

static void render(const rg_chat_template *t, const rg_chat_message *m, int n, unsigned flags) {
    rg_chat_options options = {.add_generation_prompt = flags & 1,
                               .enable_thinking = (flags >> 1) & 1,
                               .date_string = (flags & 4) ? "01 Jan 2026" : NULL};
    char *text = NULL;
    if (rg_chat_render(t, m, n, &options, &text) == 0) fuzz_check(text != NULL, "a render returns text");
    free(text);
}

static void fixed_conversation(const rg_chat_template *t) {
    rg_chat_message m[] = {{"system", "Be brief.", NULL},
                           {"user", "Hi <|im_end|> {{ x }}", NULL},
                           {"assistant", "<think>hm</think>\n\n Hello! ", NULL},
                           {"assistant", "Again.", "reasoning"},
                           {"user", "  Bye\n", NULL}};
    for (unsigned flags = 0; flags < 8; flags++) {
        render(t, m, 5, flags);
        render(t, m + 1, 1, flags);
        render(t, m, 3, flags);
    }
}

/* Splits the NUL-separated messages in place (buf is a writable copy). */
static void fuzzed_conversation(const rg_chat_template *t, char *buf, size_t size) {
    rg_chat_message m[MAX_MESSAGES];
    int n = 0;
    unsigned flags = size ? (unsigned char)buf[0] : 0;
    size_t i = size ? 1 : 0;
    while (i < size && n < MAX_MESSAGES) {
        char *field = buf + i;
        size_t len = strlen(field); /* buf[size] is NUL */
        i += len + 1;
        if (len == 0) continue;
        unsigned sel = (unsigned char)field[0];
        m[n] = (rg_chat_message){roles[sel % 3], field + 1, NULL};
        char *sep = strchr(field + 1, '\x01');
        if (sel % 3 == 2 && (sel & 4) && sep) {
            *sep = 0;
            m[n].reasoning_content = sep + 1;
        }
        n++;
    }
    render(t, m, n, flags);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *rest;
    size_t rest_size;
    char *config = fuzz_split(data, size, &rest, &rest_size);
    rg_chat_template *t;
    if (rg_chat_template_from_config(config, "tokenizer_config.json", &t) == 0) {
        rg_chat_template_name(t);
        rg_chat_template_family(t);
        fuzz_check(rg_chat_end_of_turn(t) != NULL && rg_chat_after_end_of_turn(t) != NULL,
                   "a template has its end-of-turn strings");
        if (rest) {
            char *buf = fuzz_cstr(rest, rest_size);
            fuzzed_conversation(t, buf, rest_size);
            free(buf);
        } else {
            fixed_conversation(t);
        }
        rg_chat_template_free(t);
    }
    free(config);
    return 0;
}
