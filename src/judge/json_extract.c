/* json_extract.c — balanced-brace scan plus cJSON, see json_extract.h.
 *
 * Linear time, because the answer comes from an endpoint we do not control
 * (a 300 KB answer full of '{' used to cost 25 s, rescanning to the end for
 * every brace). Three parts:
 *
 *  1. One left-to-right pass matches braces with a stack and records, for
 *     every '{' outside a string literal, the position of its '}'. Quotes
 *     count only inside braces (prose between objects may hold any quote).
 *  2. A span is tried as soon as it closes at depth 0: cJSON parses it; on
 *     success it is offered whole. On failure cJSON says where (e); a child
 *     span that strictly contains e failed the same way (cJSON was inside it,
 *     taking the same steps) and is not parsed again, only searched; every
 *     other child is tried on its own. The parsed regions are then disjoint,
 *     so the total cJSON work is O(n). The descent uses a heap stack, not C
 *     recursion: a hostile answer may nest a million braces.
 *  3. A '{' still open at the end may have read the rest of the text in the
 *     wrong string parity ("{" in prose, then the real answer); the pass is
 *     rerun after it, at most RESTARTS times (each rerun costs O(n)), then
 *     the spans that closed inside the open braces are tried as they are. */
#include "judge/json_extract.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RESTARTS 16
#define NONE SIZE_MAX

typedef struct {
    size_t pos, end, err; /* next position to look at, the span's '}', its parse error */
} frame;

typedef struct {
    const char *text;
    size_t *close_at; /* close_at[i]: the '}' matching the '{' at i, or NONE */
    frame *frames;
    size_t n_frames, cap_frames;
    rg_json_accept_fn accept;
    void *ctx;
    cJSON *best;
    int oom;
} scan;

static void offer(scan *s, cJSON *object) {
    if (!s->accept || s->accept(object, s->ctx)) {
        cJSON_Delete(s->best);
        s->best = object;
    } else {
        cJSON_Delete(object);
    }
}

static void push_frame(scan *s, size_t pos, size_t end, size_t err) {
    if (s->n_frames == s->cap_frames) {
        size_t cap = s->cap_frames ? 2 * s->cap_frames : 16;
        frame *grown = realloc(s->frames, cap * sizeof *grown);
        if (!grown) {
            s->oom = 1;
            return;
        }
        s->frames = grown;
        s->cap_frames = cap;
    }
    s->frames[s->n_frames++] = (frame){pos, end, err};
}

/* Parses [open, close]; offers it, or queues its children for search. */
static void try_span(scan *s, size_t open, size_t close) {
    const char *parse_end = NULL;
    cJSON *object = cJSON_ParseWithLengthOpts(s->text + open, close - open + 1, &parse_end, 0);
    if (object) {
        offer(s, object); /* taken whole: nested objects are not tried */
        return;
    }
    size_t err = parse_end ? (size_t)(parse_end - s->text) : open;
    push_frame(s, open + 1, close, err);
}

/* Tries the span at [open, close] and, where it fails, its children in text
 * order (so the last accepted object is the last in the text). */
static void search(scan *s, size_t open, size_t close) {
    try_span(s, open, close);
    while (s->n_frames && !s->oom) {
        frame *f = &s->frames[s->n_frames - 1];
        size_t i = f->pos;
        while (i < f->end && !(s->text[i] == '{' && s->close_at[i] != NONE)) i++;
        if (i >= f->end) {
            s->n_frames--;
            continue;
        }
        size_t c = s->close_at[i], err = f->err;
        f->pos = c + 1; /* before pushing: the push may move the frames */
        if (i < err && err <= c)
            push_frame(s, i + 1, c, err); /* the failure lies inside: fails alike */
        else
            try_span(s, i, c);
    }
}

/* One matching pass from `from`; spans closing at depth 0 are searched at
 * once. Returns the lowest '{' left open at the end, or NONE. */
static size_t match_pass(scan *s, size_t from, size_t n, size_t *stack) {
    for (size_t i = from; i < n; i++) s->close_at[i] = NONE; /* stale from an earlier pass */
    size_t depth = 0;
    int in_string = 0;
    for (size_t i = from; i < n && !s->oom; i++) {
        char c = s->text[i];
        if (in_string) {
            if (c == '\\' && i + 1 < n)
                i++;
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = depth > 0;
        } else if (c == '{') {
            stack[depth++] = i;
        } else if (c == '}' && depth > 0) {
            size_t open = stack[--depth];
            s->close_at[open] = i;
            if (depth == 0) search(s, open, i);
        }
    }
    return depth ? stack[0] : NONE;
}

cJSON *rg_json_extract_object(const char *text, rg_json_accept_fn accept, void *ctx) {
    if (!text) return NULL;
    size_t n = strlen(text);
    scan s = {.text = text, .accept = accept, .ctx = ctx};
    s.close_at = malloc((n + 1) * sizeof *s.close_at);
    size_t *stack = malloc((n + 1) * sizeof *stack);
    if (!s.close_at || !stack) {
        free(s.close_at);
        free(stack);
        return NULL;
    }
    size_t open = match_pass(&s, 0, n, stack);
    for (int r = 0; open != NONE && r < RESTARTS && !s.oom; r++) open = match_pass(&s, open + 1, n, stack);
    /* Out of reruns: the closed spans inside the braces left open, in order. */
    for (size_t i = open; open != NONE && i < n && !s.oom; i++) {
        if (text[i] == '{' && s.close_at[i] != NONE) {
            search(&s, i, s.close_at[i]);
            i = s.close_at[i];
        }
    }
    free(s.close_at);
    free(stack);
    free(s.frames);
    if (s.oom) {
        cJSON_Delete(s.best);
        return NULL;
    }
    return s.best;
}
