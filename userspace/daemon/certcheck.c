// SPDX-License-Identifier: GPL-2.0
/*
 * Checking client certificates with guise-certd, without blocking the
 * event loop.
 *
 * On a cache miss the request is parked on a query for its certificate
 * (requests for the same certificate share one query) and the query goes
 * to one worker thread that runs a curl multi handle: every query is its
 * own concurrent transfer, over connections to certd that curl keeps and
 * reuses. The loop hands queries over through a locked list and
 * curl_multi_wakeup(); the thread hands finished ones back through a
 * locked list and one byte on a socketpair the loop watches. A thread
 * rather than curl multi's socket callbacks wired into libevent: the same
 * concurrency with far less code, and as in revocation.c every callback
 * (the resumed handlers included) runs on the loop thread, so the daemons
 * need no locking. Only the curl and response fields of a query are the
 * thread's while it is in flight; the waiters stay the loop's.
 *
 * A parked evhttp request stays valid until it is answered: if its client
 * goes away libevent detaches it from the connection (the resumed handler
 * then finds no caller and refuses, which frees it).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <curl/curl.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base64.h"
#include "clock.h"
#include "certcheck.h"
#include "http.h"
#include "log.h"
#include "revocation.h"

#define CC_MAX_QUERIES 256 /* distinct certificates waiting for certd */
#define CC_MAX_ANSWER (64 * 1024)
#define CC_MAX_INTERMEDIATES 16 /* certd's limit */
#define CC_POLL_MS 1000

/* A parked request (@req, @handler), or a revalidation (@done). */
struct cc_waiter {
	SLIST_ENTRY(cc_waiter) next;
	struct evhttp_request *req;
	certcheck_handler handler;
	certcheck_done done;
	void *arg;
};

struct cc_query {
	unsigned char fp[CERTCHECK_FP_LEN];
	unsigned char *issuer;
	size_t issuer_len;
	char serial[REVOCATION_SERIAL_MAX];
	uint64_t gen; /* the cache generation it was asked in */
	bool revoked; /* a revocation event named it meanwhile */
	SLIST_HEAD(, cc_waiter) waiters;
	TAILQ_ENTRY(cc_query) plink; /* the loop's pending list */
	/* Handed to the thread: */
	TAILQ_ENTRY(cc_query) tlink;
	char *body;
	CURL *easy;
	struct curl_slist *hdrs;
	char *resp;
	size_t resp_len;
	long code;
	CURLcode rc;
	char errbuf[CURL_ERROR_SIZE];
};
TAILQ_HEAD(cc_qlist, cc_query);

struct certcheck {
	char *url, *cert, *key, *ca;
	long timeout_ms;
	bool allow_on_error;
	struct certcheck_cache *cache;
	struct certcheck_stats st;
	uint64_t gen;
	struct cc_qlist pending; /* loop: queries in flight */
	size_t npending;
	struct event *wake_ev;
	int sock[2]; /* thread -> loop wakeups */
	pthread_t thread;
	pthread_mutex_t lock;
	struct cc_qlist submit, done; /* under lock */
	CURLM *multi;
	atomic_bool stop;
};

int certcheck_parse_answer(const char *body, size_t len,
			   enum certcheck_verdict *out, char *err,
			   size_t errlen)
{
	static const struct {
		const char *name;
		enum certcheck_verdict v;
	} map[] = {
		{ "good", CERTCHECK_GOOD },
		{ "revoked", CERTCHECK_REVOKED },
		{ "invalid", CERTCHECK_INVALID },
		{ "unknown", CERTCHECK_UNKNOWN },
	};
	json_error_t jerr;
	const char *status;
	json_t *root;
	size_t i;
	int ret = -1;

	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, errlen, "bad JSON from certd: %s", jerr.text);
		return -1;
	}
	if (json_unpack_ex(root, &jerr, 0, "{s:s}", "status", &status)) {
		snprintf(err, errlen, "no status from certd: %s", jerr.text);
		goto out;
	}
	snprintf(err, errlen, "unknown status from certd");
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (!strcmp(status, map[i].name)) {
			*out = map[i].v;
			ret = 0;
			break;
		}
	}
out:
	json_decref(root);
	return ret;
}

