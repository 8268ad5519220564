/* world_tokenizer.c — pre-tokenizer, BPE learner and tokenizer.json writer
 * for the rubric world. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "world/world_tokenizer.h"

#include <cjson/cJSON.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "io/file.h"
#include "world/world_text.h"

const char WORLD_PRETOKENIZER_REGEX[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
    "\\s+(?!\\S)|\\s+";
const char *const WORLD_SPECIAL_TOKENS[WORLD_N_SPECIAL] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};

/* ---- pre-tokenizer ---- */

struct world_pretokenizer {
    pcre2_code *re;
    pcre2_match_data *match;
};

int world_pretokenizer_new(world_pretokenizer **out) {
    world_pretokenizer *p = rg_calloc(1, sizeof *p);
    if (!p) return RG_ERR;
    int code;
    PCRE2_SIZE where;
    p->re = pcre2_compile((PCRE2_SPTR)WORLD_PRETOKENIZER_REGEX, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &code,
                          &where, NULL);
    if (!p->re) {
        free(p);
        return rg_error("world: pre-tokenizer regex does not compile at offset %zu", (size_t)where);
    }
    p->match = pcre2_match_data_create_from_pattern(p->re, NULL);
    if (!p->match) {
        pcre2_code_free(p->re);
        free(p);
        return rg_error("world: out of memory for regex match data");
    }
    *out = p;
    return RG_OK;
}

void world_pretokenizer_free(world_pretokenizer *p) {
    if (!p) return;
    pcre2_match_data_free(p->match);
    pcre2_code_free(p->re);
    free(p);
}

/* The regex over a stretch of text without special tokens ("Isolated": a
 * match and any gap before it are chunks). */
static int split_plain(world_pretokenizer *p, const char *text, size_t len,
                       void (*on_chunk)(const char *, size_t, int, void *), void *ctx) {
    size_t at = 0;
    while (at < len) {
        int rc = pcre2_match(p->re, (PCRE2_SPTR)text, len, at, 0, p->match, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) return rg_error("world: pre-tokenizer regex failed (%d)", rc);
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(p->match);
        if (ov[0] > at) on_chunk(text + at, ov[0] - at, 0, ctx);
        if (ov[1] == ov[0]) return rg_error("world: pre-tokenizer regex matched nothing at byte %zu", at);
        on_chunk(text + ov[0], ov[1] - ov[0], 0, ctx);
        at = ov[1];
    }
    if (at < len) on_chunk(text + at, len - at, 0, ctx);
    return RG_OK;
}

int world_pretokenize(world_pretokenizer *p, const char *text,
                      void (*on_chunk)(const char *, size_t, int, void *), void *ctx) {
    const char *at = text;
    for (;;) {
        const char *next = NULL;
        int which = -1;
        for (int i = 0; i < WORLD_N_SPECIAL; i++) {
            const char *hit = strstr(at, WORLD_SPECIAL_TOKENS[i]);
            if (hit && (!next || hit < next)) next = hit, which = i;
        }
        size_t plain = next ? (size_t)(next - at) : strlen(at);
        if (split_plain(p, at, plain, on_chunk, ctx) != RG_OK) return RG_ERR;
        if (!next) return RG_OK;
        size_t special_len = strlen(WORLD_SPECIAL_TOKENS[which]);
        on_chunk(next, special_len, 1, ctx);
        at = next + special_len;
    }
}

static void count_one(const char *chunk, size_t len, int is_special, void *ctx) {
    (void)chunk, (void)len, (void)is_special;
    (*(int *)ctx)++;
}

int world_count_chunks(world_pretokenizer *p, const char *text) {
    int n = 0;
    if (world_pretokenize(p, text, count_one, &n) != RG_OK) return -1;
    return n;
}

/* ---- byte-level characters ---- */

static int byte_codepoint(unsigned char b) {
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE)) return b;
    /* the others, in byte order, take 256, 257, ... */
    int n = 0;
    for (int x = 0; x < b; x++)
        if (!((x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE))) n++;
    return 256 + n;
}

