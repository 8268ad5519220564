/* main.c — the rgsd command-line entry point: dispatch to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/stop.h"
#include "cli/commands.h"
#include "dist/dist.h"
#include "nn/nn.h"

typedef struct {
    const char *name;
    rg_command_fn fn;
    const char *summary;
    const char *issue; /* what brings it, when it is not built yet */
} command_entry;

int rg_cli_fail(void) {
    const char *msg = rg_errmsg();
    /* Flag-parser messages already start with "rgsd <command>:". */
    fprintf(stderr, "%s%s\n", strncmp(msg, "rgsd ", 5) == 0 ? "" : "rgsd: ", msg);
    return rg_error_is_usage() ? 2 : 1; /* bad usage (rg_usage_error) or anything else */
}

static void usage(FILE *out, const command_entry *cmds, int n) {
    fprintf(out,
            "rgsd — rubric-guided self-distillation for language models\n\n"
            "usage: rgsd [-q|-v] <command> [options]   (rgsd <command> --help for details)\n"
            "       rgsd --kernels   (the BLAS and SIMD kernels this machine runs; RGSD_KERNELS=auto|ref|avx2|avx512)\n\n"
            "commands:\n");
    for (int i = 0; i < n; i++)
        fprintf(out, "  %-10s %s%s\n", cmds[i].name, cmds[i].summary, cmds[i].fn ? "" : "  [not built yet]");
}

/* Under mpirun (docs/distributed.md) only the trainers run, one per rank;
 * ranks other than 0 keep warnings and errors but not the info lines, which
 * rank 0 prints for the job. */
static int run_command(const command_entry *cmd, int argc, char **argv) {
    if (rg_dist_init(&argc, &argv) != RG_OK) return rg_cli_fail();
    int rc;
    if (rg_dist_size() > 1 && strcmp(cmd->name, "train") != 0 && strcmp(cmd->name, "grpo") != 0 &&
        strcmp(cmd->name, "sft") != 0) {
        rc = rg_dist_rank() == 0 ? (fprintf(stderr, "rgsd: only train, grpo and sft run on several ranks (mpirun "
                                                    "-np %d %s); run it as one process\n", rg_dist_size(), cmd->name), 2)
                                 : 2;
    } else {
        if (rg_dist_rank() > 0 && rg_log_get_level() == RG_LOG_INFO) rg_log_set_level(RG_LOG_QUIET);
        rc = cmd->fn(argc, argv);
    }
    /* A rank that failed outside the step loop (setup, a bad flag) must not wait in MPI_Finalize while
     * the others wait for it in a collective: it ends the job. An agreed stop (Ctrl-C) finalizes. */
    if (rc != 0 && rg_dist_size() > 1 && !rg_stop_requested) rg_dist_abort(rc);
    rg_dist_finalize();
    return rc;
}

int main(int argc, char **argv) {
    const command_entry cmds[] = {
        {"train", cmd_train, "post-train a model with RGSD (no judge, 1 rollout per prompt)", "issue 5"},
        {"grpo", cmd_grpo, "post-train with judge-based GRPO (the baseline)", "issue 6"},
        {"sft", cmd_sft, "supervised fine-tuning on chat data", "issue 4"},
        {"eval", cmd_eval, "generate, judge and score rubric satisfaction", "issue 6"},
        {"judge", cmd_judge, "grade responses of any system against rubrics", "issue 6"},
        {"compare", cmd_compare, "rubric-free pairwise comparison of two eval reports", "issue 14"},
        {"gap", cmd_gap, "measure the self-internalisation gap (judge-free)", "issue 5"},
        {"generate", cmd_generate, "chat-templated generation", "issue 3"},
        {"logprobs", cmd_logprobs, "per-token log-probabilities of given responses", "issue 3"},
        {"merge", cmd_merge, "fold a LoRA adapter into a full checkpoint", "issue 4"},
        {"tokenize", cmd_tokenize, "encode or decode text with a model's tokenizer", "issue 2"},
        {"data", cmd_data, "validate rubric data and print statistics", "issue 2"},
        {"world", cmd_world, "generate the synthetic rubric world", "issue 7"},
    };
    const int ncmds = (int)(sizeof cmds / sizeof cmds[0]);
    /* Debian's OpenBLAS may not recognise the CPU and fall back to slow SSE3
     * kernels; pick the right ones before any matrix work. */
    nn_blas_init();
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-q") == 0)
            rg_log_set_level(RG_LOG_QUIET);
        else if (strcmp(argv[i], "-v") == 0)
            rg_log_set_level(RG_LOG_DEBUG);
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout, cmds, ncmds);
            return 0;
        } else if (strcmp(argv[i], "--kernels") == 0) {
            /* for reports (tools/demo.sh) and bug reports: results vary with these */
            if (nn_kernels_init() != RG_OK) return rg_cli_fail();
            char line[128];
            nn_kernels_describe(line, sizeof line);
            printf("%s\n", line);
            return 0;
        } else {
            fprintf(stderr, "rgsd: unknown option '%s' (see rgsd --help)\n", argv[i]);
            return 2;
        }
    }
    /* After -v, so the kernel line shows at debug level; a bad RGSD_KERNELS
     * fails here, before any work. */
    if (nn_kernels_init() != RG_OK) return rg_cli_fail();
    if (i >= argc) {
        usage(stderr, cmds, ncmds);
        return 2;
    }
    for (int c = 0; c < ncmds; c++) {
        if (strcmp(argv[i], cmds[c].name) != 0) continue;
        if (!cmds[c].fn) {
            fprintf(stderr, "rgsd: '%s' is not built yet (see %s in the tracker)\n", cmds[c].name, cmds[c].issue);
            return 1;
        }
        return run_command(&cmds[c], argc - i - 1, argv + i + 1);
    }
    fprintf(stderr, "rgsd: unknown command '%s' (see rgsd --help)\n", argv[i]);
    return 2;
}
