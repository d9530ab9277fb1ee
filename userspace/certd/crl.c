// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "crl.h"

/* CRLs dated further in the future than this are refused. */
#define CRL_MAX_SKEW 300

/*
 * RFC 5280's CertificateList as OpenSSL templates, like OpenSSL's own
 * X509_CRL but with revokedCertificates kept as its DER (the ASN1_SEQUENCE
 * type keeps a SEQUENCE encoded): d2i_X509_CRL makes an X509_REVOKED (with
 * its ASN1_INTEGER, ASN1_TIME and stack) per entry, 1,000,000 objects for
 * a large CRL, which the index copies and then frees again. Here
 * crl_list_build() decodes the entries one at a time into one reused
 * X509_REVOKED (d2i_X509_REVOKED). The TBS keeps its encoding (enc), so
 * the signature is checked over the bytes as received.
 */
typedef struct {
	ASN1_INTEGER *version;
	X509_ALGOR *sig_alg;
	X509_NAME *issuer;
	ASN1_TIME *last_update, *next_update;
	ASN1_STRING *revoked; /* SEQUENCE OF, encoded; NULL: none */
	STACK_OF(X509_EXTENSION) * exts;
	ASN1_ENCODING enc;
} CERTD_CRL_TBS;

struct certd_crl_st {
	CERTD_CRL_TBS *tbs;
	X509_ALGOR *sig_alg;
	ASN1_BIT_STRING *signature;
};

