// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <time.h>
#include <sys/eventfd.h>
#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "urlpolicy.h"
#include "worker.h"

/* A peer answer is read and dropped; more than this is an error. */
#define WORKER_MAX_REPLY 65536
/* Pre-warm: the longest wait before trying a destination that is down
 * again, and the shortest between two warnings about one. */
#define WARM_BACKOFF_MAX 60
#define WARM_WARN_EVERY 600
/* What a pre-warm asks: a cheap answer, and the connection kept open. */
#define WARM_TARGET "/v1/health?keepalive=1"

/*
 * One destination (scheme, host, port): its TLS session and, with
 * keepalive, its open connection.
 */
struct peer {
	struct peer *next;
	struct worker *w;
	char *key;
	SSL_SESSION *sess;
	struct evhttp_connection *evcon; /* kept open; NULL: none */
	SSL *ssl; /* evcon's (NULL for http) */
	struct bufferevent *bev; /* evcon's */
	bool busy; /* a POST is on evcon */
	time_t opened; /* evcon's opening (monotonic) */
	/* Pre-warm: a configured destination, kept connected. */
	bool warm;
	char *warm_url;
	struct event *warm_ev; /* (re)open it */
	struct job *warm_job; /* the GET in flight */
	unsigned int backoff; /* seconds before the next attempt; 0 at once */
	unsigned int fails; /* attempts that failed in a row */
	time_t warned; /* the last warning about it (monotonic) */
};

/* A kept connection that closed: freed from the reaper event. */
struct dead_conn {
	struct dead_conn *next;
	struct evhttp_connection *evcon;
};

/* Shared by the POSTs of one body; freed by the last, on either thread. */
struct worker_body {
	void *data;
	size_t len;
	unsigned int refs; /* atomic */
};

struct job {
	struct job *next;
	struct worker *w;
	char *url, *ctype;
	struct worker_body *body;
	/* while running */
	struct peer *peer;
	SSL *ssl; /* owned by the connection's bufferevent; NULL for http */
	struct bufferevent *bev; /* owned by the connection */
	struct evhttp_connection *evcon;
	bool kept; /* @evcon is @peer's kept connection */
	bool reused; /* ... opened by an earlier POST */
	bool retried; /* sent again after a stale kept connection failed */
	int code; /* the HTTP answer's status, 0 none */
	bool in_make, finished, ok;
	bool warm; /* a pre-warm GET (not counted in active) */
	bool guarded; /* WORKER_GUARDED */
	char why[160];
};

/*
 * The thread's state. The SSL_CTX (client certificate, key and CA store)
 * is made once: OpenSSL 3 spends milliseconds making a context and
 * parsing the PEM files, which libcurl does for every new connection.
 * TLS sessions are kept per destination and offered again, so a
 * forward to a peer seen before is an abbreviated handshake.
 */
struct worker {
	struct worker_tls tls;
	SSL_CTX *ctx;
	pthread_t thread;
	pthread_mutex_t lock;
	struct job *head, **tail;
	size_t queued;
	bool stop, rewarm;
	uint64_t sent, failed, dropped, resumed, reused;
	uint64_t warmed, warm_failed, warm_open, warm_down;
	/* The worker thread's own. */
	struct event_base *base;
	struct event *wake;
	int wake_fd;
	size_t active;
	struct peer *peers;
	size_t n_peers;
	struct dead_conn *dead;
	struct event *reaper;
};

static void tls_log(const char *what, const char *path)
{
	char buf[256];
	unsigned long e = ERR_get_error();

	ERR_error_string_n(e, buf, sizeof(buf));
	guise_err("forwarding: %s %s: %s", what, path ? path : "",
		  e ? buf : "failed");
	ERR_clear_error();
}

static int ssl_job_idx = -1;

/* A new session (TLS 1.3: a ticket after the handshake): keep it. */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct peer *p = SSL_get_ex_data(ssl, ssl_job_idx);

	if (!p)
		return 0;
	SSL_SESSION_free(p->sess);
	p->sess = sess;
	return 1; /* the reference is ours */
}

