/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The three content algorithms through OpenSSL's EVP AEAD interface, for
 * the benchmark's sender (pre-encrypted guise and ESP datagrams) and relay
 * (decryption). 12-byte nonces and 16-byte tags throughout.
 */
#ifndef GUISE_BENCH_AEAD_H
#define GUISE_BENCH_AEAD_H

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include <linux/guise.h>

#include "common.h"

#define AEAD_NONCE_LEN	12
#define AEAD_TAG_LEN	16

struct aead_alg {
	const char *name;	/* as the guise CLI spells it */
	int guise_alg;		/* GUISE_ALG_* */
	size_t keylen;
	const EVP_CIPHER *(*cipher)(void);
};

static const struct aead_alg aead_algs[] = {
	{ "chacha20-poly1305", GUISE_ALG_CHACHA20_POLY1305, 32, EVP_chacha20_poly1305 },
	{ "aes128-gcm", GUISE_ALG_AES128_GCM, 16, EVP_aes_128_gcm },
	{ "aes256-gcm", GUISE_ALG_AES256_GCM, 32, EVP_aes_256_gcm },
};

static inline const struct aead_alg *aead_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(aead_algs) / sizeof(aead_algs[0]); i++)
		if (!strcmp(aead_algs[i].name, name))
			return &aead_algs[i];
	die("unknown algorithm '%s'", name);
	return NULL;
}

/* Parse exactly @len bytes of hex. */
static inline void unhex(const char *what, const char *s, unsigned char *out,
			 size_t len)
{
	size_t i;

	if (strlen(s) != 2 * len)
		die("%s: need %zu hex digits", what, 2 * len);
	for (i = 0; i < len; i++) {
		unsigned int b;

		if (sscanf(s + 2 * i, "%2x", &b) != 1)
			die("%s: bad hex", what);
		out[i] = b;
	}
}

/* A context for @alg and @key, @enc 1 to seal, 0 to open. */
static inline EVP_CIPHER_CTX *aead_ctx(const struct aead_alg *alg,
				       const char *keyhex, int enc)
{
	unsigned char key[32];
	EVP_CIPHER_CTX *ctx;

	unhex("key", keyhex, key, alg->keylen);
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx || EVP_CipherInit_ex(ctx, alg->cipher(), NULL, key, NULL, enc) != 1)
		die("OpenSSL cannot set up %s", alg->name);
	return ctx;
}

/* Encrypt @len bytes at @pt to @ct, tag to @tag. */
static inline void aead_seal(EVP_CIPHER_CTX *ctx, const unsigned char *nonce,
			     const unsigned char *aad, int aadlen,
			     const unsigned char *pt, int len,
			     unsigned char *ct, unsigned char *tag)
{
	int n, fin;

	if (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, nonce, 1) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &n, aad, aadlen) != 1 ||
	    EVP_CipherUpdate(ctx, ct, &n, pt, len) != 1 ||
	    EVP_CipherFinal_ex(ctx, ct + n, &fin) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_LEN, tag) != 1)
		die("encryption failed");
}

/* Decrypt and verify; the plaintext length, or -1 if the tag is wrong. */
static inline int aead_open(EVP_CIPHER_CTX *ctx, const unsigned char *nonce,
			    const unsigned char *aad, int aadlen,
			    const unsigned char *ct, int len,
			    const unsigned char *tag, unsigned char *pt)
{
	int n, fin;

	if (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, nonce, 0) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &n, aad, aadlen) != 1 ||
	    EVP_CipherUpdate(ctx, pt, &n, ct, len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_LEN,
				(void *)tag) != 1 ||
	    EVP_CipherFinal_ex(ctx, pt + n, &fin) != 1)
		return -1;
	return n + fin;
}

#endif /* GUISE_BENCH_AEAD_H */