void world_byte_char(unsigned char byte, char out[3]) {
    int cp = byte_codepoint(byte);
    if (cp < 0x80) {
        out[0] = (char)cp;
        out[1] = 0;
    } else { /* all code points here are below 0x800: two UTF-8 bytes */
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        out[2] = 0;
    }
}

char *world_byte_level(const char *chunk, size_t len) {
    char *out = rg_malloc(2 * len + 1);
    if (!out) return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c[3];
        world_byte_char((unsigned char)chunk[i], c);
        for (int k = 0; c[k]; k++) out[n++] = c[k];
    }
    out[n] = 0;
    return out;
}

/* ---- (left, right) -> rank ---- */

struct world_pair_ranks {
    uint64_t *keys; /* (left << 32 | right) + 1; 0 = empty */
    int *ranks;
    size_t cap, count;
};

static uint64_t pair_key(int left, int right) { return ((uint64_t)(uint32_t)left << 32 | (uint32_t)right) + 1; }

static size_t pair_slot(const struct world_pair_ranks *m, uint64_t key) {
    uint64_t h = key * 0x9E3779B97F4A7C15ULL;
    size_t i = (size_t)(h >> 17) & (m->cap - 1);
    while (m->keys[i] && m->keys[i] != key) i = (i + 1) & (m->cap - 1);
    return i;
}

static int pair_rank(const struct world_pair_ranks *m, int left, int right) {
    if (!m || !m->cap) return -1;
    size_t i = pair_slot(m, pair_key(left, right));
    return m->keys[i] ? m->ranks[i] : -1;
}

static int pair_put(struct world_pair_ranks *m, int left, int right, int rank) {
    if ((m->count + 1) * 2 > m->cap) {
        struct world_pair_ranks grown = {0};
        grown.cap = m->cap ? m->cap * 2 : 1024;
        grown.keys = rg_calloc(grown.cap, sizeof *grown.keys);
        grown.ranks = rg_calloc(grown.cap, sizeof *grown.ranks);
        if (!grown.keys || !grown.ranks) {
            free(grown.keys);
            free(grown.ranks);
            return RG_ERR;
        }
        for (size_t j = 0; j < m->cap; j++) {
            if (!m->keys[j]) continue;
            size_t i = pair_slot(&grown, m->keys[j]);
            grown.keys[i] = m->keys[j];
            grown.ranks[i] = m->ranks[j];
        }
        grown.count = m->count;
        free(m->keys);
        free(m->ranks);
        *m = grown;
    }
    size_t i = pair_slot(m, pair_key(left, right));
    if (!m->keys[i]) m->count++;
    m->keys[i] = pair_key(left, right);
    m->ranks[i] = rank;
    return RG_OK;
}

/* ---- BPE ---- */

/* The id a merge produces: looked up by string, since two merges may spell
 * the same token. */
typedef struct {
    world_bpe *bpe;
    world_map ids; /* token string -> id */
    int tokens_cap, merges_cap;
} bpe_builder;

/* Applies the merges as an encoder does: repeatedly the lowest-ranked
 * adjacent pair, leftmost first, until none applies. */
static void settle(const world_bpe *bpe, int *ids, int *n) {
    for (;;) {
        int best_rank = -1, best_pos = -1;
        for (int i = 0; i + 1 < *n; i++) {
            int r = pair_rank(bpe->pair_ranks, ids[i], ids[i + 1]);
            if (r >= 0 && (best_rank < 0 || r < best_rank)) best_rank = r, best_pos = i;
        }
        if (best_rank < 0) return;
        ids[best_pos] = bpe->merge_result[best_rank];
        memmove(ids + best_pos + 1, ids + best_pos + 2, (size_t)(*n - best_pos - 2) * sizeof *ids);
        (*n)--;
    }
}

int world_bpe_encode_chunk(const world_bpe *bpe, const char *chunk, size_t len, int *ids, int *n_ids) {
    int n = (int)len;
    for (int i = 0; i < n; i++) ids[i] = (unsigned char)chunk[i];
    settle(bpe, ids, &n);
    *n_ids = n;
    return RG_OK;
}

typedef struct {
    int *ids;
    int n;
    int count;
} bpe_word;

