// SPDX-License-Identifier: GPL-2.0
/*
 * guise-certd's own CRL parse (crl.c: revokedCertificates left encoded,
 * the entries decoded one at a time into the index) against OpenSSL's
 * d2i_X509_CRL on the same DER: the same entries, serials, dates and
 * reasons; the signature checked over the bytes as received; malformed,
 * truncated and trailing input refused; unsorted CRLs sorted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "tap.h"
/* The unit under test, compiled in (tests link only the shared libs). */
#include "crl.c"

static EVP_PKEY *key, *other;

static void add(X509_CRL *crl, const unsigned char *serial, int len,
		time_t when, int reason)
{
	X509_REVOKED *r = X509_REVOKED_new();
	ASN1_INTEGER *s = ASN1_INTEGER_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, when);
	ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();

	if (!r || !s || !t || !e || !ASN1_STRING_set(s, serial, len) ||
	    !X509_REVOKED_set_serialNumber(r, s) ||
	    !X509_REVOKED_set_revocationDate(r, t) ||
	    (reason >= 0 &&
	     (!ASN1_ENUMERATED_set(e, reason) ||
	      !X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, e, 0, 0))) ||
	    !X509_CRL_add0_revoked(crl, r))
		abort();
	ASN1_INTEGER_free(s);
	ASN1_TIME_free(t);
	ASN1_ENUMERATED_free(e);
}

/* A signed CRL (DER) with a spread of serials, dates and reasons, in
 * the order given (not sorted); @n_random more random 16-octet ones. */
static unsigned char *make_crl(int *len, long n_random, bool empty)
{
	static const unsigned char s1[] = { 0x01 }, s2[] = { 0x80, 0x00 },
				   s3[] = { 0x7f, 0xff, 0xff, 0xff, 0xff,
					    0xff, 0xff, 0xff, 0xff, 0xff,
					    0xff, 0xff, 0xff, 0xff, 0xff,
					    0xff, 0xff, 0xff, 0xff, 0xfe },
				   s4[] = { 0x12, 0x34 };
	X509_CRL *crl = X509_CRL_new();
	X509_NAME *name = X509_NAME_new();
	ASN1_TIME *last = ASN1_TIME_set(NULL, time(NULL) - 60);
	ASN1_TIME *next = ASN1_TIME_set(NULL, time(NULL) + 86400);
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	unsigned char *der = NULL, b[16];
	long i;

	if (!crl || !name || !last || !next || !num ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)"crlparse CA",
					-1, -1, 0) ||
	    !X509_CRL_set_version(crl, 1) ||
	    !X509_CRL_set_issuer_name(crl, name) ||
	    !X509_CRL_set1_lastUpdate(crl, last) ||
	    !X509_CRL_set1_nextUpdate(crl, next) ||
	    !ASN1_INTEGER_set(num, 4242) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0))
		abort();
	if (!empty) {
		add(crl, s4, sizeof(s4), 1709164800, 1); /* 2024-02-29 */
		add(crl, s3, sizeof(s3), 2524608000, 4); /* 2050: Generalized */
		add(crl, s1, sizeof(s1), -631152000, -1); /* 1950 */
		add(crl, s2, sizeof(s2), 2524607999, 0); /* 2049-12-31 */
	}
	for (i = 0; i < n_random; i++) {
		if (RAND_bytes(b, sizeof(b)) != 1)
			abort();
		b[0] = (unsigned char)((b[0] & 0x7f) | 0x01);
		add(crl, b, sizeof(b), 1795400000 + i, i % 3 ? -1 : 5);
	}
	if (!X509_CRL_sign(crl, key, EVP_sha256()) ||
	    (*len = i2d_X509_CRL(crl, &der)) <= 0)
		abort();
	X509_CRL_free(crl);
	X509_NAME_free(name);
	ASN1_TIME_free(last);
	ASN1_TIME_free(next);
	ASN1_INTEGER_free(num);
	return der;
}

