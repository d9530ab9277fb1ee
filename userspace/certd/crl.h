/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The CRL cache: per issuer the newest full CRL and delta CRL, each
 * signature-checked against a known CA certificate before use and indexed
 * as a sorted array of serials with a hash index over it (O(1) lookups;
 * the sorted order serves diffs), plus
 * serials a signed notification announced ahead of the CRL itself.
 */
#ifndef CERTD_CRL_H
#define CERTD_CRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/asn1t.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* RFC 5280 allows 20 octets; a few more are tolerated. */
#define CRL_SERIAL_MAX 24

struct crl_serial {
	uint8_t len, neg, reason; /* reason: CRL_REASON_* (-1 → 0xff) */
	uint8_t b[CRL_SERIAL_MAX]; /* big-endian magnitude, no leading 0 */
	int64_t date; /* revocation date, unix time */
};

/*
 * A CRL as certd parses it (crl.c): OpenSSL's ASN.1 templates for RFC
 * 5280's CertificateList, the revoked entries left encoded until
 * crl_list_build() indexes them (no object per entry).
 */
typedef struct certd_crl_st CERTD_CRL;
DECLARE_ASN1_ITEM(CERTD_CRL)
DEFINE_STACK_OF(CERTD_CRL)

CERTD_CRL *CERTD_CRL_new(void);
void CERTD_CRL_free(CERTD_CRL *crl); /* NULL is a no-op */

/* DER (exactly @len octets), NULL if malformed. */
CERTD_CRL *certd_crl_d2i(const unsigned char *der, size_t len);
/* The next PEM "X509 CRL" of @bio, NULL at the end or if malformed. */
CERTD_CRL *certd_crl_pem(BIO *bio);
const X509_NAME *certd_crl_issuer(const CERTD_CRL *crl);
/* X509_CRL_get_ext_d2i() */
void *certd_crl_ext_d2i(const CERTD_CRL *crl, int nid, int *crit);
bool certd_crl_is_delta(const CERTD_CRL *crl);
/* X509_CRL_verify(): 1 if @key signed it. */
int certd_crl_verify(const CERTD_CRL *crl, EVP_PKEY *key);

struct crl_list {
	ASN1_INTEGER *number; /* cRLNumber (0 if absent) */
	bool has_number; /* without one, CRLs are ordered by this_update */
	ASN1_INTEGER *base; /* delta CRLs: the base CRL number */
	time_t this_update, next_update; /* next_update 0: none */
	struct crl_serial *serials; /* sorted */
	size_t n;
	/* Open addressing over @serials: index + 1, 0 empty; mask + 1 slots
	 * (a power of two, at least 2n). O(1) lookups. */
	uint32_t *slots;
	size_t mask;
	struct timespec loaded; /* CLOCK_REALTIME it entered the cache */
};

/*
 * A serial a notification announced as revoked ahead of its CRL: revoked
 * until a full CRL numbered at least @number (the notification's) is in
 * force. A lookup's hit points at @s.
 */
struct crl_pushed {
	struct crl_serial s;
	struct crl_serial number; /* the notification's CRL number, as a key */
};

/*
 * Threads: the cache (issuers, their lists, cas) is the event loop's; it
 * alone reads and changes it. A published crl_list is immutable, so the
 * CRL loader thread (loader.h) may read the lists of a snapshot
 * (crl_cache_snapshot) while the loop goes on using them; they are
 * replaced only by crl_cache_publish() on the loop, and freed after that
 * by the loader (CRL loads are serialized: notify.c), never while a load
 * that borrowed them runs.
 */
struct crl_issuer {
	X509_NAME *name;
	struct crl_list *full, *delta;
	struct crl_pushed *pushed; /* from notifications, sorted by serial */
	size_t npushed;
	uint64_t version; /* bumped by every publish */
};

/* An issuer's state as a value, for a load to work on off the loop. */
struct crl_state {
	struct crl_list *full, *delta;
	struct crl_pushed *pushed; /* sorted by serial, owned */
	size_t npushed;
};

struct crl_cache {
	struct crl_issuer **issuers;
	size_t n_issuers;
	STACK_OF(X509) * cas; /* certificates that may sign CRLs */
	uint64_t generation; /* bumped on every change */
	bool stale_unknown; /* nextUpdate passed → unknown (else used) */
};

enum crl_status {
	CRL_GOOD,
	CRL_REVOKED,
	CRL_UNKNOWN, /* no CRL for the issuer, or a stale one */
};

int crl_cache_init(struct crl_cache *c);
void crl_cache_free(struct crl_cache *c);

/* Trust @ca (a reference is taken) to sign CRLs of its subject. */
int crl_cache_add_ca(struct crl_cache *c, X509 *ca);

/*
 * Verify @crl (full or delta) and, if newer than the cached one, index it
 * and use it. Newer: a higher cRLNumber (a later thisUpdate if either
 * has none); a delta CRL also needs a full CRL numbered at least its
 * base and below its own number (RFC 5280 5.2.4), else -EALREADY (older
 * than the full CRL) or -EINVAL (no base). A full CRL drops the delta
 * CRLs it is as new as, and the pushed serials of notifications numbered
 * up to its own number. *@newly (may be NULL) receives the
 * serials revoked now and not before (malloc'ed, *@n_newly of them).
 * 0, -EALREADY (not newer), -EINVAL with @err (bad signature, unknown
 * issuer, malformed), -ENOMEM.
 */
