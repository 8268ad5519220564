/* fuzz_util.h — what every libFuzzer harness under tests/fuzz/ shares.
 *
 * A harness is one fuzz_<target>.c defining LLVMFuzzerTestOneInput, which
 * hands the bytes to one parser of untrusted input; fuzz_util.c defines
 * LLVMFuzzerInitialize for all of them. A harness may also define the two
 * hooks below (weak here, so most need not):
 *   fuzz_init()               once before the first input (load a fixed
 *                             tokenizer, build a tiny model, ...);
 *   fuzz_write_seeds(dir)     called instead of fuzzing when
 *                             RGSD_FUZZ_WRITE_SEEDS=dir is set: write valid
 *                             inputs the library itself produces (a train
 *                             state, a PEFT adapter), for the seed corpus.
 * See docs/fuzzing.md. */
#ifndef RG_FUZZ_UTIL_H
#define RG_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int fuzz_init(void);
int fuzz_write_seeds(const char *dir);

/* A private folder for this process (made at start, removed at exit), for
 * parsers whose API takes a path or a folder. */
const char *fuzz_dir(void);

/* Writes bytes to fuzz_dir()/name and returns that path (static buffer,
 * overwritten by the next call); aborts when the write fails, since that is
 * the harness's fault, not the parser's. */
const char *fuzz_put(const char *name, const void *data, size_t size);

/* The same to an arbitrary folder (seed writing). */
void fuzz_put_at(const char *dir, const char *name, const void *data, size_t size);

/* A NUL-terminated malloc'd copy of the input (most parsers take C strings). */
char *fuzz_cstr(const uint8_t *data, size_t size);

/* Splits data at its first NUL byte: the part before it is returned as a
 * C string copy, *rest and *rest_size get what follows (NULL/0 without a NUL).
 * Multi-file inputs are "file1\0file2": a text file never holds NUL, so the
 * fuzzer can grow and shrink each part independently. */
char *fuzz_split(const uint8_t *data, size_t size, const uint8_t **rest, size_t *rest_size);

/* Writes fuzz_dir()/tokenizer/{tokenizer.json,tokenizer_config.json}: the
 * rubric world's tokenizer (byte-level BPE, ChatML template), what the tests
 * and the demo train with. Returns the folder. */
const char *fuzz_world_tokenizer_dir(void);

/* Fails the run (abort, so libFuzzer saves the input) when a property the
 * library promises does not hold; `what` says which. */
void fuzz_check(int ok, const char *what);

#endif