static SSL_CTX *client_ctx(const struct worker_tls *tls)
{
	const char *key = tls->key ? tls->key : tls->cert;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx) {
		tls_log("context", NULL);
		return NULL;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
		goto fail;
	if (tls->cert &&
	    SSL_CTX_use_certificate_chain_file(ctx, tls->cert) != 1) {
		tls_log("certificate", tls->cert);
		goto fail;
	}
	if (key &&
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		tls_log("key", key);
		goto fail;
	}
	if (tls->cert && SSL_CTX_check_private_key(ctx) != 1) {
		tls_log("key does not match", tls->cert);
		goto fail;
	}
	if (tls->ca ? SSL_CTX_load_verify_locations(ctx, tls->ca, NULL) != 1 :
		      SSL_CTX_set_default_verify_paths(ctx) != 1) {
		tls_log("CA", tls->ca);
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
						    SSL_SESS_CACHE_NO_INTERNAL);
	SSL_CTX_sess_set_new_cb(ctx, on_new_session);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static struct peer *peer_get(struct worker *w, const char *key)
{
	struct peer *p;

	for (p = w->peers; p; p = p->next)
		if (!strcmp(p->key, key))
			return p;
	/* Subscribers come and go: a bounded memory of destinations. */
	if (w->n_peers >= WORKER_MAX_PEERS)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p || !(p->key = strdup(key))) {
		free(p);
		return NULL;
	}
	p->w = w;
	p->next = w->peers;
	w->peers = p;
	w->n_peers++;
	return p;
}

static time_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static bool stopping(struct worker *w)
{
	bool stop;

	pthread_mutex_lock(&w->lock);
	stop = w->stop;
	pthread_mutex_unlock(&w->lock);
	return stop;
}

/* @p has a kept connection now (@open) or no more: the gauge. */
static void peer_kept(struct peer *p, bool open)
{
	if (open)
		p->opened = mono_now();
	if (!p->warm)
		return;
	pthread_mutex_lock(&p->w->lock);
	if (open)
		p->w->warm_open++;
	else if (p->w->warm_open)
		p->w->warm_open--;
	pthread_mutex_unlock(&p->w->lock);
}

/*
 * Pre-warm @p again (it has no connection): at once, or after a backoff
 * that doubles (1, 2, 4 ... WARM_BACKOFF_MAX s) when @failed (an attempt
 * failed, or its connection closed early). A wait under way stays.
 */
static void warm_later(struct peer *p, bool failed)
{
	struct timeval tv = { 0, 0 };

	if (!p->warm || p->warm_job || p->evcon ||
	    evtimer_pending(p->warm_ev, NULL) || stopping(p->w))
		return;
	if (failed) {
		p->backoff = p->backoff ? 2 * p->backoff : 1;
		if (p->backoff > WARM_BACKOFF_MAX)
			p->backoff = WARM_BACKOFF_MAX;
		tv.tv_sec = p->backoff;
	}
	evtimer_add(p->warm_ev, &tv);
}

/* Free the kept connections that closed (not from their callbacks). */
static void on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct dead_conn *dc;

	(void)fd;
	(void)what;
	while ((dc = w->dead)) {
		w->dead = dc->next;
		evhttp_connection_free(dc->evcon);
		free(dc);
	}
}

/* @p's kept connection @evcon is done for: the next POST opens another. */
static void peer_drop(struct peer *p, struct evhttp_connection *evcon)
{
	unsigned int ka = p->w->tls.keepalive;
	struct dead_conn *dc;
	bool early;

	if (!p->evcon || p->evcon != evcon)
		return;
	p->evcon = NULL;
	p->ssl = NULL;
	p->bev = NULL;
	p->busy = false;
	peer_kept(p, false);
	/*
	 * A pre-warmed destination is connected again: at once after a
	 * connection that lived about its keepalive (closed idle, or the
	 * peer restarted after a while); with a backoff after one that did
	 * not (refused, failed, or a peer that closes idle connections
	 * early), so that a peer that is down is not hammered.
	 */
	early = mono_now() - p->opened < (time_t)(ka / 2 ? ka / 2 : 1);
	if (!early)
		p->backoff = 0;
	warm_later(p, early);
	/* In its own callbacks: libevent must not free it yet. */
	dc = malloc(sizeof(*dc));
	if (!dc)
		return; /* a leak rather than a use after free */
	dc->evcon = evcon;
	dc->next = p->w->dead;
	p->w->dead = dc;
	event_active(p->w->reaper, EV_TIMEOUT, 0);
}

/* A kept connection closed (idle timeout, the peer closed it, failed). */
static void on_close(struct evhttp_connection *evcon, void *arg)
{
	struct peer *p = arg;

	/* close_notify: OpenSSL would mark the session of a connection
	 * freed without it as not resumable. */
	if (p->evcon == evcon && p->ssl && SSL_is_init_finished(p->ssl))
		SSL_shutdown(p->ssl);
	ERR_clear_error();
	peer_drop(p, evcon);
}

static void job_free(struct job *j)
{
	free(j->url);
	free(j->ctype);
	worker_body_put(j->body);
	free(j);
}

static void start_jobs(struct worker *w);