/* OpenSSL's template macros, laid out as OpenSSL does. */
/* clang-format off */
ASN1_SEQUENCE_enc(CERTD_CRL_TBS, enc, 0) = {
	ASN1_OPT(CERTD_CRL_TBS, version, ASN1_INTEGER),
	ASN1_SIMPLE(CERTD_CRL_TBS, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(CERTD_CRL_TBS, issuer, X509_NAME),
	ASN1_SIMPLE(CERTD_CRL_TBS, last_update, ASN1_TIME),
	ASN1_OPT(CERTD_CRL_TBS, next_update, ASN1_TIME),
	ASN1_OPT(CERTD_CRL_TBS, revoked, ASN1_SEQUENCE),
	ASN1_EXP_SEQUENCE_OF_OPT(CERTD_CRL_TBS, exts, X509_EXTENSION, 0)
} ASN1_SEQUENCE_END_enc(CERTD_CRL_TBS, CERTD_CRL_TBS)

ASN1_SEQUENCE(CERTD_CRL) = {
	ASN1_SIMPLE(CERTD_CRL, tbs, CERTD_CRL_TBS),
	ASN1_SIMPLE(CERTD_CRL, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(CERTD_CRL, signature, ASN1_BIT_STRING)
} ASN1_SEQUENCE_END(CERTD_CRL)

CERTD_CRL *CERTD_CRL_new(void)
{
	return (CERTD_CRL *)ASN1_item_new(ASN1_ITEM_rptr(CERTD_CRL));
}
/* clang-format on */

void CERTD_CRL_free(CERTD_CRL *crl)
{
	ASN1_item_free((ASN1_VALUE *)crl, ASN1_ITEM_rptr(CERTD_CRL));
}

CERTD_CRL *certd_crl_d2i(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	CERTD_CRL *crl;

	if (!len || len > LONG_MAX)
		return NULL;
	crl = (CERTD_CRL *)ASN1_item_d2i(NULL, &p, (long)len,
					 ASN1_ITEM_rptr(CERTD_CRL));
	if (crl && p != der + len) {
		CERTD_CRL_free(crl);
		crl = NULL;
	}
	ERR_clear_error();
	return crl;
}

CERTD_CRL *certd_crl_pem(BIO *bio)
{
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	CERTD_CRL *crl = NULL;
	bool is_crl = false;
	long len;

	/* The next "X509 CRL" block, as PEM_read_bio_X509_CRL() reads it:
	 * other blocks are skipped. */
	while (!is_crl && PEM_read_bio(bio, &name, &header, &data, &len)) {
		is_crl = !strcmp(name, PEM_STRING_X509_CRL);
		if (is_crl && len > 0)
			crl = certd_crl_d2i(data, (size_t)len);
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
	}
	ERR_clear_error();
	return crl;
}

const X509_NAME *certd_crl_issuer(const CERTD_CRL *crl)
{
	return crl->tbs->issuer;
}

void *certd_crl_ext_d2i(const CERTD_CRL *crl, int nid, int *crit)
{
	return X509V3_get_d2i(crl->tbs->exts, nid, crit, NULL);
}

bool certd_crl_is_delta(const CERTD_CRL *crl)
{
	return X509v3_get_ext_by_NID(crl->tbs->exts, NID_delta_crl, -1) >= 0;
}

int certd_crl_verify(const CERTD_CRL *crl, EVP_PKEY *key)
{
	/* The algorithm inside the signed part must be the one used. */
	if (X509_ALGOR_cmp(crl->sig_alg, crl->tbs->sig_alg))
		return 0;
	return ASN1_item_verify(ASN1_ITEM_rptr(CERTD_CRL_TBS), crl->sig_alg,
				crl->signature, crl->tbs, key);
}

int crl_serial_key(const ASN1_INTEGER *i, struct crl_serial *key)
{
	const unsigned char *p = ASN1_STRING_get0_data(i);
	int len = ASN1_STRING_length(i);

	memset(key, 0, sizeof(*key));
	while (len > 0 && !*p) {
		p++;
		len--;
	}
	if (len > CRL_SERIAL_MAX)
		return -1;
	key->len = (uint8_t)len;
	key->neg = ASN1_STRING_type(i) == V_ASN1_NEG_INTEGER;
	memcpy(key->b, p, len);
	return 0;
}

void crl_serial_hex(const struct crl_serial *s, char *buf)
{
	unsigned int i;

	if (s->neg)
		*buf++ = '-';
	if (!s->len)
		*buf++ = '0';
	for (i = 0; i < s->len; i++)
		buf += sprintf(buf, "%02X", s->b[i]);
	*buf = '\0';
}

static int serial_cmp(const void *a, const void *b)
{
	const struct crl_serial *x = a, *y = b;

	if (x->neg != y->neg)
		return x->neg ? -1 : 1;
	if (x->len != y->len)
		return (x->len < y->len ? -1 : 1) * (x->neg ? -1 : 1);
	return memcmp(x->b, y->b, x->len) * (x->neg ? -1 : 1);
}

/* FNV-1a over sign, length and magnitude. */
static uint64_t serial_hash(const struct crl_serial *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	unsigned int i;

	h = (h ^ s->neg) * 0x100000001b3ULL;
	h = (h ^ s->len) * 0x100000001b3ULL;
	for (i = 0; i < s->len; i++)
		h = (h ^ s->b[i]) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

static bool serial_eq(const struct crl_serial *a, const struct crl_serial *b)
{
	return a->len == b->len && a->neg == b->neg &&
	       !memcmp(a->b, b->b, a->len);
}

const struct crl_serial *crl_list_find(const struct crl_list *l,
				       const struct crl_serial *key)
{
	size_t i;
	uint32_t v;

	if (!l || !l->n)
		return NULL;
	if (!l->slots)
		return bsearch(key, l->serials, l->n, sizeof(*key), serial_cmp);
	for (i = serial_hash(key) & l->mask; (v = l->slots[i]);
	     i = (i + 1) & l->mask)
		if (serial_eq(&l->serials[v - 1], key))
			return &l->serials[v - 1];
	return NULL;
}

/* The hash index; without one (no memory, > 2^31 entries) lookups fall
 * back to binary search. */
static void build_slots(struct crl_list *l)
{
	size_t size = 16, i, j;

	if (l->n >= (1u << 31))
		return;
	while (size < 2 * l->n)
		size <<= 1;
	l->slots = calloc(size, sizeof(*l->slots));
	if (!l->slots)
		return;
	l->mask = size - 1;
	for (i = 0; i < l->n; i++) {
		for (j = serial_hash(&l->serials[i]) & l->mask; l->slots[j];
		     j = (j + 1) & l->mask)
			;
		l->slots[j] = (uint32_t)i + 1;
	}
}

/*
 * Unix time of @t (0 if absent or bad). OpenSSL parses; the UTC broken-down
 * time becomes seconds by the days-from-civil formula (H. Hinnant) rather
 * than glibc's timegm() (about 60 ns a call against 7: 0.05 s of indexing
 * a 1,000,000-entry CRL). Checked against timegm() by certd_crlparse.
 */
static time_t asn1_time(const ASN1_TIME *t)
{
	struct tm tm;
	int64_t y, m, era, yoe, doy, doe;

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return 0;
	y = (int64_t)tm.tm_year + 1900;
	m = tm.tm_mon + 1;
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + tm.tm_mday - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (time_t)((era * 146097 + doe - 719468) * 86400 +
			tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
}

void crl_list_free(struct crl_list *l)
{
	if (!l)
		return;
	ASN1_INTEGER_free(l->number);
	ASN1_INTEGER_free(l->base);
	free(l->serials);
	free(l->slots);
	memset(l, 0, sizeof(*l));
}

/*
 * RFC 5280 5.2 and 5.3: a CRL must not be used when it carries a critical
 * extension, or an entry a critical entry extension, that the application
 * does not process. certd processes cRLNumber and deltaCRLIndicator, and
 * for entries reasonCode (and invalidityDate, informational).
 *
 * issuingDistributionPoint and certificateIssuer are refused whatever
 * their criticality: both change what the entries mean. A scoped
 * (partitioned) CRL used as its issuer's whole list would answer "good"
 * for certificates revoked outside its scope, and an indirect CRL's
 * entries after a certificateIssuer belong to another CA. An
 * issuingDistributionPoint that narrows nothing is harmless and accepted.
 */
static const char *crl_ext_refused(const STACK_OF(X509_EXTENSION) * exts)
{
	ISSUING_DIST_POINT *idp;
	bool scoped;
	int i, crit;

	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);

		switch (OBJ_obj2nid(X509_EXTENSION_get_object(e))) {
		case NID_crl_number:
		case NID_delta_crl:
		case NID_issuing_distribution_point:
			break;
		default:
			if (X509_EXTENSION_get_critical(e))
				return "an unsupported critical extension";
		}
	}
	idp = X509V3_get_d2i(exts, NID_issuing_distribution_point, &crit, NULL);
	if (!idp)
		return crit == -1 ? NULL :
				    "a malformed issuingDistributionPoint";
	scoped = idp->distpoint || idp->onlyuser || idp->onlyCA ||
		 idp->onlysomereasons || idp->indirectCRL || idp->onlyattr;
	ISSUING_DIST_POINT_free(idp);
	return scoped ? "a scoped issuingDistributionPoint (partitioned or "
			"indirect CRLs are not supported)" :
			NULL;
}

/* Whether certd may use an entry with these extensions (see above). */
static bool entry_exts_ok(const STACK_OF(X509_EXTENSION) * exts)
{
	int i;

	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
		/* Cheap: a parsed OID known to OpenSSL carries its NID. */
		int nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));

		if (nid == NID_certificate_issuer)
			return false;
		if (X509_EXTENSION_get_critical(e) && nid != NID_crl_reason &&
		    nid != NID_invalidity_date)
			return false;
	}
	return true;
}