/* ---- The certificate of a request ---- */

/* The verified client certificate behind @req, or NULL (no TLS). */
static SSL *request_ssl(struct evhttp_request *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev =
		conn ? evhttp_connection_get_bufferevent(conn) : NULL;

	return bev ? bufferevent_openssl_get_ssl(bev) : NULL;
}

/* Fingerprint, issuer DER and canonical serial of @x into @q. 0 or -1. */
static int query_identify(struct cc_query *q, X509 *x)
{
	unsigned char *der = NULL;
	unsigned int fplen = 0;
	BIGNUM *bn;
	char *hex;
	int len, err = -1;

	if (!X509_digest(x, EVP_sha256(), q->fp, &fplen) ||
	    fplen != CERTCHECK_FP_LEN)
		return -1;
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	hex = bn ? BN_bn2hex(bn) : NULL;
	if (hex &&
	    !revocation_serial_canon(hex, q->serial, sizeof(q->serial))) {
		len = i2d_X509_NAME(X509_get_issuer_name(x), &der);
		if (len > 0) {
			q->issuer = der;
			q->issuer_len = (size_t)len;
			der = NULL;
			err = 0;
		}
	}
	OPENSSL_free(der);
	OPENSSL_free(hex);
	BN_free(bn);
	return err;
}

static json_t *cert_b64(X509 *x)
{
	unsigned char *der = NULL;
	int len = i2d_X509(x, &der);
	char *b64 = len > 0 ? b64_encode(der, (size_t)len) : NULL;
	json_t *s = b64 ? json_string(b64) : NULL;

	OPENSSL_free(der);
	free(b64);
	return s;
}

/* The /v1/validate request: the leaf and what the client sent with it. */
static char *query_body(SSL *ssl, X509 *leaf)
{
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	json_t *root, *inter = json_array();
	int i, n = chain ? sk_X509_num(chain) : 0;
	char *text = NULL;

	for (i = 0; inter && i < n; i++) {
		X509 *x = sk_X509_value(chain, i);

		if (json_array_size(inter) == CC_MAX_INTERMEDIATES)
			break;
		if (X509_cmp(x, leaf) &&
		    json_array_append_new(inter, cert_b64(x)))
			goto out;
	}
	root = json_pack("{s:o*, s:o*, s:s}", "cert", cert_b64(leaf),
			 "intermediates", inter, "purpose", "sslclient");
	inter = NULL;
	if (root && json_object_get(root, "cert"))
		text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
out:
	json_decref(inter);
	return text;
}

static void query_free(struct cc_query *q)
{
	struct cc_waiter *w;

	while ((w = SLIST_FIRST(&q->waiters))) {
		SLIST_REMOVE_HEAD(&q->waiters, next);
		free(w);
	}
	if (q->easy)
		curl_easy_cleanup(q->easy);
	curl_slist_free_all(q->hdrs);
	OPENSSL_free(q->issuer);
	free(q->body);
	free(q->resp);
	free(q);
}

/* ---- The thread ---- */

static size_t on_answer(char *data, size_t size, size_t nmemb, void *userp)
{
	struct cc_query *q = userp;
	size_t n = size * nmemb;
	char *nb;

	if (q->resp_len + n > CC_MAX_ANSWER)
		return 0;
	nb = realloc(q->resp, q->resp_len + n + 1);
	if (!nb)
		return 0;
	q->resp = nb;
	memcpy(q->resp + q->resp_len, data, n);
	q->resp_len += n;
	q->resp[q->resp_len] = '\0';
	return n;
}

