/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Client of guise-certd's revocation event stream (GET /v1/events, one JSON
 * object a line): parses "revoked" lines and hands (issuer DER, serial)
 * pairs to a callback on the libevent loop. See Documentation/certd.rst.
 */
#ifndef GUISE_DAEMON_REVOCATION_H
#define GUISE_DAEMON_REVOCATION_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

struct event_base;
struct evhttp_request;

/*
 * The longest line the client takes (the JSON of one event, buffered
 * until its newline): a longer one ends the transfer (a stream gone
 * wrong), and the client reconnects. guise-certd splits the serials of
 * a "revoked" event over lines well under it (EVENTS_REVOKED_CHUNK,
 * certd/events.h, which checks that at build time).
 */
#define REVOCATION_LINE_MAX (1 << 20)

/* Room for a canonical serial: '-', 2 * 20 bytes of hex (RFC 5280 caps
 * serials at 20 octets; allow more), NUL. */
#define REVOCATION_SERIAL_MAX 84

/*
 * Canonical serial text, the form both sides compare: upper-case hex
 * without leading zeros, '-' for a negative one. 0 or -1 (not hex, or
 * too long for @outlen).
 */
int revocation_serial_canon(const char *in, char *out, size_t outlen);

/*
 * A certificate's revocation identity: its issuer name as base64 DER
 * (*@issuer_b64, malloc'ed) and its canonical serial. 0 or -1.
 */
int revocation_cert_id(X509 *cert, char **issuer_b64, char *serial,
		       size_t serial_len);
/* The same for the TLS client certificate of @req; -1 without one. */
int revocation_request_id(struct evhttp_request *req, char **issuer_b64,
			  char *serial, size_t serial_len);

/*
 * Called for each revoked (issuer, serial): @issuer_der the DER issuer name,
 * @serial canonical (revocation_serial_canon()).
 */
typedef void (*revocation_cb)(const unsigned char *issuer_der,
			      size_t issuer_len, const char *serial, void *arg);
/* Called after each (re)connection: re-validate what is held. */
typedef void (*revocation_connected_cb)(void *arg);

enum revocation_line {
	REVOCATION_LINE_BAD = -1,
	REVOCATION_LINE_OTHER = 0, /* hello, heartbeat, unknown types */
	REVOCATION_LINE_REVOKED = 1,
};

/*
 * Parse one line (@len bytes, no newline needed); for a "revoked" line call
 * @cb once per serial. Returns the kind of line; BAD with @err set.
 */
enum revocation_line revocation_parse_line(const char *line, size_t len,
					   revocation_cb cb, void *arg,
					   char *err, size_t errlen);

struct revocation_conf {
	const char *url; /* certd base URL, e.g. https://[::1]:8446 */
	const char *cert, *key, *ca; /* PEM files for mutual TLS */
};

struct revocation;

/* Start the client on @base; NULL on error. The strings are copied. */
struct revocation *revocation_start(struct event_base *base,
				    const struct revocation_conf *conf,
				    revocation_cb cb,
				    revocation_connected_cb connected,
				    void *arg);
/* Counters for metrics. */
unsigned long revocation_events(const struct revocation *r);
unsigned long revocation_reconnects(const struct revocation *r);
void revocation_stop(struct revocation *r);

#endif
