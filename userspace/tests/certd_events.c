// SPDX-License-Identifier: GPL-2.0
/*
 * guise-certd's "revoked" event lines (certd/events.c) as the consumers
 * take them (daemon/revocation.c): a first CRL lists its serials by the
 * hundred thousand, and a consumer drops a line over REVOCATION_LINE_MAX.
 * 45,000 serials of the longest kind certd keeps (CRL_SERIAL_MAX bytes):
 * one line would be over 2 MB; certd makes lines of at most
 * EVENTS_REVOKED_CHUNK serials, each a whole event. Checked line by line
 * with revocation_parse_line(), then through the consumer's client
 * (revocation_start(), libcurl on a thread) against a local stream that
 * sends them, as certd does, in one piece.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/event.h>

#include "events.h"
#include "revocation.h"
#include "tap.h"

#define N_SERIALS 45000

struct count {
	size_t n, bad_issuer;
	unsigned long conns;
	const unsigned char *der;
	size_t der_len;
};

static void on_serial(const unsigned char *der, size_t len, const char *serial,
		      void *arg)
{
	struct count *c = arg;

	(void)serial;
	c->n++;
	if (len != c->der_len || memcmp(der, c->der, len))
		c->bad_issuer++;
}

static void on_connected(void *arg)
{
	((struct count *)arg)->conns++;
}

/* A GET /v1/events answered with @text in one chunk, the connection kept
 * open until the client closes it. */
struct server {
	int fd;
	const char *text;
	size_t len;
	pthread_t thread;
};

static int send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n) {
		w = send(fd, c, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static void *serve(void *arg)
{
	struct server *s = arg;
	char buf[4096], head[256];
	size_t got = 0;
	ssize_t r;
	int c = accept(s->fd, NULL, NULL);

	if (c < 0)
		return NULL;
	while (got < sizeof(buf) - 1 &&
	       (r = recv(c, buf + got, sizeof(buf) - 1 - got, 0)) > 0) {
		got += (size_t)r;
		buf[got] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			break;
	}
	snprintf(head, sizeof(head),
		 "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n%zx\r\n",
		 s->len);
	if (!send_all(c, head, strlen(head)) && !send_all(c, s->text, s->len) &&
	    !send_all(c, "\r\n", 2))
		while (recv(c, buf, sizeof(buf), 0) > 0)
			;
	close(c);
	return NULL;
}

struct wait {
	struct event_base *base;
	struct count *c;
	int ticks;
};

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct wait *w = arg;

	(void)fd;
	(void)what;
	if (w->c->n >= N_SERIALS || ++w->ticks > 400) /* 20 s */
		event_base_loopbreak(w->base);
}

int main(void)
{
	static struct crl_serial s[N_SERIALS];
	X509_NAME *issuer = X509_NAME_new();
	ASN1_INTEGER *number = ASN1_INTEGER_new();
	struct count c = { 0 };
	size_t len = 0, i, lines = 0, longest = 0, parsed = 0;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t salen = sizeof(sa);
	struct server srv = { .fd = -1 };
	unsigned char *der = NULL;
	char *text, *p, *nl, err[256], url[64];
	bool all_revoked = true;
	int der_len;

	tap_start();
	if (!issuer || !number || !ASN1_INTEGER_set(number, 0x2000) ||
	    !X509_NAME_add_entry_by_txt(
		    issuer, "CN", MBSTRING_ASC,
		    (const unsigned char *)"guise test intB1", -1, -1, 0) ||
	    (der_len = i2d_X509_NAME(issuer, &der)) <= 0) {
		tap_ok(false, "setup");
		return tap_done();
	}
	c.der = der;
	c.der_len = (size_t)der_len;
	for (i = 0; i < N_SERIALS; i++) {
		s[i].len = CRL_SERIAL_MAX;
		memset(s[i].b, 0xa5, CRL_SERIAL_MAX);
		s[i].b[CRL_SERIAL_MAX - 2] = (uint8_t)(i >> 8);
		s[i].b[CRL_SERIAL_MAX - 1] = (uint8_t)i;
		s[i].b[CRL_SERIAL_MAX - 3] = (uint8_t)(i >> 16);
	}

	text = events_revoked_text(issuer, number, s, N_SERIALS, &len);
	tap_ok(text && len && text[len - 1] == '\n',
	       "%d serials: the event text (%zu bytes)", N_SERIALS, len);
	if (!text)
		return tap_done();
	for (p = text; p < text + len; p = nl + 1) {
		struct count one = { .der = der, .der_len = c.der_len };

		nl = memchr(p, '\n', (size_t)(text + len - p));
		if (!nl)
			break;
		lines++;
		if ((size_t)(nl - p) > longest)
			longest = (size_t)(nl - p);
		if (revocation_parse_line(p, (size_t)(nl - p), on_serial, &one,
					  err, sizeof(err)) !=
		    REVOCATION_LINE_REVOKED) {
			tap_diag("line %zu: %s", lines, err);
			all_revoked = false;
		}
		if (one.n > EVENTS_REVOKED_CHUNK || one.bad_issuer)
			all_revoked = false;
		parsed += one.n;
	}
	tap_ok(lines == (N_SERIALS + EVENTS_REVOKED_CHUNK - 1) /
				EVENTS_REVOKED_CHUNK,
	       "split into %zu lines of at most %d serials", lines,
	       EVENTS_REVOKED_CHUNK);
	tap_ok(longest <= EVENTS_REVOKED_LINE_MAX &&
		       longest < REVOCATION_LINE_MAX,
	       "the longest line, %zu bytes, is under the consumers' cap of "
	       "%d",
	       longest, REVOCATION_LINE_MAX);
	tap_ok(all_revoked && parsed == N_SERIALS,
	       "each line a whole revoked event of the issuer: %zu serials",
	       parsed);

	/* Through the consumer's client. */
	srv.text = text;
	srv.len = len;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (srv.fd < 0 || bind(srv.fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(srv.fd, 4) ||
	    getsockname(srv.fd, (struct sockaddr *)&sa, &salen) ||
	    pthread_create(&srv.thread, NULL, serve, &srv)) {
		tap_ok(false, "a local event stream");
	} else {
		struct event_base *base = event_base_new();
		struct revocation_conf conf = { .url = url };
		struct wait w = { .base = base, .c = &c };
		struct timeval tick = { 0, 50000 };
		struct event *ev = NULL;
		struct revocation *r;

		snprintf(url, sizeof(url), "http://127.0.0.1:%u",
			 ntohs(sa.sin_port));
		r = base ? revocation_start(base, &conf, on_serial,
					    on_connected, &c) :
			   NULL;
		if (r)
			ev = event_new(base, -1, EV_PERSIST, on_tick, &w);
		if (ev && !event_add(ev, &tick))
			event_base_dispatch(base);
		tap_ok(r && c.n == N_SERIALS && !c.bad_issuer,
		       "the consumer's client took all %d serials (got %zu)",
		       N_SERIALS, c.n);
		tap_ok(c.conns == 1 && revocation_events(r) == lines,
		       "over one connection, %lu events (%zu lines)",
		       revocation_events(r), lines);
		revocation_stop(r);
		if (ev)
			event_free(ev);
		shutdown(srv.fd, SHUT_RDWR); /* an accept() still waiting */
		pthread_join(srv.thread, NULL);
		if (base)
			event_base_free(base);
	}
	if (srv.fd >= 0)
		close(srv.fd);
	free(text);
	OPENSSL_free(der);
	X509_NAME_free(issuer);
	ASN1_INTEGER_free(number);
	return tap_done();
}
