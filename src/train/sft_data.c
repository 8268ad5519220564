/* sft_data.c — SFT JSONL to token ids and loss positions (see sft_data.h). */
#include "train/sft_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "io/chat_json.h"
#include "io/records.h"

typedef struct {
    int32_t *ids;
    uint8_t *target; /* target[i] = 1: token i is learnt */
    int n, cap;
} token_buf;

static int buf_append(token_buf *b, const int32_t *ids, int n, uint8_t target) {
    if (b->n + n > b->cap) {
        int cap = b->cap ? b->cap : 256;
        while (cap < b->n + n) cap *= 2;
        int32_t *ids2 = rg_realloc(b->ids, sizeof(int32_t) * (size_t)cap);
        if (!ids2) return RG_ERR;
        b->ids = ids2;
        uint8_t *t2 = rg_realloc(b->target, (size_t)cap);
        if (!t2) return RG_ERR;
        b->target = t2;
        b->cap = cap;
    }
    memcpy(b->ids + b->n, ids, sizeof(int32_t) * (size_t)n);
    memset(b->target + b->n, target, (size_t)n);
    b->n += n;
    return RG_OK;
}

static int encode_append(token_buf *b, const rg_tokenizer *tok, const char *text, size_t len, int allow_special,
                         uint8_t target) {
    int32_t *ids = NULL;
    int n = 0;
    if (len == 0) return RG_OK;
    if (rg_tokenizer_encode(tok, text, len, allow_special, &ids, &n) != RG_OK) return RG_ERR;
    int rc = buf_append(b, ids, n, target);
    free(ids);
    return rc;
}

/* "messages" -> tokens with the assistant turns as targets.
 * The conversation up to its last assistant turn is rendered once (F, what
 * transformers' apply_chat_template gives); assistant turn k starts where the
 * generation prompt of messages[0..k) ends (that prompt must be a prefix of
 * F) and runs through the next end-of-turn marker. The text is tokenised in
 * segments cut at those points (prompt parts masked out), which are token
 * boundaries: they fall after a role header's newline and after a special
 * token. Qwen3's empty "<think>\n\n</think>\n\n" on the last turn is part
 * of that turn, as the template renders it. */
static int render_messages(const cJSON *messages, const rg_tokenizer *tok, const rg_chat_template *tmpl,
                           const char *where, token_buf *out) {
    int n = cJSON_GetArraySize(messages);
    if (n == 0) return rg_error("%s: \"messages\" is empty", where);
    rg_chat_message *msgs = rg_calloc((size_t)n, sizeof *msgs);
    if (!msgs) return RG_ERR;
    int rc = RG_ERR, last_assistant = -1;
    char *full = NULL, *prompt = NULL;
    /* Contents as text (parts joined), owned here; roles point at constants. */
    char **texts = rg_calloc((size_t)n, sizeof *texts);
    if (!texts) goto done;
    for (int i = 0; i < n; i++) {
        const cJSON *m = cJSON_GetArrayItem(messages, i);
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (!cJSON_IsString(role) || !content) {
            rg_error("%s: messages[%d] needs string \"role\" and \"content\"", where, i);
            goto done;
        }
        /* "developer" is read as "system"; other roles go to the template as written. */
        msgs[i].role = rg_chat_json_role(role->valuestring);
        if (!msgs[i].role) msgs[i].role = role->valuestring;
        char below[64], why[160];
        if (rg_chat_json_content(content, &texts[i], below, sizeof below, why, sizeof why)) {
            rg_error("%s: messages[%d].content%s: %s", where, i, below, why);
            goto done;
        }
        msgs[i].content = texts[i];
        if (strcmp(msgs[i].role, "assistant") == 0) last_assistant = i;
    }
    if (last_assistant < 0) {
        rg_error("%s: no assistant message to learn from", where);
        goto done;
    }
    if (strcmp(msgs[0].role, "assistant") == 0) {
        rg_error("%s: messages[0] is an assistant turn with no prompt before it", where);
        goto done;
    }
    char why[400];
    if (rg_chat_render(tmpl, msgs, last_assistant + 1, NULL, &full) != RG_OK) goto render_error;
    const char *eot = rg_chat_end_of_turn(tmpl);
    size_t covered = 0, full_len = strlen(full);
    rg_chat_options gen = {.add_generation_prompt = 1, .enable_thinking = 1};
    for (int k = 1; k <= last_assistant; k++) {
        if (strcmp(msgs[k].role, "assistant") != 0) continue;
        if (rg_chat_render(tmpl, msgs, k, &gen, &prompt) != RG_OK) goto render_error;
        size_t start = strlen(prompt);
        if (start < covered || start > full_len || memcmp(prompt, full, start) != 0) {
            rg_error("%s: the chat template renders the conversation before assistant turn %d differently once "
                     "more turns follow; put one assistant turn per line", where, k);
            goto done;
        }
        free(prompt);
        prompt = NULL;
        const char *end = strstr(full + start, eot);
        if (!end) {
            rg_error("%s: assistant turn %d has no end-of-turn marker %s in the rendered text", where, k, eot);
            goto done;
        }
        size_t stop = (size_t)(end - full) + strlen(eot);
        if (encode_append(out, tok, full + covered, start - covered, 1, 0) != RG_OK ||
            encode_append(out, tok, full + start, stop - start, 1, 1) != RG_OK)
            goto done;
        covered = stop;
    }
    rc = RG_OK;
    goto done;
render_error:
    snprintf(why, sizeof why, "%s", rg_errmsg());
    rg_error("%s: %s", where, why);
done:
    free(prompt);
    free(full);
    for (int i = 0; texts && i < n; i++) free(texts[i]);
    free(texts);
    free(msgs);
    return rc;
}

