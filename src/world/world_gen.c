/* world_gen.c — samples the rubric world's splits and SFT corpus, learns its
 * tokenizer and writes everything atomically (see docs/rubric-world.md). */
#include "world/world_gen.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/rng.h"
#include "io/file.h"
#include "world/world_map.h"
#include "world/world_rules.h"
#include "world/world_text.h"
#include "world/world_tokenizer.h"

/* Independent random streams, so one size does not change another file. */
#define STREAM_TRAIN 0x747261696eULL
#define STREAM_HELDOUT 0x68656c646f7574ULL
#define STREAM_SFT 0x736674ULL
#define STREAM_PARTIAL 0x7061727469616cULL
/* The tokenizer is learnt from a fixed sample: the same for every seed. */
#define TOKENIZER_SEED 0x746f6b656e697aULL

void world_config_defaults(world_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->seed = 1;
    cfg->n_train = 600;
    cfg->n_heldout = 200;
    cfg->n_sft = 4000;
    cfg->sft_rubric_frac = 0.5;
    cfg->counterfactual = 0.5;
    cfg->known_frac = 0.5;
}

int world_config_check(const world_config *cfg) {
    if (!cfg->out_dir || !*cfg->out_dir)
        return rg_usage_error("rgsd world gen: --out DIR is required (see rgsd world --help)");
    if (cfg->n_train < 1 || cfg->n_train > 1000000)
        return rg_usage_error("rgsd world gen: --train must be 1..1000000, got %d (see rgsd world --help)",
                              cfg->n_train);
    if (cfg->n_heldout < 1 || cfg->n_heldout > 1000000)
        return rg_usage_error("rgsd world gen: --heldout must be 1..1000000, got %d (see rgsd world --help)",
                              cfg->n_heldout);
    if (cfg->n_sft < 0 || cfg->n_sft > 10000000)
        return rg_usage_error("rgsd world gen: --sft must be 0..10000000, got %d (see rgsd world --help)", cfg->n_sft);
    if (!(cfg->sft_rubric_frac >= 0 && cfg->sft_rubric_frac <= 1))
        return rg_usage_error("rgsd world gen: --sft-rubric-frac must be in [0, 1], got %g (see rgsd world --help)",
                              cfg->sft_rubric_frac);
    if (!(cfg->counterfactual >= 0 && cfg->counterfactual <= 1))
        return rg_usage_error("rgsd world gen: --counterfactual must be in [0, 1], got %g (see rgsd world --help)",
                              cfg->counterfactual);
    if (!(cfg->known_frac >= 0 && cfg->known_frac <= 1))
        return rg_usage_error("rgsd world gen: --known-frac must be in [0, 1], got %g (see rgsd world --help)",
                              cfg->known_frac);
    return RG_OK;
}

/* ---- sampling ---- */

static int chance(rg_rng *rng, double p) { return rg_rng_uniform(rng) < p; }

static void shuffle_ints(int *a, int n, rg_rng *rng) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rg_rng_below(rng, (uint64_t)i + 1), t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

static void shuffle_criteria(world_criterion *a, int n, rg_rng *rng) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rg_rng_below(rng, (uint64_t)i + 1);
        world_criterion t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* A composition from one split; age and season are each left out one time in five. */
static world_combo sample_combo(const world *w, int heldout, rg_rng *rng) {
    world_combo c;
    do {
        c.species = (int)rg_rng_below(rng, WORLD_NSPECIES);
        c.condition = (int)rg_rng_below(rng, WORLD_NCONDITIONS);
    } while (world_is_heldout(w, &c) != heldout);
    c.age = (int)rg_rng_below(rng, WORLD_NAGES + 1) - 1;
    c.season = (int)rg_rng_below(rng, WORLD_NSEASONS + 1) - 1;
    return c;
}

/* The advice a rubric asks for, in the given criteria order. */
static int positive_phrases(const world_criterion *r, int n, int *out) {
    int k = 0;
    for (int i = 0; i < n; i++)
        if (r[i].weight > 0) out[k++] = r[i].phrase;
    return k;
}

/* What the base model says without the rubric: the rule for a known value,
 * a guess from the attribute's pool for an unknown one; it respects only the
 * cautions of the conditions it knows. */
