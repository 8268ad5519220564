/* chat_prompt.c — see chat_prompt.h. */
#include "rubric/chat_prompt.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

int rg_chat_prompt_render(const rg_chat_template *chat, const rg_message *messages, size_t n_messages,
                          const char *system, int enable_thinking, char **text) {
    int add_system = system && (n_messages == 0 || messages[0].role != RG_ROLE_SYSTEM);
    rg_chat_message *turns = rg_calloc(n_messages + 1, sizeof *turns);
    if (!turns) return RG_ERR;
    int n = 0;
    if (add_system) turns[n++] = (rg_chat_message){.role = "system", .content = system};
    for (size_t m = 0; m < n_messages; m++)
        turns[n++] = (rg_chat_message){.role = rg_role_name(messages[m].role), .content = messages[m].content};
    rg_chat_options chat_options = {.add_generation_prompt = 1, .enable_thinking = enable_thinking};
    int rc = rg_chat_render(chat, turns, n, &chat_options, text);
    free(turns);
    return rc;
}

int rg_chat_prompt_encode(const rg_chat_template *chat, const rg_tokenizer *tok, const rg_message *messages,
                          size_t n_messages, const char *system, int enable_thinking, int32_t **ids, int *n_ids) {
    char *text = NULL;
    int rc = rg_chat_prompt_render(chat, messages, n_messages, system, enable_thinking, &text);
    if (rc == RG_OK) rc = rg_tokenizer_encode(tok, text, strlen(text), 1, ids, n_ids);
    free(text);
    return rc;
}