/*
 * The entries of @seq (revokedCertificates, encoded) into @out->serials:
 * the SEQUENCE OF's header with ASN1_get_object(), then one entry at a
 * time with d2i_X509_REVOKED() into the same object (OpenSSL reuses its
 * fields), copied into a key. No allocation per entry; sorted only if
 * the CRL is not (CAs write them sorted: openssl ca, X509_CRL_sort()).
 */
static int index_entries(const ASN1_STRING *seq, struct crl_list *out)
{
	const unsigned char *p = ASN1_STRING_get0_data(seq), *end;
	X509_REVOKED *r = NULL;
	struct crl_serial *v;
	size_t n = 0, cap;
	bool sorted = true;
	int tag, cls, crit, ret = -1;
	long len;

	if (ASN1_get_object(&p, &len, &tag, &cls, ASN1_STRING_length(seq)) !=
		    V_ASN1_CONSTRUCTED ||
	    tag != V_ASN1_SEQUENCE || cls != V_ASN1_UNIVERSAL ||
	    p + len != ASN1_STRING_get0_data(seq) + ASN1_STRING_length(seq))
		return -1;
	end = p + len;
	/* A well-formed entry takes at least 20 octets (SEQUENCE, INTEGER,
	 * UTCTime): room for all at once, the excess returned below. */
	cap = (size_t)len / 20 + 1;
	out->serials = malloc(cap * sizeof(*out->serials));
	if (!out->serials)
		return -1;
	while (p < end) {
		struct crl_serial *s;
		ASN1_ENUMERATED *reason;

		/* Shorter entries: odd, but no reason to fail. */
		if (n == cap) {
			v = realloc(out->serials, 2 * cap * sizeof(*v));
			if (!v)
				goto bad;
			out->serials = v;
			cap *= 2;
		}
		s = &out->serials[n];
		if (!d2i_X509_REVOKED(&r, &p, end - p) ||
		    crl_serial_key(X509_REVOKED_get0_serialNumber(r), s))
			goto bad;
		if (!entry_exts_ok(X509_REVOKED_get0_extensions(r))) {
			ret = -EOPNOTSUPP;
			goto bad;
		}
		s->date = asn1_time(X509_REVOKED_get0_revocationDate(r));
		reason = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit,
						  NULL);
		s->reason = reason ? (uint8_t)ASN1_ENUMERATED_get(reason) :
				     0xff;
		ASN1_ENUMERATED_free(reason);
		if (n && sorted && serial_cmp(s - 1, s) > 0)
			sorted = false;
		n++;
	}
	X509_REVOKED_free(r);
	if (!n) {
		free(out->serials);
		out->serials = NULL;
		return 0;
	}
	v = realloc(out->serials, n * sizeof(*v));
	if (v)
		out->serials = v;
	if (!sorted)
		qsort(out->serials, n, sizeof(*out->serials), serial_cmp);
	out->n = n;
	return 0;