/* Every entry of OpenSSL's parse is in @l with its date and reason. */
static bool same_entries(const unsigned char *der, int len,
			 const struct crl_list *l)
{
	const unsigned char *p = der;
	X509_CRL *x = d2i_X509_CRL(NULL, &p, len);
	STACK_OF(X509_REVOKED) *rev = x ? X509_CRL_get_REVOKED(x) : NULL;
	bool ok = x && (size_t)sk_X509_REVOKED_num(rev) == l->n;
	int i, crit;

	for (i = 0; ok && i < sk_X509_REVOKED_num(rev); i++) {
		X509_REVOKED *r = sk_X509_REVOKED_value(rev, i);
		ASN1_ENUMERATED *e = X509_REVOKED_get_ext_d2i(r, NID_crl_reason,
							      &crit, NULL);
		const struct crl_serial *hit;
		struct crl_serial k;
		struct tm tm;

		ok = !crl_serial_key(X509_REVOKED_get0_serialNumber(r), &k) &&
		     (hit = crl_list_find(l, &k)) &&
		     ASN1_TIME_to_tm(X509_REVOKED_get0_revocationDate(r),
				     &tm) &&
		     hit->date == timegm(&tm) &&
		     hit->reason == (e ? ASN1_ENUMERATED_get(e) : 0xff);
		ASN1_ENUMERATED_free(e);
	}
	for (i = 1; ok && (size_t)i < l->n; i++)
		ok = serial_cmp(&l->serials[i - 1], &l->serials[i]) < 0;
	X509_CRL_free(x);
	return ok;
}

/* A CRL of @n entries of 7 octets each (1-octet serial, an empty
 * UTCTime): fewer octets an entry than the index first makes room for. */
static unsigned char *make_short_crl(int *len, int n)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *last = ASN1_TIME_set(NULL, time(NULL) - 60);
	unsigned char *der = NULL, b;
	int i;

	if (!crl || !last || !X509_CRL_set_version(crl, 1) ||
	    !X509_CRL_set1_lastUpdate(crl, last))
		abort();
	for (i = 0; i < n; i++) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *s = ASN1_INTEGER_new();
		ASN1_TIME *t = ASN1_STRING_type_new(V_ASN1_UTCTIME);

		b = (unsigned char)(i + 1);
		if (!r || !s || !t || !ASN1_STRING_set(s, &b, 1) ||
		    !X509_REVOKED_set_serialNumber(r, s) ||
		    !X509_REVOKED_set_revocationDate(r, t) ||
		    !X509_CRL_add0_revoked(crl, r))
			abort();
		ASN1_INTEGER_free(s);
		ASN1_TIME_free(t);
	}
	if (!X509_CRL_sign(crl, key, EVP_sha256()) ||
	    (*len = i2d_X509_CRL(crl, &der)) <= 0)
		abort();
	X509_CRL_free(crl);
	ASN1_TIME_free(last);
	return der;
}

/* An extension from its config text (openssl x509v3_config syntax),
 * e.g. "critical,DER:05:00" for an unknown OID. */
static X509_EXTENSION *ext(const char *name, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_nconf(NULL, NULL, name, value);

	if (!e)
		abort();
	return e;
}

/* A signed CRL with @crl_ext (or none) and one entry with @entry_ext
 * (or none); both taken. */
static CERTD_CRL *ext_crl(X509_EXTENSION *crl_ext, X509_EXTENSION *entry_ext)
{
	static const unsigned char serial[] = { 0x2a };
	X509_CRL *crl = X509_CRL_new();
	X509_REVOKED *r = X509_REVOKED_new();
	ASN1_INTEGER *s = ASN1_INTEGER_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, time(NULL) - 60);
	unsigned char *der = NULL;
	CERTD_CRL *out;
	int len;

	if (!crl || !r || !s || !t || !X509_CRL_set_version(crl, 1) ||
	    !X509_CRL_set1_lastUpdate(crl, t) ||
	    !ASN1_STRING_set(s, serial, sizeof(serial)) ||
	    !X509_REVOKED_set_serialNumber(r, s) ||
	    !X509_REVOKED_set_revocationDate(r, t) ||
	    (entry_ext && !X509_REVOKED_add_ext(r, entry_ext, -1)) ||
	    !X509_CRL_add0_revoked(crl, r) ||
	    (crl_ext && !X509_CRL_add_ext(crl, crl_ext, -1)) ||
	    !X509_CRL_sign(crl, key, EVP_sha256()) ||
	    (len = i2d_X509_CRL(crl, &der)) <= 0)
		abort();
	out = certd_crl_d2i(der, (size_t)len);
	X509_EXTENSION_free(crl_ext);
	X509_EXTENSION_free(entry_ext);
	X509_CRL_free(crl);
	ASN1_INTEGER_free(s);
	ASN1_TIME_free(t);
	OPENSSL_free(der);
	return out;
}

