/* fuzz_sft_data.c — SFT data (rg_sft_data_load): JSONL chats rendered with
 * the rubric world's ChatML template and tokenised, with the loss spans of
 * the assistant turns found by rendering prefixes; or pre-tokenised
 * {"input_ids", "loss_mask"} lines. The first byte sets --max-len (2..257),
 * so truncation is explored too.
 *
 * Properties (trainer.h's contract for rg_train_example): 2 <= T <=
 * max_len, ids inside the vocabulary, loss positions ascending and < T - 1. */
#include "fuzz_util.h"
#include "tok/chat.h"
#include "tok/tokenizer.h"
#include "train/sft_data.h"

static rg_tokenizer *tok;
static rg_chat_template *tmpl;

int fuzz_init(void) {
    const char *dir = fuzz_world_tokenizer_dir();
    if (rg_tokenizer_load(dir, &tok) != 0) return -1;
    return rg_chat_template_load(dir, &tmpl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    int max_len = 2 + data[0];
    int vocab = rg_tokenizer_vocab_size(tok);
    rg_sft_data sft;
    if (rg_sft_data_load(&sft, fuzz_put("sft.jsonl", data + 1, size - 1), tok, tmpl, max_len, vocab) != 0) return 0;
    for (int e = 0; e < sft.n; e++) {
        const rg_train_example *ex = &sft.examples[e];
        fuzz_check(ex->T >= 2 && ex->T <= max_len && ex->T <= sft.max_T, "2 <= T <= max_len");
        for (int i = 0; i < ex->T; i++) fuzz_check(ex->ids[i] >= 0 && ex->ids[i] < vocab, "ids in the vocabulary");
        for (int i = 0; i < ex->n_loss; i++)
            fuzz_check(ex->loss_positions[i] >= 0 && ex->loss_positions[i] < ex->T - 1 &&
                           (i == 0 || ex->loss_positions[i] > ex->loss_positions[i - 1]),
                       "loss positions ascending and < T - 1");
    }
    rg_sft_data_free(&sft);
    return 0;
}
