/* fuzz_judge_answer.c — a grader model's answer (free text around, or
 * instead of, the JSON object it was asked for), read the way the HTTP and
 * local judges read it: per criterion ({"criteria_met": ..., "explanation"})
 * and batched (one verdict per criterion). The first byte picks the batch
 * size so both shapes are explored from one corpus. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "judge/grader.h"
#include "judge/json_extract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    int n = 1 + data[0] % 16;
    char *answer = fuzz_cstr(data + 1, size - 1);
    int met = -1;
    char *explanation = NULL;
    if (rg_grader_parse_criterion(answer, &met, &explanation) == 0)
        fuzz_check(met == 0 || met == 1, "a parsed verdict is met or not met");
    free(explanation);
    int verdicts[16];
    if (rg_grader_parse_batched(answer, n, verdicts) == 0)
        for (int i = 0; i < n; i++) fuzz_check(verdicts[i] == 0 || verdicts[i] == 1, "batched verdicts are 0/1");
    cJSON_Delete(rg_json_extract_object(answer, NULL, NULL));
    free(answer);
    return 0;
}