/* crl_prepare() of @crl: its result, @crl freed, the error in @err. */
static int prepare(CERTD_CRL *crl, char *err, size_t errlen)
{
	struct crl_list *l = NULL;
	int ret;

	err[0] = 0;
	ret = crl ? crl_prepare(crl, &key, 1, time(NULL), &l, err, errlen) :
		    -ENOMEM;
	if (!ret && l->n != 1)
		ret = -EIO;
	crl_list_release(l);
	CERTD_CRL_free(crl);
	return ret;
}

/* RFC 5280 5.2/5.3: what certd does not process makes a CRL unusable. */
static void critical_extensions(void)
{
	char err[160];
	int ret;

	tap_ok(!prepare(ext_crl(NULL, NULL), err, sizeof(err)),
	       "no extensions: used");
	ret = prepare(ext_crl(ext("1.3.6.1.4.1.55555.1", "critical,DER:05:00"),
			      NULL),
		      err, sizeof(err));
	tap_ok(ret == -EOPNOTSUPP && strstr(err, "unsupported critical"),
	       "an unknown critical CRL extension: refused (%s)", err);
	tap_ok(!prepare(ext_crl(ext("1.3.6.1.4.1.55555.1", "DER:05:00"), NULL),
			err, sizeof(err)),
	       "the same, not critical: used");
	ret = prepare(ext_crl(ext("issuingDistributionPoint",
				  "critical,onlyuser:TRUE"),
			      NULL),
		      err, sizeof(err));
	tap_ok(ret == -EOPNOTSUPP && strstr(err, "scoped"),
	       "a user-certificates-only CRL: refused (%s)", err);
	ret = prepare(ext_crl(ext("issuingDistributionPoint",
				  "critical,fullname:URI:http://ca.example/"
				  "part1.crl"),
			      NULL),
		      err, sizeof(err));
	tap_ok(ret == -EOPNOTSUPP && strstr(err, "scoped"),
	       "a partitioned CRL (distributionPoint): refused (%s)", err);
	/* GeneralNames { dNSName "other.example" } */
	ret = prepare(ext_crl(NULL, ext("certificateIssuer",
					"critical,DER:30:0f:82:0d:6f:74:68:65:"
					"72:2e:65:78:61:6d:70:6c:65")),
		      err, sizeof(err));
	tap_ok(ret == -EOPNOTSUPP && strstr(err, "entry extension"),
	       "an indirect CRL's certificateIssuer entry: refused (%s)", err);
	ret = prepare(ext_crl(NULL,
			      ext("1.3.6.1.4.1.55555.2", "critical,DER:05:00")),
		      err, sizeof(err));
	tap_ok(ret == -EOPNOTSUPP, "an unknown critical entry extension: "
				   "refused");
	tap_ok(!prepare(ext_crl(NULL, ext("invalidityDate",
					  "critical,DER:18:0f:32:30:32:34:30:"
					  "31:30:31:30:30:30:30:30:30:5a")),
			err, sizeof(err)),
	       "a critical invalidityDate entry extension: used (%s)", err);
	tap_ok(!prepare(ext_crl(NULL, ext("1.3.6.1.4.1.55555.2", "DER:05:00")),
			err, sizeof(err)),
	       "an unknown entry extension, not critical: used");
}

