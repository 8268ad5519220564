/* tokenizer_load.c — tokenizer.json to an rg_tokenizer.
 *
 * Every field is checked as it is read; anything rgsd does not implement
 * exactly is refused with a message that names the field, rather than
 * tokenizing differently from Hugging Face without a word. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "io/file.h"
#include "tok/tok_internal.h"

#define ABSENT UINT32_MAX

/* The GPT-2 pattern ByteLevel splits with when use_regex is true. */
static const char GPT2_PATTERN[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

typedef struct {
    char *data;
    size_t len, cap;
} arena;

/* Appends bytes plus a NUL; returns the offset, or ABSENT on failure. */
static uint32_t arena_add(arena *a, const void *bytes, size_t n) {
    if (a->len + n + 1 > a->cap) {
        size_t cap = a->cap ? a->cap : 1 << 16;
        while (cap < a->len + n + 1) cap *= 2;
        char *p = rg_realloc(a->data, cap);
        if (!p) return ABSENT;
        a->data = p;
        a->cap = cap;
    }
    if (a->len + n + 1 >= ABSENT) {
        rg_error("tokenizer: vocabulary text exceeds 4 GiB");
        return ABSENT;
    }
    uint32_t off = (uint32_t)a->len;
    memcpy(a->data + a->len, bytes, n);
    a->data[a->len + n] = '\0';
    a->len += n + 1;
    return off;
}

/* Line number of a byte offset, for JSON syntax errors. */
static int line_of(const char *text, size_t offset) {
    int line = 1;
    for (size_t i = 0; i < offset && text[i]; i++)
        if (text[i] == '\n') line++;
    return line;
}

int rg_json_read_file(const char *path, cJSON **out) {
    char *text;
    size_t len;
    if (rg_read_file(path, &text, &len) != RG_OK) return RG_ERR;
    const char *end = NULL;
    cJSON *json = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!json) {
        size_t at = end ? (size_t)(end - text) : 0;
        rg_error("%s:%d: malformed JSON near byte %zu", path, line_of(text, at), at);
        free(text);
        return RG_ERR;
    }
    free(text);
    *out = json;
    return RG_OK;
}

static const char *type_of(const cJSON *obj) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "type");
    return cJSON_IsString(t) ? t->valuestring : NULL;
}

static int flag(const cJSON *obj, const char *name, int fallback) {
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (cJSON_IsBool(f)) return cJSON_IsTrue(f);
    return fallback;
}

static int is_null_or_absent(const cJSON *f) { return !f || cJSON_IsNull(f); }

static int id_of(const cJSON *f, int32_t *id) {
    if (!cJSON_IsNumber(f) || f->valuedouble < 0 || f->valuedouble > INT32_MAX || f->valuedouble != (int32_t)f->valuedouble)
        return 0;
    *id = (int32_t)f->valuedouble;
    return 1;
}

/* ---- normalizer ---- */

static int read_normalizer(rg_tokenizer *tok, const cJSON *n, const char *path) {
    if (is_null_or_absent(n)) return RG_OK;
    const char *type = type_of(n);
    if (type && strcmp(type, "NFC") == 0) {
        tok->nfc = 1;
        return RG_OK;
    }
    if (type && strcmp(type, "Sequence") == 0) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(n, "normalizers");
        if (!cJSON_IsArray(list)) return rg_error("%s: normalizer.normalizers must be a list", path);
        const cJSON *item;
        cJSON_ArrayForEach(item, list) {
            if (read_normalizer(tok, item, path) != RG_OK) return RG_ERR;
        }
        return RG_OK;
    }
    return rg_error("%s: normalizer type \"%s\" is not supported (rgsd supports none, NFC, or a Sequence of NFC)", path,
                    type ? type : "(missing)");
}

/* ---- pre-tokenizer ---- */

static int add_step(rg_tokenizer *tok, rg_pre_step step) {
    rg_pre_step *steps = rg_realloc(tok->pre_steps, (size_t)(tok->n_pre_steps + 1) * sizeof *steps);
    if (!steps) {
        if (step.regex) pcre2_code_free(step.regex);
        return RG_ERR;
    }
    tok->pre_steps = steps;
    tok->pre_steps[tok->n_pre_steps++] = step;
    return RG_OK;
}