/* The pre-warmed @p answered: up again if it was down. */
static void warm_up(struct peer *p)
{
	if (!p->warm || !p->fails)
		return;
	pthread_mutex_lock(&p->w->lock);
	p->w->warm_down--;
	pthread_mutex_unlock(&p->w->lock);
	guise_info("forwarding: %s answers again (after %u failed attempts "
		   "to connect)",
		   p->key, p->fails);
	p->fails = 0;
}

/* A pre-warm GET is over: count it, log (rate-limited), plan the next. */
static void warm_end(struct job *j)
{
	struct worker *w = j->w;
	struct peer *p = j->peer;
	time_t now = mono_now();

	p->warm_job = NULL;
	pthread_mutex_lock(&w->lock);
	if (j->ok)
		w->warmed++;
	else
		w->warm_failed++;
	if (!j->ok && !p->fails)
		w->warm_down++;
	pthread_mutex_unlock(&w->lock);
	if (j->ok) {
		warm_up(p);
		job_free(j);
		return;
	}
	/* One warning when it goes down, then one every WARM_WARN_EVERY. */
	if (!p->fails++ || now - p->warned >= WARM_WARN_EVERY) {
		guise_warn("forwarding: cannot connect to %s: %s (attempt %u; "
			   "retried with a backoff of up to %d s)",
			   p->key, j->why[0] ? j->why : "failed", p->fails,
			   WARM_BACKOFF_MAX);
		p->warned = now;
	}
	if (p->sess) {
		SSL_SESSION_free(p->sess);
		p->sess = NULL;
	}
	job_free(j);
	warm_later(p, true);
}

/* A transfer is over: count it, free it; @more: start what waits. */
static void job_end(struct job *j, bool more)
{
	struct worker *w = j->w;
	bool resumed = false;

	if (j->warm) {
		warm_end(j);
		return;
	}
	if (j->ok && j->ssl)
		resumed = SSL_session_reused(j->ssl);
	if (!j->ok && !j->code && j->reused && !j->retried && more) {
		/*
		 * A kept connection that the peer had closed meanwhile
		 * (its idle timeout, a restart): once more on a new one.
		 * Harmless if it did arrive: a duplicate is dropped.
		 */
		j->retried = true;
		j->reused = j->kept = j->finished = false;
		j->ssl = NULL;
		j->bev = NULL;
		j->evcon = NULL;
		j->why[0] = '\0';
		w->active--;
		pthread_mutex_lock(&w->lock);
		j->next = w->head;
		w->head = j;
		if (!j->next)
			w->tail = &j->next;
		w->queued++;
		pthread_mutex_unlock(&w->lock);
		start_jobs(w);
		return;
	}
	if (!j->ok) {
		guise_warn("POST %s: %s", j->url,
			   j->why[0] ? j->why : "failed");
		/* Whatever went wrong, the next one starts afresh. */
		if (j->peer && j->peer->sess) {
			SSL_SESSION_free(j->peer->sess);
			j->peer->sess = NULL;
		}
	}
	if (j->ok && j->peer)
		warm_up(j->peer);
	pthread_mutex_lock(&w->lock);
	if (j->ok)
		w->sent++;
	else
		w->failed++;
	w->resumed += resumed;
	w->reused += j->ok && j->reused;
	pthread_mutex_unlock(&w->lock);
	w->active--;
	job_free(j);
	if (more)
		start_jobs(w);
}

static void on_error(enum evhttp_request_error e, void *arg)
{
	static const char *const names[] = {
		[EVREQ_HTTP_TIMEOUT] = "timeout",
		[EVREQ_HTTP_EOF] = "connection closed",
		[EVREQ_HTTP_INVALID_HEADER] = "bad answer",
		[EVREQ_HTTP_BUFFER_ERROR] = "connection failed",
		[EVREQ_HTTP_REQUEST_CANCEL] = "cancelled",
		[EVREQ_HTTP_DATA_TOO_LONG] = "answer too long",
	};
	struct job *j = arg;
	unsigned long e2 = j->bev ? bufferevent_get_openssl_error(j->bev) : 0;
	long v = j->ssl ? SSL_get_verify_result(j->ssl) : X509_V_OK;
	char buf[128] = "";

	if (v != X509_V_OK)
		snprintf(buf, sizeof(buf), "certificate verify failed (%s)",
			 X509_verify_cert_error_string(v));
	else if (e2)
		ERR_error_string_n(e2, buf, sizeof(buf));
	ERR_clear_error();
	snprintf(j->why, sizeof(j->why), "%s%s%s",
		 (unsigned int)e < sizeof(names) / sizeof(names[0]) &&
				 names[e] ?
			 names[e] :
			 "failed",
		 buf[0] ? ": " : "", buf);
}

