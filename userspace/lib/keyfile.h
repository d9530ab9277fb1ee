/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A 32-byte secret (a guise-keyd client's Km) sealed at rest:
 * ChaCha20-Poly1305 under a key derived with PBKDF2-HMAC-SHA256 from a
 * passphrase or machine secret. Layout in Documentation/keying.rst.
 */
#ifndef GUISE_KEYFILE_H
#define GUISE_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#define GUISE_KEYFILE_LEN 88
/* PBKDF2 iterations: guise enroll's default, and the fewest it accepts
 * (a file with fewer, made otherwise, still opens). */
#define GUISE_KEYFILE_ITERATIONS 200000
#define GUISE_KEYFILE_MIN_ITERATIONS 10000
#define GUISE_KEYFILE_MAX_ITERATIONS 10000000

/* 0, -EINVAL (iterations 0 or above the maximum) or -EIO. */
int guise_keyfile_seal(const uint8_t secret[32], const char *pass,
		       size_t passlen, uint32_t iterations,
		       uint8_t out[GUISE_KEYFILE_LEN]);
/* 0, -EINVAL (malformed) or -EBADMSG (wrong passphrase or tampered). */
int guise_keyfile_open(const uint8_t *in, size_t len, const char *pass,
		       size_t passlen, uint8_t secret[32]);

/* Read a passphrase file (trailing newline dropped) into @buf; its
 * length, or a negative errno. */
int guise_keyfile_read_pass(const char *path, char *buf, size_t size);

#endif
