/* chat_detect.c — which family a chat_template is, from its distinctive
 * fragments.
 *
 * The template source is first normalised so that cosmetic differences do
 * not matter: all whitespace removed, "double" quotes made 'single',
 * x['name'] written x.name. A family is recognised only when ALL of its
 * fragments are present (and, for ChatML, none of the reasoning markers), so
 * a template that merely looks similar (QwQ, Qwen3-2507, DeepSeek-R1 distills,
 * Llama 3.2 Vision) is reported as unknown instead of being rendered wrong.
 * The fragment lists are documented in docs/chat-templates.md. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "tok/chat_internal.h"

#define QWEN25_SYSTEM "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
#define QWEN2_SYSTEM "You are a helpful assistant."

/* In the fragments below `\\n` is the two characters backslash-n, as they
 * stand in the Jinja source (a Jinja string escape). */
static const char *const chatml_fragments[] = {
    "'<|im_start|>'+message.role+'\\n'+message.content+'<|im_end|>'+'\\n'",
    "'<|im_start|>assistant\\n'",
    NULL,
};

static const char *const qwen3_fragments[] = {
    "<|im_start|>",
    "last_query_index",
    "reasoning_content",
    "not(message.content.startswith('<tool_response>')andmessage.content.endswith('</tool_response>'))",
    ".split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n')",
    ".split('</think>')[-1].lstrip('\\n')",
    "{%-ifloop.index0>ns.last_query_index%}{%-ifloop.lastor(notloop.lastandreasoning_content)%}",
    "'\\n<think>\\n'+reasoning_content.strip('\\n')+'\\n</think>\\n\\n'+content.lstrip('\\n')",
    "'<|im_start|>assistant\\n'",
    "enable_thinkingisdefinedandenable_thinkingisfalse",
    "'<think>\\n\\n</think>\\n\\n'",
    NULL,
};

static const char *const llama_fragments[] = {
    "bos_token",
    "'<|start_header_id|>'+message.role+'<|end_header_id|>\\n\\n'+message.content|trim+'<|eot_id|>'",
    "'<|start_header_id|>assistant<|end_header_id|>\\n\\n'",
    NULL,
};

static const char *const llama30_fragments[] = {
    "{%ifloop.index0==0%}{%setcontent=bos_token+content%}",
    NULL,
};

static const char *const llama31_fragments[] = {
    "'<|start_header_id|>system<|end_header_id|>\\n\\n'",
    "'CuttingKnowledgeDate:December2023\\n'",
    "'TodayDate:'+date_string+'\\n\\n'",
    "messages[0].content|trim",
    NULL,
};

/* Whitespace out, quotes unified, ['name'] -> .name (malloc'd). A newline or
 * tab typed literally inside a string literal becomes its escape (\n, \t),
 * so '<|end_header_id|>\n\n' matches whether the template holds the escape
 * (Llama 3.1) or the characters themselves (Llama 3.0). */
static char *normalise(const char *src) {
    char *out = rg_malloc(2 * strlen(src) + 1);
    if (!out) return NULL;
    size_t n = 0;
    char quote = 0; /* inside a string literal: its quote character */
    for (const char *p = src; *p; p++) {
        if (quote) {
            if (*p == '\\' && p[1]) {
                out[n++] = *p++;
                out[n++] = *p;
            } else if (*p == quote) {
                out[n++] = '\'';
                quote = 0;
            } else if (*p == '\n' || *p == '\t') {
                out[n++] = '\\';
                out[n++] = *p == '\n' ? 'n' : 't';
            } else if (!isspace((unsigned char)*p)) {
                out[n++] = *p;
            }
            continue;
        }
        if (isspace((unsigned char)*p)) continue;
        if (*p == '\'' || *p == '"') {
            quote = *p;
            out[n++] = '\'';
            continue;
        }
        out[n++] = *p;
    }
    out[n] = '\0';
    /* Second pass: ['ident'] -> .ident */
    size_t w = 0;
    for (size_t r = 0; r < n;) {
        if (out[r] == '[' && out[r + 1] == '\'' && (isalpha((unsigned char)out[r + 2]) || out[r + 2] == '_')) {
            size_t e = r + 2;
            while (isalnum((unsigned char)out[e]) || out[e] == '_') e++;
            if (out[e] == '\'' && out[e + 1] == ']') {
                out[w++] = '.';
                for (size_t k = r + 2; k < e; k++) out[w++] = out[k];
                r = e + 2;
                continue;
            }
        }
        out[w++] = out[r++];
    }
    out[w] = '\0';
    return out;
}