static void on_done(struct evhttp_request *req, void *arg)
{
	struct job *j = arg;
	int code = req ? evhttp_request_get_response_code(req) : 0;

	j->code = code;
	j->ok = code >= 200 && code <= 299;
	if (!j->ok && code && !j->why[0])
		snprintf(j->why, sizeof(j->why), "refused (%d)", code);
	else if (!j->ok && !j->why[0]) /* no error callback: connect() */
		snprintf(j->why, sizeof(j->why), "cannot connect");
	j->finished = true;
	if (j->kept) {
		/* Kept open for the next POST, up to keepalive seconds;
		 * after a failure, a new one. */
		if (j->ok) {
			evhttp_connection_set_timeout(j->evcon,
						      (int)j->w->tls.keepalive);
			j->peer->busy = false;
		} else {
			peer_drop(j->peer, j->evcon);
		}
	} else if (j->ok && j->ssl) {
		/*
		 * Close the TLS connection properly (close_notify): OpenSSL
		 * marks the session of one that just goes away as not
		 * resumable.
		 */
		SSL_shutdown(j->ssl);
	}
	ERR_clear_error();
	if (!j->in_make)
		job_end(j, true);
}

static bool is_ip(const char *host)
{
	unsigned char a[16];

	return inet_pton(AF_INET, host, a) == 1 ||
	       inet_pton(AF_INET6, host, a) == 1;
}

/*
 * Where @j's new connection goes: @name itself, or for a guarded job
 * (WORKER_GUARDED) the first address of @name that is not special, as
 * text into @addr. 0, or -1 with @j->why. The lookup blocks the thread
 * as libevent's own would (no DNS base).
 */
static int conn_addr(struct job *j, const char *name, int port, char *addr,
		     size_t len)
{
	struct evutil_addrinfo hints = { .ai_family = AF_UNSPEC,
					 .ai_socktype = SOCK_STREAM,
					 .ai_flags = EVUTIL_AI_ADDRCONFIG };
	struct evutil_addrinfo *res = NULL, *ai;
	char port_text[8], refused[INET6_ADDRSTRLEN] = "";
	int err;

	snprintf(addr, len, "%s", name);
	if (!j->guarded || is_ip(name))
		return 0;
	snprintf(port_text, sizeof(port_text), "%d", port);
	err = evutil_getaddrinfo(name, port_text, &hints, &res);
	if (err) {
		snprintf(j->why, sizeof(j->why), "cannot resolve %.100s: %s",
			 name, evutil_gai_strerror(err));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		if (!urlpolicy_addr_special(ai->ai_addr,
					    (socklen_t)ai->ai_addrlen))
			break;
		if (!refused[0])
			getnameinfo(ai->ai_addr, (socklen_t)ai->ai_addrlen,
				    refused, sizeof(refused), NULL, 0,
				    NI_NUMERICHOST);
	}
	if (ai)
		err = getnameinfo(ai->ai_addr, (socklen_t)ai->ai_addrlen, addr,
				  (socklen_t)len, NULL, 0, NI_NUMERICHOST);
	else
		snprintf(j->why, sizeof(j->why),
			 "its host resolves to %s (loopback, link-local, "
			 "unspecified, multicast or reserved)",
			 refused[0] ? refused : "?");
	evutil_freeaddrinfo(res);
	if (ai && err)
		snprintf(j->why, sizeof(j->why), "cannot resolve %.100s", name);
	return ai && !err ? 0 : -1;
}

/*
 * May guarded @j go over @bev, a kept connection to its destination,
 * opened perhaps for a job of the configuration (unchecked)? Only if its
 * peer's address passes the rule conn_addr() applies to a new one; a
 * kept connection that has closed is not reused (libevent would connect
 * again to a name it resolves itself).
 */
static bool conn_reusable(const struct job *j, const char *name,
			  struct bufferevent *bev)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd;

	if (!j->guarded || is_ip(name))
		return true;
	fd = bev ? bufferevent_getfd(bev) : -1;
	return fd >= 0 && !getpeername(fd, (struct sockaddr *)&ss, &len) &&
	       !urlpolicy_addr_special((struct sockaddr *)&ss, len);
}