static int partial_phrases(const world *w, const world_combo *c, rg_rng *rng, int *out) {
    int n = 0;
    for (int attr = 0; attr < WORLD_NATTR; attr++) {
        int value = world_combo_value(c, attr);
        if (value < 0) continue;
        if (w->known[attr][value]) {
            out[n++] = world_advice(attr, value);
        } else {
            int pool[WORLD_MAX_VALUES], size = world_pool(attr, pool);
            out[n++] = pool[rg_rng_below(rng, (uint64_t)size)];
        }
    }
    if (w->known[WORLD_CONDITION][c->condition]) {
        int caution = world_caution(c->condition), k = 0;
        for (int i = 0; i < n; i++)
            if (out[i] != caution) out[k++] = out[i];
        n = k;
    }
    return n;
}

/* Same shape as the true rubric, advice drawn at random from each pool, so
 * that following the rubric in context is the only way to satisfy it. */
static void counterfactual_rubric(world_criterion *r, int n, rg_rng *rng) {
    for (int i = 0; i < n; i++) {
        if (r[i].weight < 0) continue;
        int pool[WORLD_MAX_VALUES], size = world_pool(world_phrase_attr(r[i].phrase), pool);
        r[i].phrase = pool[rg_rng_below(rng, (uint64_t)size)];
    }
    int cautions[WORLD_NCONDITIONS], size = world_caution_pool(cautions);
    for (int i = 0; i < n; i++) {
        if (r[i].weight >= 0) continue;
        for (;;) { /* at most two cautions clash with the positives, so this ends */
            int pick = cautions[rg_rng_below(rng, (uint64_t)size)], clash = 0;
            for (int j = 0; j < n; j++) clash |= r[j].weight > 0 && r[j].phrase == pick;
            if (!clash) {
                r[i].phrase = pick;
                break;
            }
        }
    }
}

/* ---- token lengths ---- */

typedef struct {
    world_pretokenizer *pre;
    const world_bpe *bpe;
    int tokens;
    int failed;
} token_counter;

static void count_chunk_tokens(const char *chunk, size_t len, int is_special, void *ctx) {
    token_counter *tc = ctx;
    if (is_special) {
        tc->tokens++;
        return;
    }
    int *ids = rg_malloc(len * sizeof *ids), n = 0;
    if (!ids || world_bpe_encode_chunk(tc->bpe, chunk, len, ids, &n) != RG_OK) tc->failed = 1;
    tc->tokens += n;
    free(ids);
}

static int count_tokens(world_pretokenizer *pre, const world_bpe *bpe, const char *text) {
    token_counter tc = {pre, bpe, 0, 0};
    if (world_pretokenize(pre, text, count_chunk_tokens, &tc) != RG_OK || tc.failed) return -1;
    return tc.tokens;
}

typedef struct {
    world_length *out;
    double sum;
    int count;
} length_acc;

static void length_add(length_acc *a, int n) {
    if (a->count == 0 || n < a->out->min) a->out->min = n;
    if (a->count == 0 || n > a->out->max) a->out->max = n;
    a->sum += n;
    a->count++;
    a->out->mean = a->sum / a->count;
}

/* ---- the tokenizer, learnt from every composition ---- */

static void count_chunk(const char *chunk, size_t len, int is_special, void *ctx) {
    world_map *counts = ctx;
    if (is_special) return;
    char key[256];
    if (len >= sizeof key) len = sizeof key - 1; /* the world's chunks are words: never this long */
    memcpy(key, chunk, len);
    key[len] = 0;
    int *slot = world_map_put(counts, key, 0);
    if (slot) ++*slot;
}

static int add_corpus_text(world_pretokenizer *pre, world_map *counts, const char *text) {
    if (!text) return RG_ERR;
    return world_pretokenize(pre, text, count_chunk, counts);
}

/* One pass over every composition (8 x 4 x 5 x 5), each rendered as the
 * chats the corpus holds, with guessed advice so every phrase, lead-in and
 * criterion text occurs. */
