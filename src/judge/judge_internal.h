/* judge_internal.h — what the judge front end (judge.c) shares with its back
 * ends (http_judge.c, rule_judge.c). Not for callers outside src/judge/. */
#ifndef RG_JUDGE_INTERNAL_H
#define RG_JUDGE_INTERNAL_H

#include "judge/cache.h"
#include "judge/http_request.h"
#include "judge/judge.h"

/* One verdict still to decide: criterion `criterion` of items[item]. */
typedef struct {
    int item;
    int criterion;
    char cache_key[65];
} judge_slot;

struct rg_judge {
    rg_judge_spec spec;
    char *identity;         /* rg_judge_spec_identity */
    char *api_key;          /* http: from the environment; never printed */
    rg_judge_options options;
    char *cache_path, *failures_path;
    rg_verdict_cache *cache;
    rg_judge_stats stats;
    int64_t progress_done, progress_total;
    char *first_failure;    /* message of the first unjudged criterion of this run */
    struct local_judge *local; /* local: the loaded model and its scratch (local_judge.c) */
    http_endpoint_quirks http_quirks; /* http: what the endpoint refused so far (http_request.h) */
};

/* Back ends decide every slot, calling judge_record_verdict or
 * judge_record_failure exactly once per slot. They return RG_ERR only for a
 * failure that stops the whole run (after recording the slots). */
int http_judge_run(rg_judge *judge, rg_judge_item *items, const judge_slot *slots, int n_slots);
int rule_judge_run(rg_judge *judge, rg_judge_item *items, const judge_slot *slots, int n_slots);
int local_judge_run(rg_judge *judge, rg_judge_item *items, const judge_slot *slots, int n_slots);
/* local: loads the model named by the spec into judge->local; close frees it (NULL-safe). */
int local_judge_open(rg_judge *judge);
void local_judge_close(rg_judge *judge);

/* Stores a verdict in the item and the cache (durably), counts it, reports progress. */
void judge_record_verdict(rg_judge *judge, rg_judge_item *items, const judge_slot *slot, int met,
                          const char *explanation);
/* Leaves the criterion unjudged: counts the failure, keeps the first message,
 * appends {id, criterion, error, raw} to the failures file when there is one. */
void judge_record_failure(rg_judge *judge, rg_judge_item *items, const judge_slot *slot, const char *why,
                          const char *raw_answer);
/* Replaces every occurrence of the API key in text (in place) with '*'s, so
 * an endpoint that echoes it cannot leak it into a message or file. */
void judge_redact_secret(const rg_judge *judge, char *text);

#endif