int crl_cache_put(struct crl_cache *c, const CERTD_CRL *crl, time_t now,
		  struct crl_serial **newly, size_t *n_newly, char *err,
		  size_t errlen);

/*
 * A load in steps, for the loader thread (loader.h):
 *  - loop: crl_cache_signing_keys() and crl_cache_snapshot() of the issuer;
 *  - loader: crl_prepare() (signature, index) and crl_state_put() /
 *    crl_state_push_serials() on the snapshot (the diff);
 *  - loop: crl_cache_publish() (a pointer swap), then the lists it
 *    returns are freed by the loader (crl_list_release()).
 */
/* Copies (EVP_PKEY_dup) of the keys that may sign CRLs of @issuer. */
int crl_cache_signing_keys(const struct crl_cache *c, const X509_NAME *issuer,
			   EVP_PKEY ***keys, size_t *n);
void crl_keys_free(EVP_PKEY **keys, size_t n);
/* Signature check with one of @keys, index, date: -EINVAL or
 * -EOPNOTSUPP (see crl_list_build()) with @err. */
int crl_prepare(const CERTD_CRL *crl, EVP_PKEY *const *keys, size_t nkeys,
		time_t now, struct crl_list **out, char *err, size_t errlen);
/* @issuer's state now: lists borrowed, pushed serials copied. */
int crl_cache_snapshot(const struct crl_cache *c, const X509_NAME *issuer,
		       struct crl_state *st, uint64_t *version);
/*
 * crl_cache_put()'s rules on @st: 0 (@l is @st's now; @gone[0..1] the
 * lists it replaced, or NULL), -EALREADY, -EINVAL with @err, -ENOMEM (@l
 * still the caller's).
 */
int crl_state_put(struct crl_state *st, struct crl_list *l,
		  struct crl_serial **newly, size_t *n_newly,
		  struct crl_list *gone[2], char *err, size_t errlen);
/* Pushed serials of the notification numbered @number; 0, -EINVAL
 * (@number longer than CRL_SERIAL_MAX octets), -ENOMEM. */
int crl_state_push_serials(struct crl_state *st,
			   const STACK_OF(ASN1_INTEGER) * serials,
			   const ASN1_INTEGER *number, time_t now,
			   struct crl_serial **newly, size_t *n_newly);
/*
 * Make @st (emptied) the state of @issuer, unless the issuer changed since
 * the snapshot of @version (-ESTALE). The lists no longer used are in
 * @release[0..1] (or NULL) for the caller to free, off the loop.
 */
int crl_cache_publish(struct crl_cache *c, const X509_NAME *issuer,
		      uint64_t version, struct crl_state *st,
		      struct crl_list *release[2]);
void crl_state_free(struct crl_state *st);
/* crl_list_free() and free(); NULL is a no-op. */
void crl_list_release(struct crl_list *l);

/* Serials a signed notification numbered @number announced as revoked
 * (@serials). */
int crl_cache_push_serials(struct crl_cache *c, const X509_NAME *issuer,
			   const STACK_OF(ASN1_INTEGER) * serials,
			   const ASN1_INTEGER *number,
			   struct crl_serial **newly, size_t *n_newly);

/* The delta CRL of @is in use: one newer than its full CRL, or NULL. */
const struct crl_list *crl_issuer_delta(const struct crl_issuer *is);

/*
 * The status of @serial issued by @issuer at @now: a pushed serial is
 * revoked; else the delta CRL in use (crl_issuer_delta()) decides for
 * its entries (removeFromCRL: good), then the full CRL. On CRL_REVOKED *@hit
 * (may be NULL) points at the entry; *@next (may be NULL) gets the next
 * update of the CRL that answered (0 if none).
 */
enum crl_status crl_cache_lookup(const struct crl_cache *c,
				 const X509_NAME *issuer,
				 const ASN1_INTEGER *serial, time_t now,
				 const struct crl_serial **hit, time_t *next);

struct crl_issuer *crl_cache_find(const struct crl_cache *c,
				  const X509_NAME *issuer);

/* @i as a lookup key; -1 if it is too long. */
int crl_serial_key(const ASN1_INTEGER *i, struct crl_serial *key);
/* Hex of a key (buffer of at least 2 * CRL_SERIAL_MAX + 2). */
void crl_serial_hex(const struct crl_serial *s, char *buf);

/* Index @crl into @out (no signature check): -EINVAL if malformed,
 * -EOPNOTSUPP if it has an extension certd must not ignore (crl.c). */
int crl_list_build(const CERTD_CRL *crl, struct crl_list *out);
void crl_list_free(struct crl_list *l);
const struct crl_serial *crl_list_find(const struct crl_list *l,
				       const struct crl_serial *key);

#endif
