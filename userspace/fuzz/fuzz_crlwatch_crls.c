// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for what guise-crlwatch reads from the outside: the
 * CRLs of a --dir file or a --url body (crlwatch/scan.c, PEM blocks or
 * DER one after another) and the CRL number of a --state mark file
 * (crlnote_hex_int()).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>

#include "crlnote.h"
#include "crlwatch.h"

/* The first line of @data as a --state mark: a number that reads back
 * as what crlnote_int_hex() writes, or nothing. */
static void mark(const uint8_t *data, size_t size)
{
	char buf[160], *hex;
	ASN1_INTEGER *num, *again;
	size_t n = size < sizeof(buf) - 1 ? size : sizeof(buf) - 1;

	memcpy(buf, data, n);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	num = crlnote_hex_int(buf);
	if (!num)
		return;
	hex = crlnote_int_hex(num);
	again = hex ? crlnote_hex_int(hex) : NULL;
	if (hex && (!again || ASN1_INTEGER_cmp(num, again)))
		abort();
	ASN1_INTEGER_free(again);
	free(hex);
	ASN1_INTEGER_free(num);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
	unsigned char *der;
	bool bad;
	int n, i, len;

	if (!crls)
		return 0;
	n = watch_parse_crls(data, size, crls, &bad);
	if (n > sk_X509_CRL_num(crls))
		abort();
	/* What crlwatch does with one: its DER for the notification */
	for (i = 0; i < sk_X509_CRL_num(crls); i++) {
		der = NULL;
		len = i2d_X509_CRL(sk_X509_CRL_value(crls, i), &der);
		if (len > 0 && !der)
			abort();
		OPENSSL_free(der);
	}
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	mark(data, size);
	ERR_clear_error();
	return 0;
}
