/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Who holds a subscription (certd's /v1/subscribe, guise-crlwatch's):
 * the client certificates that asked for it, each named by its subject
 * and issuer. A client's unsubscribe lets go of its own hold only; the
 * subscription ends when nobody holds it. So no certificate holder can
 * cut another daemon's revocation feed. A destination from the
 * configuration (or the command line) is held by the configuration:
 * nobody unsubscribes it over the API.
 */
#ifndef GUISE_DAEMON_HOLDERS_H
#define GUISE_DAEMON_HOLDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <event2/http.h>

/* Holders of one subscription, at most HOLDERS_MAX. */
#define HOLDERS_MAX 64
/* An identity: "subject | issuer", one-line forms, cut to fit. */
#define HOLDER_ID_MAX 512

struct holders {
	char **v;
	size_t n;
	bool configured; /* from the configuration: never let go */
};

/* @who holds it (again: no change). 0, -ENOSPC or -ENOMEM. */
int holders_add(struct holders *h, const char *who);
/*
 * @who lets go. 0: nobody holds it any more (end the subscription);
 * -EBUSY: others still hold it; -EPERM: @who does not hold it, or the
 * configuration does.
 */
int holders_drop(struct holders *h, const char *who);
void holders_free(struct holders *h);

/* The identity of @req's verified client certificate into @buf; -1 if
 * it has none. */
int holders_caller(struct evhttp_request *req, char *buf, size_t len);

#endif
