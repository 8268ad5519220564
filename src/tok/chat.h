/* chat.h — chat templates rendered natively (no Jinja interpreter).
 *
 * The family is recognised from the chat_template string of
 * tokenizer_config.json (distinctive fragments, see chat_detect.c and
 * docs/chat-templates.md); the rendered text equals, byte for byte, what
 * Hugging Face transformers' Jinja rendering of that template gives
 * (tests/unit/test_chat.c checks it against @huggingface/jinja rendering the
 * real templates). An unknown template is an error that names the supported
 * families and the --chat-template FAMILY override.
 *
 * Supported (families and the template variants inside them):
 *   chatml    plain ChatML, no default system prompt
 *   qwen2     ChatML + default system "You are a helpful assistant."
 *   qwen2.5   ChatML + default system "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
 *   qwen3     Qwen3 (hybrid thinking): <think> blocks, enable_thinking
 *   llama3    Llama 3.0: bos + role headers, no system preamble
 *   llama3.1  Llama 3.1 / 3.2 / 3.3: bos + system header with
 *             "Cutting Knowledge Date: December 2023" and "Today Date: <date_string>"
 * Tool calls, tool results and tool definitions are out of scope: a message
 * with another role than system/user/assistant is an error.
 *
 * Appending a response (trainers, logprob scoring). Render the prompt with
 * add_generation_prompt = 1; the text the model is to produce after it is
 *     response + rg_chat_end_of_turn(t)
 * and nothing else; when the turn is kept as history the template also
 * writes rg_chat_after_end_of_turn(t) after it. Per family:
 *   chatml/qwen2/qwen2.5: prompt ends "<|im_start|>assistant\n";
 *       turn = response + "<|im_end|>", then "\n" in history.
 *   qwen3, enable_thinking = 1: prompt ends "<|im_start|>assistant\n";
 *       the response is what the model generates, i.e. it begins with its own
 *       "<think>\n...\n</think>\n\n" block; turn = response + "<|im_end|>", then "\n".
 *   qwen3, enable_thinking = 0: prompt ends "<|im_start|>assistant\n<think>\n\n</think>\n\n";
 *       turn = answer + "<|im_end|>", then "\n".
 *   llama3, llama3.1: prompt ends "<|start_header_id|>assistant<|end_header_id|>\n\n";
 *       turn = response + "<|eot_id|>", nothing after.
 * Rendering the whole conversation (with the response as the last assistant
 * message) gives the same bytes as prompt + turn (+ after) as long as the
 * response has no leading/trailing whitespace (Llama trims message content)
 * and, for Qwen3, begins with "<think>\n" when thinking is on.
 *
 * Llama 3 templates start with bos_token ("<|begin_of_text|>"): tokenize the
 * rendered text WITHOUT adding another BOS. */
#ifndef RG_CHAT_H
#define RG_CHAT_H

typedef enum {
    RG_CHAT_CHATML,  /* ChatML: Qwen2.5, Qwen2 and plain ChatML (default system prompt or none) */
    RG_CHAT_QWEN3,   /* Qwen3: <think> handling, enable_thinking */
    RG_CHAT_LLAMA3,  /* Llama 3.0 */
    RG_CHAT_LLAMA31, /* Llama 3.1 / 3.2 / 3.3: system preamble with the dates */
} rg_chat_family;

typedef struct {
    const char *role;    /* "system" | "user" | "assistant" */
    const char *content; /* UTF-8, required (may be "") */
    /* Qwen3 assistant turns only (ignored elsewhere, as the templates do):
     * the reasoning shown inside <think>...</think>. NULL = not given: the
     * template then takes it out of content ("<think>r</think>answer"). */
    const char *reasoning_content;
} rg_chat_message;

typedef struct {
    int add_generation_prompt; /* end with the assistant header, ready to generate */
    int enable_thinking;       /* Qwen3 only; 1 = thinking on (the template's default), 0 = off */
    /* Llama 3.1+ "Today Date: ..." line. NULL = the template's own fallback,
     * "26 Jul 2024" (transformers renders that for 3.1; 3.2/3.3 would use the
     * current date via strftime_now, which rgsd does not: renders must not
     * change from one day to the next between training and evaluation). */
    const char *date_string;
} rg_chat_options;

typedef struct rg_chat_template rg_chat_template;

/* Detects the family from a chat_template string (bos_token: the Llama
 * default "<|begin_of_text|>"). Unknown template: error naming the families. */
int rg_chat_template_from_string(const char *jinja_source, rg_chat_template **out);
/* From the text of a tokenizer_config.json (chat_template, bos_token).
 * `origin` names the file in error messages. */
int rg_chat_template_from_config(const char *config_json, const char *origin, rg_chat_template **out);
/* From a model folder's tokenizer_config.json. */
int rg_chat_template_load(const char *model_dir, rg_chat_template **out);
/* The --chat-template FAMILY override: "chatml", "qwen2", "qwen2.5", "qwen3",
 * "llama3", "llama3.1" (also "llama3.2", "llama3.3"). */
int rg_chat_template_from_name(const char *name, rg_chat_template **out);
/* What a command calls: the --chat-template override when family_name is
 * not NULL, else the template of the model folder. */
int rg_chat_template_open(const char *model_dir, const char *family_name, rg_chat_template **out);
void rg_chat_template_free(rg_chat_template *t);

rg_chat_family rg_chat_template_family(const rg_chat_template *t);
/* The variant name used by --chat-template: "qwen2.5", "llama3.1", ... */
const char *rg_chat_template_name(const rg_chat_template *t);
/* The names accepted by rg_chat_template_from_name, comma separated. */
const char *rg_chat_template_names(void);

/* The marker that ends an assistant turn, what generation stops at:
 * "<|im_end|>" (ChatML, Qwen3) or "<|eot_id|>" (Llama 3). */
const char *rg_chat_end_of_turn(const rg_chat_template *t);
/* What the template writes after that marker in history: "\n" or "". */
const char *rg_chat_after_end_of_turn(const rg_chat_template *t);

/* Renders messages to text (malloc'd, NUL-terminated). options NULL means
 * add_generation_prompt = 0, enable_thinking = 1, date_string = NULL.
 * Errors: no messages, a role other than system/user/assistant (tools are
 * out of scope), missing content, content that is not valid UTF-8. */
int rg_chat_render(const rg_chat_template *t, const rg_chat_message *messages, int n_messages,
                   const rg_chat_options *options, char **text);

#endif