bad:
	X509_REVOKED_free(r);
	return ret;
}

int crl_list_build(const CERTD_CRL *crl, struct crl_list *out)
{
	const CERTD_CRL_TBS *tbs = crl->tbs;
	int crit, ret = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (crl_ext_refused(tbs->exts)) {
		ERR_clear_error();
		return -EOPNOTSUPP;
	}
	out->number = X509V3_get_d2i(tbs->exts, NID_crl_number, &crit, NULL);
	if (!out->number && crit != -1)
		return -EINVAL;
	out->has_number = out->number != NULL;
	if (!out->number)
		out->number = ASN1_INTEGER_new();
	out->base = X509V3_get_d2i(tbs->exts, NID_delta_crl, &crit, NULL);
	if (!out->base && crit != -1)
		goto bad;
	out->this_update = asn1_time(tbs->last_update);
	out->next_update = asn1_time(tbs->next_update);
	if (!out->number || !out->this_update)
		goto bad;
	if (tbs->revoked) {
		ret = index_entries(tbs->revoked, out);
		if (ret)
			goto bad;
	}
	if (out->n)
		build_slots(out);
	ERR_clear_error();
	return 0;
bad:
	crl_list_free(out);
	ERR_clear_error();
	return ret == -EOPNOTSUPP ? ret : -EINVAL;
}

int crl_cache_init(struct crl_cache *c)
{
	memset(c, 0, sizeof(*c));
	c->stale_unknown = true;
	c->cas = sk_X509_new_null();
	return c->cas ? 0 : -ENOMEM;
}

static void issuer_free(struct crl_issuer *is)
{
	X509_NAME_free(is->name);
	crl_list_free(is->full);
	crl_list_free(is->delta);
	free(is->full);
	free(is->delta);
	free(is->pushed);
	free(is);
}

void crl_cache_free(struct crl_cache *c)
{
	size_t i;

	for (i = 0; i < c->n_issuers; i++)
		issuer_free(c->issuers[i]);
	free(c->issuers);
	sk_X509_pop_free(c->cas, X509_free);
	memset(c, 0, sizeof(*c));
}

int crl_cache_add_ca(struct crl_cache *c, X509 *ca)
{
	int i;

	for (i = 0; i < sk_X509_num(c->cas); i++)
		if (!X509_cmp(sk_X509_value(c->cas, i), ca))
			return 0;
	if (!sk_X509_push(c->cas, ca))
		return -ENOMEM;
	X509_up_ref(ca);
	return 0;
}

struct crl_issuer *crl_cache_find(const struct crl_cache *c,
				  const X509_NAME *issuer)
{
	size_t i;

	for (i = 0; i < c->n_issuers; i++)
		if (!X509_NAME_cmp(c->issuers[i]->name, issuer))
			return c->issuers[i];
	return NULL;
}

