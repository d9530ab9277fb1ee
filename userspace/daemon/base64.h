/* SPDX-License-Identifier: GPL-2.0 */
/* Base64 (RFC 4648, padded, no line breaks) over OpenSSL's EVP codec. */
#ifndef GUISE_DAEMON_BASE64_H
#define GUISE_DAEMON_BASE64_H

#include <stddef.h>

/* A NUL-terminated malloc'ed encoding of @data; NULL if out of memory. */
char *b64_encode(const unsigned char *data, size_t len);

/*
 * Decode @text (@len bytes, whitespace not allowed) into a malloc'ed
 * buffer; *@out_len its length. NULL if @text is not base64 or too big.
 */
unsigned char *b64_decode(const char *text, size_t len, size_t *out_len);

#endif
