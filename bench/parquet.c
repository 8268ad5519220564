/* bench/parquet.c — rows per second reading Parquet, next to DuckDB.
 *
 * Writes (once) a 100k-row verl-shaped rubric file with DuckDB
 * (tests/ref/parquet_bench.mjs), reads it with rgsd's reader into JSON rows,
 * then has DuckDB (one thread) read the same file in the same run, and
 * prints both rates and their ratio. Without node or DuckDB it says so and
 * reports rgsd alone. Timing never fails the bench.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "io/parquet.h"

static double clock_s(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(void) {
    const char *node_dir = getenv("RGSD_NODE_DIR") ? getenv("RGSD_NODE_DIR") : "tests/ref";
    const char *file = "build/bench/parquet_100k.parquet";
    char cmd[4096];
    struct stat st;
    if (stat(file, &st) != 0) {
        snprintf(cmd, sizeof cmd, "node %s/parquet_bench.mjs write %s", node_dir, file);
        if (system(cmd) != 0 || stat(file, &st) != 0) {
            printf("parquet: could not write the bench file with DuckDB (node, @duckdb/node-api?); skipped\n");
            return 0;
        }
    }
    /* Wall and CPU time, best of 3: on a shared machine the CPU time is the
     * fair comparison (both sides run one thread). */
    double best = 1e30, best_cpu = 1e30;
    long rows = 0;
    for (int rep = 0; rep < 3; rep++) {
        rg_parquet *pq;
        double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        if (rg_parquet_open(&pq, file)) {
            printf("parquet: %s\n", rg_errmsg());
            return 0;
        }
        cJSON *row;
        rows = 0;
        while (rg_parquet_next_row(pq, &row, NULL) == 1) {
            cJSON_Delete(row);
            rows++;
        }
        rg_parquet_close(pq);
        double t = clock_s(CLOCK_MONOTONIC) - t0, c = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
        if (t < best) best = t;
        if (c < best_cpu) best_cpu = c;
    }
    printf("parquet: %s, %.1f MB, %ld rows\n", file, st.st_size / 1e6, rows);
    printf("  %-34s %8s %8s %12s %12s\n", "", "wall s", "cpu s", "rows/s(cpu)", "cpu vs rgsd");
    printf("  %-34s %8.3f %8.3f %12.0f\n", "rgsd: rows as cJSON objects", best, best_cpu, rows / best_cpu);
    snprintf(cmd, sizeof cmd, "node %s/parquet_bench.mjs read %s", node_dir, file);
    FILE *p = popen(cmd, "r");
    double scan = 0, scan_cpu = 0, json = 0, json_cpu = 0;
    char line[256];
    while (p && fgets(line, sizeof line, p)) {
        sscanf(line, "scan %lf %lf", &scan, &scan_cpu);
        sscanf(line, "json %lf %lf", &json, &json_cpu);
    }
    if (p) pclose(p);
    if (scan_cpu <= 0 || json_cpu <= 0) {
        printf("  duckdb: not measured (node or @duckdb/node-api missing)\n");
        return 0;
    }
    /* "cpu vs rgsd": DuckDB's CPU time over rgsd's; above 1 rgsd is faster,
     * 0.5 means rgsd takes twice DuckDB's time (the bound). */
    printf("  %-34s %8.3f %8.3f %12.0f %11.2fx\n", "duckdb 1 thread: all columns", scan, scan_cpu, rows / scan_cpu,
           scan_cpu / best_cpu);
    printf("  %-34s %8.3f %8.3f %12.0f %11.2fx\n", "duckdb 1 thread: rows as JSON", json, json_cpu, rows / json_cpu,
           json_cpu / best_cpu);
    return 0;
}
