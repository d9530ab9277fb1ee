// SPDX-License-Identifier: GPL-2.0
/*
 * Revocation event stream client. One thread runs a blocking libcurl easy
 * transfer on GET /v1/events and reconnects with backoff; it forwards each
 * complete line through a pipe to the event loop, which parses it and calls
 * the callback. A thread rather than curl multi on libevent: the stream is
 * one long-lived transfer, so the blocking easy interface (with curl doing
 * TLS, timeouts and reconnects plainly in a loop) is far less code than the
 * multi socket callbacks, and every callback still runs on the loop thread,
 * so the daemons' store and kernel code need no locking.
 *
 * The "pipe" is a socketpair, so that a write after revocation_stop() closed
 * the loop side fails with EPIPE instead of raising SIGPIPE.
 * Records: "C\n" = (re)connected, "L<line>\n" = a line from certd.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/bn.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <jansson.h>

#include "base64.h"
#include "log.h"
#include "revocation.h"

#define BACKOFF_MIN_S 1
#define BACKOFF_MAX_S 30
#define SILENCE_S 30 /* certd sends a heartbeat every 10 s */

int revocation_serial_canon(const char *in, char *out, size_t outlen)
{
	size_t n, k = 0;

	if (*in == '-') {
		if (outlen < 2)
			return -1;
		out[k++] = '-';
		in++;
	}
	n = strlen(in);
	if (!n || strspn(in, "0123456789ABCDEFabcdef") != n)
		return -1;
	while (in[0] == '0' && in[1])
		in++;
	if (k + strlen(in) + 1 > outlen)
		return -1;
	for (; *in; in++)
		out[k++] = (*in >= 'a' && *in <= 'f') ? *in - 32 : *in;
	out[k] = '\0';
	return 0;
}

int revocation_cert_id(X509 *cert, char **issuer_b64, char *serial,
		       size_t serial_len)
{
	unsigned char *der = NULL;
	BIGNUM *bn;
	char *hex;
	int len, err = -1;

	*issuer_b64 = NULL;
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	hex = bn ? BN_bn2hex(bn) : NULL;
	if (hex && !revocation_serial_canon(hex, serial, serial_len)) {
		len = i2d_X509_NAME(X509_get_issuer_name(cert), &der);
		if (len > 0)
			*issuer_b64 = b64_encode(der, (size_t)len);
		err = *issuer_b64 ? 0 : -1;
	}
	OPENSSL_free(der);
	OPENSSL_free(hex);
	BN_free(bn);
	return err;
}

int revocation_request_id(struct evhttp_request *req, char **issuer_b64,
			  char *serial, size_t serial_len)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev;
	SSL *ssl = NULL;
	X509 *cert = NULL;
	int err = -1;

	*issuer_b64 = NULL;
	bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	if (bev)
		ssl = bufferevent_openssl_get_ssl(bev);
	if (ssl)
		cert = SSL_get1_peer_certificate(ssl);
	if (cert)
		err = revocation_cert_id(cert, issuer_b64, serial, serial_len);
	X509_free(cert);
	return err;
}

