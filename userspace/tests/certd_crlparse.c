// SPDX-License-Identifier: GPL-2.0
/*
 * guise-certd's own CRL parse (crl.c: revokedCertificates left encoded,
 * the entries decoded one at a time into the index) against OpenSSL's
 * d2i_X509_CRL on the same DER: the same entries, serials, dates and
 * reasons; the signature checked over the bytes as received; malformed,
 * truncated and trailing input refused; unsorted CRLs sorted. Then the
 * cache's revocation rules (crl_cache_put, the pushed serials, lookups):
 * a delta CRL is used only if newer than the full CRL under it, pushed
 * serials last until a full CRL at least as new as their notification,
 * CRLs without a cRLNumber are ordered by thisUpdate.
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

/* ---- The cache's revocation rules ---- */

static X509 *sem_ca; /* "crlparse CA", self-signed with @key */

static X509 *self_signed(void)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	if (!x || !name || !X509_set_version(x, 2) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)"crlparse CA",
					-1, -1, 0) ||
	    !X509_set_subject_name(x, name) || !X509_set_issuer_name(x, name) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 86400) ||
	    !X509_set_pubkey(x, key) || !X509_sign(x, key, EVP_sha256()))
		abort();
	X509_NAME_free(name);
	return x;
}

/* A CRL of sem_ca issued at @this_update, next update at @next_update:
 * cRLNumber @num (none if < 0), a delta on @base if @base >= 0, @serial
 * revoked for @reason (no entry if @serial < 0). */
static CERTD_CRL *sem_crl_until(long num, long base, long serial, int reason,
				time_t this_update, time_t next_update)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *last = ASN1_TIME_set(NULL, this_update);
	ASN1_TIME *next = ASN1_TIME_set(NULL, next_update);
	ASN1_INTEGER *i = ASN1_INTEGER_new();
	unsigned char *der = NULL;
	CERTD_CRL *out;
	int len;

	if (!crl || !last || !next || !i || !X509_CRL_set_version(crl, 1) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(sem_ca)) ||
	    !X509_CRL_set1_lastUpdate(crl, last) ||
	    !X509_CRL_set1_nextUpdate(crl, next))
		abort();
	if (serial >= 0) {
		if (!ASN1_INTEGER_set(i, serial))
			abort();
		add(crl, ASN1_STRING_get0_data(i), ASN1_STRING_length(i),
		    this_update, reason);
	}
	if ((num >= 0 &&
	     (!ASN1_INTEGER_set(i, num) ||
	      !X509_CRL_add1_ext_i2d(crl, NID_crl_number, i, 0, 0))) ||
	    (base >= 0 &&
	     (!ASN1_INTEGER_set(i, base) ||
	      !X509_CRL_add1_ext_i2d(crl, NID_delta_crl, i, 1, 0))) ||
	    !X509_CRL_sign(crl, key, EVP_sha256()) ||
	    (len = i2d_X509_CRL(crl, &der)) <= 0)
		abort();
	out = certd_crl_d2i(der, (size_t)len);
	if (!out)
		abort();
	OPENSSL_free(der);
	X509_CRL_free(crl);
	ASN1_TIME_free(last);
	ASN1_TIME_free(next);
	ASN1_INTEGER_free(i);
	return out;
}

static CERTD_CRL *sem_crl_at(long num, long base, long serial, int reason,
			     time_t this_update)
{
	return sem_crl_until(num, base, serial, reason, this_update,
			     time(NULL) + 86400);
}

static CERTD_CRL *sem_crl(long num, long base, long serial, int reason)
{
	return sem_crl_at(num, base, serial, reason, time(NULL) - 60);
}

/* crl_cache_put() of @crl (freed). */
static int sem_put(struct crl_cache *c, CERTD_CRL *crl)
{
	char err[160];
	int ret =
		crl_cache_put(c, crl, time(NULL), NULL, NULL, err, sizeof(err));

	CERTD_CRL_free(crl);
	return ret;
}

/* The status of @serial; the reason of the entry that revoked it in
 * *@reason (may be NULL; 0xff: none, -1: not revoked). */
static enum crl_status sem_lookup(const struct crl_cache *c, long serial,
				  int *reason)
{
	ASN1_INTEGER *i = ASN1_INTEGER_new();
	const struct crl_serial *hit = NULL;
	enum crl_status st;

	if (!i || !ASN1_INTEGER_set(i, serial))
		abort();
	st = crl_cache_lookup(c, X509_get_subject_name(sem_ca), i, time(NULL),
			      &hit, NULL);
	if (reason)
		*reason = st == CRL_REVOKED ? hit->reason : -1;
	ASN1_INTEGER_free(i);
	return st;
}

