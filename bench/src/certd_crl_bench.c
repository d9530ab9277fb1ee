// SPDX-License-Identifier: GPL-2.0
/*
 * guise-certd's CRL index against OpenSSL's own: a CRL of N entries
 * (default 1,000,000; random 16-octet serials) is made and signed here,
 * then timed, R rounds (default 5) of each, interleaved, in this thread's
 * CPU time (what the loader thread spends; the machine's other jobs do
 * not count) and wall clock; the median and the minimum of the rounds:
 *   d2i          d2i_X509_CRL: OpenSSL's parse (what any CRL user pays)
 *   d2i+verify   d2i_X509_CRL + X509_CRL_verify
 *   parse        certd_crl_d2i: certd's parse (entries left encoded)
 *   index        crl_list_build: entries decoded, keys, sort check, hash
 *   verify       certd_crl_verify: the signature
 *   parse+index  what d2i compares with (no signature check)
 *   load         certd_crl_d2i + crl_prepare (signature, index): the
 *                loader's whole work for a CRL; compares with d2i+verify
 *   lookups      M lookups (half revoked serials, half not) with
 *                crl_list_find (ASN1_INTEGER -> key included) and with
 *                X509_CRL_get0_by_serial (after a warm-up call that sorts)
 * Usage: certd_crl_bench [N] [M] [R]
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

static double wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum { T_D2I, T_D2IV, T_PARSE, T_INDEX, T_VERIFY, T_PI, T_LOAD, T_N };
static const char *const t_name[T_N] = {
	"d2i_X509_CRL", "d2i + X509_CRL_verify", "certd parse", "certd index",
	"certd verify", "certd parse+index", "certd load (all three)",
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median of @v (sorted in place). */
static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
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
	int rounds = argc > 3 ? atoi(argv[3]) : 5, round;
	double t0, t_ours, t_ossl, *tc[T_N], *tw[T_N], med_c[T_N];
	CERTD_CRL *ours;
	long i, hits_ours = 0, hits_ossl = 0;
	X509_REVOKED *r;
	int len;

	if (rounds < 1)
		rounds = 1;
	for (i = 0; i < T_N; i++) {
		tc[i] = calloc((size_t)rounds, sizeof(double));
		tw[i] = calloc((size_t)rounds, sizeof(double));
	}
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

	/* A warm-up of each, then the rounds, interleaved. */
	for (round = -1; round < rounds; round++) {
		double c0, w0, c[T_N], w[T_N];
		char err[160];
		CERTD_CRL *ours;
		struct crl_list *lp;

		c0 = cpu();
		w0 = wall();
		p = der;
		parsed = d2i_X509_CRL(NULL, &p, len);
		c[T_D2I] = cpu() - c0;
		w[T_D2I] = wall() - w0;
		if (!parsed || X509_CRL_verify(parsed, key) != 1)
			return 1;
		c[T_D2IV] = cpu() - c0;
		w[T_D2IV] = wall() - w0;
		X509_CRL_free(parsed);

		c0 = cpu();
		w0 = wall();
		ours = certd_crl_d2i(der, (size_t)len);
		c[T_PARSE] = cpu() - c0;
		w[T_PARSE] = wall() - w0;
		if (!ours || crl_list_build(ours, &l))
			return 1;
		c[T_PI] = cpu() - c0;
		w[T_PI] = wall() - w0;
		c[T_INDEX] = c[T_PI] - c[T_PARSE];
		w[T_INDEX] = w[T_PI] - w[T_PARSE];
		crl_list_free(&l);
		c0 = cpu();
		w0 = wall();
		if (certd_crl_verify(ours, key) != 1)
			return 1;
		c[T_VERIFY] = cpu() - c0;
		w[T_VERIFY] = wall() - w0;
		CERTD_CRL_free(ours);

		c0 = cpu();
		w0 = wall();
		ours = certd_crl_d2i(der, (size_t)len);
		if (!ours || crl_prepare(ours, &key, 1, time(NULL), &lp, err,
					 sizeof(err)))
			return 1;
		c[T_LOAD] = cpu() - c0;
		w[T_LOAD] = wall() - w0;
		CERTD_CRL_free(ours);
		crl_list_release(lp);
		for (i = 0; round >= 0 && i < T_N; i++) {
			tc[i][round] = c[i];
			tw[i][round] = w[i];
		}
	}
	p = der;
	parsed = d2i_X509_CRL(NULL, &p, len);
	ours = certd_crl_d2i(der, (size_t)len);
	if (!parsed || !ours || crl_list_build(ours, &l))
		return 1;
	CERTD_CRL_free(ours);

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
	printf("CRL load, %d rounds: median (min) seconds\n", rounds);
	printf("  %-24s %15s %15s\n", "", "CPU (thread)", "wall");
	for (i = 0; i < T_N; i++) {
		double mc, mw, lc = tc[i][0], lw = tw[i][0];
		int j;

		for (j = 1; j < rounds; j++) {
			lc = tc[i][j] < lc ? tc[i][j] : lc;
			lw = tw[i][j] < lw ? tw[i][j] : lw;
		}
		mc = median(tc[i], rounds);
		mw = median(tw[i], rounds);
		med_c[i] = mc;
		printf("  %-24s %6.3f (%.3f) %6.3f (%.3f)\n", t_name[i], mc, lc,
		       mw, lw);
	}
	printf("parse+index / d2i       %.2fx (CPU medians)\n",
	       med_c[T_PI] / med_c[T_D2I]);
	printf("load / (d2i + verify)   %.2fx\n", med_c[T_LOAD] / med_c[T_D2IV]);
	printf("load / d2i              %.2fx\n", med_c[T_LOAD] / med_c[T_D2I]);
	printf("lookups                 %ld (%ld / %ld revoked found)\n", m,
	       hits_ours, hits_ossl);
	printf("certd crl_list_find     %.0f lookups/s\n", m / t_ours);
	printf("X509_CRL_get0_by_serial %.0f lookups/s\n", m / t_ossl);
	printf("ratio                   %.2fx\n", t_ossl / t_ours);
	return hits_ours == hits_ossl ? 0 : 1;
}
