/* world_gen.h — `rgsd world gen`: writes the rubric world's data sets,
 * SFT corpus, tokenizer and rules to a directory (see docs/rubric-world.md). */
#ifndef RG_WORLD_GEN_H
#define RG_WORLD_GEN_H

#include <stdint.h>

#include "world/world_tokenizer.h"

typedef struct {
    uint64_t seed;
    const char *out_dir;
    int n_train, n_heldout, n_sft;
    double sft_rubric_frac; /* share of SFT examples with the rubric in context */
    double counterfactual;  /* share of those whose rubric is drawn at random */
    double known_frac;      /* share of each attribute's values the base model knows */
    int shuffle;            /* rubric and answers in random order, not canonical (food,
                               remedy, age, season, pitfall: RaR's essential-first order) */
} world_config;

void world_config_defaults(world_config *cfg);
/* Checks the sizes and fractions; the error names the flag. */
int world_config_check(const world_config *cfg);

typedef struct {
    int min, max;
    double mean;
} world_length;

typedef struct {
    int n_train, n_heldout, n_sft, n_sft_with_rubric, n_sft_counterfactual;
    int vocab_size; /* learnt tokens + special tokens */
    int n_merges;
    world_length prompt_tokens, teacher_prompt_tokens, reference_tokens, sft_answer_tokens;
    /* HealthBench score of answers from the base model's partial knowledge
     * (the SFT corpus's no-rubric answers) on each split: 1 minus this is the
     * conditioning gap the corpus teaches. */
    double partial_score_train, partial_score_heldout;
} world_summary;

int world_generate(const world_config *cfg, world_summary *summary);

/* The world's tokenizer (the same for every seed and size), as written to
 * DIR/tokenizer/; free with world_bpe_free. */
int world_learn_tokenizer(world_bpe *out);

#endif
