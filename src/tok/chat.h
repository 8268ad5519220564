/* chat.h — chat templates rendered natively (no Jinja interpreter).
 *
 * The family is recognised from the chat_template string of
 * tokenizer_config.json; the rendered text equals what Hugging Face's Jinja
 * rendering of that template gives. An unknown template is an error that says
 * how to proceed. */
#ifndef RG_CHAT_H
#define RG_CHAT_H

typedef enum {
    RG_CHAT_CHATML,  /* Qwen2.5 and plain ChatML */
    RG_CHAT_QWEN3,   /* Qwen3: <think> handling, enable_thinking */
    RG_CHAT_LLAMA3,  /* Llama 3.x */
} rg_chat_family;

typedef struct {
    const char *role;    /* "system" | "user" | "assistant" (| "tool" where a family supports it) */
    const char *content;
} rg_chat_message;

typedef struct {
    int add_generation_prompt; /* end with the assistant header, ready to generate */
    int enable_thinking;       /* Qwen3 only; 1 = default of the template */
} rg_chat_options;

typedef struct rg_chat_template rg_chat_template;

/* Detects the family from a chat_template string. */
int rg_chat_template_from_string(const char *jinja_source, rg_chat_template **out);
/* From a model folder's tokenizer_config.json. */
int rg_chat_template_load(const char *model_dir, rg_chat_template **out);
void rg_chat_template_free(rg_chat_template *t);
rg_chat_family rg_chat_template_family(const rg_chat_template *t);

/* Renders messages to text (malloc'd). */
int rg_chat_render(const rg_chat_template *t, const rg_chat_message *messages, int n_messages,
                   const rg_chat_options *options, char **text);

#endif
