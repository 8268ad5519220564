/* cache.c — SQLite verdict cache, see cache.h. */
#include "judge/cache.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/text.h"
#include "judge/sha256.h"

struct rg_verdict_cache {
    sqlite3 *db;
    sqlite3_stmt *select_verdict;
    sqlite3_stmt *insert_verdict;
    char *path;
};

/* SQLite's message, and the OS's reason when there is one ("disk I/O error"
 * alone does not say the disk is full). */
static int db_error(rg_verdict_cache *cache, const char *doing) {
    int os_errno = sqlite3_system_errno(cache->db);
    if (os_errno)
        return rg_error("verdict cache %s: %s: %s (%s)", cache->path, doing, sqlite3_errmsg(cache->db),
                        strerror(os_errno));
    return rg_error("verdict cache %s: %s: %s", cache->path, doing, sqlite3_errmsg(cache->db));
}

int rg_cache_open(rg_verdict_cache **out, const char *path) {
    *out = NULL;
    rg_verdict_cache *cache = rg_calloc(1, sizeof *cache);
    if (!cache) return RG_ERR;
    cache->path = rg_strdup(path);
    if (!cache->path) {
        free(cache);
        return RG_ERR;
    }
    if (sqlite3_open_v2(path, &cache->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        int rc = db_error(cache, "cannot open");
        rg_cache_close(cache);
        return rc;
    }
    /* Another process may hold the write lock for a moment: wait, do not fail. */
    sqlite3_busy_timeout(cache->db, 10000);
    const char *setup = "PRAGMA journal_mode=WAL;"
                        "PRAGMA synchronous=FULL;"
                        "CREATE TABLE IF NOT EXISTS verdicts ("
                        "  key TEXT PRIMARY KEY,"    /* SHA-256 hex, see rg_cache_key */
                        "  judge TEXT NOT NULL,"     /* judge identity, for inspection */
                        "  met INTEGER NOT NULL,"    /* 1 met, 0 not met */
                        "  explanation TEXT,"
                        "  created REAL NOT NULL"    /* unix seconds */
                        ");";
    char *message = NULL;
    /* Switching to WAL needs the file's exclusive lock, and SQLite does not call the busy handler for
     * that escalation: several processes opening one cache at once (the ranks of an mpirun job) get
     * SQLITE_BUSY at once. The setup is idempotent; try again for up to 10 s. */
    int rc_setup;
    for (int attempt = 0; (rc_setup = sqlite3_exec(cache->db, setup, NULL, NULL, &message)) == SQLITE_BUSY &&
                          attempt < 200;
         attempt++) {
        sqlite3_free(message);
        message = NULL;
        sqlite3_sleep(50);
    }
    if (rc_setup != SQLITE_OK) {
        rg_error("verdict cache %s: not a usable SQLite database: %s", path, message ? message : "?");
        sqlite3_free(message);
        rg_cache_close(cache);
        return RG_ERR;
    }
    if (sqlite3_prepare_v2(cache->db, "SELECT met, explanation FROM verdicts WHERE key = ?1", -1,
                           &cache->select_verdict, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(cache->db,
                           "INSERT OR REPLACE INTO verdicts (key, judge, met, explanation, created) "
                           "VALUES (?1, ?2, ?3, ?4, strftime('%s','now'))",
                           -1, &cache->insert_verdict, NULL) != SQLITE_OK) {
        int rc = db_error(cache, "prepare");
        rg_cache_close(cache);
        return rc;
    }
    *out = cache;
    return RG_OK;
}

void rg_cache_close(rg_verdict_cache *cache) {
    if (!cache) return;
    sqlite3_finalize(cache->select_verdict);
    sqlite3_finalize(cache->insert_verdict);
    sqlite3_close(cache->db);
    free(cache->path);
    free(cache);
}

int rg_cache_get(rg_verdict_cache *cache, const char *key, int *met, char **explanation) {
    *explanation = NULL;
    sqlite3_stmt *st = cache->select_verdict;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_DONE) return 0;
    if (step != SQLITE_ROW) return db_error(cache, "read");
    *met = sqlite3_column_int(st, 0) != 0;
    const unsigned char *why = sqlite3_column_text(st, 1);
    /* a cache written by an older rgsd may hold an endpoint's invalid UTF-8 */
    if (why && !(*explanation = rg_utf8_repair((const char *)why, (size_t)sqlite3_column_bytes(st, 1)))) {
        sqlite3_reset(st);
        return RG_ERR;
    }
    sqlite3_reset(st);
    return 1;
}

int rg_cache_put(rg_verdict_cache *cache, const char *key, const char *judge_identity, int met,
                 const char *explanation) {
    sqlite3_stmt *st = cache->insert_verdict;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, judge_identity, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, met ? 1 : 0);
    if (explanation)
        sqlite3_bind_text(st, 4, explanation, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 4);
    /* Autocommit: one durable transaction per verdict. */
    int step = sqlite3_step(st);
    int rc = step == SQLITE_DONE ? RG_OK : db_error(cache, "write"); /* before reset clears the reason */
    sqlite3_reset(st);
    return rc;
}

long long rg_cache_count(rg_verdict_cache *cache) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(cache->db, "SELECT count(*) FROM verdicts", -1, &st, NULL) != SQLITE_OK)
        return db_error(cache, "count");
    long long count = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return count < 0 ? db_error(cache, "count") : count;
}

/* Length-prefixed field: "<decimal length>:<bytes>". */
static void hash_field(rg_sha256 *h, const char *text) {
    if (!text) text = "";
    size_t len = strlen(text);
    char prefix[32];
    int n = snprintf(prefix, sizeof prefix, "%zu:", len);
    rg_sha256_update(h, prefix, (size_t)n);
    rg_sha256_update(h, text, len);
}

void rg_cache_key(const char *judge_identity, const rg_judge_item *item, int criterion, char key[65]) {
    rg_sha256 h;
    rg_sha256_init(&h);
    hash_field(&h, "rgsd-verdict-v1");
    hash_field(&h, judge_identity);
    const rg_example *ex = item->example;
    const rg_criterion *c = &ex->rubric[criterion];
    char weight[64];
    snprintf(weight, sizeof weight, "%.17g|%d", c->weight, (int)c->polarity);
    hash_field(&h, c->text);
    hash_field(&h, weight);
    char count[24];
    snprintf(count, sizeof count, "%zu", ex->nmessages);
    hash_field(&h, count);
    for (size_t m = 0; m < ex->nmessages; m++) {
        hash_field(&h, rg_role_name(ex->messages[m].role));
        hash_field(&h, ex->messages[m].content);
    }
    hash_field(&h, item->response);
    if (item->response_b) { /* pairwise: both replies, in the order shown (rubric keys unchanged) */
        hash_field(&h, "second reply");
        hash_field(&h, item->response_b);
    }
    uint8_t digest[32];
    rg_sha256_final(&h, digest);
    rg_sha256_hex(digest, key);
}
