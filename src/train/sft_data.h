/* sft_data.h — supervised fine-tuning data: JSONL, one example per line,
 * turned into token ids with per-token loss positions.
 *
 * A line is either
 *   {"messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...]}
 *       rendered with the model's chat template (tok/chat.h) and tokenised;
 *       the loss is on the assistant turns only: each assistant reply as the
 *       template renders it, through its end-of-turn marker ("<|im_end|>",
 *       "<|eot_id|>") — the text the model must learn to produce. The spans
 *       are found by rendering prefixes: the whole conversation is rendered
 *       once; assistant turn k starts where the generation prompt of
 *       messages[0..k) ends and runs through the next end-of-turn marker.
 *       The ids equal the tokenisation of the whole rendered conversation.
 *   {"input_ids": [...], "loss_mask": [...]}   (pre-tokenised; loss_mask[i] = 1
 *       makes token i a target; absent: every token after the first).
 * Sequences longer than max_len are cut to max_len (and counted). */
#ifndef RG_SFT_DATA_H
#define RG_SFT_DATA_H

#include "tok/chat.h"
#include "tok/tokenizer.h"
#include "train/trainer.h"

typedef struct {
    rg_train_example *examples;
    int n;
    int max_T;          /* the longest sequence after truncation */
    long loss_tokens;   /* target tokens in the whole set */
    long tokens;        /* all tokens */
    int truncated;      /* sequences cut to max_len */
} rg_sft_data;

/* tok / tmpl may be NULL when every line is pre-tokenised. */
int rg_sft_data_load(rg_sft_data *data, const char *path, const rg_tokenizer *tok, const rg_chat_template *tmpl,
                     int max_len, int vocab_size);
void rg_sft_data_free(rg_sft_data *data);

#endif
