// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 7 (d): guise-certd's cached validations per second against a raw
 * X509_verify_cert loop on the same chains, in one process (certd's
 * validate.c, path.c, crl.c linked in, as the daemon runs them on its
 * event loop, without the HTTP and TLS around them).
 *
 * DIR is a test PKI made by userspace/tests/certd_pki.sh: the trust
 * anchor rootA.crt, the untrusted intermediates and cross-certificates
 * chain.pem, the CRLs crls.pem and intA1-delta.crl. LEAF... are
 * certificate files that validate "good" (their chains are the workload,
 * taken round robin), or -N: N leaves made here, alternately under intA1
 * (leaf, intA1, rootA) and intB1 (leaf, intB1, rootB as certified by
 * rootA, rootA), none revoked. For SECONDS seconds each:
 *   certd cached    certd_validate() with its path cache warm: SHA-256 of
 *                   the leaf, cache hit, revocation of every certificate
 *                   of the path from the CRL index
 *   certd uncached  the same with the path cache flushed before each call
 *                   (X509_verify_cert + revocation + cache insert)
 *   X509_verify_cert  a fresh X509_STORE_CTX per call on the same store
 *                   and untrusted certificates, (a) without CRL checks,
 *                   (b) with the same CRLs in the store and
 *                   X509_V_FLAG_CRL_CHECK_ALL | X509_V_FLAG_USE_DELTAS
 *                   (the revocation work certd does too)
 * Usage: certd_validate_bench DIR SECONDS (LEAF... | -N)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "certio.h"
#include "log.h"
#include "validate.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *path_in(const char *dir, const char *name)
{
	static char buf[4][4096];
	static int k;
	char *p = buf[k++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
	return p;
}

static X509 **leaves;
static int n_leaves;
static struct certd d, du; /* du: for the uncached loop */
static X509_STORE *ossl_store, *ossl_store_crl;

/* certd_validate on leaf i; -1 unless "good". */
static int certd_one(long i, int flush)
{
	struct validation_req r = { .leaf = leaves[i % n_leaves] };
	struct validation v;
	int ret;

	if (flush)
		path_cache_flush(&du.paths);
	if (certd_validate(flush ? &du : &d, &r, &v))
		return -1;
	ret = v.status == VALID_GOOD ? 0 : -1;
	validation_free(&v);
	return ret;
}

static int ossl_one(long i, X509_STORE *store, unsigned long flags)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok;

	if (!ctx || !X509_STORE_CTX_init(ctx, store, leaves[i % n_leaves],
					 d.intermediates)) {
		X509_STORE_CTX_free(ctx);
		return -1;
	}
	if (flags)
		X509_STORE_CTX_set_flags(ctx, flags);
	ok = X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_free(ctx);
	return ok ? 0 : -1;
}

enum kind { CERTD_CACHED, OSSL_PLAIN, OSSL_CRL, CERTD_UNCACHED };

#define SLICES 10

/* Calls of kind @k for @secs; adds to *@calls and *@elapsed. -1 on a
 * validation that is not good. */
static int run(enum kind k, double secs, double *calls, double *elapsed)
{
	static long next[4];
	double t0 = now(), t = t0;
	long i = next[k], j;
	int bad = 0;

	while (t - t0 < secs) {
		/* Check the clock every 64 calls. */
		for (j = 0; j < 64; j++, i++) {
			switch (k) {
			case CERTD_CACHED:
				bad |= certd_one(i, 0);
				break;
			case CERTD_UNCACHED:
				bad |= certd_one(i, 1);
				break;
			case OSSL_PLAIN:
				bad |= ossl_one(i, ossl_store, 0);
				break;
			case OSSL_CRL:
				bad |= ossl_one(
					i, ossl_store_crl,
					X509_V_FLAG_CRL_CHECK |
						X509_V_FLAG_CRL_CHECK_ALL |
						X509_V_FLAG_USE_DELTAS);
				break;
			}
		}
		t = now();
	}
	*calls += (double)(i - next[k]);
	*elapsed += t - t0;
	next[k] = i;
	return bad ? -1 : 0;
}

/* crl_cache_put() of an OpenSSL X509_CRL (the same CRLs go to the
 * X509_STORE of the baseline): through its DER, as certd parses it. */
static int put_x509_crl(struct crl_cache *c, X509_CRL *x, char *err,
			size_t errlen)
{
	unsigned char *der = NULL;
	int len = i2d_X509_CRL(x, &der);
	CERTD_CRL *crl = len > 0 ? certd_crl_d2i(der, (size_t)len) : NULL;
	int ret = -EINVAL;

	OPENSSL_free(der);
	if (!crl)
		snprintf(err, errlen, "malformed CRL");
	else
		ret = crl_cache_put(c, crl, time(NULL), NULL, NULL, err,
				    errlen);
	CERTD_CRL_free(crl);
	return ret;
}

