/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Outgoing POSTs (forwarded notifications, shared paths) on a thread of
 * their own (a libevent loop, evhttp over mutual TLS), so a slow or dead
 * peer never stalls the event loop. A bounded FIFO; a full queue drops
 * and counts. Up to WORKER_PARALLEL POSTs run at once, from one SSL_CTX
 * made at start. With a keepalive, each destination's connection stays
 * open that long for the next POST (a POST that finds it closed by the
 * peer is sent once more on a new one; a POST while it is busy takes a
 * connection of its own); without, a connection per POST.
 * The TLS session of each destination is kept and resumed by its next
 * new connection.
 * Pre-warming (worker_tls.warm): the thread opens a connection to each
 * of those destinations at start (GET /v1/health?keepalive=1, which asks
 * the peer to keep it open as long as after a notification) and keeps
 * one open: re-opened when it closes (the keepalive lapsed, the peer
 * went away), with a backoff while the peer does not answer. So the
 * first notification finds its connections open, as later ones do.
 */
#ifndef CERTD_WORKER_H
#define CERTD_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WORKER_MAX_QUEUE 4096
#define WORKER_PARALLEL 64
/* Destinations whose TLS session is remembered. */
#define WORKER_MAX_PEERS 4096

struct worker;

struct worker_tls {
	const char *cert, *key, *ca;
	unsigned int timeout; /* seconds */
	/* Keep a destination's connection open this long after a POST
	 * for the next one; 0: a connection per POST. */
	unsigned int keepalive;
	/* Destinations (POST URLs) to keep a connection open to before any
	 * POST; ignored without a keepalive. Copied. */
	const char *const *warm;
	size_t n_warm;
};

/* 0, or -EINVAL if the client certificate, key or CA cannot be loaded. */
int worker_start(const struct worker_tls *tls, struct worker **out);
/* Try the pre-warmed destinations that are down at once (SIGHUP). */
void worker_rewarm(struct worker *w);
/* Finish what is queued (bounded by the timeout) and stop. */
void worker_stop(struct worker *w);
/*
 * worker_post() flags. WORKER_GUARDED: a destination a client subscribed
 * (not the configuration's): connected to the first address of its host
 * that urlpolicy_addr_special() does not call special, unless the URL
 * names a special one as an IP literal (urlpolicy_guard()'s rule), so a
 * name whose DNS answer changed since the subscribe cannot aim the
 * request at loopback or link-local.
 */
#define WORKER_GUARDED 1u
/* Queue a POST of @body (copied) to @url. 0, or -ENOSPC/-ENOMEM. */
int worker_post(struct worker *w, const char *url, const char *content_type,
		const void *body, size_t len, unsigned int flags);
/*
 * A body copied once and POSTed to many (a forwarded notification can be
 * tens of megabytes): reference counted (atomically: the last reference
 * may go on any thread), immutable. worker_post_body() takes a reference.
 */
struct worker_body;
struct worker_body *worker_body_new(const void *data, size_t len);
void worker_body_put(struct worker_body *b);
int worker_post_body(struct worker *w, const char *url,
		     const char *content_type, struct worker_body *body,
		     unsigned int flags);
struct worker_stats {
	uint64_t sent; /* answered 2xx */
	uint64_t failed;
	uint64_t dropped; /* queue full */
	uint64_t resumed; /* answered 2xx over a resumed TLS session */
	uint64_t reused; /* answered 2xx over a kept connection */
	uint64_t warmed; /* pre-warm connections opened (answered 2xx) */
	uint64_t warm_failed; /* pre-warm attempts that failed */
	uint64_t warm_open; /* pre-warmed destinations with one open now */
	uint64_t warm_down; /* pre-warmed destinations backing off now */
};

void worker_counts(struct worker *w, struct worker_stats *st);

/*
 * A synchronous GET (the CRL fetch) with the same TLS settings. The body
 * (malloc'ed, at most @max bytes) in *@out. 0 or -1.
 */
int fetch_url(const struct worker_tls *tls, const char *url, size_t max,
	      unsigned char **out, size_t *out_len);
/*
 * The same for a URL a client gave (POST /v1/acquire), @url having passed
 * the policy: urlpolicy_guard() (no redirects, no proxy, http and https
 * only, no connection to a loopback, link-local, unspecified, multicast
 * or reserved address the URL does not name as an IP literal:
 * @guard->refused then);
 * given up (-1) within about a second once *@cancel (read atomically;
 * NULL: never) is true.
 */
struct urlpolicy_url;
struct urlpolicy_guard;
int fetch_url_guarded(const struct worker_tls *tls,
		      const struct urlpolicy_url *url,
		      struct urlpolicy_guard *guard, size_t max,
		      unsigned char **out, size_t *out_len, const bool *cancel);

#endif