/* A new connection for @j (@name: the host without brackets). */
static struct evhttp_connection *conn_new(struct worker *w, struct job *j,
					  bool https, const char *name,
					  int port)
{
	char addr[INET6_ADDRSTRLEN + 256];
	struct evhttp_connection *evcon;
	struct bufferevent *bev;

	if (conn_addr(j, name, port, addr, sizeof(addr)))
		return NULL;
	if (https) {
		j->ssl = SSL_new(w->ctx);
		if (!j->ssl) {
			snprintf(j->why, sizeof(j->why), "out of memory");
			return NULL;
		}
		SSL_set_ex_data(j->ssl, ssl_job_idx, j->peer);
		if (is_ip(name) ? !X509_VERIFY_PARAM_set1_ip_asc(
					  SSL_get0_param(j->ssl), name) :
				  (!SSL_set1_host(j->ssl, name) ||
				   !SSL_set_tlsext_host_name(j->ssl, name))) {
			snprintf(j->why, sizeof(j->why), "bad host name");
			SSL_free(j->ssl);
			j->ssl = NULL;
			return NULL;
		}
		if (j->peer && j->peer->sess)
			SSL_set_session(j->ssl, j->peer->sess);
		/* On failure libevent 2.1 may have freed @ssl (http.c). */
		bev = bufferevent_openssl_socket_new(
			w->base, -1, j->ssl, BUFFEREVENT_SSL_CONNECTING,
			BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		if (bev)
			bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	} else {
		bev = bufferevent_socket_new(w->base, -1,
					     BEV_OPT_CLOSE_ON_FREE |
						     BEV_OPT_DEFER_CALLBACKS);
	}
	if (!bev) {
		j->ssl = NULL;
		snprintf(j->why, sizeof(j->why), "out of memory");
		return NULL;
	}
	/* The TLS name stays @name (above); the Host header is the URL's. */
	evcon = evhttp_connection_base_bufferevent_new(w->base, NULL, bev, addr,
						       (unsigned short)port);
	if (!evcon) {
		bufferevent_free(bev);
		j->ssl = NULL;
		snprintf(j->why, sizeof(j->why), "out of memory");
		return NULL;
	}
	j->bev = bev;
	evhttp_connection_set_retries(evcon, 0);
	evhttp_connection_set_max_body_size(evcon, WORKER_MAX_REPLY);
	/* Kept for the next POSTs to this destination (keepalive). */
	if (w->tls.keepalive && j->peer && !j->peer->evcon) {
		j->peer->evcon = evcon;
		j->peer->ssl = j->ssl;
		j->peer->bev = bev;
		j->peer->busy = true;
		j->kept = true;
		peer_kept(j->peer, true);
		evhttp_connection_set_closecb(evcon, on_close, j->peer);
	}
	return evcon;
}

/* A URL's destination: where to connect, what to ask. */
struct dest {
	bool https;
	int port;
	char host[260]; /* as in the URL ([v6 literal]) */
	char name[256]; /* without brackets */
	char hostport[300], key[320], target[2048];
};

/* Parse @url into @d. 0, or -1 if it is not an http(s) URL. */
static int dest_parse(const char *url, struct dest *d)
{
	struct evhttp_uri *uri = evhttp_uri_parse(url);
	const char *scheme, *host, *path, *query;
	size_t n;
	int ret = -1;

	scheme = uri ? evhttp_uri_get_scheme(uri) : NULL;
	host = uri ? evhttp_uri_get_host(uri) : NULL;
	if (!scheme || !host || !*host ||
	    (strcmp(scheme, "https") && strcmp(scheme, "http")))
		goto out;
	d->https = !strcmp(scheme, "https");
	d->port = evhttp_uri_get_port(uri);
	if (d->port < 0)
		d->port = d->https ? 443 : 80;
	snprintf(d->host, sizeof(d->host), "%s", host);
	/* [v6 literal] -> v6 literal */
	n = strlen(host);
	if (host[0] == '[' && n > 2 && host[n - 1] == ']')
		snprintf(d->name, sizeof(d->name), "%.*s", (int)(n - 2),
			 host + 1);
	else
		snprintf(d->name, sizeof(d->name), "%s", host);
	snprintf(d->hostport, sizeof(d->hostport), "%s:%d", host, d->port);
	snprintf(d->key, sizeof(d->key), "%s://%s", scheme, d->hostport);
	path = evhttp_uri_get_path(uri);
	query = evhttp_uri_get_query(uri);
	snprintf(d->target, sizeof(d->target), "%s%s%s",
		 path && *path ? path : "/", query ? "?" : "",
		 query ? query : "");
	ret = 0;
out:
	if (uri)
		evhttp_uri_free(uri);
	return ret;
}

/* Start @j's POST (a pre-warm's GET). 0, or -1 (@j->why says why). */
static int post_start(struct worker *w, struct job *j)
{
	struct evhttp_connection *evcon = NULL;
	struct evhttp_request *req = NULL;
	struct evkeyvalq *h;
	struct dest d;
	int fd, one = 1, ret = -1;

	if (dest_parse(j->url, &d)) {
		snprintf(j->why, sizeof(j->why), "not an http(s) URL");
		goto out;
	}
	j->peer = peer_get(w, d.key);
	if (j->peer && j->peer->evcon && !j->peer->busy && !j->retried &&
	    conn_reusable(j, d.name, j->peer->bev)) {
		/* The connection an earlier POST left open. A POST while
		 * it is busy takes a connection of its own. */
		evcon = j->peer->evcon;
		j->ssl = j->peer->ssl;
		j->bev = j->peer->bev;
		j->peer->busy = true;
		j->kept = j->reused = true;
	} else if (!(evcon = conn_new(w, j, d.https, d.name, d.port))) {
		goto out;
	}
	j->evcon = evcon;
	evhttp_connection_set_timeout(evcon, (int)w->tls.timeout);
	req = evhttp_request_new(on_done, j);
	if (!req) {
		snprintf(j->why, sizeof(j->why), "out of memory");
		goto out;
	}
	evhttp_request_set_error_cb(req, on_error);
	h = evhttp_request_get_output_headers(req);
	if (evhttp_add_header(h, "Host",
			      d.port == (d.https ? 443 : 80) ? d.host :
							       d.hostport) ||
	    (!j->warm && (evhttp_add_header(h, "Content-Type", j->ctype) ||
			  evbuffer_add(evhttp_request_get_output_buffer(req),
				       j->body->data, j->body->len)))) {
		evhttp_request_free(req);
		snprintf(j->why, sizeof(j->why), "out of memory");
		goto out;
	}
	j->in_make = true;
	if (evhttp_make_request(evcon, req,
				j->warm ? EVHTTP_REQ_GET : EVHTTP_REQ_POST,
				d.target)) {
		j->in_make = false;
		if (!j->why[0])
			snprintf(j->why, sizeof(j->why), "cannot connect");
		goto out; /* @req is gone */
	}
	j->in_make = false;
	/* The request and the TLS records leave at once (no Nagle wait
	 * for the delayed ACK). */
	fd = bufferevent_getfd(j->bev);
	if (fd >= 0 && !j->reused)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!j->kept)
		evhttp_connection_free_on_completion(evcon);
	evcon = NULL;
	ret = 0;
	if (j->finished) /* answered at once (an error) */
		ret = 1;
out:
	if (evcon) {
		if (j->kept)
			peer_drop(j->peer, evcon); /* freed by the reaper */
		else
			evhttp_connection_free(evcon);
		j->ssl = NULL;
		j->bev = NULL;
		j->evcon = NULL;
		j->kept = false;
	}
	ERR_clear_error();
	return ret;
}

