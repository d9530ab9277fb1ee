/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The notification network: "CRL issued" notifications in (authenticated,
 * deduplicated by issuer + CRL number, rate limited), the CRL fetched or
 * taken from the notification, verified and cached, the notification
 * forwarded unchanged (its signature travels with it) to the forwarding
 * list and the subscribers; certification paths shared with peers.
 */
#ifndef CERTD_NOTIFY_H
#define CERTD_NOTIFY_H

#include <stddef.h>
#include <jansson.h>

#include "certd.h"

/* Remembered (issuer, number) pairs; the oldest are forgotten first. */
#define NOTIFY_MAX_SEEN 4096

/*
 * Handle one notification (the CMS DER @body). Returns the HTTP status
 * and sets *@reply (a JSON object) for the answer.
 */
int notify_handle(struct certd *d, const unsigned char *body, size_t len,
		  json_t **reply);

/* Add / remove @url on a destination list ("crl" or "paths" @topic). */
int notify_subscribe(struct certd *d, const char *topic, const char *url,
		     bool add);

/* Send a newly built path (leaf first), valid for @purpose (X509_PURPOSE_*,
 * 0 any), to the peers and path subscribers. */
void notify_share_path(struct certd *d, STACK_OF(X509) * chain, int purpose);

/* Load a CRL into the cache and tell the event stream (startup, tests). */
int notify_put_crl(struct certd *d, X509_CRL *crl, char *err, size_t errlen);

void notify_free(struct certd *d);

#endif
