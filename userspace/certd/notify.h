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
#include <event2/http.h>
#include <jansson.h>

#include "certd.h"

/* Remembered (issuer, number) pairs; the oldest are forgotten first. */
#define NOTIFY_MAX_SEEN 4096

/*
 * Handle one notification: the POST /v1/notify @req (its body the CMS
 * DER), answered once it is processed. The work is done off the event
 * loop by the CRL loader thread (loader.h), one load at a time in arrival
 * order; see notify.c.
 */
void notify_post(struct certd *d, struct evhttp_request *req);

/* (Re)load the configured CRL files ([trust] crl), the same way. */
void notify_reload(struct certd *d);

/* Stop the loader and answer the notifications still waiting (503). */
void notify_stop(struct certd *d);

/*
 * @who (holders.h) holds or lets go of @url on a destination list ("crl"
 * or "paths" @topic). 0 (on, or off); letting go: -EBUSY (others still
 * hold it: it stays), -EPERM (@who does not hold it), -ENOENT (not on
 * the list); -EINVAL (topic), -ENOSPC, -ENOMEM; -EDQUOT: @who holds
 * [network] subscribe_limit subscriptions (both lists) already.
 */
int notify_subscribe(struct certd *d, const char *topic, const char *url,
		     const char *who, bool add);

/* Send a newly built path (leaf first), valid for @purpose (X509_PURPOSE_*,
 * 0 any), to the peers and path subscribers. */
void notify_share_path(struct certd *d, STACK_OF(X509) * chain, int purpose);

void notify_free(struct certd *d);

#endif