static int read_pre_tokenizer(rg_tokenizer *tok, const cJSON *p, const char *path) {
    const char *type = type_of(p);
    if (!type) return rg_error("%s: pre_tokenizer has no type", path);
    if (strcmp(type, "Sequence") == 0) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(p, "pretokenizers");
        if (!cJSON_IsArray(list)) return rg_error("%s: pre_tokenizer.pretokenizers must be a list", path);
        const cJSON *item;
        cJSON_ArrayForEach(item, list) {
            if (read_pre_tokenizer(tok, item, path) != RG_OK) return RG_ERR;
        }
        return RG_OK;
    }
    rg_pre_step step = {0};
    char where[512];
    if (strcmp(type, "Split") == 0) {
        step.kind = RG_PRE_SPLIT;
        const cJSON *pattern = cJSON_GetObjectItemCaseSensitive(p, "pattern");
        const cJSON *regex = cJSON_GetObjectItemCaseSensitive(pattern, "Regex");
        const cJSON *literal = cJSON_GetObjectItemCaseSensitive(pattern, "String");
        snprintf(where, sizeof where, "%s: pre_tokenizer Split pattern", path);
        if (cJSON_IsString(regex)) {
            if (rg_regex_compile(regex->valuestring, where, &step.regex, &step.jit) != RG_OK) return RG_ERR;
        } else if (cJSON_IsString(literal)) {
            /* A literal string: quote it for PCRE2 (\Q...\E). */
            if (strstr(literal->valuestring, "\\E")) return rg_error("%s: literal containing \\E is not supported", where);
            char *quoted = rg_sprintf("\\Q%s\\E", literal->valuestring);
            if (!quoted) return RG_ERR;
            int rc = rg_regex_compile(quoted, where, &step.regex, &step.jit);
            free(quoted);
            if (rc != RG_OK) return RG_ERR;
        } else {
            return rg_error("%s: pre_tokenizer Split needs pattern.Regex or pattern.String", path);
        }
        const cJSON *behavior = cJSON_GetObjectItemCaseSensitive(p, "behavior");
        const char *b = cJSON_IsString(behavior) ? behavior->valuestring : "(missing)";
        if (strcmp(b, "Isolated") == 0) {
            step.behavior = RG_SPLIT_ISOLATED;
        } else if (strcmp(b, "Removed") == 0) {
            step.behavior = RG_SPLIT_REMOVED;
        } else {
            pcre2_code_free(step.regex);
            return rg_error("%s: pre_tokenizer Split behavior \"%s\" is not supported (Isolated, Removed)", path, b);
        }
        step.invert = flag(p, "invert", 0);
        return add_step(tok, step);
    }
    if (strcmp(type, "ByteLevel") == 0) {
        step.kind = RG_PRE_BYTELEVEL;
        /* Absent flags default as in tokenizers.js (the Rust library
         * requires add_prefix_space; real files always give both). */
        step.add_prefix_space = flag(p, "add_prefix_space", 0);
        step.behavior = RG_SPLIT_ISOLATED;
        if (flag(p, "use_regex", 1)) {
            snprintf(where, sizeof where, "%s: ByteLevel GPT-2 pattern", path);
            if (rg_regex_compile(GPT2_PATTERN, where, &step.regex, &step.jit) != RG_OK) return RG_ERR;
        }
        return add_step(tok, step);
    }
    return rg_error("%s: pre_tokenizer type \"%s\" is not supported (rgsd supports Split and ByteLevel, alone or in "
                    "a Sequence)",
                    path, type);
}

/* ---- model: vocab and merges ---- */

