/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Who holds a subscription (certd's /v1/subscribe, guise-crlwatch's):
 * the client certificates that asked for it, each named by a SHA-256 of
 * its subject and issuer names (DER). A client's unsubscribe lets go of
 * its own hold only; the subscription ends when nobody holds it. So no
 * certificate holder can cut another daemon's revocation feed. A
 * destination from the configuration (or the command line) is held by
 * the configuration: nobody unsubscribes it over the API, and a client's
 * subscribe or unsubscribe of it changes nothing (no hold is kept for
 * it, so none counts against the client's limit).
 */
#ifndef GUISE_DAEMON_HOLDERS_H
#define GUISE_DAEMON_HOLDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <event2/http.h>
#include <openssl/x509.h>

/* Holders of one subscription, at most HOLDERS_MAX. */
#define HOLDERS_MAX 64
/*
 * An identity: "sha256:" and the hex SHA-256 of the subject's DER
 * followed by the issuer's (DER is self-delimiting: no two pairs of
 * names give the same bytes), so that no choice of names collides with
 * another's, whatever characters they hold.
 */
#define HOLDER_ID_MAX 72
/* Default per-client limit on subscriptions (crlwatch --subscribe-limit,
 * certd [network] subscribe_limit). */
#define HOLDERS_PER_CLIENT 16

struct holders {
	char **v;
	size_t n;
	bool configured; /* from the configuration: never let go */
};

/* @who holds it (again, or a configured one: no change). 0, -ENOSPC or
 * -ENOMEM (nothing changed then; holders_free() still frees what the
 * list holds). */
int holders_add(struct holders *h, const char *who);
/* Does @who hold it? */
bool holders_has(const struct holders *h, const char *who);
/*
 * @who lets go. 0: nobody holds it any more (end the subscription);
 * -EBUSY: others or the configuration still hold it (a configured one:
 * also when @who held none); -EPERM: @who does not hold it.
 */
int holders_drop(struct holders *h, const char *who);
void holders_free(struct holders *h);

/* The identity of @x into @buf (HOLDER_ID_MAX). 0 or -1. */
int holders_id(X509 *x, char *buf, size_t len);
/* @req's client certificate, verified (a reference @req's connection
 * holds), or NULL. */
X509 *holders_peer(struct evhttp_request *req);
/* The identity of @req's verified client certificate into @buf; -1 if
 * it has none. */
int holders_caller(struct evhttp_request *req, char *buf, size_t len);

#endif
