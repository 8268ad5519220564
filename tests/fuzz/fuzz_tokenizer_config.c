/* fuzz_tokenizer_config.c — the special-token settings of a model folder:
 * tokenizer_config.json (bos/eos/pad token as a string or an AddedToken
 * object, add_bos_token, chat_template as a string or a list of named
 * templates) and generation_config.json (bos/eos/pad ids, eos as an int or a
 * list), read by rg_tokenizer_load next to the rubric world's tokenizer.json.
 * Input: "tokenizer_config.json\0generation_config.json" (see fuzz_split);
 * without a NUL there is no generation_config.json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "tok/tokenizer.h"

static char tokenizer_json_path[4096];
static char folder[4096];

int fuzz_init(void) {
    /* A folder holding the world's tokenizer.json; each input writes the two
     * config files beside it. */
    snprintf(folder, sizeof folder, "%s/model", fuzz_dir());
    snprintf(tokenizer_json_path, sizeof tokenizer_json_path, "%s/tokenizer.json", fuzz_world_tokenizer_dir());
    char *json = NULL;
    size_t len = 0;
    FILE *f = fopen(tokenizer_json_path, "rb");
    fuzz_check(f != NULL, "the world tokenizer.json opens");
    json = malloc(1 << 20);
    fuzz_check(json != NULL, "malloc");
    len = fread(json, 1, 1 << 20, f);
    fclose(f);
    fuzz_check(mkdir(folder, 0700) == 0, "mkdir");
    fuzz_put_at(folder, "tokenizer.json", json, len);
    free(json);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *generation;
    size_t generation_size;
    char *config = fuzz_split(data, size, &generation, &generation_size);
    fuzz_put_at(folder, "tokenizer_config.json", config, strlen(config));
    char gen_path[4200];
    snprintf(gen_path, sizeof gen_path, "%s/generation_config.json", folder);
    if (generation)
        fuzz_put_at(folder, "generation_config.json", generation, generation_size);
    else
        unlink(gen_path);
    free(config);
    rg_tokenizer *tok;
    if (rg_tokenizer_load(folder, &tok) != 0) return 0;
    int vocab = rg_tokenizer_vocab_size(tok);
    int32_t ids[] = {rg_tokenizer_bos_id(tok), rg_tokenizer_eos_id(tok), rg_tokenizer_pad_id(tok)};
    for (int i = 0; i < 3; i++) fuzz_check(ids[i] >= -1 && ids[i] < vocab, "bos/eos/pad ids are -1 or in the vocabulary");
    const int32_t *eos;
    int n = rg_tokenizer_eos_ids(tok, &eos);
    for (int i = 0; i < n; i++) fuzz_check(eos[i] >= 0 && eos[i] < vocab, "eos ids are in the vocabulary");
    rg_tokenizer_adds_bos(tok);
    rg_tokenizer_chat_template(tok);
    rg_tokenizer_free(tok);
    return 0;
}