static int load_crls(const char *dir)
{
	STACK_OF(X509_CRL) *sk = sk_X509_CRL_new_null();
	char err[160];
	int pass, j, ret = 0;

	if (!sk || certio_load_x509_crls(path_in(dir, "crls.pem"), sk) ||
	    certio_load_x509_crls(path_in(dir, "intA1-delta.crl"), sk))
		return -1;
	/* Full CRLs first, then deltas, as the daemon loads them. */
	for (pass = 0; pass < 2; pass++) {
		for (j = 0; j < sk_X509_CRL_num(sk); j++) {
			X509_CRL *crl = sk_X509_CRL_value(sk, j);
			int delta = X509_CRL_get_ext_by_NID(crl, NID_delta_crl,
							    -1) >= 0;

			if (delta != pass)
				continue;
			put_x509_crl(&du.crls, crl, err, sizeof(err));
			if (put_x509_crl(&d.crls, crl, err, sizeof(err)) &&
			    X509_CRL_get_ext_by_NID(crl, NID_crl_number, -1) >=
				    0) {
				/* intB2's stale CRL is fine to refuse. */
				fprintf(stderr, "CRL: %s\n", err);
			}
			if (!X509_STORE_add_crl(ossl_store_crl, crl))
				ret = -1;
		}
	}
	sk_X509_CRL_pop_free(sk, X509_CRL_free);
	return ret;
}

/* A leaf certificate for @key issued by @ca (with @ca_key) now. */
static X509 *make_leaf(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *key, long i)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509V3_CTX v3;
	unsigned char sn[16];
	char cn[64];
	ASN1_INTEGER *serial = ASN1_INTEGER_new();
	BIGNUM *bn;
	X509_EXTENSION *e;
	static const struct {
		int nid;
		const char *value;
	} exts[] = {
		{ NID_basic_constraints, "critical,CA:FALSE" },
		{ NID_key_usage, "critical,digitalSignature" },
		{ NID_ext_key_usage, "clientAuth" },
		{ NID_authority_key_identifier, "keyid" },
	};
	size_t k;

	if (!x || !name || !serial)
		return NULL;
	RAND_bytes(sn, sizeof(sn));
	sn[0] &= 0x7f;
	bn = BN_bin2bn(sn, sizeof(sn), NULL);
	BN_to_ASN1_INTEGER(bn, serial);
	BN_free(bn);
	snprintf(cn, sizeof(cn), "bench leaf %ld", i);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_version(x, 2);
	X509_set_serialNumber(x, serial);
	X509_set_issuer_name(x, X509_get_subject_name(ca));
	X509_set_subject_name(x, name);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&v3, ca, x, NULL, NULL, 0);
	for (k = 0; k < sizeof(exts) / sizeof(exts[0]); k++) {
		e = X509V3_EXT_conf_nid(NULL, &v3, exts[k].nid, exts[k].value);
		if (!e || !X509_add_ext(x, e, -1))
			return NULL;
		X509_EXTENSION_free(e);
	}
	ASN1_INTEGER_free(serial);
	X509_NAME_free(name);
	if (!X509_sign(x, ca_key, EVP_sha256()))
		return NULL;
	return x;
}

/* @n leaves, alternately under intA1 (leaf, intA1, rootA) and intB1
 * (leaf, intB1, the cross-certificate of rootB, rootA). */
static int make_leaves(const char *dir, long n)
{
	const char *cas[2] = { "intA1", "intB1" };
	X509 *ca[2] = { NULL, NULL };
	EVP_PKEY *ca_key[2] = { NULL, NULL }, *key = EVP_EC_gen("P-256");
	char name[64];
	long i;
	int k;

	for (k = 0; k < 2; k++) {
		STACK_OF(X509) *sk = sk_X509_new_null();
		FILE *fp;

		snprintf(name, sizeof(name), "%s.crt", cas[k]);
		if (!sk || certio_load_certs(path_in(dir, name), sk))
			return -1;
		ca[k] = sk_X509_shift(sk);
		sk_X509_pop_free(sk, X509_free);
		snprintf(name, sizeof(name), "%s.key", cas[k]);
		fp = fopen(path_in(dir, name), "r");
		if (!fp)
			return -1;
		ca_key[k] = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
		fclose(fp);
		if (!ca[k] || !ca_key[k])
			return -1;
	}
	leaves = calloc(n, sizeof(*leaves));
	if (!key || !leaves)
		return -1;
	for (i = 0; i < n; i++) {
		leaves[i] = make_leaf(ca[i % 2], ca_key[i % 2], key, i);
		if (!leaves[i])
			return -1;
	}
	n_leaves = (int)n;
	for (k = 0; k < 2; k++) {
		X509_free(ca[k]);
		EVP_PKEY_free(ca_key[k]);
	}
	EVP_PKEY_free(key);
	return 0;
}

