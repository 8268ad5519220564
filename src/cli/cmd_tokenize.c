/* cmd_tokenize.c — `rgsd tokenize`: encode text to ids, or decode ids to text,
 * with a model's own tokenizer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "io/file.h"
#include "tok/chat.h"
#include "tok/tokenizer.h"

/* "1 2 3" (spaces, commas or newlines between) -> ids. */
static int parse_ids(const char *s, int32_t **ids, int *n) {
    int cap = 16, count = 0;
    int32_t *out = rg_malloc((size_t)cap * sizeof *out);
    if (!out) return RG_ERR;
    const char *p = s;
    for (;;) {
        while (*p == ' ' || *p == ',' || *p == '\t' || *p == '\n' || *p == '\r') p++;
        if (!*p) break;
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > INT32_MAX) {
            free(out);
            return rg_usage_error("rgsd tokenize: --decode: '%.20s' is not a token id (see rgsd tokenize --help)", p);
        }
        if (count == cap) {
            cap *= 2;
            int32_t *grown = rg_realloc(out, (size_t)cap * sizeof *grown);
            if (!grown) return free(out), RG_ERR;
            out = grown;
        }
        out[count++] = (int32_t)v;
        p = end;
    }
    *ids = out;
    *n = count;
    return RG_OK;
}

/* The text as one user message in the model's chat template (or the
 * --chat-template family), ready for the assistant's reply. */
static int render_chat(const char *tokenizer_path, const char *family, const char *text, char **rendered) {
    /* The template lives in the folder of the tokenizer (a folder, or the
     * folder of a tokenizer.json). */
    struct stat st;
    char *dir = NULL;
    if (stat(tokenizer_path, &st) == 0 && !S_ISDIR(st.st_mode)) {
        const char *slash = strrchr(tokenizer_path, '/');
        dir = slash ? strndup(tokenizer_path, (size_t)(slash - tokenizer_path)) : strdup(".");
    } else {
        dir = strdup(tokenizer_path);
    }
    if (!dir) return rg_error("out of memory");
    rg_chat_template *tmpl;
    int rc = rg_chat_template_open(dir, family, &tmpl);
    free(dir);
    if (rc != RG_OK) return RG_ERR;
    rg_chat_message message = {.role = "user", .content = text};
    rg_chat_options options = {.add_generation_prompt = 1, .enable_thinking = 1};
    rc = rg_chat_render(tmpl, &message, 1, &options, rendered);
    rg_chat_template_free(tmpl);
    return rc;
}

