// SPDX-License-Identifier: GPL-2.0
/*
 * guise-certd's CRL index against OpenSSL's own: a CRL of N entries
 * (default 1,000,000; random 16-octet serials) is made and signed here,
 * then timed:
 *   parse   d2i_X509_CRL of the DER (what any CRL user pays)
 *   load    d2i_X509_CRL + signature check + crl_list_build (certd's load)
 *   index   crl_list_build alone
 *   lookups M lookups (half revoked serials, half not) with
 *           crl_list_find (ASN1_INTEGER -> key included) and with
 *           X509_CRL_get0_by_serial (after a warm-up call that sorts)
 * Usage: certd_crl_bench [N] [M]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "crl.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static ASN1_INTEGER *random_serial(void)
{
	unsigned char b[16];
	ASN1_INTEGER *i = ASN1_INTEGER_new();

	RAND_bytes(b, sizeof(b));
	b[0] &= 0x7f;
	b[0] |= 0x01;
	ASN1_STRING_set(i, b, sizeof(b));
	return i;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	long m = argc > 2 ? atol(argv[2]) : 1000000;
	ASN1_INTEGER **present, **probe;
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509_CRL *crl = X509_CRL_new(), *parsed;
	X509_NAME *name = X509_NAME_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, time(NULL));
	unsigned char *der = NULL;
	const unsigned char *p;
	struct crl_serial k;
	struct crl_list l;
	double t0, t_parse, t_load, t_index, t_ours, t_ossl;
	long i, hits_ours = 0, hits_ossl = 0;
	X509_REVOKED *r;
	int len;

	present = calloc(n, sizeof(*present));
	probe = calloc(m, sizeof(*probe));
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)"bench CA", -1, -1,
				   0);
	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, name);
	X509_CRL_set1_lastUpdate(crl, t);
	fprintf(stderr, "making a CRL of %ld entries...\n", n);
	for (i = 0; i < n; i++) {
		r = X509_REVOKED_new();
		present[i] = random_serial();
		X509_REVOKED_set_serialNumber(r, present[i]);
		X509_REVOKED_set_revocationDate(r, t);
		X509_CRL_add0_revoked(crl, r);
	}
	X509_CRL_sort(crl);
	X509_CRL_sign(crl, key, EVP_sha256());
	len = i2d_X509_CRL(crl, &der);
	for (i = 0; i < m; i++)
		probe[i] = i % 2 ? random_serial() :
				   ASN1_INTEGER_dup(present[(i * 7919) % n]);

	t0 = now();
	p = der;
	parsed = d2i_X509_CRL(NULL, &p, len);
	t_parse = now() - t0;
	X509_CRL_free(parsed);

	t0 = now();
	p = der;
	parsed = d2i_X509_CRL(NULL, &p, len);
	if (X509_CRL_verify(parsed, key) != 1 || crl_list_build(parsed, &l))
		return 1;
	t_load = now() - t0;
	crl_list_free(&l);
	t0 = now();
	crl_list_build(parsed, &l);
	t_index = now() - t0;

	t0 = now();
	for (i = 0; i < m; i++)
		if (!crl_serial_key(probe[i], &k) && crl_list_find(&l, &k))
			hits_ours++;
	t_ours = now() - t0;

	X509_CRL_get0_by_serial(parsed, &r, probe[0]); /* sorts, once */
	t0 = now();
	for (i = 0; i < m; i++)
		if (X509_CRL_get0_by_serial(parsed, &r, probe[i]) == 1)
			hits_ossl++;
	t_ossl = now() - t0;

	printf("CRL entries             %ld (%d bytes DER)\n", n, len);
	printf("d2i_X509_CRL            %.3f s\n", t_parse);
	printf("certd load (d2i+sig+index) %.3f s  (%.2fx the parse)\n", t_load,
	       t_load / t_parse);
	printf("  of which the index    %.3f s\n", t_index);
	printf("lookups                 %ld (%ld / %ld revoked found)\n", m,
	       hits_ours, hits_ossl);
	printf("certd crl_list_find     %.0f lookups/s\n", m / t_ours);
	printf("X509_CRL_get0_by_serial %.0f lookups/s\n", m / t_ossl);
	printf("ratio                   %.2fx\n", t_ossl / t_ours);
	return hits_ours == hits_ossl ? 0 : 1;
}