static int set_id_text(rg_tokenizer *tok, arena *texts, arena *bytes, int32_t id, const char *text, size_t text_len,
                       const void *raw, size_t raw_len) {
    tok->text_off[id] = arena_add(texts, text, text_len);
    tok->text_len[id] = (uint32_t)text_len;
    if (tok->text_off[id] == ABSENT) return RG_ERR;
    if (raw) {
        tok->bytes_off[id] = arena_add(bytes, raw, raw_len);
        tok->bytes_len[id] = (uint32_t)raw_len;
        if (tok->bytes_off[id] == ABSENT) return RG_ERR;
    }
    return RG_OK;
}

static int read_vocab(rg_tokenizer *tok, const cJSON *vocab, arena *texts, arena *bytes, const char *path) {
    unsigned char *raw = NULL;
    size_t raw_cap = 0;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, vocab) {
        int32_t id;
        if (!id_of(entry, &id))
            return free(raw), rg_error("%s: model.vocab[\"%s\"] is not a non-negative integer id", path, entry->string);
        size_t len = strlen(entry->string);
        if (len + 1 > raw_cap) {
            raw_cap = 2 * len + 64;
            unsigned char *p = rg_realloc(raw, raw_cap);
            if (!p) return free(raw), RG_ERR;
            raw = p;
        }
        long n = rg_bytelevel_to_bytes(entry->string, len, raw);
        if (tok->text_off[id] != ABSENT)
            return free(raw), rg_error("%s: model.vocab gives id %d to two tokens", path, id);
        /* A token outside the byte-level alphabet can never come out of BPE;
         * it keeps its text for decoding (as itself). */
        if (set_id_text(tok, texts, bytes, id, entry->string, len, n >= 0 ? (void *)raw : entry->string,
                        n >= 0 ? (size_t)n : len) != RG_OK)
            return free(raw), RG_ERR;
        if (rg_strmap_put(&tok->text_to_id, entry->string, len, (uint64_t)id) != RG_OK) return free(raw), RG_ERR;
        if (n >= 0 && rg_strmap_put(&tok->bytes_to_id, raw, (size_t)n, (uint64_t)id) != RG_OK)
            return free(raw), RG_ERR;
    }
    free(raw);
    for (int b = 0; b < 256; b++) {
        unsigned char byte = (unsigned char)b;
        uint64_t id;
        if (!rg_strmap_get(&tok->bytes_to_id, &byte, 1, &id))
            return rg_error("%s: model.vocab has no token for byte 0x%02X (byte-level BPE needs all 256)", path, b);
        tok->byte_id[b] = (int32_t)id;
    }
    return RG_OK;
}

static int vocab_id(const rg_tokenizer *tok, const char *text, size_t len, int32_t *id) {
    uint64_t v;
    if (!rg_strmap_get(&tok->text_to_id, text, len, &v)) return 0;
    *id = (int32_t)v;
    return 1;
}

static int read_merges(rg_tokenizer *tok, const cJSON *merges, const char *path) {
    if (rg_merge_table_init(&tok->merges, (size_t)cJSON_GetArraySize(merges)) != RG_OK) return RG_ERR;
    char *joined = NULL;
    size_t joined_cap = 0;
    uint32_t rank = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, merges) {
        const char *left, *right;
        size_t left_len, right_len;
        if (cJSON_IsString(m)) { /* "a b" */
            const char *space = strchr(m->valuestring, ' ');
            if (!space || strchr(space + 1, ' '))
                return free(joined), rg_error("%s: model.merges[%u] \"%s\" is not two tokens separated by a space",
                                              path, rank, m->valuestring);
            left = m->valuestring;
            left_len = (size_t)(space - left);
            right = space + 1;
            right_len = strlen(right);
        } else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 && cJSON_IsString(cJSON_GetArrayItem(m, 0)) &&
                   cJSON_IsString(cJSON_GetArrayItem(m, 1))) { /* ["a", "b"] */
            left = cJSON_GetArrayItem(m, 0)->valuestring;
            right = cJSON_GetArrayItem(m, 1)->valuestring;
            left_len = strlen(left);
            right_len = strlen(right);
        } else {
            return free(joined), rg_error("%s: model.merges[%u] must be \"a b\" or [\"a\", \"b\"]", path, rank);
        }
        if (left_len + right_len + 1 > joined_cap) {
            joined_cap = 2 * (left_len + right_len) + 64;
            char *p = rg_realloc(joined, joined_cap);
            if (!p) return free(joined), RG_ERR;
            joined = p;
        }
        memcpy(joined, left, left_len);
        memcpy(joined + left_len, right, right_len);
        int32_t left_id, right_id, merged_id;
        if (!vocab_id(tok, left, left_len, &left_id) || !vocab_id(tok, right, right_len, &right_id))
            return free(joined), rg_error("%s: model.merges[%u] uses a token that is not in model.vocab", path, rank);
        if (!vocab_id(tok, joined, left_len + right_len, &merged_id)) {
            rg_error("%s: model.merges[%u]: the merged token \"%.*s\" is not in model.vocab", path, rank,
                     (int)(left_len + right_len), joined);
            free(joined);
            return RG_ERR;
        }
        if (rg_merge_table_put(&tok->merges, left_id, right_id, rank, merged_id) != RG_OK) return free(joined), RG_ERR;
        rank++;
    }
    free(joined);
    return RG_OK;
}

