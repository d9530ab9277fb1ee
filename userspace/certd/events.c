// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>

#include "base64.h"
#include "crlnote.h"
#include "events.h"
#include "http.h"
#include "revocation.h"

/* The consumers take every line certd makes, with room to spare. */
_Static_assert(EVENTS_REVOKED_LINE_MAX * 3 / 2 <= REVOCATION_LINE_MAX,
	       "a revoked event line may exceed the consumers' line cap");

/* A stream's connection may stay silent that long between heartbeats. */
#define EVENTS_CONN_TIMEOUT_S (24 * 3600)

struct stream {
	struct stream *next;
	struct events *ev;
	struct evhttp_request *req;
	struct evhttp_connection *conn;
};

struct events {
	struct stream *streams;
	size_t n;
	struct event *heartbeat;
};

static void stream_unlink(struct stream *s)
{
	struct stream **pp;

	for (pp = &s->ev->streams; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			s->ev->n--;
			break;
		}
	}
}

/*
 * The stream's connection is being freed. libevent 2.1: when it failed
 * (the client went away, a write error, a timeout) the streaming
 * request, not yet ended, was detached from it first (its connection is
 * NULL now) and is ours to free: evhttp_send_reply_end() on a detached
 * request frees it. A request still attached (the connection freed for
 * another reason) goes with the connection: not touched here.
 */
static void on_close(struct evhttp_connection *conn, void *arg)
{
	struct stream *s = arg;

	(void)conn;
	stream_unlink(s);
	if (!evhttp_request_get_connection(s->req))
		evhttp_send_reply_end(s->req);
	free(s);
}

static void send_line(struct stream *s, json_t *o)
{
	struct evbuffer *buf = evbuffer_new();
	char *text = json_dumps(o, JSON_COMPACT);

	if (buf && text && evbuffer_add_printf(buf, "%s\n", text) > 0)
		evhttp_send_reply_chunk(s->req, buf);
	free(text);
	if (buf)
		evbuffer_free(buf);
}

static void broadcast(struct events *ev, json_t *o)
{
	struct stream *s;

	for (s = ev->streams; s; s = s->next)
		send_line(s, o);
}

static void on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	json_t *o = json_pack("{s:s, s:I}", "type", "heartbeat", "at",
			      (json_int_t)time(NULL));

	(void)fd;
	(void)what;
	if (o)
		broadcast(arg, o);
	json_decref(o);
}

struct events *events_new(struct event_base *base)
{
	static const struct timeval every = { EVENTS_HEARTBEAT_S, 0 };
	struct events *ev = calloc(1, sizeof(*ev));

	if (!ev)
		return NULL;
	ev->heartbeat = event_new(base, -1, EV_PERSIST, on_heartbeat, ev);
	if (!ev->heartbeat || evtimer_add(ev->heartbeat, &every)) {
		events_free(ev);
		return NULL;
	}
	return ev;
}

void events_free(struct events *ev)
{
	struct stream *s, *next;

	if (!ev)
		return;
	for (s = ev->streams; s; s = next) {
		next = s->next;
		evhttp_connection_set_closecb(s->conn, NULL, NULL);
		evhttp_send_reply_end(s->req);
		free(s);
	}
	if (ev->heartbeat)
		event_free(ev->heartbeat);
	free(ev);
}

void events_stream(struct events *ev, struct evhttp_request *req)
{
	struct stream *s;
	json_t *hello;

	if (ev->n >= EVENTS_MAX_STREAMS) {
		http_reply_error(req, 503, "too many event streams");
		return;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		http_reply_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	s->ev = ev;
	s->req = req;
	s->conn = evhttp_request_get_connection(req);
	evhttp_connection_set_timeout(s->conn, EVENTS_CONN_TIMEOUT_S);
	evhttp_connection_set_closecb(s->conn, on_close, s);
	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "Content-Type", "application/x-ndjson");
	evhttp_send_reply_start(req, HTTP_OK, "OK");
	s->next = ev->streams;
	ev->streams = s;
	ev->n++;
	hello = json_pack("{s:s, s:I}", "type", "hello", "at",
			  (json_int_t)time(NULL));
	if (hello)
		send_line(s, hello);
	json_decref(hello);
}

