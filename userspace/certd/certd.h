/* SPDX-License-Identifier: GPL-2.0 */
/* guise-certd: the daemon's state, shared by the API, the OCSP responder
 * and the notification network. Everything runs on the event loop thread
 * except the outgoing POSTs (worker.h), the expensive part of CRL loads
 * (loader.h, notify.c) and the fetches of POST /v1/acquire (api.c), which
 * work on data handed over to them. */
#ifndef CERTD_H
#define CERTD_H

#include <stdbool.h>
#include <stdint.h>
#include <event2/event.h>
#include <openssl/x509.h>

#include "conf.h"
#include "crl.h"
#include "holders.h"
#include "path.h"

struct worker;
struct loader;
struct crlop;
struct events;
struct ocsp_cache;

/* POST /v1/acquire fetches at once (api.c); more are answered 503. */
#define CERTD_ACQUIRE_MAX 8

struct certd_metrics {
	uint64_t validations, validations_cached, results[4];
	uint64_t acquires, acquires_refused;
	uint64_t acquires_busy; /* 503: CERTD_ACQUIRE_MAX under way */
	/* 403: a URL [network] acquire_allow / subscribe_allow refuses */
	uint64_t acquires_denied, subscribe_denied;
	uint64_t ocsp_requests, ocsp_errors, ocsp_cached;
	uint64_t notify_accepted, notify_duplicate, notify_rejected;
	uint64_t notify_limited, notify_forwarded, crl_fetch_errors;
	uint64_t crl_updates, crl_rejected;
	uint64_t paths_shared, paths_received, paths_refused;
	uint64_t events_sent;
	uint64_t peer_keepalive; /* health requests asking to stay open */
};

/* Remembered (issuer, CRL number) pairs: duplicate suppression (notify.c,
 * note_is_duplicate()). */
struct seen_note {
	X509_NAME *issuer;
	ASN1_INTEGER *number;
	bool delta; /* of a delta CRL: its full CRL's pair is another */
	bool done; /* its CRL (or its serials) took effect */
	bool retried; /* a second notification of the pair was taken */
};

struct ocsp_signer {
	X509 *cert, *ca; /* the delegated signer and the CA it answers for */
	EVP_PKEY *key;
};

/* A destination added over the API, and the clients holding it. */
struct subscription {
	char *url;
	struct holders holders;
};

struct certd {
	const struct certd_conf *conf;
	struct event_base *base;
	X509_STORE *anchors;
	STACK_OF(X509) * intermediates; /* configured, untrusted */
	STACK_OF(X509) * notifiers; /* may sign notifications for any CA */
	struct crl_cache crls;
	struct path_cache paths;
	struct seen_note *seen;
	size_t n_seen;
	struct ocsp_signer *signers;
	size_t n_signers;
	struct ocsp_cache *ocsp_cache; /* signed answers to nonce-less requests */
	struct subscription *subs; /* notification URLs (/v1/subscribe) */
	size_t n_subs;
	struct subscription *path_subs; /* path-sharing URLs */
	size_t n_path_subs;
	struct worker *worker;
	struct loader *loader; /* CRL loads off the loop (loader.h) */
	/* CRL loads waiting or running, in order; the first runs. */
	struct crlop *ops, **ops_tail;
	size_t n_ops;
	bool ops_running;
	bool crl_loading; /* the first op is at the loader thread */
	struct events *events;
	/* POST /v1/acquire: the fetch threads (loader.h queues, started at
	 * the first use), which are fetching, how many. */
	struct loader *acquirers[CERTD_ACQUIRE_MAX];
	bool acquire_busy[CERTD_ACQUIRE_MAX];
	unsigned int acquiring;
	bool acquire_stopped;
	bool acquire_cancel; /* atomic: the fetches give up (shutdown) */
	/* notify_rate token bucket */
	double tokens;
	struct timespec tokens_at;
	struct certd_metrics m;
};

#endif