static enum crl_status sem_status(const struct crl_cache *c, long serial)
{
	return sem_lookup(c, serial, NULL);
}

/* A notification numbered @number announcing @serials (@n of them):
 * crl_cache_push_serials(), the number of serials newly revoked. */
static int sem_push(struct crl_cache *c, long number, const long *serials,
		    int n, size_t *n_newly)
{
	STACK_OF(ASN1_INTEGER) *sk = sk_ASN1_INTEGER_new_null();
	ASN1_INTEGER *num = ASN1_INTEGER_new(), *s;
	struct crl_serial *newly;
	int i, ret;

	if (!sk || !num || !ASN1_INTEGER_set(num, number))
		abort();
	for (i = 0; i < n; i++)
		if (!(s = ASN1_INTEGER_new()) ||
		    !ASN1_INTEGER_set(s, serials[i]) ||
		    !sk_ASN1_INTEGER_push(sk, s))
			abort();
	ret = crl_cache_push_serials(c, X509_get_subject_name(sem_ca), sk, num,
				     &newly, n_newly);
	free(newly);
	sk_ASN1_INTEGER_pop_free(sk, ASN1_INTEGER_free);
	ASN1_INTEGER_free(num);
	return ret;
}

static void sem_cache(struct crl_cache *c)
{
	if (crl_cache_init(c) || crl_cache_add_ca(c, sem_ca))
		abort();
}

/* RFC 5280 5.2.4: a delta CRL is used on top of a full CRL only if it is
 * newer (its own number above the full CRL's), as OpenSSL's
 * check_delta_base(); a stale delta put again must not undo a newer full
 * CRL's revocation with removeFromCRL. */
static void stale_delta(void)
{
	const long x = 0x4242;
	struct crl_list *full, *delta, *rel[2];
	struct crl_state st = { 0 };
	struct crl_cache c;
	CERTD_CRL *crl;

	sem_cache(&c);
	tap_ok(!sem_put(&c, sem_crl(10, -1, x, 6)), "full CRL 10: X on hold");
	tap_ok(!sem_put(&c, sem_crl(11, 10, x, 8)) &&
		       sem_status(&c, x) == CRL_GOOD,
	       "delta 11 on base 10: X removeFromCRL, good");
	tap_ok(!sem_put(&c, sem_crl(12, -1, x, 1)) &&
		       sem_status(&c, x) == CRL_REVOKED,
	       "full CRL 12: X keyCompromise, revoked");
	tap_ok(sem_put(&c, sem_crl(11, 10, x, 8)) == -EALREADY,
	       "the stale delta 11 put again: not newer than full CRL 12");
	tap_ok(sem_status(&c, x) == CRL_REVOKED,
	       "... X stays revoked (removeFromCRL of delta 11 not applied)");
	tap_ok(sem_put(&c, sem_crl(12, 10, x, 8)) == -EALREADY,
	       "a delta numbered as the full CRL: not used either");
	tap_ok(!sem_put(&c, sem_crl(13, 12, x, 8)) &&
		       sem_status(&c, x) == CRL_GOOD,
	       "delta 13 on base 12: used (X removeFromCRL, good)");
	crl_cache_free(&c);

	/* The lookup applies the same rule to whatever the cache holds. */
	sem_cache(&c);
	full = calloc(1, sizeof(*full));
	delta = calloc(1, sizeof(*delta));
	if (!full || !delta)
		abort();
	crl = sem_crl(12, -1, x, 1);
	if (crl_list_build(crl, full))
		abort();
	CERTD_CRL_free(crl);
	crl = sem_crl(11, 10, x, 8);
	if (crl_list_build(crl, delta))
		abort();
	CERTD_CRL_free(crl);
	st.full = full;
	st.delta = delta;
	if (crl_cache_publish(&c, X509_get_subject_name(sem_ca), 0, &st, rel))
		abort();
	tap_ok(sem_status(&c, x) == CRL_REVOKED,
	       "lookup: a cached delta 11 under full CRL 12 is not used");
	crl_cache_free(&c);
}

/* Pushed serials count as revoked until a full CRL at least as new as
 * the notification that pushed them; an older one leaves them. */