/* Append @len bytes of @text to the growing *@buf. 0 or -1. */
static int text_add(char **buf, size_t *used, size_t *cap, const char *text,
		    size_t len)
{
	char *nb;
	size_t ncap;

	if (len + 2 > *cap - *used) {
		ncap = *cap ? *cap : 4096;
		while (len + 2 > ncap - *used)
			ncap *= 2;
		nb = realloc(*buf, ncap);
		if (!nb)
			return -1;
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *used, text, len);
	*used += len;
	(*buf)[*used] = '\0';
	return 0;
}

char *events_revoked_text(const X509_NAME *issuer, const ASN1_INTEGER *number,
			  const struct crl_serial *s, size_t n, size_t *len)
{
	char name[512], hex[2 * CRL_SERIAL_MAX + 2], *num, *b64 = NULL;
	char *text = NULL, *out = NULL;
	size_t used = 0, cap = 0, i, end;
	unsigned char *der = NULL;
	json_int_t at = (json_int_t)time(NULL);
	json_t *o, *serials;
	int dlen, err = 0;

	X509_NAME_oneline(issuer, name, sizeof(name));
	dlen = i2d_X509_NAME(issuer, &der);
	if (dlen > 0)
		b64 = b64_encode(der, dlen);
	OPENSSL_free(der);
	num = number ? crlnote_int_hex(number) : NULL;
	/* One line per EVENTS_REVOKED_CHUNK serials, each a whole event. */
	for (i = 0; !err && (i < n || !n); i = end) {
		end = n - i > EVENTS_REVOKED_CHUNK ? i + EVENTS_REVOKED_CHUNK :
						     n;
		serials = json_array();
		for (; serials && i < end; i++) {
			crl_serial_hex(&s[i], hex);
			if (json_array_append_new(serials, json_string(hex))) {
				json_decref(serials);
				serials = NULL;
			}
		}
		o = json_pack("{s:s, s:s, s:s?, s:s?, s:o*, s:I}", "type",
			      "revoked", "issuer", name, "issuer_der", b64,
			      "crl_number", num, "serials", serials, "at", at);
		text = o && serials ? json_dumps(o, JSON_COMPACT) : NULL;
		err = !text ||
		      text_add(&out, &used, &cap, text, strlen(text)) ||
		      text_add(&out, &used, &cap, "\n", 1);
		free(text);
		json_decref(o);
		if (!n)
			break;
	}
	free(num);
	free(b64);
	if (err) {
		free(out);
		return NULL;
	}
	*len = used;
	return out;
}

/* One line shared by every stream's output without a copy (a reference
 * in each evbuffer); freed with the last (all on the loop thread). */
struct shared_line {
	char *text;
	size_t refs;
};

static void line_unref(const void *data, size_t len, void *arg)
{
	struct shared_line *l = arg;

	(void)data;
	(void)len;
	if (--l->refs)
		return;
	free(l->text);
	free(l);
}

size_t events_send_text(struct events *ev, char *text, size_t len)
{
	struct shared_line *l;
	struct stream *s;
	size_t n = 0;

	if (!ev->n || !(l = calloc(1, sizeof(*l)))) {
		free(text);
		return 0;
	}
	l->text = text;
	l->refs = 1; /* ours, until the end of the loop below */
	for (s = ev->streams; s; s = s->next) {
		struct evbuffer *buf = evbuffer_new();

		l->refs++;
		if (!buf ||
		    evbuffer_add_reference(buf, text, len, line_unref, l)) {
			l->refs--;
		} else {
			evhttp_send_reply_chunk(s->req, buf);
			n++;
		}
		if (buf)
			evbuffer_free(buf);
	}
	line_unref(text, len, l);
	return n;
}

size_t events_revoked(struct events *ev, const X509_NAME *issuer,
		      const ASN1_INTEGER *number, const struct crl_serial *s,
		      size_t n)
{
	size_t len;
	char *text;

	if (!n || !ev->n)
		return 0;
	text = events_revoked_text(issuer, number, s, n, &len);
	return text ? events_send_text(ev, text, len) : 0;
}

size_t events_streams(const struct events *ev)
{
	return ev->n;
}