static int learn_tokenizer(world_pretokenizer *pre, world_bpe *bpe) {
    world_map counts = {0};
    rg_rng rng;
    rg_rng_seed(&rng, TOKENIZER_SEED);
    int status = RG_OK;
    for (int s = 0; s < WORLD_NSPECIES && status == RG_OK; s++)
        for (int cond = 0; cond < WORLD_NCONDITIONS && status == RG_OK; cond++)
            for (int age = -1; age < WORLD_NAGES && status == RG_OK; age++)
                for (int season = -1; season < WORLD_NSEASONS && status == RG_OK; season++) {
                    world_combo c = {s, cond, age, season};
                    world_criterion r[WORLD_MAX_CRITERIA];
                    int n = world_rubric(&c, r), phrases[WORLD_MAX_CRITERIA], n_phrases = positive_phrases(r, n, phrases);
                    shuffle_criteria(r, n, &rng);
                    char *texts[WORLD_MAX_CRITERIA] = {0};
                    int weights[WORLD_MAX_CRITERIA];
                    for (int i = 0; i < n; i++) texts[i] = world_criterion_text(r[i].phrase), weights[i] = r[i].weight;
                    /* a guessed phrase per attribute, and a caution said aloud */
                    int guesses[WORLD_NATTR + 1];
                    for (int attr = 0; attr < WORLD_NATTR; attr++) {
                        int pool[WORLD_MAX_VALUES], size = world_pool(attr, pool);
                        guesses[attr] = pool[rg_rng_below(&rng, (uint64_t)size)];
                    }
                    guesses[WORLD_NATTR] = world_caution(cond);
                    char *prompt = world_prompt(&c, &rng);
                    char *teacher = prompt ? world_teacher_prompt(prompt, (const char *const *)texts, weights, n) : NULL;
                    char *answer = world_answer(phrases, n_phrases, &rng);
                    char *guessed = world_answer(guesses, WORLD_NATTR + 1, &rng);
                    char *chat = NULL;
                    if (prompt && teacher && answer && guessed) {
                        world_message m[4] = {{"user", prompt}, {"assistant", answer}, {"user", teacher}, {"assistant", guessed}};
                        chat = world_chatml(m, 4);
                    }
                    status = add_corpus_text(pre, &counts, chat);
                    for (int i = 0; i < n; i++) free(texts[i]);
                    free(prompt), free(teacher), free(answer), free(guessed), free(chat);
                }
    if (status == RG_OK) status = add_corpus_text(pre, &counts, "<|im_start|>assistant\n");
    if (status == RG_OK) {
        char *vocabulary = world_answer_vocabulary();
        status = add_corpus_text(pre, &counts, vocabulary);
        free(vocabulary);
    }
    if (status == RG_OK) status = world_bpe_train(&counts, bpe);
    world_map_free(&counts);
    return status;
}

int world_learn_tokenizer(world_bpe *out) {
    world_pretokenizer *pre = NULL;
    if (world_pretokenizer_new(&pre) != RG_OK) return RG_ERR;
    int status = learn_tokenizer(pre, out);
    world_pretokenizer_free(pre);
    return status;
}

/* ---- JSON lines ---- */

static cJSON *rubric_json(const world_criterion *r, int n) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n && arr; i++) {
        char *text = world_criterion_text(r[i].phrase), *pattern = world_match_pattern(r[i].phrase);
        cJSON *item = cJSON_CreateObject();
        if (!text || !pattern || !item) {
            free(text), free(pattern), cJSON_Delete(item), cJSON_Delete(arr);
            return NULL;
        }
        cJSON_AddStringToObject(item, "text", text);
        cJSON_AddNumberToObject(item, "weight", r[i].weight);
        const char *tag = r[i].tag;
        cJSON_AddItemToObject(item, "tags", cJSON_CreateStringArray(&tag, 1));
        const char *patterns[1] = {pattern};
        cJSON_AddItemToObject(item, "match", cJSON_CreateStringArray(patterns, 1));
        cJSON_AddItemToArray(arr, item);
        free(text), free(pattern);
    }
    return arr;
}

static cJSON *messages_json(const world_message *m, int n) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        cJSON *msg = cJSON_CreateObject();
        cJSON_AddStringToObject(msg, "role", m[i].role);
        cJSON_AddStringToObject(msg, "content", m[i].content);
        cJSON_AddItemToArray(arr, msg);
    }
    return arr;
}

static int write_line(rg_atomic_file *f, cJSON *obj, const char *what) {
    char *line = obj ? cJSON_PrintUnformatted(obj) : NULL;
    cJSON_Delete(obj);
    if (!line) return rg_error("world: out of memory rendering %s", what);
    int ok = fputs(line, f->fp) >= 0 && fputc('\n', f->fp) != EOF;
    free(line);
    return ok ? RG_OK : rg_error("world: cannot write %s to %s", what, f->temp_path);
}