static int has_all(const char *text, const char *const *fragments) {
    for (int i = 0; fragments[i]; i++)
        if (!strstr(text, fragments[i])) return 0;
    return 1;
}

/* Jinja string escapes of a literal's body (n bytes) -> malloc'd text. */
static char *unescape_literal(const char *s, size_t n) {
    char *out = rg_malloc(n + 1);
    if (!out) return NULL;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) {
            char c = s[++i];
            out[w++] = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
        } else {
            out[w++] = s[i];
        }
    }
    out[w] = '\0';
    return out;
}

/* The ChatML default system prompt: a whole string literal
 * '<|im_start|>system\n...<|im_end|>\n' in the source (as Qwen2 and Qwen2.5
 * write it). *out = NULL when there is none. Two different ones: error. */
static int find_default_system(const char *src, char **out) {
    static const char open[] = "<|im_start|>system\\n", close[] = "<|im_end|>\\n";
    *out = NULL;
    for (const char *p = strstr(src, open); p; p = strstr(p + 1, open)) {
        if (p == src || (p[-1] != '\'' && p[-1] != '"')) continue;
        char quote = p[-1];
        const char *body = p + strlen(open);
        const char *end = strstr(body, close);
        if (!end || end[strlen(close)] != quote) continue;
        if (memchr(body, quote, (size_t)(end - body))) continue; /* not one literal */
        char *text = unescape_literal(body, (size_t)(end - body));
        if (!text) return RG_ERR;
        if (*out && strcmp(*out, text) != 0) {
            free(text);
            return rg_error("chat template: two different default system prompts");
        }
        free(*out);
        *out = text;
    }
    return RG_OK;
}

/* Llama 3.1+: the literal in `set date_string = "26 Jul 2024"`. */
static int find_default_date(const char *src, char **out) {
    *out = NULL;
    for (const char *p = strstr(src, "date_string"); p; p = strstr(p + 1, "date_string")) {
        const char *q = p + strlen("date_string");
        while (*q == ' ') q++;
        if (*q != '=') continue;
        q++;
        while (*q == ' ') q++;
        if (*q != '"' && *q != '\'') continue;
        const char *end = strchr(q + 1, *q);
        if (!end) continue;
        *out = unescape_literal(q + 1, (size_t)(end - q - 1));
        return *out ? RG_OK : RG_ERR;
    }
    return rg_error("chat template: Llama 3.1 style, but no default date_string literal found");
}

static int unknown(const char *norm, const char *why) {
    const char *hint = "";
    if (strstr(norm, "<|im_start|>") && strstr(norm, "think>"))
        hint = " It looks like ChatML with <think> reasoning other than Qwen3's hybrid template "
               "(QwQ, Qwen3-2507, DeepSeek-R1 distills), which rgsd does not render.";
    else if (strstr(norm, "<|start_header_id|>") && strstr(norm, "<|image|>"))
        hint = " It looks like Llama 3.2 Vision, which rgsd does not render.";
    return rg_error("chat template not recognised (%s); supported families: %s.%s If the model "
                    "uses one of them, pass --chat-template FAMILY.",
                    why, rg_chat_template_names(), hint);
}

int rg_chat_detect(const char *src, struct rg_chat_template *t) {
    char *norm = normalise(src);
    if (!norm) return RG_ERR;
    int rc = RG_OK;
    if (has_all(norm, qwen3_fragments)) {
        t->family = RG_CHAT_QWEN3;
        t->name = "qwen3";
    } else if (has_all(norm, chatml_fragments)) {
        if (strstr(norm, "think>") || strstr(norm, "reasoning_content")) { /* <think> or </think> */
            rc = unknown(norm, "ChatML with reasoning markers");
        } else if ((rc = find_default_system(src, &t->default_system)) == RG_OK) {
            t->family = RG_CHAT_CHATML;
            t->name = !t->default_system                          ? "chatml"
                      : strcmp(t->default_system, QWEN25_SYSTEM) == 0 ? "qwen2.5"
                      : strcmp(t->default_system, QWEN2_SYSTEM) == 0  ? "qwen2"
                                                                       : "chatml+system";
        }
    } else if (has_all(norm, llama_fragments) && has_all(norm, llama31_fragments)) {
        t->family = RG_CHAT_LLAMA31;
        t->name = "llama3.1";
        rc = find_default_date(src, &t->default_date);
    } else if (has_all(norm, llama_fragments) && has_all(norm, llama30_fragments) &&
               !strstr(norm, "CuttingKnowledge")) {
        t->family = RG_CHAT_LLAMA3;
        t->name = "llama3";
    } else {
        rc = unknown(norm, "no family's distinctive fragments all present");
    }
    free(norm);
    return rc;
}