int main(void)
{
	struct crl_list l, *lp;
	unsigned char *der, *bad, *hit;
	CERTD_CRL *crl;
	const unsigned char *p;
	char err[160];
	int len, crit, i;
	X509_CRL *x;
	bool ok;
	ASN1_INTEGER *num;
	BIO *bio;

	tap_start();
	key = EVP_EC_gen("P-256");
	other = EVP_EC_gen("P-256");
	if (!key || !other)
		return 1;

	der = make_crl(&len, 2000, false);
	crl = certd_crl_d2i(der, (size_t)len);
	tap_ok(crl != NULL, "a CRL of 2004 entries parses");
	if (!crl)
		return tap_done();
	p = der;
	x = d2i_X509_CRL(NULL, &p, len);
	tap_ok(x && !X509_NAME_cmp(certd_crl_issuer(crl),
				   X509_CRL_get_issuer(x)),
	       "the issuer");
	X509_CRL_free(x);
	num = certd_crl_ext_d2i(crl, NID_crl_number, &crit);
	tap_ok(num && ASN1_INTEGER_get(num) == 4242 && !certd_crl_is_delta(crl),
	       "CRL number 4242, not a delta");
	ASN1_INTEGER_free(num);
	tap_ok(!crl_list_build(crl, &l) && l.n == 2004,
	       "indexed: 2004 entries");
	tap_ok(same_entries(der, len, &l),
	       "the same serials, dates (UTCTime, GeneralizedTime, 1950, "
	       "2024-02-29, 2050) and reasons as d2i_X509_CRL, sorted");
	crl_list_free(&l);
	tap_ok(certd_crl_verify(crl, key) == 1, "signature verifies");
	tap_ok(certd_crl_verify(crl, other) != 1, "not with another key");
	tap_ok(!crl_prepare(crl, &key, 1, time(NULL), &lp, err, sizeof(err)) &&
		       lp->n == 2004,
	       "crl_prepare: signature and index");
	crl_list_release(lp);
	tap_ok(crl_prepare(crl, &other, 1, time(NULL), &lp, err, sizeof(err)) ==
		       -EINVAL,
	       "crl_prepare: wrong key refused (%s)", err);
	CERTD_CRL_free(crl);

	/* One octet of a serial changed: parses, but the signature fails. */
	bad = malloc((size_t)len + 1);
	memcpy(bad, der, (size_t)len);
	/* The entry of serial 1234: INTEGER, length 2, 12 34. */
	hit = memmem(bad, (size_t)len, "\x02\x02\x12\x34", 4);
	hit[3] ^= 1;
	crl = certd_crl_d2i(bad, (size_t)len);
	tap_ok(crl && certd_crl_verify(crl, key) != 1,
	       "a changed entry: signature fails");
	CERTD_CRL_free(crl);
	hit[3] ^= 1;
	/* An entry's INTEGER tag made an OCTET STRING: the outer parse
	 * (lengths intact) succeeds, indexing refuses. */
	hit[0] = V_ASN1_OCTET_STRING;
	crl = certd_crl_d2i(bad, (size_t)len);
	tap_ok(crl && crl_list_build(crl, &l) == -EINVAL,
	       "a malformed entry: refused when indexed");
	CERTD_CRL_free(crl);
	hit[0] = V_ASN1_INTEGER;
	bad[len] = 0;
	tap_ok(!certd_crl_d2i(bad, (size_t)len + 1), "trailing data refused");
	tap_ok(!certd_crl_d2i(bad, (size_t)len - 1), "truncated refused");
	tap_ok(!certd_crl_d2i(bad, 0), "empty refused");

	/* PEM, after another block. */
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio(bio, "CERTIFICATE", "", (const unsigned char *)"x", 1);
	PEM_write_bio(bio, PEM_STRING_X509_CRL, "", der, len);
	crl = certd_crl_pem(bio);
	tap_ok(crl && !crl_list_build(crl, &l) && l.n == 2004,
	       "PEM after another block");
	crl_list_free(&l);
	CERTD_CRL_free(crl);
	tap_ok(!certd_crl_pem(bio), "then the end");
	BIO_free(bio);
	free(bad);
	OPENSSL_free(der);

	der = make_crl(&len, 0, true);
	crl = certd_crl_d2i(der, (size_t)len);
	tap_ok(crl && !crl_list_build(crl, &l) && l.n == 0 &&
		       certd_crl_verify(crl, key) == 1,
	       "a CRL without entries");
	crl_list_free(&l);
	CERTD_CRL_free(crl);
	OPENSSL_free(der);

	der = make_short_crl(&len, 200);
	crl = certd_crl_d2i(der, (size_t)len);
	ok = crl && !crl_list_build(crl, &l) && l.n == 200;
	for (i = 1; ok && i <= 200; i++) {
		struct crl_serial k = { .len = 1, .b = { (uint8_t)i } };
		const struct crl_serial *hit2 = crl_list_find(&l, &k);

		ok = hit2 && hit2->date == 0; /* no valid date: 0 */
	}
	tap_ok(ok, "200 entries of 7 octets (the index grows its array)");
	crl_list_free(&l);
	CERTD_CRL_free(crl);
	OPENSSL_free(der);
	critical_extensions();
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
	return tap_done();
}
