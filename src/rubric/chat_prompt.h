/* chat_prompt.h — the prompt a model sees for rubric data: the example's
 * messages (or the teacher's), a system message in front when one is asked
 * for and the conversation has none, rendered by the chat template with the
 * generation prompt. One rendering for the RGSD student and teacher prompts
 * (rgsd_data.c), GRPO (grpo_data.c) and `rgsd eval` (eval.c), so that what is
 * trained on is what is evaluated. */
#ifndef RG_CHAT_PROMPT_H
#define RG_CHAT_PROMPT_H

#include <stddef.h>
#include <stdint.h>

#include "rubric/rubric.h"
#include "tok/chat.h"
#include "tok/tokenizer.h"

/* system may be NULL; *text malloc'd. */
int rg_chat_prompt_render(const rg_chat_template *chat, const rg_message *messages, size_t n_messages,
                          const char *system, int enable_thinking, char **text);

/* The same, encoded (special tokens allowed in the template's own markup); *ids malloc'd. */
int rg_chat_prompt_encode(const rg_chat_template *chat, const rg_tokenizer *tok, const rg_message *messages,
                          size_t n_messages, const char *system, int enable_thinking, int32_t **ids, int *n_ids);

#endif
