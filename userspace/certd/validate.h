/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Certificate validation: path building and checks by OpenSSL
 * (X509_verify_cert: signatures, names, cross-certificates, purpose,
 * policies, validity times), then revocation of every certificate of the
 * path (the anchor included, as `openssl verify -crl_check_all` does)
 * from the CRL cache. Good paths go to the path cache.
 */
#ifndef CERTD_VALIDATE_H
#define CERTD_VALIDATE_H

#include <stdbool.h>
#include <time.h>
#include <jansson.h>

#include "certd.h"

enum validation_status {
	VALID_GOOD,
	VALID_REVOKED,
	VALID_UNKNOWN, /* no usable CRL for a certificate of the path */
	VALID_INVALID, /* no valid path */
};

struct validation_req {
	X509 *leaf;
	STACK_OF(X509) * untrusted; /* may be NULL */
	int purpose; /* X509_PURPOSE_*, 0 for any */
	STACK_OF(ASN1_OBJECT) * policies; /* explicit policies, may be NULL */
	time_t at; /* 0: now (and cacheable) */
};

struct validation {
	enum validation_status status;
	char reason[160];
	int depth; /* of the certificate the status is about */
	bool cached; /* the path came from the path cache */
	bool new_path; /* the path was built now (to share) */
	STACK_OF(X509) * chain; /* owned; NULL if none */
	const struct crl_serial *revoked; /* VALID_REVOKED */
};

const char *validation_status_name(enum validation_status s);

int certd_validate(struct certd *d, const struct validation_req *r,
		   struct validation *v);
void validation_free(struct validation *v);

/* The result as the API's JSON object. */
json_t *validation_json(const struct validation *v);

/* Set up d->anchors, d->intermediates from the configuration. */
int validate_init(struct certd *d);

#endif