static int query_easy(struct certcheck *cc, struct cc_query *q)
{
	char url[1024];

	if ((size_t)snprintf(url, sizeof(url), "%s/v1/validate", cc->url) >=
	    sizeof(url))
		return -1;
	q->easy = curl_easy_init();
	q->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	if (!q->easy || !q->hdrs)
		return -1;
	curl_easy_setopt(q->easy, CURLOPT_URL, url);
	curl_easy_setopt(q->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(q->easy, CURLOPT_TIMEOUT_MS, cc->timeout_ms);
	curl_easy_setopt(q->easy, CURLOPT_CONNECTTIMEOUT_MS, cc->timeout_ms);
	curl_easy_setopt(q->easy, CURLOPT_HTTPHEADER, q->hdrs);
	curl_easy_setopt(q->easy, CURLOPT_POSTFIELDS, q->body);
	curl_easy_setopt(q->easy, CURLOPT_WRITEFUNCTION, on_answer);
	curl_easy_setopt(q->easy, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(q->easy, CURLOPT_ERRORBUFFER, q->errbuf);
	curl_easy_setopt(q->easy, CURLOPT_PRIVATE, q);
	if (cc->cert)
		curl_easy_setopt(q->easy, CURLOPT_SSLCERT, cc->cert);
	if (cc->key)
		curl_easy_setopt(q->easy, CURLOPT_SSLKEY, cc->key);
	if (cc->ca)
		curl_easy_setopt(q->easy, CURLOPT_CAINFO, cc->ca);
	return curl_multi_add_handle(cc->multi, q->easy) == CURLM_OK ? 0 : -1;
}

/* Hand @q back to the loop. */
static void thread_done(struct certcheck *cc, struct cc_query *q)
{
	if (q->easy) {
		curl_multi_remove_handle(cc->multi, q->easy);
		curl_easy_cleanup(q->easy);
		q->easy = NULL;
	}
	pthread_mutex_lock(&cc->lock);
	TAILQ_INSERT_TAIL(&cc->done, q, tlink);
	pthread_mutex_unlock(&cc->lock);
	/* Full socket: a wakeup is already pending. */
	if (send(cc->sock[1], "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
	    errno != EAGAIN)
		guise_warn("certcheck: wakeup: %s", strerror(errno));
}

static void thread_take(struct certcheck *cc)
{
	struct cc_qlist in = TAILQ_HEAD_INITIALIZER(in);
	struct cc_query *q;

	pthread_mutex_lock(&cc->lock);
	TAILQ_CONCAT(&in, &cc->submit, tlink);
	pthread_mutex_unlock(&cc->lock);
	while ((q = TAILQ_FIRST(&in))) {
		TAILQ_REMOVE(&in, q, tlink);
		if (query_easy(cc, q)) {
			q->rc = CURLE_OUT_OF_MEMORY;
			thread_done(cc, q);
		}
	}
}

static void thread_reap(struct certcheck *cc)
{
	struct cc_query *q;
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(cc->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		q = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &q);
		if (!q)
			continue;
		q->rc = msg->data.result;
		curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &q->code);
		thread_done(cc, q);
	}
}

static void *thread_main(void *arg)
{
	struct certcheck *cc = arg;
	int running;

	while (!atomic_load(&cc->stop)) {
		thread_take(cc);
		curl_multi_perform(cc->multi, &running);
		thread_reap(cc);
		curl_multi_poll(cc->multi, NULL, 0, CC_POLL_MS, NULL);
	}
	return NULL;
}

/* ---- The loop ---- */

static void reply_denied(struct certcheck *cc, struct evhttp_request *req,
			 int code, const char *msg)
{
	cc->st.denied++;
	http_reply_error(req, code, msg);
}

/* Act on @v for one request. */
static void decide(struct certcheck *cc, struct evhttp_request *req,
		   enum certcheck_verdict v, certcheck_handler handler,
		   void *arg)
{
	switch (v) {
	case CERTCHECK_GOOD:
		handler(req, arg);
		return;
	case CERTCHECK_REVOKED:
		reply_denied(cc, req, HTTP_FORBIDDEN, "certificate revoked");
		return;
	case CERTCHECK_INVALID:
		reply_denied(cc, req, HTTP_FORBIDDEN,
			     "certificate not valid for certd");
		return;
	case CERTCHECK_UNKNOWN:
		if (cc->allow_on_error)
			handler(req, arg);
		else
			reply_denied(cc, req, HTTP_FORBIDDEN,
				     "certificate status unknown to certd "
				     "([certd] on_error = deny)");
		return;
	case CERTCHECK_ERROR:
	default:
		if (cc->allow_on_error)
			handler(req, arg);
		else
			/* The cause (timeout, HTTP status, bad JSON) is
			 * in the log, not for the client. */
			reply_denied(cc, req, HTTP_SERVUNAVAIL,
				     "certificate check failed: certd "
				     "unreachable or no usable answer "
				     "([certd] on_error = deny)");
		return;
	}
}

/* The verdict of a finished query, logged when it is a failure. */
static enum certcheck_verdict query_verdict(struct certcheck *cc,
					    struct cc_query *q)
{
	enum certcheck_verdict v = CERTCHECK_ERROR;
	char err[256];

	if (q->rc != CURLE_OK)
		snprintf(err, sizeof(err), "%s",
			 q->errbuf[0] ? q->errbuf : curl_easy_strerror(q->rc));
	else if (q->code != 200)
		snprintf(err, sizeof(err), "certd answered HTTP %ld", q->code);
	else if (!certcheck_parse_answer(q->resp ? q->resp : "", q->resp_len,
					 &v, err, sizeof(err)))
		err[0] = '\0';
	if (v == CERTCHECK_ERROR)
		guise_warn("certcheck: %s: %s", cc->url, err);
	if (q->revoked)
		v = CERTCHECK_REVOKED;
	if (v == CERTCHECK_ERROR || v == CERTCHECK_UNKNOWN)
		cc->st.errors++;
	return v;
}

static void query_finish(struct certcheck *cc, struct cc_query *q)
{
	enum certcheck_verdict v = query_verdict(cc, q);
	struct cc_waiter *w;

	TAILQ_REMOVE(&cc->pending, q, plink);
	cc->npending--;
	/* Transient answers are not kept; nor those asked before a flush. */
	if ((v == CERTCHECK_GOOD || v == CERTCHECK_REVOKED ||
	     v == CERTCHECK_INVALID) &&
	    q->gen == cc->gen &&
	    certcheck_cache_put(cc->cache, q->fp, q->issuer, q->issuer_len,
				q->serial, v, guise_mono_ms()))
		guise_warn("certcheck: cache: out of memory");
	while ((w = SLIST_FIRST(&q->waiters))) {
		SLIST_REMOVE_HEAD(&q->waiters, next);
		if (w->done)
			w->done(v, w->arg);
		else
			decide(cc, w->req, v, w->handler, w->arg);
		free(w);
	}
	query_free(q);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct certcheck *cc = arg;
	struct cc_qlist done = TAILQ_HEAD_INITIALIZER(done);
	struct cc_query *q;
	char buf[64];

	(void)what;
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	pthread_mutex_lock(&cc->lock);
	TAILQ_CONCAT(&done, &cc->done, tlink);
	pthread_mutex_unlock(&cc->lock);
	while ((q = TAILQ_FIRST(&done))) {
		TAILQ_REMOVE(&done, q, tlink);
		query_finish(cc, q);
	}
}

static struct cc_query *pending_find(struct certcheck *cc,
				     const unsigned char *fp)
{
	struct cc_query *q;

	TAILQ_FOREACH(q, &cc->pending, plink)
	if (!memcmp(q->fp, fp, CERTCHECK_FP_LEN))
		return q;
	return NULL;
}

/* A new query for @q's certificate (identified, its body made), sent to
 * the thread. */
static int query_submit(struct certcheck *cc, struct cc_query *q)
{
	if (cc->npending >= CC_MAX_QUERIES || !q->body)
		return -1;
	q->gen = cc->gen;
	TAILQ_INSERT_TAIL(&cc->pending, q, plink);
	cc->npending++;
	pthread_mutex_lock(&cc->lock);
	TAILQ_INSERT_TAIL(&cc->submit, q, tlink);
	pthread_mutex_unlock(&cc->lock);
	curl_multi_wakeup(cc->multi);
	return 0;
}

/* Park @req on the query for @leaf (a new one or one in flight). */
static int park(struct certcheck *cc, struct cc_query *probe, SSL *ssl,
		X509 *leaf, struct cc_waiter *w)
{
	struct cc_query *q = pending_find(cc, probe->fp);

	if (!q) {
		q = probe;
		q->body = query_body(ssl, leaf);
		if (query_submit(cc, q))
			return -1;
	} else {
		query_free(probe);
	}
	SLIST_INSERT_HEAD(&q->waiters, w, next);
	return 0;
}

void certcheck_gate(struct certcheck *cc, struct evhttp_request *req,
		    certcheck_handler handler, void *arg)
{
	SSL *ssl = cc ? request_ssl(req) : NULL;
	X509 *leaf = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
	enum certcheck_verdict v;
	struct cc_query *q;
	struct cc_waiter *w;

	/* No check, the UNIX socket, or no certificate (the handler's
	 * identity check refuses that). */
	if (!leaf) {
		handler(req, arg);
		return;
	}
	q = calloc(1, sizeof(*q));
	w = calloc(1, sizeof(*w));
	if (!q || !w || query_identify(q, leaf)) {
		free(w);
		if (q)
			query_free(q);
		cc->st.errors++;
		decide(cc, req, CERTCHECK_ERROR, handler, arg);
		return;
	}
	SLIST_INIT(&q->waiters);
	if (!certcheck_cache_get(cc->cache, q->fp, guise_mono_ms(), &v)) {
		cc->st.hits++;
		free(w);
		query_free(q);
		decide(cc, req, v, handler, arg);
		return;
	}
	cc->st.misses++;
	*w = (struct cc_waiter){ .req = req, .handler = handler, .arg = arg };
	if (park(cc, q, ssl, leaf, w)) {
		free(w);
		query_free(q);
		cc->st.errors++;
		guise_warn(
			"certcheck: too many certificates waiting for certd");
		decide(cc, req, CERTCHECK_ERROR, handler, arg);
	}
}

/*
 * The /v1/validate request for a stored chain (@der, @len: see
 * certcheck_ask()), its leaf into *@leaf. NULL if it is not DER
 * certificates back to back.
 */
static char *stored_body(const unsigned char *der, size_t len, X509 **leaf)
{
	const unsigned char *p = der, *start;
	json_t *root, *inter = json_array();
	char *b64, *text = NULL, *leaf_b64 = NULL;
	X509 *x;

	*leaf = NULL;
	while (inter && p < der + len) {
		start = p;
		x = d2i_X509(NULL, &p, (long)(der + len - p));
		if (!x)
			goto bad;
		if (json_array_size(inter) == CC_MAX_INTERMEDIATES) {
			X509_free(x);
			goto bad;
		}
		b64 = b64_encode(start, (size_t)(p - start));
		if (!b64) {
			X509_free(x);
			goto bad;
		}
		if (!*leaf) {
			*leaf = x;
			leaf_b64 = b64;
			continue;
		}
		X509_free(x);
		if (json_array_append_new(inter, json_string(b64))) {
			free(b64);
			goto bad;
		}
		free(b64);
	}
	if (!*leaf)
		goto bad;
	root = json_pack("{s:s, s:o, s:s}", "cert", leaf_b64, "intermediates",
			 inter, "purpose", "sslclient");
	inter = NULL;
	if (root)
		text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	free(leaf_b64);
	leaf_b64 = NULL;
	if (text)
		return text;
bad:
	json_decref(inter);
	free(leaf_b64);
	X509_free(*leaf);
	*leaf = NULL;
	return NULL;
}

int certcheck_ask(struct certcheck *cc, const unsigned char *der, size_t len,
		  certcheck_done done, void *arg)
{
	struct cc_query *q, *probe;
	struct cc_waiter *w;
	X509 *leaf = NULL;
	int err = -1;

	if (!cc || atomic_load(&cc->stop))
		return -1;
	probe = calloc(1, sizeof(*probe));
	w = calloc(1, sizeof(*w));
	if (!probe || !w)
		goto out;
	SLIST_INIT(&probe->waiters);
	probe->body = stored_body(der, len, &leaf);
	if (!probe->body || query_identify(probe, leaf))
		goto out;
	q = pending_find(cc, probe->fp);
	if (!q) {
		if (query_submit(cc, probe))
			goto out;
		q = probe;
		probe = NULL;
	}
	*w = (struct cc_waiter){ .done = done, .arg = arg };
	SLIST_INSERT_HEAD(&q->waiters, w, next);
	w = NULL;
	err = 0;
out:
	X509_free(leaf);
	free(w);
	if (probe)
		query_free(probe);
	return err;
}

void certcheck_revoked_b64(struct certcheck *cc, const char *issuer,
			   const char *serial)
{
	size_t len = 0;
	unsigned char *der = b64_decode(issuer, strlen(issuer), &len);

	if (der)
		certcheck_revoked(cc, der, len, serial);
	free(der);
}

void certcheck_revoked(struct certcheck *cc, const unsigned char *issuer,
		       size_t issuer_len, const char *serial)
{
	struct cc_query *q;

	if (!cc)
		return;
	certcheck_cache_remove(cc->cache, issuer, issuer_len, serial);
	TAILQ_FOREACH(q, &cc->pending, plink)
	if (q->issuer_len == issuer_len &&
	    !memcmp(q->issuer, issuer, issuer_len) &&
	    !strcmp(q->serial, serial))
		q->revoked = true;
}

void certcheck_flush(struct certcheck *cc)
{
	if (!cc)
		return;
	certcheck_cache_flush(cc->cache);
	cc->gen++;
}

struct certcheck_stats certcheck_get_stats(const struct certcheck *cc)
{
	struct certcheck_stats none = { 0 };

	return cc ? cc->st : none;
}

/* ---- Start and stop ---- */

static char *dup_opt(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Free @cc, its queries already gone. */
static void cc_free(struct certcheck *cc)
{
	if (cc->wake_ev)
		event_free(cc->wake_ev);
	if (cc->sock[0] >= 0)
		close(cc->sock[0]);
	if (cc->sock[1] >= 0)
		close(cc->sock[1]);
	if (cc->multi)
		curl_multi_cleanup(cc->multi);
	certcheck_cache_free(cc->cache);
	pthread_mutex_destroy(&cc->lock);
	free(cc->url);
	free(cc->cert);
	free(cc->key);
	free(cc->ca);
	free(cc);
}

struct certcheck *certcheck_start(struct event_base *base,
				  const struct certcheck_conf *conf)
{
	struct certcheck *cc;

	if (!conf->url || curl_global_init(CURL_GLOBAL_DEFAULT))
		return NULL;
	cc = calloc(1, sizeof(*cc));
	if (!cc)
		return NULL;
	cc->sock[0] = cc->sock[1] = -1;
	pthread_mutex_init(&cc->lock, NULL);
	TAILQ_INIT(&cc->pending);
	TAILQ_INIT(&cc->submit);
	TAILQ_INIT(&cc->done);
	cc->timeout_ms = (long)conf->timeout * 1000;
	cc->allow_on_error = conf->allow_on_error;
	cc->url = strdup(conf->url);
	cc->cert = dup_opt(conf->cert);
	cc->key = dup_opt(conf->key);
	cc->ca = dup_opt(conf->ca);
	cc->cache = certcheck_cache_new(conf->cache_size,
					(uint64_t)conf->ttl * 1000);
	cc->multi = curl_multi_init();
	if (!cc->url || !cc->cache || !cc->multi ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
		       cc->sock))
		goto fail;
	cc->wake_ev =
		event_new(base, cc->sock[0], EV_READ | EV_PERSIST, on_wake, cc);
	if (!cc->wake_ev || event_add(cc->wake_ev, NULL) ||
	    pthread_create(&cc->thread, NULL, thread_main, cc))
		goto fail;
	return cc;
fail:
	guise_err("certcheck: cannot start (out of resources)");
	cc_free(cc);
	return NULL;
}

void certcheck_stop(struct certcheck *cc)
{
	struct cc_query *q;
	struct cc_waiter *w;

	if (!cc)
		return;
	atomic_store(&cc->stop, true);
	curl_multi_wakeup(cc->multi);
	pthread_join(cc->thread, NULL);
	/* Every query is the loop's again: answer its waiters. */
	while ((q = TAILQ_FIRST(&cc->pending))) {
		TAILQ_REMOVE(&cc->pending, q, plink);
		while ((w = SLIST_FIRST(&q->waiters))) {
			SLIST_REMOVE_HEAD(&q->waiters, next);
			if (w->done)
				w->done(CERTCHECK_ERROR, w->arg);
			else
				http_reply_error(w->req, HTTP_SERVUNAVAIL,
						 "shutting down");
			free(w);
		}
		if (q->easy)
			curl_multi_remove_handle(cc->multi, q->easy);
		query_free(q);
	}
	cc_free(cc);
}
