/* world_rules.c — the rubric world's fixed rules and the seed's choices. */
#include "world/world_rules.h"

#include <string.h>

#include "base/rng.h"

static const char *const SPECIES[WORLD_NSPECIES] = {"glorp", "tazzle", "mirrin", "vesk",
                                                    "pumble", "zorik", "fennet", "quillon"};
static const char *const CONDITIONS[WORLD_NCONDITIONS] = {"sick", "injured", "tired", "healthy"};
static const char *const AGES[WORLD_NAGES] = {"baby", "young", "adult", "old"};
static const char *const SEASONS[WORLD_NSEASONS] = {"spring", "summer", "autumn", "winter"};

/* The advice phrases. Indices: foods 0-7 (by species), remedies 8-11 (by
 * condition), age care 12-15, season activities 16-19. No phrase contains
 * another at word boundaries, so each match pattern is exact. */
enum { FOOD0 = 0, REMEDY0 = 8, AGECARE0 = 12, ACTIVITY0 = 16, NPHRASES = 20 };
static const world_phrase PHRASES[NPHRASES] = {
    {"feed it moss", "give it moss"},
    {"feed it figs", "give it figs"},
    {"feed it clover", "give it clover"},
    {"feed it beetles", "give it beetles"},
    {"feed it kelp", "give it kelp"},
    {"feed it acorns", "give it acorns"},
    {"feed it honey", "give it honey"},
    {"feed it seeds", "give it seeds"},
    {"give it mint tea", NULL},       /* sick */
    {"wrap the wound", NULL},         /* injured */
    {"let it sleep late", NULL},      /* tired */
    {"check on it every week", NULL}, /* healthy */
    {"keep it warm", NULL},           /* baby */
    {"teach it new tricks", NULL},    /* young */
    {"brush its fur", NULL},          /* adult */
    {"let it rest often", NULL},      /* old */
    {"take it on a long walk", NULL}, /* spring */
    {"let it swim in the lake", NULL}, /* summer */
    {"let it dig in the garden", NULL}, /* autumn */
    {"keep it by the fire", NULL},    /* winter */
};

/* Each condition's caution: an activity that is good elsewhere but harms this
 * creature (cold water when sick, long walks when injured, digging when tired,
 * medicine when healthy). */
static const int CAUTIONS[WORLD_NCONDITIONS] = {ACTIVITY0 + 1, ACTIVITY0 + 0, ACTIVITY0 + 2, REMEDY0 + 0};

int world_attr_count(int attr) {
    static const int counts[WORLD_NATTR] = {WORLD_NSPECIES, WORLD_NCONDITIONS, WORLD_NAGES, WORLD_NSEASONS};
    return counts[attr];
}

const char *world_attr_name(int attr) {
    static const char *const names[WORLD_NATTR] = {"species", "condition", "age", "season"};
    return names[attr];
}

const char *world_value_name(int attr, int value) {
    switch (attr) {
    case WORLD_SPECIES: return SPECIES[value];
    case WORLD_CONDITION: return CONDITIONS[value];
    case WORLD_AGE: return AGES[value];
    default: return SEASONS[value];
    }
}

static int pool_start(int attr) {
    static const int starts[WORLD_NATTR] = {FOOD0, REMEDY0, AGECARE0, ACTIVITY0};
    return starts[attr];
}

int world_advice(int attr, int value) { return pool_start(attr) + value; }
int world_phrase_attr(int phrase) {
    return phrase >= ACTIVITY0 ? WORLD_SEASON : phrase >= AGECARE0 ? WORLD_AGE : phrase >= REMEDY0 ? WORLD_CONDITION : WORLD_SPECIES;
}

int world_caution(int condition) { return CAUTIONS[condition]; }
int world_phrase_count(void) { return NPHRASES; }
const world_phrase *world_phrase_at(int phrase) { return &PHRASES[phrase]; }