/* Open a connection to the pre-warmed @p if it has none. */
static void warm_start(struct peer *p)
{
	struct worker *w = p->w;
	struct job *j;
	int r;

	if (p->evcon || p->warm_job || stopping(w))
		return;
	j = calloc(1, sizeof(*j));
	if (!j || !(j->url = strdup(p->warm_url))) {
		free(j);
		warm_later(p, true);
		return;
	}
	j->w = w;
	j->warm = true;
	j->peer = p;
	p->warm_job = j;
	r = post_start(w, j);
	if (r < 0)
		j->ok = false;
	if (r)
		warm_end(j);
}

static void on_warm(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	warm_start(arg);
}

/* Take queued jobs while there is room; stop when told and idle. */
static void start_jobs(struct worker *w)
{
	struct job *j;
	int r;

	for (;;) {
		pthread_mutex_lock(&w->lock);
		if (!w->head || w->active >= WORKER_PARALLEL) {
			if (w->stop && !w->head && !w->active)
				event_base_loopbreak(w->base);
			pthread_mutex_unlock(&w->lock);
			return;
		}
		j = w->head;
		w->head = j->next;
		if (!w->head)
			w->tail = &w->head;
		w->queued--;
		pthread_mutex_unlock(&w->lock);
		j->next = NULL;
		j->w = w;
		w->active++;
		r = post_start(w, j);
		if (r < 0)
			j->ok = false;
		if (r)
			job_end(j, false);
	}
}

/* SIGHUP: the pre-warmed destinations that wait for a retry, at once. */
static void rewarm(struct worker *w)
{
	struct peer *p;

	for (p = w->peers; p; p = p->next) {
		if (!p->warm || p->evcon || p->warm_job)
			continue;
		evtimer_del(p->warm_ev);
		p->backoff = 0;
		warm_start(p);
	}
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	uint64_t v;
	bool again;

	(void)what;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		guise_warn("forwarding: wake-up: %s", strerror(errno));
	pthread_mutex_lock(&w->lock);
	again = w->rewarm;
	w->rewarm = false;
	pthread_mutex_unlock(&w->lock);
	if (again)
		rewarm(w);
	start_jobs(w);
}

