// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for what clients send guise-certd: OCSP requests
 * (answered from an empty cache: every path up to the signing), the
 * certificates of validation requests (PEM, DER, base64 DER) and CRLs
 * (parsed, indexed, looked up), and the request-targets of OCSP GET
 * requests (decoded, then answered). The first byte picks the parser.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/x509.h>

#include "certd.h"
#include "certio.h"
#include "crl.h"
#include "ocsp.h"

static struct certd d;
static struct certd_conf conf;

static void fuzz_crl(const uint8_t *data, size_t size)
{
	CERTD_CRL *crl = certio_crl(data, size);
	const unsigned char *p = data;
	STACK_OF(X509_REVOKED) * rev;
	struct crl_serial key, *newly;
	struct crl_list l;
	size_t i, n_newly;
	X509_CRL *x;
	char err[160];

	if (!crl)
		return;
	/* OpenSSL's own parse of the same DER, where it takes it. */
	x = d2i_X509_CRL(NULL, &p, (long)size);
	if (!crl_list_build(crl, &l)) {
		/* Every entry must be found by its own key. */
		rev = x ? X509_CRL_get_REVOKED(x) : NULL;
		for (i = 0; rev && i < (size_t)sk_X509_REVOKED_num(rev); i++) {
			if (crl_serial_key(
				    X509_REVOKED_get0_serialNumber(
					    sk_X509_REVOKED_value(rev, i)),
				    &key))
				continue;
			if (!crl_list_find(&l, &key))
				abort();
		}
		crl_list_free(&l);
	}
	X509_CRL_free(x);
	/* No CA is known: the cache must refuse it. */
	if (crl_cache_put(&d.crls, crl, time(NULL), &newly, &n_newly, err,
			  sizeof(err)) != -EINVAL)
		abort();
	CERTD_CRL_free(crl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *out, *der;
	size_t out_len, der_len;
	char *text;
	X509 *x;

	if (!d.conf) {
		d.conf = &conf;
		crl_cache_init(&d.crls);
	}
	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		if (!ocsp_answer(&d, data + 1, size - 1, &out, &out_len))
			free(out);
		break;
	case 1:
		text = strndup((const char *)data + 1, size - 1);
		x = text ? certio_cert_text(text) : NULL;
		X509_free(x);
		free(text);
		x = certio_cert(data + 1, size - 1);
		X509_free(x);
		break;
	case 2:
		fuzz_crl(data + 1, size - 1);
		break;
	default:
		text = strndup((const char *)data + 1, size - 1);
		der = text ? ocsp_get_request(text, &der_len) : NULL;
		if (der && !ocsp_answer(&d, der, der_len, &out, &out_len))
			free(out);
		free(der);
		free(text);
		break;
	}
	return 0;
}