static int setup(const char *dir, int argc, char **argv)
{
	static struct certd_conf conf;
	static char *anchor, *chain;
	STACK_OF(X509) *anchors = sk_X509_new_null();
	int i;

	anchor = strdup(path_in(dir, "rootA.crt"));
	chain = strdup(path_in(dir, "chain.pem"));
	conf.anchors = (struct conf_list){ &anchor, 1 };
	conf.intermediates = (struct conf_list){ &chain, 1 };
	conf.stale_unknown = true;
	d.conf = &conf;
	du.conf = &conf;
	ossl_store = X509_STORE_new();
	ossl_store_crl = X509_STORE_new();
	if (!anchors || !ossl_store || !ossl_store_crl ||
	    crl_cache_init(&d.crls) || validate_init(&d) ||
	    crl_cache_init(&du.crls) || validate_init(&du) ||
	    certio_load_certs(anchor, anchors))
		return -1;
	for (i = 0; i < sk_X509_num(anchors); i++)
		if (!X509_STORE_add_cert(ossl_store,
					 sk_X509_value(anchors, i)) ||
		    !X509_STORE_add_cert(ossl_store_crl,
					 sk_X509_value(anchors, i)))
			return -1;
	sk_X509_pop_free(anchors, X509_free);
	if (load_crls(dir))
		return -1;
	if (argc == 1 && argv[0][0] == '-')
		return make_leaves(dir, atol(argv[0] + 1));
	leaves = calloc(argc, sizeof(*leaves));
	if (!leaves)
		return -1;
	for (i = 0; i < argc; i++) {
		STACK_OF(X509) *sk = sk_X509_new_null();

		if (!sk || certio_load_certs(argv[i], sk) || !sk_X509_num(sk))
			return -1;
		leaves[n_leaves++] = sk_X509_shift(sk);
		sk_X509_pop_free(sk, X509_free);
	}
	return 0;
}

int main(int argc, char **argv)
{
	double secs, cached, uncached, plain, withcrl,
		calls[4] = { 0 }, elapsed[4] = { 0 }, cached_hits, cached_calls;
	uint64_t hits0;
	int i, k, sl, depth = 0;

	if (argc < 4) {
		fprintf(stderr,
			"usage: certd_validate_bench DIR SECONDS LEAF...\n");
		return 2;
	}
	guise_log_init("certd_validate_bench", GUISE_LOG_WARN);
	secs = atof(argv[2]);
	if (setup(argv[1], argc - 3, argv + 3)) {
		ERR_print_errors_fp(stderr);
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	/* Each leaf once: warm the path cache, and check it is good. */
	for (i = 0; i < n_leaves; i++) {
		struct validation_req r = { .leaf = leaves[i] };
		struct validation v;

		if (certd_validate(&d, &r, &v) || v.status != VALID_GOOD) {
			fprintf(stderr, "leaf %d: not good (%s)\n", i,
				v.reason);
			return 1;
		}
		depth += sk_X509_num(v.chain);
		validation_free(&v);
		if (ossl_one(i, ossl_store, 0) ||
		    ossl_one(i, ossl_store_crl,
			     X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL |
				     X509_V_FLAG_USE_DELTAS)) {
			fprintf(stderr, "leaf %d: X509_verify_cert fails\n", i);
			return 1;
		}
	}
	/*
	 * The four loops take turns, SLICES times each, so that a machine
	 * shared with other jobs slows them alike. (The uncached loop has a
	 * certd state of its own: its flushes leave the cached one warm.)
	 */
	hits0 = d.paths.hits;
	for (sl = 0; sl < SLICES; sl++)
		for (k = 0; k < 4; k++)
			if (run(k, secs / SLICES, &calls[k], &elapsed[k])) {
				fprintf(stderr, "a validation was not good\n");
				return 1;
			}
	cached_hits = (double)(d.paths.hits - hits0);
	cached_calls = calls[CERTD_CACHED];
	cached = calls[CERTD_CACHED] / elapsed[CERTD_CACHED];
	uncached = calls[CERTD_UNCACHED] / elapsed[CERTD_UNCACHED];
	plain = calls[OSSL_PLAIN] / elapsed[OSSL_PLAIN];
	withcrl = calls[OSSL_CRL] / elapsed[OSSL_CRL];
	printf("chains                          %d (%.1f certificates a path, "
	       "anchor included), %.1f s a loop in %d turns\n",
	       n_leaves, (double)depth / n_leaves, secs, SLICES);
	printf("certd cached (path cache hit)   %.0f validations/s\n", cached);
	printf("certd uncached (cache flushed)  %.0f validations/s\n",
	       uncached);
	printf("X509_verify_cert                %.0f validations/s\n", plain);
	printf("X509_verify_cert + CRL_CHECK_ALL %.0f validations/s\n",
	       withcrl);
	printf("ratio cached / X509_verify_cert           %.1fx\n",
	       cached / plain);
	printf("ratio cached / X509_verify_cert + CRLs    %.1fx\n",
	       cached / withcrl);
	printf("path cache hits in the cached loop: %.0f of %.0f\n",
	       cached_hits, cached_calls);
	return 0;
}
