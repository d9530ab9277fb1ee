// SPDX-License-Identifier: GPL-2.0
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <openssl/evp.h>

#include "base64.h"

char *b64_encode(const unsigned char *data, size_t len)
{
	char *out;

	if (len > INT_MAX / 4 * 3 - 3)
		return NULL;
	out = malloc((len + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

/* Is @c a character of the base64 alphabet (RFC 4648 section 4)? */
static bool b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/*
 * Strict: the alphabet only, '=' only as the last one or two characters.
 * EVP_DecodeBlock() itself trims white space and takes '=' anywhere, so
 * "QUI=    " decoded to 3 bytes and "QQ==QQ==" to 4 of garbage.
 */
unsigned char *b64_decode(const char *text, size_t len, size_t *out_len)
{
	unsigned char *out;
	size_t pad = 0, i;
	int n;

	if (!len || len % 4 || len > INT_MAX)
		return NULL;
	for (i = 0; i < len; i++)
		if (!b64_char(text[i]) &&
		    !(text[i] == '=' &&
		      (i == len - 1 || (i == len - 2 && text[len - 1] == '='))))
			return NULL;
	out = malloc(len / 4 * 3 + 1);
	if (!out)
		return NULL;
	n = EVP_DecodeBlock(out, (const unsigned char *)text, (int)len);
	if (n < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	if (text[len - 1] == '=')
		pad++;
	if (text[len - 2] == '=')
		pad++;
	*out_len = (size_t)n - pad;
	return out;
}