enum revocation_line revocation_parse_line(const char *line, size_t len,
					   revocation_cb cb, void *arg,
					   char *err, size_t errlen)
{
	json_t *root, *serials = NULL, *s;
	json_error_t jerr;
	const char *type, *issuer;
	unsigned char *der = NULL;
	size_t der_len = 0, i;
	enum revocation_line ret = REVOCATION_LINE_BAD;

	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, errlen, "bad JSON: %s", jerr.text);
		return REVOCATION_LINE_BAD;
	}
	if (json_unpack_ex(root, &jerr, 0, "{s:s}", "type", &type)) {
		snprintf(err, errlen, "no type: %s", jerr.text);
		goto out;
	}
	if (strcmp(type, "revoked")) {
		ret = REVOCATION_LINE_OTHER;
		goto out;
	}
	if (json_unpack_ex(root, &jerr, 0, "{s:s, s:o}", "issuer_der", &issuer,
			   "serials", &serials)) {
		snprintf(err, errlen, "bad revoked event: %s", jerr.text);
		goto out;
	}
	if (!json_is_array(serials)) {
		snprintf(err, errlen,
			 "bad revoked event: serials not an array");
		goto out;
	}
	der = b64_decode(issuer, strlen(issuer), &der_len);
	if (!der || !der_len) {
		snprintf(err, errlen, "issuer_der is not base64");
		goto out;
	}
	json_array_foreach(serials, i, s) {
		char hex[REVOCATION_SERIAL_MAX];

		if (!json_is_string(s) ||
		    revocation_serial_canon(json_string_value(s), hex,
					    sizeof(hex))) {
			snprintf(err, errlen, "bad serial at %zu", i);
			goto out;
		}
	}
	json_array_foreach(serials, i, s) {
		char hex[REVOCATION_SERIAL_MAX];

		revocation_serial_canon(json_string_value(s), hex, sizeof(hex));
		if (cb)
			cb(der, der_len, hex, arg);
	}
	ret = REVOCATION_LINE_REVOKED;
out:
	free(der);
	json_decref(root);
	return ret;
}

struct revocation {
	char *url, *cert, *key, *ca;
	revocation_cb cb;
	revocation_connected_cb connected;
	void *arg;
	int pipe[2];
	struct bufferevent *bev;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool stop;
	/* Thread side, per connection. */
	char *buf;
	size_t buf_len;
	bool got_data;
	/* Loop side. */
	unsigned long events, reconnects;
};

static bool pipe_write(struct revocation *r, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(r->pipe[1], p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *userp)
{
	struct revocation *r = userp;
	size_t n = size * nmemb, start = 0, i;
	char *nb;

	if (!r->got_data) {
		r->got_data = true;
		if (!pipe_write(r, "C\n", 2))
			return 0;
	}
	nb = realloc(r->buf, r->buf_len + n + 1);
	if (!nb)
		return 0;
	r->buf = nb;
	memcpy(r->buf + r->buf_len, data, n);
	r->buf_len += n;
	for (i = 0; i < r->buf_len; i++) {
		if (r->buf[i] != '\n')
			continue;
		if (i > start &&
		    (!pipe_write(r, "L", 1) ||
		     !pipe_write(r, r->buf + start, i - start + 1)))
			return 0;
		start = i + 1;
	}
	memmove(r->buf, r->buf + start, r->buf_len - start);
	r->buf_len -= start;
	if (r->buf_len > REVOCATION_LINE_MAX) {
		/* A line that never ends: reconnect. */
		guise_warn("revocation: a line over %d bytes: dropped, "
			   "reconnecting",
			   REVOCATION_LINE_MAX);
		return 0;
	}
	return n;
}

static int on_progress(void *userp, curl_off_t a, curl_off_t b, curl_off_t c,
		       curl_off_t d)
{
	struct revocation *r = userp;

	(void)a, (void)b, (void)c, (void)d;
	return atomic_load(&r->stop) ? 1 : 0;
}

/* Sleep @s seconds unless stopped; false if stopped. */
static bool backoff_sleep(struct revocation *r, unsigned int s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += s;
	pthread_mutex_lock(&r->lock);
	while (!atomic_load(&r->stop) &&
	       pthread_cond_timedwait(&r->cond, &r->lock, &ts) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&r->lock);
	return !atomic_load(&r->stop);
}

static void *thread_main(void *arg)
{
	struct revocation *r = arg;
	unsigned int backoff = BACKOFF_MIN_S;
	char url[1024];

	snprintf(url, sizeof(url), "%s/v1/events", r->url);
	while (!atomic_load(&r->stop)) {
		CURL *c = curl_easy_init();
		CURLcode rc;

		r->buf_len = 0;
		r->got_data = false;
		if (c) {
			curl_easy_setopt(c, CURLOPT_URL, url);
			curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
			curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
			curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
			curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
			curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
					 (long)SILENCE_S);
			curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
			curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
			curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
			curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
			curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION,
					 on_progress);
			curl_easy_setopt(c, CURLOPT_XFERINFODATA, r);
			if (r->cert)
				curl_easy_setopt(c, CURLOPT_SSLCERT, r->cert);
			if (r->key)
				curl_easy_setopt(c, CURLOPT_SSLKEY, r->key);
			if (r->ca)
				curl_easy_setopt(c, CURLOPT_CAINFO, r->ca);
			rc = curl_easy_perform(c);
			if (!atomic_load(&r->stop))
				guise_warn("revocation: %s: stream ended: %s",
					   url, curl_easy_strerror(rc));
			curl_easy_cleanup(c);
		}
		if (r->got_data)
			backoff = BACKOFF_MIN_S;
		if (!backoff_sleep(r, backoff))
			break;
		if (backoff < BACKOFF_MAX_S)
			backoff *= 2;
	}
	return NULL;
}