static struct crl_issuer *issuer_get(struct crl_cache *c, const X509_NAME *name)
{
	struct crl_issuer *is = crl_cache_find(c, name), **v;

	if (is)
		return is;
	v = realloc(c->issuers, (c->n_issuers + 1) * sizeof(*v));
	if (!v)
		return NULL;
	c->issuers = v;
	is = calloc(1, sizeof(*is));
	if (!is || !(is->name = X509_NAME_dup(name))) {
		free(is);
		return NULL;
	}
	c->issuers[c->n_issuers++] = is;
	return is;
}

void crl_list_release(struct crl_list *l)
{
	crl_list_free(l);
	free(l);
}

void crl_keys_free(EVP_PKEY **keys, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		EVP_PKEY_free(keys[i]);
	free(keys);
}

int crl_cache_signing_keys(const struct crl_cache *c, const X509_NAME *issuer,
			   EVP_PKEY ***keys, size_t *n)
{
	EVP_PKEY **v;
	int i;

	*keys = NULL;
	*n = 0;
	for (i = 0; i < sk_X509_num(c->cas); i++) {
		X509 *ca = sk_X509_value(c->cas, i);
		EVP_PKEY *key, *dup;

		if (X509_NAME_cmp(X509_get_subject_name(ca), issuer))
			continue;
		if ((X509_get_extension_flags(ca) & EXFLAG_KUSAGE) &&
		    !(X509_get_key_usage(ca) & KU_CRL_SIGN))
			continue;
		key = X509_get0_pubkey(ca);
		/* A copy: the loader thread uses it alone. */
		dup = key ? EVP_PKEY_dup(key) : NULL;
		if (!dup)
			continue;
		v = realloc(*keys, (*n + 1) * sizeof(*v));
		if (!v) {
			EVP_PKEY_free(dup);
			crl_keys_free(*keys, *n);
			*keys = NULL;
			*n = 0;
			ERR_clear_error();
			return -ENOMEM;
		}
		*keys = v;
		(*keys)[(*n)++] = dup;
	}
	ERR_clear_error();
	return 0;
}

