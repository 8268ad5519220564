/* json_extract.c — balanced-brace scan plus cJSON, see json_extract.h.
 *
 * The answer comes from an endpoint we do not control, so the time is linear
 * in its length (the old scan restarted from every '{' and rescanned to the
 * end: a 300 KB answer full of braces took 25 s). The results are those of
 * the old scan — every '{' a candidate, read as if the text began there, the
 * last accepted object wins — except on inputs built to defeat it:
 *
 *  1. One left-to-right pass matches braces with a stack and records, for
 *     every '{' outside a string literal, the position of its '}'. Quotes
 *     count only inside braces (prose between objects may hold any quote).
 *     A span is tried as soon as it closes at depth 0.
 *  2. A span that cJSON parses is offered whole. One that fails is searched
 *     inside by a new pass over its inside (a brace in one of its strings is
 *     a candidate too, as before), paid from a budget of 4 n characters.
 *  3. Once the budget is spent (deeply nested failing spans), a failed span's
 *     children as matched are tried instead; cJSON says where the span failed
 *     (e), a child that strictly contains e failed the same way (cJSON was
 *     inside it, taking the same steps) and is searched without a parse, so
 *     every character is parsed O(1) times. That descent uses a heap stack,
 *     not C recursion: a hostile answer may nest a million braces.
 *  4. A '{' still open at the end may have read the rest in the wrong string
 *     parity ("{" in prose, then the real answer): the pass is rerun after
 *     it (at most RESTARTS times, O(n) each; not at all when no quote
 *     follows it, as the rerun would match the same), then the spans that
 *     closed inside the open braces are tried as they are. */
#include "judge/json_extract.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RESTARTS 16
/* Rescans of failed spans running inside one another (C recursion). */
#define RESCAN_DEPTH 32
/* Positions are 32-bit (4 bytes per character of the answer, not 16): the
 * text must be shorter than 4 GiB (an HTTP answer is capped far below). */
#define NONE UINT32_MAX

typedef struct {
    size_t pos, end, err; /* next position to look at, the span's '}', its parse error */
} frame;

typedef struct {
    const char *text;
    uint32_t *close_at; /* close_at[i]: the '}' matching the '{' at i, or NONE */
    uint32_t *stack;    /* the '{' still open in a matching pass */
    size_t cap_stack;
    frame *frames;
    size_t n_frames, cap_frames;
    rg_json_accept_fn accept;
    void *ctx;
    cJSON *best;
    int oom;
    int parity_matters;   /* the last pass saw a quote after its lowest open '{' */
    size_t rescan_budget; /* characters that may still be rescanned */
    int rescan_depth;     /* rescans running inside one another */
} scan;

static void scan_region(scan *s, size_t from, size_t to, int restarts);

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

/* Parses [open, close]; offers it, or searches inside it. */
static void try_span(scan *s, size_t open, size_t close) {
    const char *parse_end = NULL;
    cJSON *object = cJSON_ParseWithLengthOpts(s->text + open, close - open + 1, &parse_end, 0);
    if (object) {
        offer(s, object); /* taken whole: nested objects are not tried */
        return;
    }
    /* Inside a failed span, every '{' is a candidate read afresh, as if the
     * text began there (a brace in one of its strings too). That is a new
     * matching pass over the inside, paid from the budget; once spent, the
     * children as matched, each parsed at most once (see the top). */
    size_t inside = close - open - 1;
    if (inside <= s->rescan_budget && s->rescan_depth < RESCAN_DEPTH) {
        s->rescan_budget -= inside;
        s->rescan_depth++;
        scan_region(s, open + 1, close, RESTARTS);
        s->rescan_depth--;
        return;
    }
    size_t err = parse_end ? (size_t)(parse_end - s->text) : open;
    push_frame(s, open + 1, close, err);
}

/* Tries the span at [open, close] and, where it fails, its children in text
 * order (so the last accepted object is the last in the text). */
