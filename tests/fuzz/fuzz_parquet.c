/* fuzz_parquet.c — libFuzzer harness for the Parquet reader.
 *
 * Opens the input bytes as a Parquet file in memory and reads every row. Any
 * input must end in rows or in one error message; a crash, a sanitizer report
 * or a huge allocation is a bug. Built and run by `make fuzz` / `make test`
 * (mk/fuzz.mk, docs/fuzzing.md).
 * Seeds: the files under build/ref/parquet/ (written by tests/ref/parquet_ref.mjs)
 * and the verl HealthBench split when it is small enough (tests/fuzz/seeds.sh).
 */
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "io/parquet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rg_parquet *pq;
    if (rg_parquet_open_mem(&pq, data, size, "fuzz.parquet") == RG_OK) {
        cJSON *row;
        while (rg_parquet_next_row(pq, &row, NULL) == 1) cJSON_Delete(row);
        rg_parquet_close(pq);
    }
    rg_error_clear();
    return 0;
}
