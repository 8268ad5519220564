/* lm.h — a language model as the commands and trainers use it: the weights
 * with their tokenizer and chat template, conversations read from JSONL lines,
 * and chat-templated prompts encoded to token ids. Below the CLI: rgsd/, grpo/,
 * eval/ and judge/ build on it (docs/architecture.md). */
#ifndef RG_LM_H
#define RG_LM_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "model/model.h"
#include "tok/chat.h"
#include "tok/tokenizer.h"

typedef struct {
    rg_model model;
    rg_tokenizer *tok;
    rg_chat_template *chat;
    int32_t end_of_turn; /* the chat template's end-of-turn token id, -1 if unknown */
} rg_lm;

/* model_path: a model folder or a .gguf file; tokenizer_dir: where
 * tokenizer.json / tokenizer_config.json are (NULL: the model folder, or the
 * folder of the .gguf); chat_family: the --chat-template override or NULL. */
int rg_lm_open(rg_lm *lm, const char *model_path, const char *tokenizer_dir, const char *chat_family, int bf16);
void rg_lm_close(rg_lm *lm);

/* A conversation: messages borrowed from a cJSON tree or argv. */
typedef struct {
    rg_chat_message *messages;
    int n_messages;
    char *id;        /* malloc'd */
    cJSON *owner;    /* the tree the strings live in (freed by rg_conversation_free) */
    void *example;   /* rg_example * when read by the rubric loader */
} rg_conversation;

/* From one JSONL line: any rubric-data format (via the rubric loader), or a
 * plain {"messages": [...]} / {"prompt": [...] | "text"} line. Takes
 * ownership of `line`. A system message is added in front when `system` is
 * given and the conversation has none. */
int rg_conversation_from_json(cJSON *line, const char *source, long line_no, const char *system,
                              rg_conversation *conv);
void rg_conversation_free(rg_conversation *conv);

/* Renders with the generation prompt and encodes (special tokens allowed in
 * the template's own markup). *ids malloc'd. */
int rg_lm_encode_prompt(const rg_lm *lm, const rg_chat_message *messages, int n_messages, int32_t **ids, int *n_ids);

#endif
