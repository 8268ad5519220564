/* judge_responses.h — the responses file of `rgsd judge`: read it, and match
 * each line to its example (by id, or by position when no line has an id).
 * Matching by id is a hash lookup, linear in the number of lines. */
#ifndef RG_JUDGE_RESPONSES_H
#define RG_JUDGE_RESPONSES_H

#include <stddef.h>

#include "rubric/rubric.h"

typedef struct {
    char *id; /* NULL when the line has none */
    char *response;
    long line;
    size_t example; /* index into the data set */
} rg_response_line;

typedef struct {
    rg_response_line *lines;
    size_t count;
} rg_response_set;

/* Reads {"id": ..., "response": "..."} lines; an error names path:line. */
int rg_read_responses(const char *path, rg_response_set *set);
/* Sets lines[k].example: by id when the lines carry ids, else by position. */
int rg_match_responses(const char *responses_path, const char *data_path, const rg_dataset *data,
                       rg_response_set *set);
void rg_response_set_free(rg_response_set *set);

#endif
