/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The revocation event stream for local consumers (guise-leased,
 * guise-keyd): GET /v1/events answers 200 with a chunked body of
 * newline-delimited JSON objects that never ends: a "hello" line at once,
 * a "revoked" line for every set of newly revoked serials, a "heartbeat"
 * line every EVENTS_HEARTBEAT_S seconds. See Documentation/certd.rst.
 */
#ifndef CERTD_EVENTS_H
#define CERTD_EVENTS_H

#include <stddef.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/x509.h>

#include "crl.h"

#define EVENTS_HEARTBEAT_S 10
#define EVENTS_MAX_STREAMS 256
/*
 * A "revoked" event lists at most this many serials: more (a first CRL
 * of a million entries) make several lines, each a whole event of the
 * same issuer and CRL number. So a line stays under the consumers' cap
 * (REVOCATION_LINE_MAX, daemon/revocation.h): at most
 * EVENTS_REVOKED_LINE_MAX bytes (serials of CRL_SERIAL_MAX bytes, "-"
 * and 48 hex digits quoted, and the rest of the event with a large
 * issuer name), about half the cap.
 */
#define EVENTS_REVOKED_CHUNK 10000
#define EVENTS_REVOKED_LINE_MAX \
	(EVENTS_REVOKED_CHUNK * (2 * CRL_SERIAL_MAX + 4) + 8192)

struct events;

struct events *events_new(struct event_base *base);
void events_free(struct events *ev);
/* Make @req (a GET /v1/events) a stream. */
void events_stream(struct events *ev, struct evhttp_request *req);
/* Tell every stream that @issuer revoked these serials (CRL @number). */
size_t events_revoked(struct events *ev, const X509_NAME *issuer,
		      const ASN1_INTEGER *number, const struct crl_serial *s,
		      size_t n);
/*
 * The same in two steps: the lines (JSON and a newline each, one per
 * EVENTS_REVOKED_CHUNK serials, one buffer, malloc'ed; NULL if out of
 * memory) made on any thread (the CRL loader makes it off the
 * loop), then sent on the loop without copies (@text is taken). Both
 * return the number of streams it went to.
 */
char *events_revoked_text(const X509_NAME *issuer, const ASN1_INTEGER *number,
			  const struct crl_serial *s, size_t n, size_t *len);
size_t events_send_text(struct events *ev, char *text, size_t len);
size_t events_streams(const struct events *ev);

#endif