typedef struct {
    uint64_t key;
    long count;
} pair_count;

static int compare_pairs(const void *a, const void *b) {
    uint64_t x = ((const pair_count *)a)->key, y = ((const pair_count *)b)->key;
    return x < y ? -1 : x > y;
}

static int add_token(bpe_builder *b, const char *text) {
    world_bpe *bpe = b->bpe;
    int *existing = world_map_get(&b->ids, text);
    if (existing) return *existing;
    if (bpe->n_tokens == b->tokens_cap) {
        int cap = b->tokens_cap ? b->tokens_cap * 2 : 512;
        char **grown = rg_realloc(bpe->tokens, (size_t)cap * sizeof *grown);
        if (!grown) return -1;
        bpe->tokens = grown;
        b->tokens_cap = cap;
    }
    bpe->tokens[bpe->n_tokens] = rg_strdup(text);
    if (!bpe->tokens[bpe->n_tokens] || !world_map_put(&b->ids, text, bpe->n_tokens)) return -1;
    return bpe->n_tokens++;
}

static int add_merge(bpe_builder *b, int left, int right) {
    world_bpe *bpe = b->bpe;
    char *joined = rg_sprintf("%s%s", bpe->tokens[left], bpe->tokens[right]);
    if (!joined) return RG_ERR;
    int id = add_token(b, joined);
    free(joined);
    if (id < 0) return RG_ERR;
    if (bpe->n_merges == b->merges_cap) {
        int cap = b->merges_cap ? b->merges_cap * 2 : 512;
        int(*grown)[2] = rg_realloc(bpe->merges, (size_t)cap * sizeof *grown);
        if (grown) bpe->merges = grown;
        int *grown_result = grown ? rg_realloc(bpe->merge_result, (size_t)cap * sizeof *grown_result) : NULL;
        if (grown_result) bpe->merge_result = grown_result;
        if (!grown || !grown_result) return RG_ERR;
        b->merges_cap = cap;
    }
    bpe->merges[bpe->n_merges][0] = left;
    bpe->merges[bpe->n_merges][1] = right;
    bpe->merge_result[bpe->n_merges] = id;
    if (pair_put(bpe->pair_ranks, left, right, bpe->n_merges) != RG_OK) return RG_ERR;
    bpe->n_merges++;
    return RG_OK;
}

