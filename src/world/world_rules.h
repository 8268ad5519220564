/* world_rules.h — the rubric world's vocabulary and rules (see docs/rubric-world.md).
 *
 * A creature has four attributes (species, condition, age, season); the rules
 * map each value to one piece of advice (a phrase from the phrase table) and
 * each condition to one caution (a phrase that must not be said). The rules are
 * fixed; the seed decides which (species, condition) pairs are held out and
 * which values the base model "knows" (its partial knowledge). */
#ifndef RG_WORLD_RULES_H
#define RG_WORLD_RULES_H

#include <stdint.h>

enum { WORLD_SPECIES, WORLD_CONDITION, WORLD_AGE, WORLD_SEASON, WORLD_NATTR };
#define WORLD_MAX_VALUES 8
#define WORLD_NSPECIES 8
#define WORLD_NCONDITIONS 4
#define WORLD_NAGES 4
#define WORLD_NSEASONS 4
#define WORLD_MAX_CRITERIA 5

/* Criterion weights (RaR-like scale: essential 5, optional 3/2, pitfall negative). */
#define WORLD_W_FOOD 5
#define WORLD_W_REMEDY 5
#define WORLD_W_AGE 3
#define WORLD_W_SEASON 2
#define WORLD_W_PITFALL (-4)

/* One piece of advice: the canonical words and, for foods, a second wording. */
typedef struct {
    const char *words;     /* "feed it moss" */
    const char *alt_words; /* "give it moss", or NULL */
} world_phrase;

int world_attr_count(int attr);                  /* number of values of an attribute */
const char *world_attr_name(int attr);           /* "species" */
const char *world_value_name(int attr, int value); /* "glorp", "sick", "baby", "winter" */
/* The advice a value calls for: phrase index (see world_phrase_at). */
int world_advice(int attr, int value);
/* Which attribute's pool a phrase belongs to. */
int world_phrase_attr(int phrase);
/* The caution of a condition: phrase index that must not be said. */
int world_caution(int condition);
int world_phrase_count(void);
const world_phrase *world_phrase_at(int phrase);
/* The phrases an attribute's advice is drawn from (its "pool"): out[i] for i < count. */
int world_pool(int attr, int out[WORLD_MAX_VALUES]);
/* Every phrase that is some condition's caution. */
int world_caution_pool(int out[WORLD_NCONDITIONS]);

/* A composition: which values a prompt is about; age and season -1 when not mentioned. */
typedef struct {
    int species, condition, age, season;
} world_combo;

/* The seed's choices. */
typedef struct {
    uint64_t seed;
    int heldout_condition[WORLD_NSPECIES]; /* the condition each species never meets in train */
    int known[WORLD_NATTR][WORLD_MAX_VALUES]; /* 1 = the base model knows this value's rule */
} world;

/* known_frac: the share of each attribute's values whose rule the base model
 * knows (rounded; 0.5 = 4 of 8 species, 2 of 4 of the others). */
void world_init(world *w, uint64_t seed, double known_frac);
int world_is_heldout(const world *w, const world_combo *c);
int world_combo_value(const world_combo *c, int attr); /* -1 when absent */

/* A rubric criterion in structural form: which phrase, its weight and tag. */
typedef struct {
    int phrase;
    int weight;
    const char *tag; /* "essential" | "optional" | "pitfall" */
} world_criterion;

/* The rubric the rules give for a composition, in canonical order (food,
 * remedy, age, season, pitfall); the season item is dropped when its activity
 * is the condition's caution. Returns the number of criteria. */
int world_rubric(const world_combo *c, world_criterion out[WORLD_MAX_CRITERIA]);

/* The HealthBench score of a set of said phrases against a rubric, computed
 * structurally (phrase identity), clipped to [0, 1]. */
double world_score_phrases(const world_criterion *rubric, int n, const int *said, int n_said);

#endif
