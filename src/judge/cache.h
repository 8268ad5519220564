/* cache.h — the durable verdict cache (SQLite, WAL).
 *
 * A verdict is stored under a key that hashes everything that decides it
 * (judge identity, criterion text and weight, conversation, response), so a
 * rerun of an interrupted evaluation or GRPO run gets every verdict already
 * paid for without a request. Each verdict is committed on its own with
 * synchronous=FULL: once rg_cache_put returns, a crash or power loss cannot
 * lose it. WAL lets several rgsd processes share one cache file. */
#ifndef RG_JUDGE_CACHE_H
#define RG_JUDGE_CACHE_H

#include "judge/judge.h"

typedef struct rg_verdict_cache rg_verdict_cache;

int rg_cache_open(rg_verdict_cache **out, const char *path);
void rg_cache_close(rg_verdict_cache *cache);
/* 1 on a hit (*met, *explanation malloc'd or NULL), 0 on a miss, RG_ERR on a database error. */
int rg_cache_get(rg_verdict_cache *cache, const char *key, int *met, char **explanation);
int rg_cache_put(rg_verdict_cache *cache, const char *key, const char *judge_identity, int met,
                 const char *explanation);
/* Verdicts stored (for tests and `rgsd judge` reports); RG_ERR on error. */
long long rg_cache_count(rg_verdict_cache *cache);

/* The cache key of one criterion of one item: SHA-256 hex of the judge
 * identity, the criterion text, weight and polarity, every message and the response
 * (and a pairwise item's second reply),
 * each length-prefixed so no two different inputs serialise alike. */
void rg_cache_key(const char *judge_identity, const rg_judge_item *item, int criterion, char key[65]);

#endif