int world_bpe_train(const world_map *chunk_counts, world_bpe *out) {
    memset(out, 0, sizeof *out);
    bpe_builder b = {.bpe = out};
    bpe_word *words = NULL;
    pair_count *pairs = NULL;
    int n_words = 0, status = RG_ERR;
    size_t total_symbols = 0;
    out->pair_ranks = rg_calloc(1, sizeof *out->pair_ranks);
    if (!out->pair_ranks) goto done;
    for (int byte = 0; byte < 256; byte++) {
        char c[3];
        world_byte_char((unsigned char)byte, c);
        if (add_token(&b, c) != byte) goto done;
    }
    /* The chunks, sorted so the result does not depend on hash order. */
    words = rg_calloc(chunk_counts->count ? chunk_counts->count : 1, sizeof *words);
    if (!words) goto done;
    const char **keys = rg_calloc(chunk_counts->count ? chunk_counts->count : 1, sizeof *keys);
    if (!keys) goto done;
    for (size_t i = 0; i < chunk_counts->cap; i++)
        if (chunk_counts->keys[i]) keys[n_words++] = chunk_counts->keys[i];
    for (int i = 1; i < n_words; i++) /* insertion sort: a few hundred chunks */
        for (int j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            const char *t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    for (int w = 0; w < n_words; w++) {
        size_t len = strlen(keys[w]);
        words[w].ids = rg_malloc((len ? len : 1) * sizeof(int));
        if (!words[w].ids) {
            free(keys);
            goto done;
        }
        for (size_t i = 0; i < len; i++) words[w].ids[i] = (unsigned char)keys[w][i];
        words[w].n = (int)len;
        words[w].count = *world_map_get(chunk_counts, keys[w]);
        total_symbols += len;
    }
    free(keys);
    pairs = rg_malloc((total_symbols ? total_symbols : 1) * sizeof *pairs);
    if (!pairs) goto done;
    for (;;) {
        /* The most frequent adjacent pair; ties go to the smallest (left, right). */
        size_t n_pairs = 0;
        for (int w = 0; w < n_words; w++)
            for (int i = 0; i + 1 < words[w].n; i++)
                pairs[n_pairs++] = (pair_count){pair_key(words[w].ids[i], words[w].ids[i + 1]), words[w].count};
        if (!n_pairs) break;
        qsort(pairs, n_pairs, sizeof *pairs, compare_pairs);
        uint64_t best = 0;
        long best_count = -1;
        for (size_t i = 0; i < n_pairs;) {
            size_t j = i;
            long total = 0;
            for (; j < n_pairs && pairs[j].key == pairs[i].key; j++) total += pairs[j].count;
            if (total > best_count) best_count = total, best = pairs[i].key;
            i = j;
        }
        int left = (int)((best - 1) >> 32), right = (int)((best - 1) & 0xFFFFFFFFu);
        if (add_merge(&b, left, right) != RG_OK) goto done;
        /* Only words holding the new pair change; settle them as an encoder would. */
        for (int w = 0; w < n_words; w++) {
            int has = 0;
            for (int i = 0; i + 1 < words[w].n && !has; i++) has = words[w].ids[i] == left && words[w].ids[i + 1] == right;
            if (has) settle(out, words[w].ids, &words[w].n);
        }
    }
    status = RG_OK;
done:
    for (int w = 0; w < n_words; w++) free(words[w].ids);
    free(words);
    free(pairs);
    world_map_free(&b.ids);
    if (status != RG_OK) world_bpe_free(out);
    return status;
}

void world_bpe_free(world_bpe *bpe) {
    for (int i = 0; i < bpe->n_tokens; i++) free(bpe->tokens[i]);
    free(bpe->tokens);
    free(bpe->merges);
    free(bpe->merge_result);
    if (bpe->pair_ranks) {
        free(bpe->pair_ranks->keys);
        free(bpe->pair_ranks->ranks);
        free(bpe->pair_ranks);
    }
    memset(bpe, 0, sizeof *bpe);
}

/* ---- tokenizer.json / tokenizer_config.json ---- */

static cJSON *byte_level_component(const char *type) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", type);
    cJSON_AddBoolToObject(o, "add_prefix_space", 0);
    cJSON_AddBoolToObject(o, "trim_offsets", 0);
    cJSON_AddBoolToObject(o, "use_regex", 0);
    return o;
}

static cJSON *special_token(int id, const char *content) {
    cJSON *t = cJSON_CreateObject();
    if (id >= 0) cJSON_AddNumberToObject(t, "id", id);
    cJSON_AddStringToObject(t, "content", content);
    cJSON_AddBoolToObject(t, "single_word", 0);
    cJSON_AddBoolToObject(t, "lstrip", 0);
    cJSON_AddBoolToObject(t, "rstrip", 0);
    cJSON_AddBoolToObject(t, "normalized", 0);
    cJSON_AddBoolToObject(t, "special", 1);
    return t;
}