static int read_model(rg_tokenizer *tok, const cJSON *model, const cJSON *added, arena *texts, arena *bytes,
                      const char *path) {
    if (!cJSON_IsObject(model)) return rg_error("%s: no \"model\" object", path);
    const char *type = type_of(model);
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    if (type && strcmp(type, "BPE") != 0)
        return rg_error("%s: model.type \"%s\" is not supported (rgsd supports byte-level BPE: Qwen2.5, Qwen3, "
                        "Llama 3)",
                        path, type);
    if (!cJSON_IsObject(vocab)) return rg_error("%s: model.vocab is missing or not an object", path);
    if (!cJSON_IsArray(merges)) return rg_error("%s: model.merges is missing or not a list", path);
    if (flag(model, "byte_fallback", 0)) return rg_error("%s: model.byte_fallback is not supported", path);
    const char *affixes[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int i = 0; i < 2; i++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(model, affixes[i]);
        if (!is_null_or_absent(a) && !(cJSON_IsString(a) && a->valuestring[0] == '\0'))
            return rg_error("%s: model.%s is not supported", path, affixes[i]);
    }
    const cJSON *dropout = cJSON_GetObjectItemCaseSensitive(model, "dropout");
    if (cJSON_IsNumber(dropout) && dropout->valuedouble > 0)
        return rg_error("%s: model.dropout is not supported (it makes encoding random)", path);
    tok->ignore_merges = flag(model, "ignore_merges", 0);

    /* Size the id arrays: the largest id of the vocab and the added tokens. */
    int32_t max_id = -1, id;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, vocab) {
        if (!id_of(entry, &id))
            return rg_error("%s: model.vocab[\"%s\"] is not a non-negative integer id", path, entry->string);
        if (id > max_id) max_id = id;
    }
    cJSON_ArrayForEach(entry, added) {
        if (id_of(cJSON_GetObjectItemCaseSensitive(entry, "id"), &id) && id > max_id) max_id = id;
    }
    if (max_id < 0) return rg_error("%s: model.vocab is empty", path);
    tok->vocab_size = max_id + 1;
    size_t n = (size_t)tok->vocab_size;
    tok->text_off = rg_malloc(n * sizeof(uint32_t));
    tok->text_len = rg_calloc(n, sizeof(uint32_t));
    tok->bytes_off = rg_malloc(n * sizeof(uint32_t));
    tok->bytes_len = rg_calloc(n, sizeof(uint32_t));
    if (!tok->text_off || !tok->text_len || !tok->bytes_off || !tok->bytes_len) return RG_ERR;
    for (size_t i = 0; i < n; i++) tok->text_off[i] = tok->bytes_off[i] = ABSENT;
    size_t vocab_count = (size_t)cJSON_GetArraySize(vocab);
    if (rg_strmap_init(&tok->text_to_id, vocab_count + 1024) != RG_OK) return RG_ERR;
    if (rg_strmap_init(&tok->bytes_to_id, vocab_count) != RG_OK) return RG_ERR;
    if (read_vocab(tok, vocab, texts, bytes, path) != RG_OK) return RG_ERR;
    return read_merges(tok, merges, path);
}