int crl_prepare(const CERTD_CRL *crl, EVP_PKEY *const *keys, size_t nkeys,
		time_t now, struct crl_list **out, char *err, size_t errlen)
{
	struct crl_list *l;
	bool signed_ok = false;
	size_t i;
	int ret;

	*out = NULL;
	for (i = 0; i < nkeys && !signed_ok; i++)
		signed_ok = certd_crl_verify(crl, keys[i]) == 1;
	ERR_clear_error();
	if (!signed_ok) {
		snprintf(err, errlen,
			 "CRL not signed by a known CA of its issuer");
		return -EINVAL;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	ret = crl_list_build(crl, l);
	if (ret == -EOPNOTSUPP) {
		const char *why = crl_ext_refused(crl->tbs->exts);

		snprintf(err, errlen, "CRL not used (RFC 5280 5.2): it has %s",
			 why ? why :
			       "an entry extension certd does not process "
			       "(critical, or certificateIssuer)");
		ERR_clear_error();
		free(l);
		return ret;
	}
	if (ret) {
		snprintf(err, errlen, "malformed CRL");
		free(l);
		return -EINVAL;
	}
	if (l->this_update > now + CRL_MAX_SKEW) {
		snprintf(err, errlen, "CRL issued in the future");
		crl_list_release(l);
		return -EINVAL;
	}
	*out = l;
	return 0;
}

/* Is @l newer than @old? By cRLNumber; by thisUpdate if either has none
 * (v1 CRLs: else the first would stay forever). */
static bool list_newer(const struct crl_list *l, const struct crl_list *old)
{
	if (l->has_number && old->has_number)
		return ASN1_INTEGER_cmp(l->number, old->number) > 0;
	return l->this_update > old->this_update;
}

/*
 * RFC 5280 5.2.4 (and OpenSSL's check_delta_base()): a delta CRL is used
 * on top of a full CRL numbered at least its base (checked when it is
 * put) and below its own number. A delta no newer than the full CRL is
 * stale: the full CRL holds all it said, and more recent news (a
 * removeFromCRL of the delta must not undo a later revocation).
 */
static const struct crl_list *delta_in_use(const struct crl_list *full,
					   const struct crl_list *delta)
{
	if (!full || !delta || !full->has_number ||
	    ASN1_INTEGER_cmp(delta->number, full->number) <= 0)
		return NULL;
	return delta;
}

const struct crl_list *crl_issuer_delta(const struct crl_issuer *is)
{
	return delta_in_use(is->full, is->delta);
}

/*
 * The answer's next update: the earlier of the full CRL's and the delta
 * in use's (0: none given), as the answer turns "unknown" when either
 * goes stale.
 */
static time_t next_of(const struct crl_list *full, const struct crl_list *delta)
{
	time_t f = full->next_update, d = delta ? delta->next_update : 0;

	if (!f || (d && d < f))
		return d;
	return f;
}

/* The pushed entry of @key in @p (sorted, @n), or NULL. Its first member
 * is the serial: serial_cmp() compares entries as serials. */
static struct crl_pushed *pushed_find(const struct crl_pushed *p, size_t n,
				      const struct crl_serial *key)
{
	return n ? bsearch(key, p, n, sizeof(*p), serial_cmp) : NULL;
}

/* Revoked by @st's CRLs (delta in use, then full)? */
static bool revoked_by_crls(const struct crl_state *st,
			    const struct crl_serial *key)
{
	const struct crl_serial *d =
		crl_list_find(delta_in_use(st->full, st->delta), key);

	if (d)
		return d->reason != 8; /* removeFromCRL */
	return crl_list_find(st->full, key);
}

static bool is_revoked_in(const struct crl_state *st,
			  const struct crl_serial *key)
{
	return pushed_find(st->pushed, st->npushed, key) ||
	       revoked_by_crls(st, key);
}

/* The entries of @l not revoked by @st before: the new revocations. */
static int diff_new(const struct crl_state *st, const struct crl_list *l,
		    struct crl_serial **newly, size_t *n_newly)
{
	size_t i, n = 0;

	*newly = NULL;
	*n_newly = 0;
	if (!l->n)
		return 0;
	*newly = malloc(l->n * sizeof(**newly));
	if (!*newly)
		return -ENOMEM;
	for (i = 0; i < l->n; i++)
		if (l->serials[i].reason != 8 &&
		    !is_revoked_in(st, &l->serials[i]))
			(*newly)[n++] = l->serials[i];
	*n_newly = n;
	return 0;
}

/* Drop the pushed serials of notifications numbered up to @full's
 * number: that CRL has them (or says they are not revoked). A full CRL
 * without a number (v1) says nothing about them: they stay. */
static void pushed_drop(struct crl_state *st, const struct crl_list *full)
{
	struct crl_serial num;
	size_t i, k = 0;

	if (!full->has_number)
		return;
	if (crl_serial_key(full->number, &num)) {
		/* Longer than any number a pushed serial can carry: above
		 * them all, or below. */
		if (ASN1_STRING_type(full->number) == V_ASN1_NEG_INTEGER)
			return;
	} else {
		for (i = 0; i < st->npushed; i++)
			if (serial_cmp(&st->pushed[i].number, &num) > 0)
				st->pushed[k++] = st->pushed[i];
	}
	st->npushed = k;
	if (!k) {
		free(st->pushed);
		st->pushed = NULL;
	}
}

int crl_state_put(struct crl_state *st, struct crl_list *l,
		  struct crl_serial **newly, size_t *n_newly,
		  struct crl_list *gone[2], char *err, size_t errlen)
{
	struct crl_list **slot = l->base ? &st->delta : &st->full;

	gone[0] = gone[1] = NULL;
	if (newly) {
		*newly = NULL;
		*n_newly = 0;
	}
	if (*slot && !list_newer(l, *slot))
		return -EALREADY;
	if (l->base && (!st->full || !st->full->has_number ||
			ASN1_INTEGER_cmp(l->base, st->full->number) > 0)) {
		snprintf(err, errlen, "delta CRL without its base CRL");
		return -EINVAL;
	}
	/* Stale: the full CRL in force is as new (delta_in_use()). */
	if (l->base && !delta_in_use(st->full, l))
		return -EALREADY;
	if (newly && diff_new(st, l, newly, n_newly))
		return -ENOMEM;
	gone[0] = *slot;
	clock_gettime(CLOCK_REALTIME, &l->loaded);
	*slot = l;
	/* A newer full CRL supersedes the deltas it is as new as, and the
	 * serials pushed by notifications up to its number. */
	if (!l->base) {
		if (st->delta && !delta_in_use(l, st->delta)) {
			gone[1] = st->delta;
			st->delta = NULL;
		}
		pushed_drop(st, l);
	}
	return 0;
}

int crl_state_push_serials(struct crl_state *st,
			   const STACK_OF(ASN1_INTEGER) * serials,
			   const ASN1_INTEGER *number, time_t now,
			   struct crl_serial **newly, size_t *n_newly)
{
	size_t i, n = (size_t)sk_ASN1_INTEGER_num(serials), m = 0, k = 0;
	size_t old = st->npushed;
	struct crl_serial *add, num;
	struct crl_pushed *v, *p;

	*newly = NULL;
	*n_newly = 0;
	if (!n)
		return 0;
	if (crl_serial_key(number, &num))
		return -EINVAL;
	/* A full CRL as new as the notification is in force (it came in the
	 * same notification, or after): it has the serials, or says they
	 * are not revoked. */
	if (st->full && st->full->has_number &&
	    ASN1_INTEGER_cmp(st->full->number, number) >= 0)
		return 0;
	/* The notification's serials, sorted, each once. */
	add = malloc(n * sizeof(*add));
	if (!add)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (crl_serial_key(sk_ASN1_INTEGER_value(serials, (int)i),
				   &add[m]))
			continue;
		add[m].reason = 0xff;
		add[m].date = now;
		m++;
	}
	qsort(add, m, sizeof(*add), serial_cmp);
	for (i = 0; i < m; i++)
		if (!k || serial_cmp(&add[k - 1], &add[i]))
			add[k++] = add[i];
	m = k;
	k = 0;
	v = m ? realloc(st->pushed, (old + m) * sizeof(*v)) : NULL;
	if (!v) {
		free(add);
		return m ? -ENOMEM : 0;
	}
	st->pushed = v;
	for (i = 0; i < m; i++) {
		/* Pushed before (the first @old entries, sorted): revoked
		 * already, now until a full CRL as new as this notification. */
		p = pushed_find(v, old, &add[i]);
		if (p) {
			if (serial_cmp(&p->number, &num) < 0)
				p->number = num;
			continue;
		}
		/* Kept even if a CRL revokes it now: that CRL is older than
		 * this notification and may be replaced by one as old. */
		if (!revoked_by_crls(st, &add[i]))
			add[k++] = add[i];
		v[st->npushed].s = add[i];
		v[st->npushed].number = num;
		st->npushed++;
	}
	qsort(v, st->npushed, sizeof(*v), serial_cmp);
	if (!k) {
		free(add);
		add = NULL;
	}
	*newly = add;
	*n_newly = k;
	return 0;
}