static void on_pipe(struct bufferevent *bev, void *arg)
{
	struct revocation *r = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len;
	char *line, err[256];

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF))) {
		if (line[0] == 'C') {
			r->reconnects++;
			guise_info("revocation: connected to %s", r->url);
			if (r->connected)
				r->connected(r->arg);
		} else if (line[0] == 'L') {
			enum revocation_line k =
				revocation_parse_line(line + 1, len - 1, r->cb,
						      r->arg, err, sizeof(err));

			if (k == REVOCATION_LINE_BAD)
				guise_warn("revocation: %s", err);
			else if (k == REVOCATION_LINE_REVOKED)
				r->events++;
		}
		free(line);
	}
}

unsigned long revocation_events(const struct revocation *r)
{
	return r ? r->events : 0;
}

unsigned long revocation_reconnects(const struct revocation *r)
{
	return r ? r->reconnects : 0;
}

static char *dup_opt(const char *s)
{
	return s ? strdup(s) : NULL;
}

struct revocation *
revocation_start(struct event_base *base, const struct revocation_conf *conf,
		 revocation_cb cb, revocation_connected_cb connected, void *arg)
{
	struct revocation *r;

	if (!conf->url || curl_global_init(CURL_GLOBAL_DEFAULT))
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->pipe[0] = r->pipe[1] = -1;
	r->url = strdup(conf->url);
	r->cert = dup_opt(conf->cert);
	r->key = dup_opt(conf->key);
	r->ca = dup_opt(conf->ca);
	r->cb = cb;
	r->connected = connected;
	r->arg = arg;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	if (!r->url ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, r->pipe))
		goto fail;
	r->bev = bufferevent_socket_new(base, r->pipe[0], 0);
	if (!r->bev)
		goto fail;
	bufferevent_setcb(r->bev, on_pipe, NULL, NULL, r);
	bufferevent_enable(r->bev, EV_READ);
	if (pthread_create(&r->thread, NULL, thread_main, r))
		goto fail_thread;
	return r;
fail_thread:
	bufferevent_free(r->bev);
	r->bev = NULL;
fail:
	if (r->pipe[0] >= 0)
		close(r->pipe[0]);
	if (r->pipe[1] >= 0)
		close(r->pipe[1]);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	free(r->url);
	free(r->cert);
	free(r->key);
	free(r->ca);
	free(r);
	return NULL;
}

void revocation_stop(struct revocation *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	atomic_store(&r->stop, true);
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	/* Unblock a thread writing to a full pipe by closing the loop side. */
	bufferevent_free(r->bev);
	close(r->pipe[0]);
	pthread_join(r->thread, NULL);
	close(r->pipe[1]);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	free(r->buf);
	free(r->url);
	free(r->cert);
	free(r->key);
	free(r->ca);
	free(r);
}
