/* SPDX-License-Identifier: GPL-2.0 */
/*
 * "CRL issued" notifications (guise-crlwatch and CAs → guise-certd, and
 * between certd peers): a JSON object signed as a CMS SignedData with the
 * content attached (DER). See Documentation/certd.rst for the format.
 */
#ifndef GUISE_DAEMON_CRLNOTE_H
#define GUISE_DAEMON_CRLNOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#define CRLNOTE_VERSION 1
/* Bounds on what a notification may carry. */
#define CRLNOTE_MAX_SIZE (64u << 20)
#define CRLNOTE_MAX_SERIALS 100000
#define CRLNOTE_MAX_URL 2048u

struct crlnote {
	X509_NAME *issuer;
	ASN1_INTEGER *number; /* the CRL number */
	char *location; /* where the CRL can be fetched, or NULL */
	int64_t issued_at; /* unix time the notice was made */
	/* The CRL notified is a delta CRL ("kind": "delta"; absent:
	 * "full"). A full CRL and its delta share their CRL number (RFC
	 * 5280 5.2.3): the kind tells their notifications apart. */
	bool is_delta;
	X509_CRL *crl; /* the full CRL itself, or NULL */
	X509_CRL *delta; /* a delta CRL, or NULL */
	/* With CRLNOTE_DER: the carried CRLs' DER instead (malloc'ed; not
	 * checked to be CRLs), @crl and @delta NULL. */
	unsigned char *crl_der, *delta_der;
	size_t crl_der_len, delta_der_len;
	STACK_OF(ASN1_INTEGER) * revoked; /* newly revoked serials, or NULL */
};

void crlnote_free(struct crlnote *n);

/* The JSON text of @n (malloc'ed), NULL on error. */
char *crlnote_to_json(const struct crlnote *n);

/* Parse the JSON text; 0, or -1 with @err (size @errlen) saying why. */
int crlnote_from_json(const char *text, size_t len, struct crlnote *n,
		      char *err, size_t errlen);
/* Flags of the _ex forms: keep the carried CRLs as DER, for a reader
 * with a parser of its own (guise-certd: crl.h). */
#define CRLNOTE_DER 1u
int crlnote_from_json_ex(const char *text, size_t len, unsigned int flags,
			 struct crlnote *n, char *err, size_t errlen);

/* Sign @n with @cert/@key: the CMS DER in *@out (malloc'ed). 0 or -1. */
int crlnote_sign(const struct crlnote *n, X509 *cert, EVP_PKEY *key,
		 unsigned char **out, size_t *out_len);

/*
 * Check the CMS signature of @der and parse its content. On success
 * *@signer is the signing certificate (a reference the caller frees);
 * who may sign is the caller's decision. 0, or -1 with @err.
 */
int crlnote_open(const unsigned char *der, size_t len, struct crlnote *n,
		 X509 **signer, char *err, size_t errlen);
int crlnote_open_ex(const unsigned char *der, size_t len, unsigned int flags,
		    struct crlnote *n, X509 **signer, char *err, size_t errlen);

/* Hex of a serial or CRL number (malloc'ed, "-" prefixed if negative). */
char *crlnote_int_hex(const ASN1_INTEGER *i);
/* The inverse; NULL if @hex is not 1..64 hex digits (optional '-'). */
ASN1_INTEGER *crlnote_hex_int(const char *hex);

#endif