int crl_cache_snapshot(const struct crl_cache *c, const X509_NAME *issuer,
		       struct crl_state *st, uint64_t *version)
{
	const struct crl_issuer *is = crl_cache_find(c, issuer);

	memset(st, 0, sizeof(*st));
	*version = is ? is->version : 0;
	if (!is)
		return 0;
	st->full = is->full;
	st->delta = is->delta;
	if (is->npushed) {
		st->pushed = malloc(is->npushed * sizeof(*st->pushed));
		if (!st->pushed)
			return -ENOMEM;
		memcpy(st->pushed, is->pushed,
		       is->npushed * sizeof(*st->pushed));
		st->npushed = is->npushed;
	}
	return 0;
}

int crl_cache_publish(struct crl_cache *c, const X509_NAME *issuer,
		      uint64_t version, struct crl_state *st,
		      struct crl_list *release[2])
{
	struct crl_issuer *is = crl_cache_find(c, issuer);

	release[0] = release[1] = NULL;
	if ((is ? is->version : 0) != version)
		return -ESTALE;
	if (!is && !(is = issuer_get(c, issuer)))
		return -ENOMEM;
	if (is->full != st->full && is->full != st->delta)
		release[0] = is->full;
	if (is->delta != st->full && is->delta != st->delta)
		release[1] = is->delta;
	free(is->pushed);
	is->full = st->full;
	is->delta = st->delta;
	is->pushed = st->pushed;
	is->npushed = st->npushed;
	memset(st, 0, sizeof(*st));
	is->version++;
	c->generation++;
	return 0;
}

