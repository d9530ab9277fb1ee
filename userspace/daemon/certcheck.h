/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Asking guise-certd about a client certificate before an API request is
 * dispatched (POST /v1/validate), with a local cache of the answers keyed
 * by the SHA-256 fingerprint of the DER certificate. See
 * Documentation/certd.rst, "Checking client certificates".
 *
 * At request time rather than in the OpenSSL verify callback: libevent's
 * bufferevent_openssl cannot resume a handshake suspended with
 * SSL_set_retry_verify(), so a verify callback could only block the event
 * loop. A request whose answer is not cached is parked (no reply yet, the
 * loop keeps serving) and resumed when certd answers.
 */
#ifndef GUISE_DAEMON_CERTCHECK_H
#define GUISE_DAEMON_CERTCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CERTCHECK_FP_LEN 32 /* SHA-256 */
#define CERTCHECK_DEFAULT_CACHE 4096
#define CERTCHECK_DEFAULT_TTL 300 /* seconds */
#define CERTCHECK_DEFAULT_TIMEOUT 2 /* seconds */

struct event_base;
struct evhttp_request;

/* certd's answer about one certificate. */
enum certcheck_verdict {
	CERTCHECK_GOOD,
	CERTCHECK_REVOKED,
	CERTCHECK_INVALID, /* no valid path (certd "invalid") */
	CERTCHECK_UNKNOWN, /* no current CRL (certd "unknown") */
	CERTCHECK_ERROR, /* certd unreachable, timed out, bad answer */
};

/*
 * Parse certd's /v1/validate answer body (@len bytes of JSON): its
 * "status". 0 with *@out (never ERROR), or -1 with @err set.
 */
int certcheck_parse_answer(const char *body, size_t len,
			   enum certcheck_verdict *out, char *err,
			   size_t errlen);

/*
 * The cache: at most @max entries, each valid @ttl_ms after it is stored;
 * when full, the oldest entry goes. Entries carry the certificate's issuer
 * (DER name) and canonical serial so that a revocation event can remove
 * them. Times are the caller's (milliseconds, monotonic). Loop thread only.
 */
struct certcheck_cache;

struct certcheck_cache *certcheck_cache_new(size_t max, uint64_t ttl_ms);
void certcheck_cache_free(struct certcheck_cache *c);
/* The verdict stored for @fp and still valid at @now: 0, or -ENOENT. */
int certcheck_cache_get(struct certcheck_cache *c,
			const unsigned char fp[CERTCHECK_FP_LEN], uint64_t now,
			enum certcheck_verdict *out);
/* Store (or replace) @fp's verdict. 0 or -ENOMEM. A zero ttl stores
 * nothing. */
int certcheck_cache_put(struct certcheck_cache *c,
			const unsigned char fp[CERTCHECK_FP_LEN],
			const unsigned char *issuer, size_t issuer_len,
			const char *serial, enum certcheck_verdict v,
			uint64_t now);
/* Remove the entries of certificate (@issuer DER, @serial); how many. */
size_t certcheck_cache_remove(struct certcheck_cache *c,
			      const unsigned char *issuer, size_t issuer_len,
			      const char *serial);
void certcheck_cache_flush(struct certcheck_cache *c);
size_t certcheck_cache_count(const struct certcheck_cache *c);

struct certcheck_conf {
	const char *url; /* certd base URL, e.g. https://[::1]:8446 */
	const char *cert, *key, *ca; /* PEM files for mutual TLS */
	size_t cache_size; /* entries */
	unsigned int ttl; /* seconds; 0: no cache */
	unsigned int timeout; /* seconds, per certd request */
	bool allow_on_error; /* certd unreachable or "unknown": serve */
};

struct certcheck_stats {
	uint64_t hits, misses; /* cache lookups */
	uint64_t denied; /* requests refused by the check */
	uint64_t errors; /* certd unreachable, timeout, bad or "unknown" */
};

struct certcheck;

/* Start on @base (a thread: call after any fork). NULL after logging. */
struct certcheck *certcheck_start(struct event_base *base,
				  const struct certcheck_conf *conf);
/*
 * Stop: parked requests are answered 503 (call it before freeing the HTTP
 * servers), the thread is joined. NULL is fine.
 */
void certcheck_stop(struct certcheck *cc);

typedef void (*certcheck_handler)(struct evhttp_request *req, void *arg);

/*
 * The gate in front of an API handler: @handler(@req, @arg) runs now (no
 * check configured, no TLS client certificate (the UNIX socket), or a
 * cached "good"), later on the loop once certd answered "good" (or
 * failed while on_error = allow), or never: then @req was answered 403
 * {"error": "certificate revoked"} (or another refusal).
 */
void certcheck_gate(struct certcheck *cc, struct evhttp_request *req,
		    certcheck_handler handler, void *arg);

/*
 * Revalidation (revalidate.h): ask certd about a stored certificate, @der
 * being DER certificates back to back, the leaf first, then the
 * intermediates its holder presented (at most 16). The cache is not
 * consulted (a fresh answer is the point); the answer is cached as any.
 * 0: @done(verdict, @arg) runs later on the loop, exactly once (ERROR
 * when certcheck_stop() comes first). -1: not asked (bad DER, too many
 * questions in flight, stopping, no memory); @done never runs.
 */
typedef void (*certcheck_done)(enum certcheck_verdict v, void *arg);
int certcheck_ask(struct certcheck *cc, const unsigned char *der, size_t len,
		  certcheck_done done, void *arg);

/* A revocation event (revocation.h): drop that certificate's entries and
 * refuse the requests waiting for an answer about it. */
void certcheck_revoked(struct certcheck *cc, const unsigned char *issuer,
		       size_t issuer_len, const char *serial);
/* The same, @issuer in base64 DER as the stores keep it (revalidate.h). */
void certcheck_revoked_b64(struct certcheck *cc, const char *issuer,
			   const char *serial);
/* The event stream (re)connected: events may have been missed, forget
 * everything. */
void certcheck_flush(struct certcheck *cc);

/* Counters (zeros for NULL). */
struct certcheck_stats certcheck_get_stats(const struct certcheck *cc);

#endif
