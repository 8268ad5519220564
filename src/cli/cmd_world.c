/* cmd_world.c — `rgsd world gen`: the synthetic rubric world. */
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/timer.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "world/world_gen.h"

static void print_summary(const world_config *cfg, const world_summary *s, double seconds) {
    fprintf(stderr,
            "world: seed %llu -> %s (%.2f s)\n"
            "  train.jsonl    %d prompts   heldout.jsonl %d prompts (held-out species x condition pairs)\n"
            "  sft.jsonl      %d chats: %d with the rubric in context (%d counterfactual), %d without\n"
            "  tokenizer/     %d tokens (256 bytes + %d merges + 3 special)\n"
            "  tokens         prompt %.1f (%d-%d), teacher prompt %.1f (%d-%d), reference %.1f (%d-%d), sft answer "
            "%.1f (%d-%d)\n"
            "  partial-knowledge answers score %.3f on train, %.3f on held-out (references score 1.000)\n",
            (unsigned long long)cfg->seed, cfg->out_dir, seconds, s->n_train, s->n_heldout, s->n_sft,
            s->n_sft_with_rubric, s->n_sft_counterfactual, s->n_sft - s->n_sft_with_rubric, s->vocab_size,
            s->n_merges, s->prompt_tokens.mean, s->prompt_tokens.min, s->prompt_tokens.max,
            s->teacher_prompt_tokens.mean, s->teacher_prompt_tokens.min, s->teacher_prompt_tokens.max,
            s->reference_tokens.mean, s->reference_tokens.min, s->reference_tokens.max, s->sft_answer_tokens.mean,
            s->sft_answer_tokens.min, s->sft_answer_tokens.max, s->partial_score_train, s->partial_score_heldout);
}

int world_model_main(int argc, char **argv); /* world_model.c: `rgsd world model` */

int cmd_world(int argc, char **argv) {
    if (argc >= 1 && strcmp(argv[0], "model") == 0) return world_model_main(argc - 1, argv + 1);
    world_config cfg;
    world_config_defaults(&cfg);
    long seed = 1, n_train = cfg.n_train, n_heldout = cfg.n_heldout, n_sft = cfg.n_sft;
    const char *out = NULL;
    int shuffle = 0;
    rg_arg specs[] = {
        {"seed", RG_ARG_INT, &seed, "S", "the world's seed: splits, known rules, phrasings", 0},
        {"out", RG_ARG_STRING, &out, "DIR", "output folder (created)", 1},
        {"train", RG_ARG_INT, &n_train, "N", "training prompts", 0},
        {"heldout", RG_ARG_INT, &n_heldout, "N", "held-out prompts (unseen species x condition pairs)", 0},
        {"sft", RG_ARG_INT, &n_sft, "N", "SFT chats for the tiny base model", 0},
        {"sft-rubric-frac", RG_ARG_FLOAT, &cfg.sft_rubric_frac, "F", "share of SFT chats with the rubric in context", 0},
        {"counterfactual", RG_ARG_FLOAT, &cfg.counterfactual, "F",
         "share of those whose rubric is random (teaches rubric-following)", 0},
        {"known-frac", RG_ARG_FLOAT, &cfg.known_frac, "F", "share of each attribute's values the base model knows", 0},
        {"shuffle", RG_ARG_FLAG, &shuffle, NULL, "rubrics and answers in random order (default: canonical order)", 0},
    };
    rg_command_spec spec = {
        .name = "world",
        .synopsis = "gen --out DIR [--seed S] [--train N] [--heldout N] [--sft N] ...",
        .summary =
            "Generates the synthetic rubric world: care requests about fictional creatures (species, condition,\n"
            "age, season), each with a weighted rubric (essential, optional, pitfall criteria with PCRE2 `match`\n"
            "patterns for the rule judge) that follows from the prompt through the world's rules.\n"
            "Writes DIR/train.jsonl and DIR/heldout.jsonl (rgsd native rubric format; held-out prompts use\n"
            "species x condition pairs never seen in train), DIR/sft.jsonl (chats teaching a tiny base model to\n"
            "follow a rubric in context and to know only half the rules without one), DIR/tokenizer/ (a Hugging\n"
            "Face byte-level BPE tokenizer with a ChatML chat template) and DIR/world.json (the rules).\n"
            "The same seed and flags give byte-identical files. See docs/rubric-world.md.",
        .examples = "  rgsd world gen --seed 1 --out world\n"
                    "  rgsd world gen --seed 2 --out small --train 100 --heldout 50 --sft 500\n",
        .args = specs,
        .nargs = (int)(sizeof specs / sizeof specs[0]),
        .max_positional = 1,
    };
    char *positional[1];
    int npositional = 0;
    int parsed = rg_args_parse(&spec, argc, argv, positional, &npositional);
    if (parsed == 1) return 0;
    if (parsed != 0) return rg_cli_fail();
    if (npositional != 1 || strcmp(positional[0], "gen") != 0) {
        rg_usage_error("rgsd world: expected the action 'gen' (see rgsd world --help)");
        return rg_cli_fail();
    }
    if (seed < 0) {
        rg_usage_error("rgsd world gen: --seed must be >= 0, got %ld (see rgsd world --help)", seed);
        return rg_cli_fail();
    }
    if (n_train > 1000000 || n_heldout > 1000000 || n_sft > 10000000 || n_train < 0 || n_heldout < 0 || n_sft < 0) {
        rg_usage_error("rgsd world gen: sizes must be 0..1000000 (--sft 0..10000000) (see rgsd world --help)");
        return rg_cli_fail();
    }
    cfg.seed = (uint64_t)seed;
    cfg.out_dir = out;
    cfg.n_train = (int)n_train;
    cfg.n_heldout = (int)n_heldout;
    cfg.n_sft = (int)n_sft;
    cfg.shuffle = shuffle;
    if (world_config_check(&cfg) != RG_OK) return rg_cli_fail();
    world_summary summary;
    double start = rg_now();
    if (world_generate(&cfg, &summary) != RG_OK) return rg_cli_fail();
    print_summary(&cfg, &summary, rg_now() - start);
    return 0;
}