static void wake(struct worker *w)
{
	uint64_t one = 1;

	if (write(w->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		guise_warn("forwarding: wake-up: %s", strerror(errno));
}

/*
 * The queue is served in parallel: up to WORKER_PARALLEL POSTs at once on
 * the thread's event loop, so a notification reaches every destination
 * of the forwarding list after about one TLS handshake and answer, not
 * one per destination, and a slow peer holds up nobody else.
 */
static void *worker_main(void *arg)
{
	struct worker *w = arg;

	event_base_dispatch(w->base);
	return NULL;
}

static void worker_free(struct worker *w)
{
	struct peer *p, *next;
	struct evhttp_connection *evcon;

	for (p = w->peers; p; p = next) {
		next = p->next;
		evcon = p->evcon;
		p->evcon = NULL; /* on_close() leaves it alone */
		if (evcon) {
			/* Any pre-warm GET on it goes with it, unanswered. */
			if (p->ssl && SSL_is_init_finished(p->ssl))
				SSL_shutdown(p->ssl);
			evhttp_connection_free(evcon);
		}
		if (p->warm_job)
			job_free(p->warm_job);
		if (p->warm_ev)
			event_free(p->warm_ev);
		SSL_SESSION_free(p->sess);
		free(p->warm_url);
		free(p->key);
		free(p);
	}
	if (w->reaper) {
		on_reap(-1, 0, w);
		event_free(w->reaper);
	}
	if (w->wake)
		event_free(w->wake);
	ERR_clear_error();
	if (w->base)
		event_base_free(w->base);
	if (w->wake_fd >= 0)
		close(w->wake_fd);
	SSL_CTX_free(w->ctx);
	free(w);
}

/*
 * The destinations of @tls->warm, each connected as soon as the thread
 * runs. Before the thread starts. 0 or -1.
 */
static int warm_setup(struct worker *w, const struct worker_tls *tls)
{
	static const struct timeval now = { 0, 0 };
	struct dest d;
	struct peer *p;
	size_t i, len;
	int ret = 0;

	w->tls.warm = NULL; /* not kept: copied here */
	w->tls.n_warm = 0;
	if (!tls->keepalive || !tls->n_warm)
		return 0;
	for (i = 0; i < tls->n_warm && !ret; i++) {
		if (dest_parse(tls->warm[i], &d))
			continue; /* its POSTs will say so */
		p = peer_get(w, d.key);
		if (!p) {
			ret = -1;
			break;
		}
		if (p->warm)
			continue;
		len = strlen(d.key) + sizeof(WARM_TARGET);
		p->warm_url = malloc(len);
		p->warm_ev = evtimer_new(w->base, on_warm, p);
		if (!p->warm_url || !p->warm_ev) {
			ret = -1;
			break;
		}
		snprintf(p->warm_url, len, "%s%s", d.key, WARM_TARGET);
		p->warm = true;
		ret = evtimer_add(p->warm_ev, &now);
	}
	return ret;
}

int worker_start(const struct worker_tls *tls, struct worker **out)
{
	struct worker *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->wake_fd = -1;
	if (ssl_job_idx < 0)
		ssl_job_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	w->tls = *tls;
	w->tail = &w->head;
	w->ctx = client_ctx(tls);
	w->base = event_base_new();
	w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ssl_job_idx < 0 || !w->ctx || !w->base || w->wake_fd < 0) {
		worker_free(w);
		return -EINVAL;
	}
	w->wake = event_new(w->base, w->wake_fd, EV_READ | EV_PERSIST, on_wake,
			    w);
	w->reaper = event_new(w->base, -1, 0, on_reap, w);
	pthread_mutex_init(&w->lock, NULL);
	if (!w->wake || !w->reaper || event_add(w->wake, NULL) ||
	    warm_setup(w, tls)) {
		pthread_mutex_destroy(&w->lock);
		worker_free(w);
		return -ENOMEM;
	}
	if (pthread_create(&w->thread, NULL, worker_main, w)) {
		pthread_mutex_destroy(&w->lock);
		worker_free(w);
		return -EAGAIN;
	}
	*out = w;
	return 0;
}

void worker_rewarm(struct worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->rewarm = true;
	pthread_mutex_unlock(&w->lock);
	wake(w);
}

void worker_stop(struct worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_mutex_unlock(&w->lock);
	wake(w);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->lock);
	worker_free(w);
}

struct worker_body *worker_body_new(const void *data, size_t len)
{
	struct worker_body *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->data = malloc(len ? len : 1);
	if (!b->data) {
		free(b);
		return NULL;
	}
	memcpy(b->data, data, len);
	b->len = len;
	b->refs = 1;
	return b;
}

