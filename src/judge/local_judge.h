/* local_judge.h — what the local judge exposes beyond the judge interface,
 * for tests and for reports that want to show exactly what it reads.
 *
 * The local judge (spec `local:MODEL_DIR[#bf16=0|1&batch=N&context=N&chat_template=FAMILY]`)
 * loads a model with rgsd's engine and decides each criterion without
 * sampling: the per-criterion grader prompt (rg_grader_prompt_criterion_yes_no,
 * ending "Answer with one word: yes or no.") is sent as one user message,
 * chat-templated with the generation prompt (Qwen3: thinking off, so the
 * next token is the answer), prefilled in batches, and the verdict is
 *     met  <=>  max_{t in YES} logit[t]  >  max_{t in NO} logit[t]
 * i.e. P(best "yes" token) > P(best "no" token) at the next token. YES is
 * the set of single-token encodings among "yes", "Yes", " yes", " Yes"; NO
 * the same for "no", "No", " no", " No" (spellings the tokenizer splits into
 * several tokens are left out; docs/judges.md lists the ids for the Qwen and
 * Llama 3 tokenizers). A tie is "not met".
 * The explanation records both probabilities, the margin and the tokens. */
#ifndef RG_LOCAL_JUDGE_H
#define RG_LOCAL_JUDGE_H

#include <stdint.h>

#include "judge/judge.h"

/* The token ids read as "yes" and as "no" (borrowed from the judge). RG_ERR
 * when the judge is not a local one. */
int rg_local_judge_answer_ids(const rg_judge *judge, const int32_t **yes, int *n_yes, const int32_t **no, int *n_no);
/* The chat-templated grader prompt of one criterion, encoded: exactly the ids
 * the judge prefills (malloc'd). */
int rg_local_judge_prompt_ids(const rg_judge *judge, const rg_judge_item *item, int criterion, int32_t **ids,
                              int *n_ids);

#endif
