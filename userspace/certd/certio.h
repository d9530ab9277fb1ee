/* SPDX-License-Identifier: GPL-2.0 */
/* Certificates and CRLs in: PEM, DER, or DER in base64 (JSON bodies). */
#ifndef CERTD_CERTIO_H
#define CERTD_CERTIO_H

#include <stddef.h>
#include <openssl/x509.h>

#include "crl.h"

/* Larger certificates are refused before parsing. */
#define CERTIO_MAX_CERT (64u << 10)

/* One certificate from PEM or raw DER bytes; NULL if neither. */
X509 *certio_cert(const unsigned char *data, size_t len);
/* One certificate from a JSON string: PEM or base64 DER. */
X509 *certio_cert_text(const char *text);
/* A CRL from PEM or DER bytes (certd's parse: crl.h). */
CERTD_CRL *certio_crl(const unsigned char *data, size_t len);
/* Every certificate of a PEM file, appended to @sk. 0 or -1 (logged). */
int certio_load_certs(const char *path, STACK_OF(X509) * sk);
/* Every CRL of a file (one DER, or any number of PEM) appended to @sk.
 * 0 or -1 (logged). */
int certio_load_crls(const char *path, STACK_OF(CERTD_CRL) * sk);
/* The same as OpenSSL's X509_CRLs (benchmarks: for an X509_STORE). */
int certio_load_x509_crls(const char *path, STACK_OF(X509_CRL) * sk);
/* The whole of a file, at most @max bytes (malloc'ed). 0 or -1. */
int certio_read_file(const char *path, size_t max, unsigned char **out,
		     size_t *len);

#endif