/* Teacher prompt text for a rubric (criteria in the given order). */
static char *teacher_prompt_for(const char *prompt, const world_criterion *r, int n) {
    char *texts[WORLD_MAX_CRITERIA] = {0};
    int weights[WORLD_MAX_CRITERIA] = {0}, ok = 1;
    for (int i = 0; i < n; i++) {
        texts[i] = world_criterion_text(r[i].phrase);
        weights[i] = r[i].weight;
        ok &= texts[i] != NULL;
    }
    char *out = ok ? world_teacher_prompt(prompt, (const char *const *)texts, weights, n) : NULL;
    for (int i = 0; i < n; i++) free(texts[i]);
    return out;
}

typedef struct {
    world_pretokenizer *pre;
    world_bpe bpe;
    world w;
    const world_config *cfg;
    world_summary *summary;
    length_acc prompt_len, teacher_len, reference_len, sft_len;
} gen_state;

static int token_length(gen_state *g, length_acc *acc, const char *text) {
    int n = count_tokens(g->pre, &g->bpe, text);
    if (n < 0) return RG_ERR;
    length_add(acc, n);
    return RG_OK;
}

/* train.jsonl / heldout.jsonl: prompts of one split with their rubrics and a reference answer. */
static int write_split(gen_state *g, int heldout, int count, uint64_t stream, rg_atomic_file *f, double *partial_mean) {
    rg_rng rng, partial_rng;
    rg_rng_seed(&rng, g->cfg->seed ^ stream);
    rg_rng_seed(&partial_rng, g->cfg->seed ^ stream ^ STREAM_PARTIAL);
    world_map seen = {0};
    double partial_sum = 0;
    int status = RG_OK;
    for (int k = 0; k < count && status == RG_OK; k++) {
        world_combo c;
        char *prompt = NULL;
        /* distinct prompts while the split's space allows (it holds tens of thousands) */
        for (int attempt = 0; attempt < 64; attempt++) {
            free(prompt);
            c = sample_combo(&g->w, heldout, &rng);
            prompt = world_prompt(&c, &rng);
            if (!prompt || !world_map_get(&seen, prompt)) break;
        }
        if (!prompt || !world_map_put(&seen, prompt, k)) {
            free(prompt);
            status = RG_ERR;
            break;
        }
        world_criterion r[WORLD_MAX_CRITERIA];
        int n = world_rubric(&c, r), phrases[WORLD_MAX_CRITERIA];
        if (g->cfg->shuffle) shuffle_criteria(r, n, &rng);
        int n_phrases = positive_phrases(r, n, phrases);
        if (g->cfg->shuffle) shuffle_ints(phrases, n_phrases, &rng);
        char *reference = world_answer(phrases, n_phrases, &rng);
        char *teacher = teacher_prompt_for(prompt, r, n);
        char id[64];
        snprintf(id, sizeof id, "world-%s-%05d", heldout ? "heldout" : "train", k + 1);
        cJSON *obj = cJSON_CreateObject();
        if (reference && teacher && obj) {
            cJSON_AddStringToObject(obj, "id", id);
            world_message user = {"user", prompt};
            cJSON_AddItemToObject(obj, "messages", messages_json(&user, 1));
            cJSON_AddItemToObject(obj, "rubric", rubric_json(r, n));
            cJSON_AddStringToObject(obj, "reference", reference);
            status = write_line(f, obj, id);
            obj = NULL;
            if (status == RG_OK) status = token_length(g, &g->prompt_len, prompt);
            if (status == RG_OK) status = token_length(g, &g->teacher_len, teacher);
            if (status == RG_OK) status = token_length(g, &g->reference_len, reference);
        } else {
            status = RG_ERR;
        }
        cJSON_Delete(obj);
        /* what the base model's partial knowledge would score here */
        int said[WORLD_NATTR], n_said = partial_phrases(&g->w, &c, &partial_rng, said);
        partial_sum += world_score_phrases(r, n, said, n_said);
        free(prompt), free(reference), free(teacher);
    }
    world_map_free(&seen);
    *partial_mean = count ? partial_sum / count : 0;
    return status;
}

