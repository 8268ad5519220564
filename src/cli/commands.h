/* commands.h — every rgsd subcommand, one file each under src/cli/.
 *
 * Each takes the words after the subcommand name and returns the process exit
 * status (0 ok, 1 error — already printed as one line, 2 bad usage). A command
 * whose issue has not landed yet is not linked (weak symbol) and main() says so
 * plainly instead of pretending. */
#ifndef RG_COMMANDS_H
#define RG_COMMANDS_H

typedef int (*rg_command_fn)(int argc, char **argv);

int cmd_tokenize(int argc, char **argv) __attribute__((weak));
int cmd_data(int argc, char **argv) __attribute__((weak));
int cmd_generate(int argc, char **argv) __attribute__((weak));
int cmd_logprobs(int argc, char **argv) __attribute__((weak));
int cmd_sft(int argc, char **argv) __attribute__((weak));
int cmd_merge(int argc, char **argv) __attribute__((weak));
int cmd_train(int argc, char **argv) __attribute__((weak));
int cmd_gap(int argc, char **argv) __attribute__((weak));
int cmd_grpo(int argc, char **argv) __attribute__((weak));
int cmd_eval(int argc, char **argv) __attribute__((weak));
int cmd_judge(int argc, char **argv) __attribute__((weak));
int cmd_compare(int argc, char **argv) __attribute__((weak));
int cmd_world(int argc, char **argv) __attribute__((weak));

/* Prints "rgsd: <rg_errmsg()>" and returns the exit status for a failure:
 * 2 when the message came from the flag parser (bad usage), else 1. */
int rg_cli_fail(void);

#endif