static int read_pretokenised(const cJSON *root, const cJSON *ids, const char *where, int vocab_size, token_buf *out) {
    const cJSON *mask = cJSON_GetObjectItemCaseSensitive(root, "loss_mask");
    int n = cJSON_GetArraySize(ids);
    if (mask && (!cJSON_IsArray(mask) || cJSON_GetArraySize(mask) != n))
        return rg_error("%s: \"loss_mask\" must be an array as long as \"input_ids\" (%d)", where, n);
    for (int i = 0; i < n; i++) {
        const cJSON *id = cJSON_GetArrayItem(ids, i);
        if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble >= vocab_size ||
            id->valuedouble != (double)(int32_t)id->valuedouble)
            return rg_error("%s: input_ids[%d] is not a token id of this model (vocabulary %d)", where, i,
                            vocab_size);
        uint8_t target = i > 0;
        if (mask) {
            const cJSON *m = cJSON_GetArrayItem(mask, i);
            if (!cJSON_IsNumber(m) || (m->valuedouble != 0 && m->valuedouble != 1))
                return rg_error("%s: loss_mask[%d] must be 0 or 1", where, i);
            target = m->valuedouble == 1 && i > 0;
        }
        int32_t v = (int32_t)id->valuedouble;
        if (buf_append(out, &v, 1, target) != RG_OK) return RG_ERR;
    }
    return RG_OK;
}

int rg_sft_data_load(rg_sft_data *data, const char *path, const rg_tokenizer *tok, const rg_chat_template *tmpl,
                     int max_len, int vocab_size) {
    memset(data, 0, sizeof *data);
    if (max_len < 2) return rg_error("--max-len must be at least 2");
    rg_records *in;
    if (rg_records_open(&in, path) != RG_OK) return RG_ERR;
    int cap = 0, got, rc = RG_ERR;
    cJSON *root = NULL;
    token_buf buf = {0};
    char where[512];
    while ((got = rg_records_next(in, &root)) == 1) {
        /* An element of a JSON array is named by its index too (elements may share a line). */
        if (rg_records_index(in) >= 0)
            snprintf(where, sizeof where, "%s:%ld: [%ld]", rg_records_name(in), rg_records_line(in),
                     rg_records_index(in));
        else
            snprintf(where, sizeof where, "%s:%ld", rg_records_name(in), rg_records_line(in));
        buf.n = 0;
        const cJSON *messages = cJSON_GetObjectItemCaseSensitive(root, "messages");
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(root, "input_ids");
        if (cJSON_IsArray(messages)) {
            if (!tok || !tmpl) {
                rg_error("%s: \"messages\" need the model's tokenizer and chat template", where);
                goto done;
            }
            if (render_messages(messages, tok, tmpl, where, &buf) != RG_OK) goto done;
            for (int i = 0; i < buf.n; i++)
                if (buf.ids[i] >= vocab_size) {
                    rg_error("%s: token id %d from the tokenizer is outside the model's vocabulary (%d)", where,
                             buf.ids[i], vocab_size);
                    goto done;
                }
        } else if (cJSON_IsArray(ids)) {
            if (read_pretokenised(root, ids, where, vocab_size, &buf) != RG_OK) goto done;
        } else {
            rg_error("%s: expected a \"messages\" array or an \"input_ids\" array", where);
            goto done;
        }
        cJSON_Delete(root);
        root = NULL;
        if (buf.n > max_len) {
            buf.n = max_len;
            data->truncated++;
        }
        if (buf.n < 2) {
            rg_error("%s: fewer than 2 tokens: nothing to predict", where);
            goto done;
        }
        if (data->n == cap) {
            cap = cap ? cap * 2 : 64;
            rg_train_example *grown = rg_realloc(data->examples, sizeof *grown * (size_t)cap);
            if (!grown) goto done;
            data->examples = grown;
        }
        rg_train_example *ex = &data->examples[data->n];
        memset(ex, 0, sizeof *ex);
        data->n++;
        ex->T = buf.n;
        ex->ids = rg_malloc(sizeof(int32_t) * (size_t)buf.n);
        ex->loss_positions = rg_malloc(sizeof(int32_t) * (size_t)buf.n);
        if (!ex->ids || !ex->loss_positions) goto done;
        memcpy(ex->ids, buf.ids, sizeof(int32_t) * (size_t)buf.n);
        for (int i = 1; i < buf.n; i++)
            if (buf.target[i]) ex->loss_positions[ex->n_loss++] = i - 1;
        data->loss_tokens += ex->n_loss;
        data->tokens += ex->T;
        if (ex->T > data->max_T) data->max_T = ex->T;
    }
    if (got < 0) goto done;
    if (data->n == 0) {
        rg_error("%s: no examples: the file holds no records", path);
        goto done;
    }
    if (data->loss_tokens == 0) {
        rg_error("%s: no target tokens in any example (every loss mask is empty)", path);
        goto done;
    }
    if (data->truncated) rg_warn("%s: %d sequences cut to --max-len %d", path, data->truncated, max_len);
    rc = RG_OK;
done:
    cJSON_Delete(root);
    rg_records_close(in);
    free(buf.ids);
    free(buf.target);
    if (rc != RG_OK) rg_sft_data_free(data);
    return rc;
}

void rg_sft_data_free(rg_sft_data *data) {
    for (int i = 0; i < data->n; i++) {
        free(data->examples[i].ids);
        free(data->examples[i].loss_positions);
    }
    free(data->examples);
    memset(data, 0, sizeof *data);
}
