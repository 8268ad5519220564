/* lm.c — see lm.h. */
#include "lm/lm.h"

#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "io/chat_json.h"
#include "rubric/rubric.h"

static char *folder_of(const char *path) {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return rg_strdup(path);
    char *copy = rg_strdup(path);
    if (!copy) return NULL;
    char *dir = rg_strdup(dirname(copy));
    free(copy);
    return dir;
}

int rg_lm_open(rg_lm *lm, const char *model_path, const char *tokenizer_dir, const char *chat_family, int bf16) {
    memset(lm, 0, sizeof *lm);
    lm->end_of_turn = -1;
    /* The model first: a wrong --model is the likeliest mistake, and its error names it. */
    if (rg_model_load(&lm->model, model_path, bf16 ? RG_WEIGHTS_BF16 : RG_WEIGHTS_F32)) return RG_ERR;
    char *dir = tokenizer_dir ? rg_strdup(tokenizer_dir) : folder_of(model_path);
    int rc = dir ? rg_tokenizer_load(dir, &lm->tok) : RG_ERR;
    if (rc == RG_OK) rc = rg_chat_template_open(dir, chat_family, &lm->chat);
    free(dir);
    if (rc == RG_OK) {
        lm->end_of_turn = rg_tokenizer_token_id(lm->tok, rg_chat_end_of_turn(lm->chat));
        if (rg_tokenizer_vocab_size(lm->tok) > lm->model.cfg.vocab_size)
            rc = rg_error("%s: the tokenizer has %d tokens but the model's vocab_size is %d", model_path,
                          rg_tokenizer_vocab_size(lm->tok), lm->model.cfg.vocab_size);
    }
    if (rc) rg_lm_close(lm);
    return rc;
}

void rg_lm_close(rg_lm *lm) {
    rg_model_free(&lm->model);
    if (lm->tok) rg_tokenizer_free(lm->tok);
    if (lm->chat) rg_chat_template_free(lm->chat);
    memset(lm, 0, sizeof *lm);
}

void rg_conversation_free(rg_conversation *conv) {
    free(conv->messages);
    free(conv->id);
    cJSON_Delete(conv->owner);
    if (conv->example) {
        rg_example_free(conv->example);
        free(conv->example);
    }
    memset(conv, 0, sizeof *conv);
}

/* messages[] of {role, content} objects; NULL return with an error naming the field. */
static int messages_from_array(const cJSON *array, const char *source, long line_no, const char *field,
                               rg_conversation *conv) {
    int n = cJSON_GetArraySize(array);
    if (n == 0) return rg_error("%s:%ld: field '%s' is empty", source, line_no, field);
    conv->messages = rg_calloc((size_t)n + 1, sizeof *conv->messages);
    if (!conv->messages) return RG_ERR;
    const cJSON *m;
    int i = 0;
    cJSON_ArrayForEach(m, array) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (cJSON_IsArray(content)) {
            /* OpenAI's text parts: joined, and put back in the line's tree
             * (which the conversation owns) as one string. */
            char *text = NULL, below[64], why[160];
            if (rg_chat_json_content(content, &text, below, sizeof below, why, sizeof why))
                return rg_error("%s:%ld: %s[%d].content%s: %s", source, line_no, field, i, below, why);
            cJSON *joined = cJSON_CreateString(text);
            free(text);
            if (!joined || !cJSON_ReplaceItemInObjectCaseSensitive((cJSON *)m, "content", joined)) {
                cJSON_Delete(joined);
                return rg_error("out of memory");
            }
            content = joined;
        }
        if (!cJSON_IsString(role) || !cJSON_IsString(content))
            return rg_error("%s:%ld: %s[%d] needs string fields 'role' and 'content'", source, line_no, field, i);
        /* OpenAI's "developer" is the system message; other roles as written. */
        const char *known = rg_chat_json_role(role->valuestring);
        conv->messages[i].role = known ? known : role->valuestring;
        conv->messages[i].content = content->valuestring;
        i++;
    }
    conv->n_messages = n;
    return RG_OK;
}

static int add_system(rg_conversation *conv, const char *system) {
    if (!system || (conv->n_messages > 0 && strcmp(conv->messages[0].role, "system") == 0)) return RG_OK;
    rg_chat_message *m = rg_realloc(conv->messages, sizeof *m * (size_t)(conv->n_messages + 1));
    if (!m) return RG_ERR;
    memmove(m + 1, m, sizeof *m * (size_t)conv->n_messages);
    m[0] = (rg_chat_message){.role = "system", .content = system};
    conv->messages = m;
    conv->n_messages++;
    return RG_OK;
}

int rg_conversation_from_json(cJSON *line, const char *source, long line_no, const char *system,
                              rg_conversation *conv) {
    memset(conv, 0, sizeof *conv);
    conv->owner = line;
    int rc = RG_ERR;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(line, "id");
    const cJSON *messages = cJSON_GetObjectItemCaseSensitive(line, "messages");
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(line, "prompt");
    int has_rubric = cJSON_HasObjectItem(line, "rubric") || cJSON_HasObjectItem(line, "rubrics") ||
                     cJSON_HasObjectItem(line, "Rubrics") || cJSON_HasObjectItem(line, "reward_model") ||
                     cJSON_HasObjectItem(line, "question");
    if (has_rubric) {
        /* Rubric data in any format: the loader normalises it (and names bad fields). */
        rg_example *ex = rg_calloc(1, sizeof *ex);
        if (!ex) goto done;
        if (rg_example_from_json(line, source, line_no, ex)) {
            free(ex);
            goto done;
        }
        conv->example = ex;
        conv->messages = rg_calloc(ex->nmessages + 1, sizeof *conv->messages);
        if (!conv->messages) goto done;
        for (size_t i = 0; i < ex->nmessages; i++) {
            conv->messages[i].role = rg_role_name(ex->messages[i].role);
            conv->messages[i].content = ex->messages[i].content;
        }
        conv->n_messages = (int)ex->nmessages;
        conv->id = rg_strdup(ex->id);
    } else if (cJSON_IsArray(messages)) {
        if (messages_from_array(messages, source, line_no, "messages", conv)) goto done;
    } else if (cJSON_IsArray(prompt)) {
        if (messages_from_array(prompt, source, line_no, "prompt", conv)) goto done;
    } else if (cJSON_IsString(prompt)) {
        conv->messages = rg_calloc(2, sizeof *conv->messages);
        if (!conv->messages) goto done;
        conv->messages[0] = (rg_chat_message){.role = "user", .content = prompt->valuestring};
        conv->n_messages = 1;
    } else {
        rg_error("%s:%ld: no conversation: expected 'messages', 'prompt', or rubric data", source, line_no);
        goto done;
    }
    if (!conv->id) {
        if (cJSON_IsString(id))
            conv->id = rg_strdup(id->valuestring);
        else
            conv->id = rg_sprintf("%s:%ld", source, line_no);
        if (!conv->id) goto done;
    }
    rc = add_system(conv, system);
done:
    if (rc) rg_conversation_free(conv);
    return rc;
}

int rg_lm_encode_prompt(const rg_lm *lm, const rg_chat_message *messages, int n_messages, int32_t **ids, int *n_ids) {
    char *text = NULL;
    rg_chat_options opt = {.add_generation_prompt = 1, .enable_thinking = 1};
    if (rg_chat_render(lm->chat, messages, n_messages, &opt, &text)) return RG_ERR;
    int rc = rg_tokenizer_encode(lm->tok, text, strlen(text), 1, ids, n_ids);
    free(text);
    return rc;
}