static cJSON *tokenizer_json(const world_bpe *bpe) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "version", "1.0");
    cJSON_AddNullToObject(root, "truncation");
    cJSON_AddNullToObject(root, "padding");
    cJSON *added = cJSON_AddArrayToObject(root, "added_tokens");
    for (int i = 0; i < WORLD_N_SPECIAL; i++)
        cJSON_AddItemToArray(added, special_token(bpe->n_tokens + i, WORLD_SPECIAL_TOKENS[i]));
    cJSON *normalizer = cJSON_AddObjectToObject(root, "normalizer");
    cJSON_AddStringToObject(normalizer, "type", "NFC");
    cJSON *pre = cJSON_AddObjectToObject(root, "pre_tokenizer");
    cJSON_AddStringToObject(pre, "type", "Sequence");
    cJSON *steps = cJSON_AddArrayToObject(pre, "pretokenizers");
    cJSON *split = cJSON_CreateObject();
    cJSON_AddStringToObject(split, "type", "Split");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(split, "pattern"), "Regex", WORLD_PRETOKENIZER_REGEX);
    cJSON_AddStringToObject(split, "behavior", "Isolated");
    cJSON_AddBoolToObject(split, "invert", 0);
    cJSON_AddItemToArray(steps, split);
    cJSON_AddItemToArray(steps, byte_level_component("ByteLevel"));
    cJSON_AddItemToObject(root, "post_processor", byte_level_component("ByteLevel"));
    cJSON_AddItemToObject(root, "decoder", byte_level_component("ByteLevel"));
    cJSON *model = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(model, "type", "BPE");
    cJSON_AddNullToObject(model, "dropout");
    cJSON_AddNullToObject(model, "unk_token");
    cJSON_AddStringToObject(model, "continuing_subword_prefix", "");
    cJSON_AddStringToObject(model, "end_of_word_suffix", "");
    cJSON_AddBoolToObject(model, "fuse_unk", 0);
    cJSON_AddBoolToObject(model, "byte_fallback", 0);
    cJSON_AddBoolToObject(model, "ignore_merges", 0);
    cJSON *vocab = cJSON_AddObjectToObject(model, "vocab");
    for (int i = 0; i < bpe->n_tokens; i++) cJSON_AddNumberToObject(vocab, bpe->tokens[i], i);
    cJSON *merges = cJSON_AddArrayToObject(model, "merges");
    for (int i = 0; i < bpe->n_merges; i++) {
        const char *pair[2] = {bpe->tokens[bpe->merges[i][0]], bpe->tokens[bpe->merges[i][1]]};
        cJSON_AddItemToArray(merges, cJSON_CreateStringArray(pair, 2));
    }
    return root;
}

static cJSON *tokenizer_config_json(const world_bpe *bpe) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddBoolToObject(root, "add_bos_token", 0);
    cJSON_AddBoolToObject(root, "add_prefix_space", 0);
    cJSON *decoder = cJSON_AddObjectToObject(root, "added_tokens_decoder");
    for (int i = 0; i < WORLD_N_SPECIAL; i++) {
        char id[16];
        snprintf(id, sizeof id, "%d", bpe->n_tokens + i);
        cJSON_AddItemToObject(decoder, id, special_token(-1, WORLD_SPECIAL_TOKENS[i]));
    }
    const char *extra[] = {"<|im_start|>", "<|im_end|>"};
    cJSON_AddItemToObject(root, "additional_special_tokens", cJSON_CreateStringArray(extra, 2));
    cJSON_AddNullToObject(root, "bos_token");
    cJSON_AddStringToObject(root, "chat_template", WORLD_CHAT_TEMPLATE);
    cJSON_AddBoolToObject(root, "clean_up_tokenization_spaces", 0);
    cJSON_AddStringToObject(root, "eos_token", "<|im_end|>");
    cJSON_AddStringToObject(root, "errors", "replace");
    cJSON_AddNumberToObject(root, "model_max_length", 1024);
    cJSON_AddStringToObject(root, "pad_token", "<|endoftext|>");
    cJSON_AddBoolToObject(root, "split_special_tokens", 0);
    cJSON_AddStringToObject(root, "tokenizer_class", "Qwen2Tokenizer");
    cJSON_AddNullToObject(root, "unk_token");
    return root;
}

static int write_json(cJSON *root, const char *dir, const char *name) {
    if (!root) return rg_error("world: out of memory building %s", name);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    char *path = rg_path_join(dir, name);
    int status = RG_ERR;
    if (!text || !path)
        rg_error("world: out of memory writing %s", name);
    else
        status = rg_write_file_atomic(path, text, strlen(text));
    free(text);
    free(path);
    return status;
}

int world_tokenizer_write(const world_bpe *bpe, const char *dir) {
    if (rg_mkdir_p(dir) != RG_OK) return RG_ERR;
    if (write_json(tokenizer_json(bpe), dir, "tokenizer.json") != RG_OK) return RG_ERR;
    return write_json(tokenizer_config_json(bpe), dir, "tokenizer_config.json");
}