static void pushed_serials(void)
{
	const long y = 0x5151, z = 0x6161, w = 0x7171, v = 0x8181;
	const long three[] = { z, y, z }, ws[] = { w }, vs[] = { v };
	struct crl_cache c;
	struct crl_issuer *is;
	size_t n_newly;
	int reason, ret;

	sem_cache(&c);
	tap_ok(!sem_put(&c, sem_crl(10, -1, -1, 0)), "full CRL 10: empty");
	tap_ok(!sem_push(&c, 12, &y, 1, &n_newly) && n_newly == 1 &&
		       sem_status(&c, y) == CRL_REVOKED,
	       "notification 12 pushes Y: revoked");
	tap_ok(!sem_put(&c, sem_crl(11, -1, -1, 0)) &&
		       sem_status(&c, y) == CRL_REVOKED,
	       "full CRL 11 (older than notification 12): Y stays revoked");
	ret = sem_push(&c, 14, three, 3, &n_newly);
	tap_ok(!ret && n_newly == 1,
	       "notification 14 pushes Z, Y, Z: one newly revoked (%zu)",
	       n_newly);
	is = crl_cache_find(&c, X509_get_subject_name(sem_ca));
	tap_ok(is && is->npushed == 2 &&
		       serial_cmp(&is->pushed[0].s, &is->pushed[1].s) < 0,
	       "... two serials pushed, once each, sorted");
	tap_ok(!sem_put(&c, sem_crl(13, -1, -1, 0)) &&
		       sem_status(&c, y) == CRL_REVOKED &&
		       sem_status(&c, z) == CRL_REVOKED,
	       "full CRL 13: Y (pushed again by 14) and Z stay revoked");
	tap_ok(!sem_put(&c, sem_crl(14, -1, z, 1)) &&
		       sem_status(&c, y) == CRL_GOOD &&
		       sem_status(&c, z) == CRL_REVOKED && is->npushed == 0,
	       "full CRL 14: the pushed serials go, its own entries count");
	tap_ok(!sem_push(&c, 14, vs, 1, &n_newly) && n_newly == 0 &&
		       is->npushed == 0 && sem_status(&c, v) == CRL_GOOD,
	       "serials of a notification as old as the full CRL: not kept");
	tap_ok(!sem_put(&c, sem_crl(20, -1, w, 6)) &&
		       !sem_push(&c, 22, ws, 1, &n_newly) && n_newly == 0 &&
		       is->npushed == 1,
	       "W on hold in full CRL 20, pushed by notification 22: kept, "
	       "not new");
	ret = sem_lookup(&c, w, &reason) == CRL_REVOKED;
	tap_ok(ret && reason == 6,
	       "... the lookup answers with the CRL's entry (reason %d)",
	       reason);
	tap_ok(!sem_put(&c, sem_crl(21, -1, -1, 0)) &&
		       sem_lookup(&c, w, &reason) == CRL_REVOKED &&
		       reason == 0xff,
	       "full CRL 21 without W: W stays revoked (notification 22)");
	crl_cache_free(&c);
}

/* An answer's next update is the earlier of the full CRL's and the
 * delta's: the status turns "unknown" when either is stale. */
static void next_update_earlier(void)
{
	const time_t now = time(NULL);
	ASN1_INTEGER *i = ASN1_INTEGER_new();
	enum crl_status st;
	struct crl_cache c;
	time_t next = 0;

	sem_cache(&c);
	if (!i || !ASN1_INTEGER_set(i, 0x99))
		abort();
	tap_ok(!sem_put(&c,
			sem_crl_until(10, -1, -1, 0, now - 60, now + 1000)) &&
		       !sem_put(&c, sem_crl_until(11, 10, -1, 0, now - 30,
						  now + 5000)),
	       "a full CRL until now + 1000 s, its delta until now + 5000 s");
	st = crl_cache_lookup(&c, X509_get_subject_name(sem_ca), i, now, NULL,
			      &next);
	tap_ok(st == CRL_GOOD && next == now + 1000,
	       "good, next update the full CRL's (%+lld s), not the delta's",
	       (long long)(next - now));
	ASN1_INTEGER_free(i);
	crl_cache_free(&c);
}

/* CRLs without a cRLNumber (v1) are ordered by thisUpdate. */
static void no_crl_number(void)
{
	const long x = 0x4242;
	time_t now = time(NULL);
	struct crl_cache c;

	sem_cache(&c);
	tap_ok(!sem_put(&c, sem_crl_at(-1, -1, -1, 0, now - 600)),
	       "a full CRL without cRLNumber");
	tap_ok(!sem_put(&c, sem_crl_at(-1, -1, x, 1, now - 300)) &&
		       sem_status(&c, x) == CRL_REVOKED,
	       "a later one (thisUpdate) replaces it: X revoked");
	tap_ok(sem_put(&c, sem_crl_at(-1, -1, -1, 0, now - 600)) == -EALREADY &&
		       sem_status(&c, x) == CRL_REVOKED,
	       "an earlier one is not newer: X stays revoked");
	crl_cache_free(&c);
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
	sem_ca = self_signed();
	stale_delta();
	pushed_serials();
	no_crl_number();
	next_update_earlier();
	X509_free(sem_ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
	return tap_done();
}