/* ---- added tokens ---- */

static int by_length_desc(const void *a, const void *b) {
    size_t la = ((const rg_added_token *)a)->len, lb = ((const rg_added_token *)b)->len;
    return la < lb ? 1 : la > lb ? -1 : 0;
}

static int read_added(rg_tokenizer *tok, const cJSON *added, arena *texts, arena *bytes, const char *path) {
    if (is_null_or_absent(added)) return RG_OK;
    if (!cJSON_IsArray(added)) return rg_error("%s: added_tokens must be a list", path);
    int count = cJSON_GetArraySize(added);
    tok->added = rg_calloc((size_t)count + 1, sizeof *tok->added);
    if (!tok->added) return RG_ERR;
    const cJSON *a;
    int i = 0;
    cJSON_ArrayForEach(a, added) {
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(a, "content");
        int32_t id;
        if (!id_of(cJSON_GetObjectItemCaseSensitive(a, "id"), &id) || !cJSON_IsString(content) ||
            content->valuestring[0] == '\0')
            return rg_error("%s: added_tokens[%d] needs an integer \"id\" and a non-empty \"content\"", path, i);
        rg_added_token *t = &tok->added[tok->n_added++];
        t->len = strlen(content->valuestring);
        t->content = rg_strdup(content->valuestring);
        if (!t->content) return RG_ERR;
        t->id = id;
        t->special = (uint8_t)flag(a, "special", 0);
        t->lstrip = (uint8_t)flag(a, "lstrip", 0);
        t->rstrip = (uint8_t)flag(a, "rstrip", 0);
        t->single_word = (uint8_t)flag(a, "single_word", 0);
        t->normalized = (uint8_t)flag(a, "normalized", !t->special);
        if (t->normalized && tok->nfc) tok->has_normalized_added = 1;
        tok->added_first_byte[(unsigned char)t->content[0]] = 1;
        /* The added token's content wins over a model token of the same id. */
        if (set_id_text(tok, texts, bytes, id, t->content, t->len, t->content, t->len) != RG_OK) return RG_ERR;
        if (rg_strmap_put(&tok->text_to_id, t->content, t->len, (uint64_t)id) != RG_OK) return RG_ERR;
        i++;
    }
    /* Longest first, so the first match at a position is the longest one
     * (as the Rust tokenizers' leftmost-longest matcher). */
    qsort(tok->added, (size_t)tok->n_added, sizeof *tok->added, by_length_desc);
    return RG_OK;
}

/* ---- decoder and post-processor ---- */

static int read_decoder(const cJSON *d, const char *path) {
    if (is_null_or_absent(d)) return RG_OK;
    const char *type = type_of(d);
    if (type && strcmp(type, "ByteLevel") == 0) return RG_OK;
    if (type && strcmp(type, "Sequence") == 0) {
        const cJSON *item;
        cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(d, "decoders")) {
            if (read_decoder(item, path) != RG_OK) return RG_ERR;
        }
        return RG_OK;
    }
    return rg_error("%s: decoder type \"%s\" is not supported (rgsd decodes byte-level BPE only)", path,
                    type ? type : "(missing)");
}

/* Llama 3's TemplateProcessing puts <|begin_of_text|> first. */
static void read_post_processor(rg_tokenizer *tok, const cJSON *p) {
    const char *type = type_of(p);
    if (!type) return;
    if (strcmp(type, "Sequence") == 0) {
        const cJSON *item;
        cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(p, "processors")) read_post_processor(tok, item);
        return;
    }
    if (strcmp(type, "TemplateProcessing") != 0) return;
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(p, "single"), 0);
    const cJSON *special = cJSON_GetObjectItemCaseSensitive(first, "SpecialToken");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(special, "id");
    if (!cJSON_IsString(name)) return;
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(p, "special_tokens"),
                                                         name->valuestring);
    int32_t id;
    if (id_of(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(spec, "ids"), 0), &id)) {
        tok->adds_bos = 1;
        if (tok->bos_id < 0) tok->bos_id = id;
    }
}