void crl_state_free(struct crl_state *st)
{
	free(st->pushed);
	memset(st, 0, sizeof(*st));
}

/* Synchronous: the loader's steps one after the other on this thread. */
int crl_cache_put(struct crl_cache *c, const CERTD_CRL *crl, time_t now,
		  struct crl_serial **newly, size_t *n_newly, char *err,
		  size_t errlen)
{
	const X509_NAME *issuer = certd_crl_issuer(crl);
	struct crl_list *l, *gone[2], *rel[2];
	struct crl_state st;
	uint64_t version;
	EVP_PKEY **keys;
	size_t nkeys;
	int ret, i;

	if (newly) {
		*newly = NULL;
		*n_newly = 0;
	}
	if (crl_cache_signing_keys(c, issuer, &keys, &nkeys))
		return -ENOMEM;
	ret = crl_prepare(crl, keys, nkeys, now, &l, err, errlen);
	crl_keys_free(keys, nkeys);
	if (ret)
		return ret;
	if (crl_cache_snapshot(c, issuer, &st, &version)) {
		crl_list_release(l);
		return -ENOMEM;
	}
	ret = crl_state_put(&st, l, newly, n_newly, gone, err, errlen);
	if (ret) {
		crl_list_release(l);
		crl_state_free(&st);
		return ret;
	}
	ret = crl_cache_publish(c, issuer, version, &st, rel);
	if (ret) {
		/* Only l is ours: the gone lists are still the cache's. */
		crl_list_release(l);
		crl_state_free(&st);
		if (newly) {
			free(*newly);
			*newly = NULL;
			*n_newly = 0;
		}
		return ret;
	}
	for (i = 0; i < 2; i++)
		crl_list_release(rel[i]);
	return 0;
}

int crl_cache_push_serials(struct crl_cache *c, const X509_NAME *issuer,
			   const STACK_OF(ASN1_INTEGER) * serials,
			   const ASN1_INTEGER *number,
			   struct crl_serial **newly, size_t *n_newly)
{
	struct crl_list *rel[2];
	struct crl_state st;
	uint64_t version;
	int ret;

	*newly = NULL;
	*n_newly = 0;
	if (!sk_ASN1_INTEGER_num(serials))
		return issuer_get(c, issuer) ? 0 : -ENOMEM;
	if (crl_cache_snapshot(c, issuer, &st, &version))
		return -ENOMEM;
	ret = crl_state_push_serials(&st, serials, number, time(NULL), newly,
				     n_newly);
	if (!ret)
		ret = crl_cache_publish(c, issuer, version, &st, rel);
	if (ret) {
		crl_state_free(&st);
		free(*newly);
		*newly = NULL;
		*n_newly = 0;
	}
	return ret;
}

static bool list_stale(const struct crl_cache *c, const struct crl_list *l,
		       time_t now)
{
	return c->stale_unknown && l->next_update && l->next_update < now;
}

enum crl_status crl_cache_lookup(const struct crl_cache *c,
				 const X509_NAME *issuer,
				 const ASN1_INTEGER *serial, time_t now,
				 const struct crl_serial **hit, time_t *next)
{
	const struct crl_issuer *is = crl_cache_find(c, issuer);
	const struct crl_list *delta;
	const struct crl_pushed *p;
	const struct crl_serial *s;
	struct crl_serial key;

	if (next)
		*next = 0;
	if (!is || crl_serial_key(serial, &key))
		return CRL_UNKNOWN;
	/* Serials pushed ahead of their CRL count even without one; the
	 * CRLs' own entry (reason, date) is the answer if they have one. */
	p = pushed_find(is->pushed, is->npushed, &key);
	delta = crl_issuer_delta(is);
	if (!is->full || list_stale(c, is->full, now) ||
	    (delta && list_stale(c, delta, now))) {
		if (!p)
			return CRL_UNKNOWN;
		s = &p->s;
		goto revoked;
	}
	s = crl_list_find(delta, &key);
	if (!s)
		s = crl_list_find(is->full, &key);
	else if (s->reason == 8) /* removeFromCRL */
		s = NULL;
	if (!s && p)
		s = &p->s; /* a notification's only: no next update */
	else if (next)
		*next = next_of(is->full, delta);
	if (!s)
		return CRL_GOOD;
revoked:
	if (hit)
		*hit = s;
	return CRL_REVOKED;
}