int world_pool(int attr, int out[WORLD_MAX_VALUES]) {
    int n = world_attr_count(attr);
    for (int i = 0; i < n; i++) out[i] = pool_start(attr) + i;
    return n;
}

int world_caution_pool(int out[WORLD_NCONDITIONS]) {
    memcpy(out, CAUTIONS, sizeof CAUTIONS);
    return WORLD_NCONDITIONS;
}

static void shuffle(int *a, int n, rg_rng *rng) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rg_rng_below(rng, (uint64_t)i + 1);
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

void world_init(world *w, uint64_t seed, double known_frac) {
    memset(w, 0, sizeof *w);
    w->seed = seed;
    rg_rng rng;
    rg_rng_seed(&rng, seed ^ 0x776f726c6452554cULL); /* the world's own stream */
    /* Held-out pairs: species in a shuffled order take the conditions in a
     * shuffled order, round robin, so each condition is held out for exactly
     * two species and every value still occurs in train. */
    int species[WORLD_NSPECIES], conditions[WORLD_NCONDITIONS];
    for (int i = 0; i < WORLD_NSPECIES; i++) species[i] = i;
    for (int i = 0; i < WORLD_NCONDITIONS; i++) conditions[i] = i;
    shuffle(species, WORLD_NSPECIES, &rng);
    shuffle(conditions, WORLD_NCONDITIONS, &rng);
    for (int i = 0; i < WORLD_NSPECIES; i++) w->heldout_condition[species[i]] = conditions[i % WORLD_NCONDITIONS];
    /* Partial knowledge: a share of the values of every attribute. */
    for (int attr = 0; attr < WORLD_NATTR; attr++) {
        int n = world_attr_count(attr), order[WORLD_MAX_VALUES];
        for (int i = 0; i < n; i++) order[i] = i;
        shuffle(order, n, &rng);
        int n_known = (int)(known_frac * n + 0.5);
        for (int i = 0; i < n_known && i < n; i++) w->known[attr][order[i]] = 1;
    }
}

int world_is_heldout(const world *w, const world_combo *c) {
    return w->heldout_condition[c->species] == c->condition;
}

int world_combo_value(const world_combo *c, int attr) {
    switch (attr) {
    case WORLD_SPECIES: return c->species;
    case WORLD_CONDITION: return c->condition;
    case WORLD_AGE: return c->age;
    default: return c->season;
    }
}

int world_rubric(const world_combo *c, world_criterion out[WORLD_MAX_CRITERIA]) {
    int n = 0;
    int caution = world_caution(c->condition);
    out[n++] = (world_criterion){world_advice(WORLD_SPECIES, c->species), WORLD_W_FOOD, "essential"};
    out[n++] = (world_criterion){world_advice(WORLD_CONDITION, c->condition), WORLD_W_REMEDY, "essential"};
    if (c->age >= 0) out[n++] = (world_criterion){world_advice(WORLD_AGE, c->age), WORLD_W_AGE, "optional"};
    /* The interaction rule: the caution wins over a season's activity. */
    if (c->season >= 0 && world_advice(WORLD_SEASON, c->season) != caution)
        out[n++] = (world_criterion){world_advice(WORLD_SEASON, c->season), WORLD_W_SEASON, "optional"};
    out[n++] = (world_criterion){caution, WORLD_W_PITFALL, "pitfall"};
    return n;
}

double world_score_phrases(const world_criterion *rubric, int n, const int *said, int n_said) {
    double got = 0, possible = 0;
    for (int i = 0; i < n; i++) {
        int met = 0;
        for (int j = 0; j < n_said; j++) met |= said[j] == rubric[i].phrase;
        if (met) got += rubric[i].weight;
        if (rubric[i].weight > 0) possible += rubric[i].weight;
    }
    double score = possible > 0 ? got / possible : 0;
    return score < 0 ? 0 : score > 1 ? 1 : score;
}
