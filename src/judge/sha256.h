/* sha256.h — SHA-256 (FIPS 180-4), for content-addressed cache keys.
 *
 * The verdict cache keys a verdict by the hash of everything that decides it
 * (judge identity, criterion, conversation, response); 256 bits make an
 * accidental collision impossible in practice, which a 64-bit FNV would not. */
#ifndef RG_SHA256_H
#define RG_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t state[8];
    uint64_t total_bytes;
    uint8_t block[64];
    size_t block_used;
} rg_sha256;

void rg_sha256_init(rg_sha256 *h);
void rg_sha256_update(rg_sha256 *h, const void *data, size_t len);
void rg_sha256_final(rg_sha256 *h, uint8_t digest[32]);
/* Lower-case hex of the digest, NUL-terminated (65 bytes). */
void rg_sha256_hex(const uint8_t digest[32], char hex[65]);

#endif