void worker_body_put(struct worker_body *b)
{
	if (!b || __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL))
		return;
	free(b->data);
	free(b);
}

int worker_post(struct worker *w, const char *url, const char *content_type,
		const void *body, size_t len, unsigned int flags)
{
	struct worker_body *b = worker_body_new(body, len);
	int ret;

	if (!b)
		return -ENOMEM;
	ret = worker_post_body(w, url, content_type, b, flags);
	worker_body_put(b);
	return ret;
}

int worker_post_body(struct worker *w, const char *url,
		     const char *content_type, struct worker_body *body,
		     unsigned int flags)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j)
		return -ENOMEM;
	j->guarded = flags & WORKER_GUARDED;
	j->url = strdup(url);
	j->ctype = strdup(content_type);
	if (!j->url || !j->ctype) {
		job_free(j);
		return -ENOMEM;
	}
	__atomic_add_fetch(&body->refs, 1, __ATOMIC_RELAXED);
	j->body = body;
	pthread_mutex_lock(&w->lock);
	if (w->queued >= WORKER_MAX_QUEUE || w->stop) {
		w->dropped++;
		pthread_mutex_unlock(&w->lock);
		job_free(j);
		return -ENOSPC;
	}
	*w->tail = j;
	w->tail = &j->next;
	w->queued++;
	pthread_mutex_unlock(&w->lock);
	wake(w);
	return 0;
}

void worker_counts(struct worker *w, struct worker_stats *st)
{
	pthread_mutex_lock(&w->lock);
	st->sent = w->sent;
	st->failed = w->failed;
	st->dropped = w->dropped;
	st->resumed = w->resumed;
	st->reused = w->reused;
	st->warmed = w->warmed;
	st->warm_failed = w->warm_failed;
	st->warm_open = w->warm_open;
	st->warm_down = w->warm_down;
	pthread_mutex_unlock(&w->lock);
}

static void tls_setopts(CURL *c, const struct worker_tls *tls)
{
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)tls->timeout);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
	if (tls->ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, tls->ca);
	if (tls->cert)
		curl_easy_setopt(c, CURLOPT_SSLCERT, tls->cert);
	if (tls->key)
		curl_easy_setopt(c, CURLOPT_SSLKEY, tls->key);
}

struct fetch_buf {
	unsigned char *data;
	size_t len, max;
};

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct fetch_buf *b = arg;
	size_t len = size * n;
	unsigned char *p;

	if (len > b->max - b->len)
		return 0;
	p = realloc(b->data, b->len + len + 1);
	if (!p)
		return 0;
	b->data = p;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return len;
}

static int on_fetch_progress(void *arg, curl_off_t a, curl_off_t b,
			     curl_off_t c, curl_off_t d)
{
	const bool *cancel = arg;

	(void)a;
	(void)b;
	(void)c;
	(void)d;
	return __atomic_load_n(cancel, __ATOMIC_RELAXED) ? 1 : 0;
}

static int fetch(const struct worker_tls *tls, const char *url,
		 const struct urlpolicy_url *checked,
		 struct urlpolicy_guard *guard, size_t max, unsigned char **out,
		 size_t *out_len, const bool *cancel)
{
	struct fetch_buf b = { .max = max };
	CURL *c = curl_easy_init();
	long code = 0;
	CURLcode rc;

	if (!c)
		return -1;
	tls_setopts(c, tls);
	if (guard)
		urlpolicy_guard(c, guard, checked);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (cancel) {
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION,
				 on_fetch_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, cancel);
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	/* file:// answers 0. */
	if (rc != CURLE_OK || (code && (code < 200 || code > 299)) || !b.len) {
		/* A redirect is an answer like another: not followed. */
		if (rc == CURLE_OK && code && (code < 200 || code > 299))
			guise_warn("GET %s: HTTP %ld", url, code);
		else if (!guard || !guard->refused)
			guise_warn("GET %s: %s", url,
				   rc != CURLE_OK ? curl_easy_strerror(rc) :
						    "no content");
		free(b.data);
		return -1;
	}
	*out = b.data;
	*out_len = b.len;
	return 0;
}

int fetch_url(const struct worker_tls *tls, const char *url, size_t max,
	      unsigned char **out, size_t *out_len)
{
	return fetch(tls, url, NULL, NULL, max, out, out_len, NULL);
}

int fetch_url_guarded(const struct worker_tls *tls,
		      const struct urlpolicy_url *url,
		      struct urlpolicy_guard *guard, size_t max,
		      unsigned char **out, size_t *out_len, const bool *cancel)
{
	return fetch(tls, url->url, url, guard, max, out, out_len, cancel);
}