static int encode_and_print(const rg_tokenizer *tok, const char *text, size_t len, int allow_special) {
    int32_t *ids;
    int n;
    if (rg_tokenizer_encode(tok, text, len, allow_special, &ids, &n) != RG_OK) return RG_ERR;
    for (int i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
    printf("\n");
    free(ids);
    return RG_OK;
}

typedef struct {
    const char *tokenizer_path, *text, *file, *decode, *chat_template;
    int chat, special;
} tokenize_options;

/* One source of input, and --chat / --chat-template only where they apply. */
static int check_options(const tokenize_options *o) {
    if ((o->text != NULL) + (o->file != NULL) + (o->decode != NULL) != 1)
        return rg_usage_error("rgsd tokenize: give exactly one of --text, --file or --decode (see rgsd tokenize --help)");
    if (o->chat_template && !o->chat)
        return rg_usage_error("rgsd tokenize: --chat-template needs --chat (see rgsd tokenize --help)");
    if (o->chat && o->decode)
        return rg_usage_error(
            "rgsd tokenize: --chat applies to --text or --file, not --decode (see rgsd tokenize --help)");
    return RG_OK;
}

/* --decode: the exact text of the ids, no newline added. */
static int decode_and_print(const rg_tokenizer *tok, const char *decode) {
    int32_t *ids = NULL;
    int n = 0;
    if (parse_ids(decode, &ids, &n) != RG_OK) return RG_ERR;
    char *out;
    size_t len;
    int rc = rg_tokenizer_decode(tok, ids, n, &out, &len);
    free(ids);
    if (rc != RG_OK) return RG_ERR;
    fwrite(out, 1, len, stdout);
    free(out);
    return RG_OK;
}

/* --text or --file, rendered as a chat turn with --chat, encoded and printed. */
static int encode_input(const rg_tokenizer *tok, const tokenize_options *o) {
    char *data = NULL;
    size_t len = 0;
    int rc, special = o->special;
    if (o->file) {
        rc = rg_read_file(o->file, &data, &len);
    } else {
        data = rg_strdup(o->text);
        rc = data ? RG_OK : RG_ERR;
        len = data ? strlen(data) : 0;
    }
    if (rc == RG_OK && o->chat) {
        char *rendered;
        rc = render_chat(o->tokenizer_path, o->chat_template, data, &rendered);
        if (rc == RG_OK) {
            free(data);
            data = rendered;
            len = strlen(rendered);
            special = 1; /* the template's own markers are special tokens */
        }
    }
    if (rc == RG_OK) rc = encode_and_print(tok, data, len, special);
    if (rc != RG_OK && o->file) rg_error_prefix("%s", o->file);
    free(data);
    return rc;
}

int cmd_tokenize(int argc, char **argv) {
    tokenize_options o = {0};
    const rg_arg args[] = {
        {"tokenizer", RG_ARG_STRING, &o.tokenizer_path, "DIR", "model folder (tokenizer.json, tokenizer_config.json) or a tokenizer.json", 1},
        {"text", RG_ARG_STRING, &o.text, "S", "text to encode", 0},
        {"file", RG_ARG_STRING, &o.file, "F", "encode the contents of this file (UTF-8)", 0},
        {"decode", RG_ARG_STRING, &o.decode, "IDS", "decode these ids (\"1 2 3\") and print the exact text", 0},
        {"chat", RG_ARG_FLAG, &o.chat, NULL, "wrap the text as one user message in the model's chat template, with the generation prompt (special tokens parsed, as Hugging Face's apply_chat_template)", 0},
        {"chat-template", RG_ARG_STRING, &o.chat_template, "FAMILY", "with --chat: render with this family (chatml, qwen2, qwen2.5, qwen3, llama3, llama3.1) instead of the folder's template", 0},
        {"special", RG_ARG_FLAG, &o.special, NULL, "parse special tokens written in the text (<|im_start|>); without it they are plain text", 0},
    };
    const rg_command_spec spec = {
        .name = "tokenize",
        .synopsis = "--tokenizer DIR (--text S | --file F) [--chat [--chat-template FAMILY]] [--special] | --tokenizer DIR --decode IDS",
        .summary = "Encodes text with a model's byte-level BPE tokenizer (Qwen2.5, Qwen3, Llama 3) and prints the "
                   "token ids, space separated, exactly as Hugging Face tokenizers give them (no BOS added). "
                   "With --decode, prints the exact text of the given ids instead (no newline added).",
        .examples = "  rgsd tokenize --tokenizer models/Qwen3-0.6B --text 'Hello world'\n"
                    "  rgsd tokenize --tokenizer models/Qwen3-0.6B --chat --text 'What is a fever?'\n"
                    "  rgsd tokenize --tokenizer models/Qwen3-0.6B --decode '9707 1879'",
        .args = args,
        .nargs = (int)(sizeof args / sizeof args[0]),
    };
    int parsed = rg_args_parse(&spec, argc, argv, NULL, NULL);
    if (parsed == 1) return 0;
    if (parsed != RG_OK || check_options(&o) != RG_OK) return rg_cli_fail();
    rg_tokenizer *tok;
    if (rg_tokenizer_load(o.tokenizer_path, &tok) != RG_OK) return rg_cli_fail();
    int rc = o.decode ? decode_and_print(tok, o.decode) : encode_input(tok, &o);
    rg_tokenizer_free(tok);
    if (rc != RG_OK) return rg_cli_fail();
    return fflush(stdout) == 0 ? 0 : 1;
}