/* sft.jsonl: chats with the rubric in context (full answers) and without (partial answers). */
static int write_sft(gen_state *g, rg_atomic_file *f) {
    rg_rng rng;
    rg_rng_seed(&rng, g->cfg->seed ^ STREAM_SFT);
    int status = RG_OK;
    for (int k = 0; k < g->cfg->n_sft && status == RG_OK; k++) {
        world_combo c = sample_combo(&g->w, 0, &rng);
        char *prompt = world_prompt(&c, &rng), *user = NULL, *answer = NULL;
        world_criterion r[WORLD_MAX_CRITERIA];
        int n = world_rubric(&c, r), phrases[WORLD_MAX_CRITERIA], n_phrases;
        if (chance(&rng, g->cfg->sft_rubric_frac)) {
            if (chance(&rng, g->cfg->counterfactual)) {
                counterfactual_rubric(r, n, &rng);
                g->summary->n_sft_counterfactual++;
            }
            if (g->cfg->shuffle) shuffle_criteria(r, n, &rng);
            n_phrases = positive_phrases(r, n, phrases);
            if (g->cfg->shuffle) shuffle_ints(phrases, n_phrases, &rng);
            user = prompt ? teacher_prompt_for(prompt, r, n) : NULL;
            g->summary->n_sft_with_rubric++;
        } else {
            n_phrases = partial_phrases(&g->w, &c, &rng, phrases);
            if (g->cfg->shuffle) shuffle_ints(phrases, n_phrases, &rng);
            user = prompt ? rg_strdup(prompt) : NULL;
        }
        answer = world_answer(phrases, n_phrases, &rng);
        if (user && answer) {
            world_message m[2] = {{"user", user}, {"assistant", answer}};
            cJSON *obj = cJSON_CreateObject();
            if (obj) cJSON_AddItemToObject(obj, "messages", messages_json(m, 2));
            status = write_line(f, obj, "sft example");
            if (status == RG_OK) status = token_length(g, &g->sft_len, answer);
        } else {
            status = RG_ERR;
        }
        free(prompt), free(user), free(answer);
    }
    return status;
}

/* world.json: the rules and the seed's choices, for humans. */
static cJSON *world_json(const gen_state *g) {
    const world *w = &g->w;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "what", "the rubric world of rgsd (docs/rubric-world.md)");
    cJSON_AddNumberToObject(root, "seed", (double)w->seed);
    cJSON *rules = cJSON_AddObjectToObject(root, "rules");
    static const char *const advice_kind[WORLD_NATTR] = {"food", "remedy", "care", "activity"};
    static const int weights[WORLD_NATTR] = {WORLD_W_FOOD, WORLD_W_REMEDY, WORLD_W_AGE, WORLD_W_SEASON};
    static const char *const tags[WORLD_NATTR] = {"essential", "essential", "optional", "optional"};
    for (int attr = 0; attr < WORLD_NATTR; attr++) {
        cJSON *a = cJSON_AddObjectToObject(rules, world_attr_name(attr));
        cJSON_AddStringToObject(a, "advice_is", advice_kind[attr]);
        cJSON_AddNumberToObject(a, "weight", weights[attr]);
        cJSON_AddStringToObject(a, "tag", tags[attr]);
        cJSON_AddBoolToObject(a, "always_in_prompt", attr == WORLD_SPECIES || attr == WORLD_CONDITION);
        cJSON *values = cJSON_AddObjectToObject(a, "values");
        for (int v = 0; v < world_attr_count(attr); v++) {
            cJSON *val = cJSON_AddObjectToObject(values, world_value_name(attr, v));
            cJSON_AddStringToObject(val, "advice", world_phrase_at(world_advice(attr, v))->words);
            if (attr == WORLD_CONDITION) {
                cJSON_AddStringToObject(val, "caution", world_phrase_at(world_caution(v))->words);
                cJSON_AddNumberToObject(val, "caution_weight", WORLD_W_PITFALL);
            }
            cJSON_AddBoolToObject(val, "known_to_base", w->known[attr][v]);
        }
    }
    cJSON_AddStringToObject(root, "interaction",
                            "when the season's activity is the condition's caution, the season criterion is "
                            "dropped and only the pitfall remains");
    cJSON *pairs = cJSON_AddArrayToObject(root, "heldout_pairs");
    for (int s = 0; s < WORLD_NSPECIES; s++) {
        const char *pair[2] = {world_value_name(WORLD_SPECIES, s),
                               world_value_name(WORLD_CONDITION, w->heldout_condition[s])};
        cJSON_AddItemToArray(pairs, cJSON_CreateStringArray(pair, 2));
    }
    cJSON *sizes = cJSON_AddObjectToObject(root, "sizes");
    cJSON_AddNumberToObject(sizes, "train", g->cfg->n_train);
    cJSON_AddNumberToObject(sizes, "heldout", g->cfg->n_heldout);
    cJSON_AddNumberToObject(sizes, "sft", g->cfg->n_sft);
    cJSON_AddNumberToObject(sizes, "sft_rubric_frac", g->cfg->sft_rubric_frac);
    cJSON_AddNumberToObject(sizes, "counterfactual", g->cfg->counterfactual);
    cJSON_AddBoolToObject(sizes, "shuffle", g->cfg->shuffle);
    cJSON_AddNumberToObject(sizes, "known_frac", g->cfg->known_frac);
    cJSON *expected = cJSON_AddObjectToObject(root, "partial_knowledge_score");
    cJSON_AddNumberToObject(expected, "train", g->summary->partial_score_train);
    cJSON_AddNumberToObject(expected, "heldout", g->summary->partial_score_heldout);
    return root;
}