static void search(scan *s, size_t open, size_t close) {
    size_t base = s->n_frames; /* a rescan runs a search inside a search */
    try_span(s, open, close);
    while (s->n_frames > base && !s->oom) {
        frame *f = &s->frames[s->n_frames - 1];
        size_t i = f->pos;
        while (i < f->end && !(s->text[i] == '{' && s->close_at[i] != NONE)) i++;
        if (i >= f->end) {
            s->n_frames--;
            continue;
        }
        size_t c = s->close_at[i], err = f->err;
        f->pos = c + 1; /* before pushing: the push may move the frames */
        /* cJSON reports a failure at a '{' where a key was due one past it
         * (its string parser has stepped over the opening character), so a
         * failure inside the child lies at least 2 past its '{'. */
        if (i + 1 < err && err <= c)
            push_frame(s, i + 1, c, err); /* the failure lies inside: fails alike */
        else
            try_span(s, i, c);
    }
}

/* One matching pass over [from, n); spans closing at depth 0 are searched
 * at once. Returns the lowest '{' left open at the end, or SIZE_MAX. */
static size_t match_pass(scan *s, size_t from, size_t n) {
    for (size_t i = from; i < n; i++) s->close_at[i] = NONE; /* stale from an earlier pass */
    size_t depth = 0, last_quote = 0;
    int in_string = 0, quotes = 0;
    for (size_t i = from; i < n && !s->oom; i++) {
        char c = s->text[i];
        if (c == '"') last_quote = i, quotes = 1;
        if (in_string) {
            if (c == '\\' && i + 1 < n)
                i++;
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = depth > 0;
        } else if (c == '{') {
            if (depth == s->cap_stack) { /* grows with the nesting, not the length */
                size_t cap = 2 * s->cap_stack;
                uint32_t *grown = realloc(s->stack, cap * sizeof *grown);
                if (!grown) {
                    s->oom = 1;
                    break;
                }
                s->stack = grown;
                s->cap_stack = cap;
            }
            s->stack[depth++] = (uint32_t)i;
        } else if (c == '}' && depth > 0) {
            size_t open = s->stack[--depth];
            s->close_at[open] = (uint32_t)i;
            if (depth == 0) search(s, open, i);
        }
    }
    if (!depth || s->oom) return SIZE_MAX;
    /* Without a quote after it, a rerun would match exactly the same. */
    s->parity_matters = quotes && last_quote > s->stack[0];
    return s->stack[0];
}

/* Matching passes over [from, to), rerun after a '{' left open (at most
 * `restarts` times), then the spans that closed inside the open ones. */
static void scan_region(scan *s, size_t from, size_t to, int restarts) {
    size_t open = match_pass(s, from, to);
    for (int r = 0; open != SIZE_MAX && r < restarts && s->parity_matters && !s->oom; r++) {
        if (s->rescan_depth > 0) { /* inside a failed span: paid from the budget */
            if (to - open - 1 > s->rescan_budget) break;
            s->rescan_budget -= to - open - 1;
        }
        open = match_pass(s, open + 1, to);
    }
    for (size_t i = open; open != SIZE_MAX && i < to && !s->oom; i++) {
        if (s->text[i] == '{' && s->close_at[i] != NONE) {
            search(s, i, s->close_at[i]);
            i = s->close_at[i];
        }
    }
}

cJSON *rg_json_extract_object(const char *text, rg_json_accept_fn accept, void *ctx) {
    if (!text) return NULL;
    size_t n = strlen(text);
    if (n >= NONE) return NULL;
    scan s = {.text = text, .accept = accept, .ctx = ctx, .cap_stack = 64, .rescan_budget = 4 * n + 4096};
    s.close_at = malloc((n + 1) * sizeof *s.close_at);
    s.stack = malloc(s.cap_stack * sizeof *s.stack);
    if (!s.close_at || !s.stack) {
        free(s.close_at);
        free(s.stack);
        return NULL;
    }
    scan_region(&s, 0, n, RESTARTS);
    free(s.close_at);
    free(s.stack);
    free(s.frames);
    if (s.oom) {
        cJSON_Delete(s.best);
        return NULL;
    }
    return s.best;
}
