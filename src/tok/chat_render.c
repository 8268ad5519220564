/* chat_render.c — the family renderers: each one is the Jinja template it
 * stands for, written out by hand for the paths rgsd uses (no tools).
 *
 * String operations follow Python, because transformers renders templates
 * with Python's jinja2: `|trim` is str.strip() (Unicode whitespace as Python
 * defines it), `.strip('\n')` strips only newlines, `.split(sep)[-1]` is the
 * text after the last separator. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "tok/chat_internal.h"

/* ---- a growing text buffer ------------------------------------------------ */

typedef struct {
    char *data;
    size_t len, cap;
    int failed; /* an allocation failed; the error is recorded */
} text_buf;

static void buf_put(text_buf *b, const char *s, size_t n) {
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap) cap *= 2;
        char *grown = rg_realloc(b->data, cap);
        if (!grown) {
            b->failed = 1;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void buf_puts(text_buf *b, const char *s) { buf_put(b, s, strlen(s)); }

/* A view into a string: [start, start + len). */
typedef struct {
    const char *start;
    size_t len;
} span;

static span span_of(const char *s) { return (span){s, strlen(s)}; }
static void buf_span(text_buf *b, span s) { buf_put(b, s.start, s.len); }

/* ---- Python string semantics ---------------------------------------------- */

/* str.isspace() of CPython: bidirectional class WS, B or S, or category Zs. */
static int python_isspace(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Decodes the (valid) UTF-8 sequence at s; *n = its length in bytes. */
static uint32_t utf8_decode(const unsigned char *s, size_t *n) {
    if (s[0] < 0x80) {
        *n = 1;
        return s[0];
    }
    if (s[0] < 0xE0) {
        *n = 2;
        return ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
    }
    if (s[0] < 0xF0) {
        *n = 3;
        return ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    }
    *n = 4;
    return ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
           ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
}

/* Jinja's `|trim`: Python str.strip() with no argument. */
static span python_strip(span s) {
    const unsigned char *p = (const unsigned char *)s.start, *end = p + s.len;
    while (p < end) {
        size_t n;
        if (!python_isspace(utf8_decode(p, &n))) break;
        p += n;
    }
    while (end > p) {
        const unsigned char *q = end - 1;
        while (q > p && (*q & 0xC0) == 0x80) q--; /* back to the lead byte */
        size_t n;
        if (!python_isspace(utf8_decode(q, &n))) break;
        end = q;
    }
    return (span){(const char *)p, (size_t)(end - p)};
}

static span lstrip_newlines(span s) {
    while (s.len && s.start[0] == '\n') s.start++, s.len--;
    return s;
}

static span rstrip_newlines(span s) {
    while (s.len && s.start[s.len - 1] == '\n') s.len--;
    return s;
}

/* Offset of the first / last occurrence of needle in s, or -1. */
static long find_first(span s, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= s.len; i++)
        if (memcmp(s.start + i, needle, n) == 0) return (long)i;
    return -1;
}

static long find_last(span s, const char *needle) {
    size_t n = strlen(needle);
    if (n > s.len) return -1;
    for (size_t i = s.len - n + 1; i-- > 0;)
        if (memcmp(s.start + i, needle, n) == 0) return (long)i;
    return -1;
}

static int starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* ---- ChatML: Qwen2.5, Qwen2, plain ChatML ---------------------------------- */

/* A system message at index 0 is written by the same line as every other
 * message, which is what both the Qwen2.5 branch and plain ChatML do. */
static void render_chatml(const rg_chat_template *t, const rg_chat_message *m, int n,
                          const rg_chat_options *o, text_buf *b) {
    int first_is_system = strcmp(m[0].role, "system") == 0;
    if (!first_is_system && t->default_system) {
        buf_puts(b, "<|im_start|>system\n");
        buf_puts(b, t->default_system);
        buf_puts(b, "<|im_end|>\n");
    }
    for (int i = 0; i < n; i++) {
        buf_puts(b, "<|im_start|>");
        buf_puts(b, m[i].role);
        buf_puts(b, "\n");
        buf_puts(b, m[i].content);
        buf_puts(b, "<|im_end|>\n");
    }
    if (o->add_generation_prompt) buf_puts(b, "<|im_start|>assistant\n");
}

/* ---- Qwen3 ------------------------------------------------------------------ */

/* The template's ns.last_query_index: the last user message that is not a
 * wrapped tool response; reasoning of assistant turns up to it is dropped. */
static int qwen3_last_query_index(const rg_chat_message *m, int n) {
    for (int i = n - 1; i >= 0; i--) {
        if (strcmp(m[i].role, "user") != 0) continue;
        const char *c = m[i].content;
        if (!(starts_with(c, "<tool_response>") && ends_with(c, "</tool_response>"))) return i;
    }
    return n - 1;
}

static void render_qwen3_assistant(const rg_chat_message *msg, int index, int is_last,
                                   int last_query_index, text_buf *b) {
    static const char open_tag[] = "<think>", close_tag[] = "</think>";
    span content = span_of(msg->content);
    span reasoning = {"", 0};
    if (msg->reasoning_content) {
        reasoning = span_of(msg->reasoning_content);
    } else if (find_first(content, close_tag) >= 0) {
        /* reasoning = content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') */
        span before = rstrip_newlines((span){content.start, (size_t)find_first(content, close_tag)});
        long open = find_last(before, open_tag);
        if (open >= 0) before = (span){before.start + open + strlen(open_tag), before.len - (size_t)open - strlen(open_tag)};
        reasoning = lstrip_newlines(before);
        /* content = content.split('</think>')[-1].lstrip('\n') */
        size_t after = (size_t)find_last(content, close_tag) + strlen(close_tag);
        content = lstrip_newlines((span){content.start + after, content.len - after});
    }
    buf_puts(b, "<|im_start|>assistant\n");
    if (index > last_query_index && (is_last || reasoning.len > 0)) {
        buf_puts(b, "<think>\n");
        buf_span(b, lstrip_newlines(rstrip_newlines(reasoning)));
        buf_puts(b, "\n</think>\n\n");
        buf_span(b, lstrip_newlines(content));
    } else {
        buf_span(b, content);
    }
    buf_puts(b, "<|im_end|>\n");
}

static void render_qwen3(const rg_chat_message *m, int n, const rg_chat_options *o, text_buf *b) {
    if (strcmp(m[0].role, "system") == 0) {
        buf_puts(b, "<|im_start|>system\n");
        buf_puts(b, m[0].content);
        buf_puts(b, "<|im_end|>\n");
    }
    int last_query_index = qwen3_last_query_index(m, n);
    for (int i = 0; i < n; i++) {
        if (strcmp(m[i].role, "assistant") == 0) {
            render_qwen3_assistant(&m[i], i, i == n - 1, last_query_index, b);
        } else if (i > 0 || strcmp(m[i].role, "system") != 0) {
            buf_puts(b, "<|im_start|>");
            buf_puts(b, m[i].role);
            buf_puts(b, "\n");
            buf_puts(b, m[i].content);
            buf_puts(b, "<|im_end|>\n");
        }
    }
    if (o->add_generation_prompt) {
        buf_puts(b, "<|im_start|>assistant\n");
        if (!o->enable_thinking) buf_puts(b, "<think>\n\n</think>\n\n");
    }
}

/* ---- Llama 3.0 and 3.1+ ----------------------------------------------------- */

static void llama_turn(const char *role, const char *content, text_buf *b) {
    buf_puts(b, "<|start_header_id|>");
    buf_puts(b, role);
    buf_puts(b, "<|end_header_id|>\n\n");
    buf_span(b, python_strip(span_of(content)));
    buf_puts(b, "<|eot_id|>");
}

static void render_llama3(const rg_chat_template *t, const rg_chat_message *m, int n,
                          const rg_chat_options *o, text_buf *b) {
    buf_puts(b, t->bos_token);
    for (int i = 0; i < n; i++) llama_turn(m[i].role, m[i].content, b);
    if (o->add_generation_prompt) buf_puts(b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

static void render_llama31(const rg_chat_template *t, const rg_chat_message *m, int n,
                           const rg_chat_options *o, text_buf *b) {
    buf_puts(b, t->bos_token);
    buf_puts(b, "<|start_header_id|>system<|end_header_id|>\n\n");
    buf_puts(b, "Cutting Knowledge Date: December 2023\n");
    buf_puts(b, "Today Date: ");
    buf_puts(b, o->date_string ? o->date_string : t->default_date);
    buf_puts(b, "\n\n");
    int first = 0;
    if (strcmp(m[0].role, "system") == 0) {
        buf_span(b, python_strip(span_of(m[0].content)));
        first = 1;
    }
    buf_puts(b, "<|eot_id|>");
    for (int i = first; i < n; i++) llama_turn(m[i].role, m[i].content, b);
    if (o->add_generation_prompt) buf_puts(b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

/* ---- input checks and dispatch ---------------------------------------------- */

/* Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF). */
static int utf8_valid(const char *text) {
    const unsigned char *s = (const unsigned char *)text;
    while (*s) {
        if (s[0] < 0x80) {
            s++;
            continue;
        }
        int n;
        uint32_t min;
        if ((s[0] & 0xE0) == 0xC0) n = 2, min = 0x80;
        else if ((s[0] & 0xF0) == 0xE0) n = 3, min = 0x800;
        else if ((s[0] & 0xF8) == 0xF0) n = 4, min = 0x10000;
        else return 0;
        for (int k = 1; k < n; k++)
            if ((s[k] & 0xC0) != 0x80) return 0;
        size_t len;
        uint32_t c = utf8_decode(s, &len);
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
        s += n;
    }
    return 1;
}

static int check_messages(const rg_chat_message *m, int n) {
    if (n <= 0 || !m) return rg_error("chat: no messages to render");
    for (int i = 0; i < n; i++) {
        const char *role = m[i].role;
        if (!role) return rg_error("chat message %d: role is missing", i);
        if (strcmp(role, "system") && strcmp(role, "user") && strcmp(role, "assistant"))
            return rg_error("chat message %d: role \"%s\" is not supported (roles: system, user, "
                            "assistant; tool calls and tool results are out of scope)",
                            i, role);
        if (!m[i].content) return rg_error("chat message %d (%s): content is missing", i, role);
        if (!utf8_valid(m[i].content))
            return rg_error("chat message %d (%s): content is not valid UTF-8", i, role);
        if (m[i].reasoning_content && !utf8_valid(m[i].reasoning_content))
            return rg_error("chat message %d (%s): reasoning_content is not valid UTF-8", i, role);
    }
    return RG_OK;
}

int rg_chat_render(const rg_chat_template *t, const rg_chat_message *messages, int n_messages,
                   const rg_chat_options *options, char **text) {
    *text = NULL;
    if (check_messages(messages, n_messages) != RG_OK) return RG_ERR;
    rg_chat_options defaults = {.add_generation_prompt = 0, .enable_thinking = 1, .date_string = NULL};
    const rg_chat_options *o = options ? options : &defaults;
    if (o->date_string && !utf8_valid(o->date_string))
        return rg_error("chat: date_string is not valid UTF-8");

    text_buf b = {0};
    switch (t->family) {
    case RG_CHAT_CHATML: render_chatml(t, messages, n_messages, o, &b); break;
    case RG_CHAT_QWEN3: render_qwen3(messages, n_messages, o, &b); break;
    case RG_CHAT_LLAMA3: render_llama3(t, messages, n_messages, o, &b); break;
    case RG_CHAT_LLAMA31: render_llama31(t, messages, n_messages, o, &b); break;
    }
    buf_put(&b, "", 0); /* an empty render still gets a terminator */
    if (b.failed) {
        free(b.data);
        return rg_error_prefix("chat: rendering %d messages", n_messages);
    }
    *text = b.data;
    return RG_OK;
}
