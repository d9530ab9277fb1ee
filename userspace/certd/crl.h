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
#include <openssl/x509.h>

/* RFC 5280 allows 20 octets; a few more are tolerated. */
#define CRL_SERIAL_MAX 24

struct crl_serial {
	uint8_t len, neg, reason; /* reason: CRL_REASON_* (-1 → 0xff) */
	uint8_t b[CRL_SERIAL_MAX]; /* big-endian magnitude, no leading 0 */
	int64_t date; /* revocation date, unix time */
};

struct crl_list {
	X509_CRL *crl;
	ASN1_INTEGER *number; /* cRLNumber (0 if absent) */
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

struct crl_issuer {
	X509_NAME *name;
	struct crl_list *full, *delta;
	struct crl_serial *pushed; /* from notifications, sorted */
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
 * and use it (a reference is taken). *@newly (may be NULL) receives the
 * serials revoked now and not before (malloc'ed, *@n_newly of them).
 * 0, -EALREADY (not newer), -EINVAL with @err (bad signature, unknown
 * issuer, malformed), -ENOMEM.
 */
int crl_cache_put(struct crl_cache *c, X509_CRL *crl, time_t now,
		  struct crl_serial **newly, size_t *n_newly, char *err,
		  size_t errlen);

/* Serials a signed notification announced as revoked (@serials). */
int crl_cache_push_serials(struct crl_cache *c, const X509_NAME *issuer,
			   const STACK_OF(ASN1_INTEGER) * serials,
			   struct crl_serial **newly, size_t *n_newly);

/*
 * The status of @serial issued by @issuer at @now. On CRL_REVOKED *@hit
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

/* Index @crl into @out (no signature check): for benchmarks and tests. */
int crl_list_build(X509_CRL *crl, struct crl_list *out);
void crl_list_free(struct crl_list *l);
const struct crl_serial *crl_list_find(const struct crl_list *l,
				       const struct crl_serial *key);

#endif