/* ---- load ---- */

static int load_json(rg_tokenizer *tok, const char *path) {
    cJSON *root;
    if (rg_json_read_file(path, &root) != RG_OK) return RG_ERR;
    arena texts = {0}, bytes = {0};
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    int rc = RG_ERR;
    if (!cJSON_IsObject(root)) {
        rg_error("%s: the top level is not a JSON object", path);
    } else if (read_normalizer(tok, cJSON_GetObjectItemCaseSensitive(root, "normalizer"), path) == RG_OK &&
               read_model(tok, cJSON_GetObjectItemCaseSensitive(root, "model"), added, &texts, &bytes, path) == RG_OK &&
               read_added(tok, added, &texts, &bytes, path) == RG_OK &&
               read_decoder(cJSON_GetObjectItemCaseSensitive(root, "decoder"), path) == RG_OK) {
        const cJSON *pre = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
        if (is_null_or_absent(pre)) {
            rg_error("%s: no pre_tokenizer (rgsd needs a ByteLevel pre-tokenizer)", path);
        } else if (read_pre_tokenizer(tok, pre, path) == RG_OK) {
            int has_byte_level = 0;
            for (int i = 0; i < tok->n_pre_steps; i++) has_byte_level |= tok->pre_steps[i].kind == RG_PRE_BYTELEVEL;
            if (!has_byte_level)
                rg_error("%s: pre_tokenizer has no ByteLevel step (only byte-level BPE is supported)", path);
            else
                rc = RG_OK;
        }
        read_post_processor(tok, cJSON_GetObjectItemCaseSensitive(root, "post_processor"));
    }
    cJSON_Delete(root);
    tok->text_arena = texts.data;
    tok->bytes_arena = bytes.data;
    return rc;
}

int rg_tokenizer_load(const char *path, rg_tokenizer **out) {
    *out = NULL;
    rg_tokenizer *tok = rg_calloc(1, sizeof *tok);
    if (!tok) return RG_ERR;
    tok->bos_id = tok->eos_id = tok->pad_id = -1;
    pthread_mutex_init(&tok->cache_lock, NULL);
    struct stat st;
    int is_dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    char *json_path = is_dir ? rg_path_join(path, "tokenizer.json") : rg_strdup(path);
    tok->source = json_path;
    if (!json_path) {
        rg_tokenizer_free(tok);
        return RG_ERR;
    }
    if (!is_dir && access(path, R_OK) != 0) {
        rg_error("%s: no such file or folder", path);
        rg_tokenizer_free(tok);
        return RG_ERR;
    }
    if (load_json(tok, json_path) != RG_OK || rg_strmap_init(&tok->cache, 4096) != RG_OK ||
        (is_dir && rg_tokenizer_read_configs(tok, path) != RG_OK)) {
        rg_tokenizer_free(tok);
        return RG_ERR;
    }
    *out = tok;
    return RG_OK;
}

void rg_tokenizer_free(rg_tokenizer *tok) {
    if (!tok) return;
    free(tok->source);
    free(tok->text_off);
    free(tok->text_len);
    free(tok->text_arena);
    free(tok->bytes_off);
    free(tok->bytes_len);
    free(tok->bytes_arena);
    rg_strmap_free(&tok->text_to_id);
    rg_strmap_free(&tok->bytes_to_id);
    rg_merge_table_free(&tok->merges);
    for (int i = 0; i < tok->n_pre_steps; i++)
        if (tok->pre_steps[i].regex) pcre2_code_free(tok->pre_steps[i].regex);
    free(tok->pre_steps);
    for (int i = 0; i < tok->n_added; i++) free(tok->added[i].content);
    free(tok->added);
    free(tok->eos_ids);
    free(tok->chat_template);
    rg_bpe_cache_free(tok);
    pthread_mutex_destroy(&tok->cache_lock);
    free(tok);
}