int world_generate(const world_config *cfg, world_summary *summary) {
    if (world_config_check(cfg) != RG_OK) return RG_ERR;
    memset(summary, 0, sizeof *summary);
    gen_state g = {.cfg = cfg, .summary = summary};
    g.prompt_len.out = &summary->prompt_tokens;
    g.teacher_len.out = &summary->teacher_prompt_tokens;
    g.reference_len.out = &summary->reference_tokens;
    g.sft_len.out = &summary->sft_answer_tokens;
    world_init(&g.w, cfg->seed, cfg->known_frac);
    rg_atomic_file train = {0}, heldout = {0}, sft = {0};
    char *train_path = rg_path_join(cfg->out_dir, "train.jsonl");
    char *heldout_path = rg_path_join(cfg->out_dir, "heldout.jsonl");
    char *sft_path = rg_path_join(cfg->out_dir, "sft.jsonl");
    char *world_path = rg_path_join(cfg->out_dir, "world.json");
    char *tok_dir = rg_path_join(cfg->out_dir, "tokenizer");
    char *world_text = NULL;
    int status = RG_ERR;
    if (!train_path || !heldout_path || !sft_path || !world_path || !tok_dir) goto done;
    if (world_pretokenizer_new(&g.pre) != RG_OK || learn_tokenizer(g.pre, &g.bpe) != RG_OK) goto done;
    if (rg_mkdir_p(cfg->out_dir) != RG_OK) goto done;
    if (rg_atomic_open(&train, train_path) != RG_OK || rg_atomic_open(&heldout, heldout_path) != RG_OK ||
        rg_atomic_open(&sft, sft_path) != RG_OK)
        goto done;
    if (write_split(&g, 0, cfg->n_train, STREAM_TRAIN, &train, &summary->partial_score_train) != RG_OK) goto done;
    if (write_split(&g, 1, cfg->n_heldout, STREAM_HELDOUT, &heldout, &summary->partial_score_heldout) != RG_OK)
        goto done;
    if (write_sft(&g, &sft) != RG_OK) goto done;
    summary->n_train = cfg->n_train;
    summary->n_heldout = cfg->n_heldout;
    summary->n_sft = cfg->n_sft;
    summary->vocab_size = g.bpe.n_tokens + WORLD_N_SPECIAL;
    summary->n_merges = g.bpe.n_merges;
    cJSON *wj = world_json(&g);
    world_text = wj ? cJSON_Print(wj) : NULL;
    cJSON_Delete(wj);
    if (!world_text) {
        rg_error("world: out of memory rendering world.json");
        goto done;
    }
    /* Everything is rendered: now land the files. */
    if (world_tokenizer_write(&g.bpe, tok_dir) != RG_OK) goto done;
    if (rg_atomic_commit(&train) != RG_OK || rg_atomic_commit(&heldout) != RG_OK || rg_atomic_commit(&sft) != RG_OK)
        goto done;
    if (rg_write_file_atomic(world_path, world_text, strlen(world_text)) != RG_OK) goto done;
    status = RG_OK;
done:
    rg_atomic_abort(&train);
    rg_atomic_abort(&heldout);
    rg_atomic_abort(&sft);
    world_pretokenizer_free(g.pre);
    world_bpe_free(&g.bpe);
    free(train_path), free(heldout_path), free(sft_path), free(world_path), free(tok_dir), free(world_text);
    return status;
}
