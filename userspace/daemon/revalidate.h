/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Re-validating the certificates behind what a daemon granted (leases,
 * entitlements) with guise-certd's POST /v1/validate, after each
 * (re)connection of the revocation event stream: the events sent while it
 * was down are lost. What certd calls revoked or invalid is ended through
 * the daemon's revocation path; "unknown" and certd errors never end
 * anything. See Documentation/certd.rst, "Revocation".
 *
 * The questions go through a certcheck (certcheck.h) of its own, without
 * cache: the same worker thread and curl multi machinery as the request
 * checks, at most REVALIDATE_INFLIGHT at once, every callback on the loop.
 */
#ifndef GUISE_DAEMON_REVALIDATE_H
#define GUISE_DAEMON_REVALIDATE_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "certcheck.h"
#include "revocation.h"

#define REVALIDATE_INFLIGHT 32 /* questions to certd at once */
#define REVALIDATE_RETRY_S 60 /* on_error = deny: after an unanswered run */
#define REVALIDATE_RETRY_MAX_S 3600
#define REVALIDATE_GIVE_UP 8 /* certd failures in a row that end a run */
#define REVALIDATE_CHAIN_MAX (64 * 1024) /* bytes of DER kept per cert */

struct event_base;
struct evhttp_request;
struct revalidate;

/* One certificate behind live grants. */
struct revalidate_cert {
	char *issuer; /* base64 DER issuer name (malloc'ed) */
	char serial[REVOCATION_SERIAL_MAX]; /* canonical */
	unsigned char *chain; /* revalidate_request_chain() (malloc'ed) */
	size_t chain_len;
	struct revalidate *rv; /* revalidate's own */
};

/* Free @n certificates of @v, and @v. */
void revalidate_certs_free(struct revalidate_cert *v, size_t n);
/*
 * Step @stmt to its end, each row (issuer TEXT, serial TEXT, chain BLOB)
 * one certificate of a new array *@out of *@n (the daemons' stores keep
 * the chain in a table cert_chains (issuer, serial, chain)). Rows with an
 * empty chain or a bad serial are skipped. 0, or -EIO/-ENOMEM with
 * nothing returned; @stmt is left for the caller to reset or finalize.
 */
int revalidate_certs_read(sqlite3_stmt *stmt, struct revalidate_cert **out,
			  size_t *n);

/*
 * The certificate chain the TLS client of @req presented: DER
 * certificates back to back, the leaf first, at most 16 intermediates
 * and REVALIDATE_CHAIN_MAX bytes, into *@der (malloc'ed). What
 * certcheck_ask() needs. 0, or -1 (no client certificate, too large).
 */
int revalidate_request_chain(struct evhttp_request *req, unsigned char **der,
			     size_t *len);

struct revalidate_ops {
	/* The certificates behind every live grant now (each once), into a
	 * new array. 0 or -1 (logged). */
	int (*list)(void *arg, struct revalidate_cert **out, size_t *n);
	/*
	 * certd answered @v (CERTCHECK_REVOKED or _INVALID) for (@issuer
	 * base64 DER, @serial): end what was granted with it as a
	 * revocation event would, with the reason "revalidation".
	 */
	void (*end)(void *arg, const char *issuer, const char *serial,
		    enum certcheck_verdict v);
	void *arg;
};

struct revalidate_stats {
	uint64_t runs; /* revalidations started */
	uint64_t checked; /* certificates certd answered about */
	uint64_t ended; /* certificates found revoked or invalid */
	uint64_t errors; /* "unknown", certd unreachable, not asked */
};

/*
 * Start (a thread: call in the namespace certd is reached from, after
 * any fork); @conf as for certcheck_start() (its cache settings are
 * ignored; allow_on_error decides whether an unanswered run is retried).
 * NULL after logging.
 */
struct revalidate *revalidate_start(struct event_base *base,
				    const struct certcheck_conf *conf,
				    const struct revalidate_ops *ops);
/* Re-validate everything now (after the current run if one is going). */
void revalidate_run(struct revalidate *rv);
/* Counters (zeros for NULL). */
struct revalidate_stats revalidate_get_stats(const struct revalidate *rv);
/* Stop: questions in flight are dropped, nothing more is ended. NULL ok. */
void revalidate_stop(struct revalidate *rv);

#endif
