// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for "CRL issued" notifications: the CMS envelope
 * (parse, signature check, content) and the JSON inside. The first byte
 * picks the layer. Whatever parses must render to JSON and parse back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/x509.h>

#include "crlnote.h"

static void round_trip(const struct crlnote *n)
{
	struct crlnote back;
	char err[256], *text;

	text = crlnote_to_json(n);
	if (!text)
		return; /* out of memory, or a serial too long to render */
	if (crlnote_from_json(text, strlen(text), &back, err, sizeof(err)))
		abort();
	if (X509_NAME_cmp(back.issuer, n->issuer) ||
	    ASN1_INTEGER_cmp(back.number, n->number) ||
	    back.is_delta != n->is_delta)
		abort();
	crlnote_free(&back);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct crlnote n;
	X509 *signer;
	char err[256];

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		if (!crlnote_from_json((const char *)data + 1, size - 1, &n,
				       err, sizeof(err))) {
			round_trip(&n);
			crlnote_free(&n);
		}
		return 0;
	}
	if (!crlnote_open(data + 1, size - 1, &n, &signer, err, sizeof(err))) {
		round_trip(&n);
		crlnote_free(&n);
		X509_free(signer);
	}
	return 0;
}
