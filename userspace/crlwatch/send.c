// SPDX-License-Identifier: GPL-2.0
/*
 * The output side: notifications signed once, POSTed to every subscriber
 * and re-sent until acknowledged; the --state marks; the subscribers'
 * kept connections; the subscription list.
 *
 * Every request runs on the event loop: the multi handle is driven by
 * libevent (CURLMOPT_SOCKETFUNCTION, CURLMOPT_TIMERFUNCTION,
 * curl_multi_socket_action()), so watch_notify(), watch_retry() and
 * watch_prewarm() only add easy handles and return; what a request
 * brought (an acknowledgement, a failure and its backoff, a pre-warmed
 * connection) is taken in check_done() when libcurl reports it over
 * (curl_multi_info_read()). A subscriber that accepts connections and
 * never answers thus delays neither the others, nor the scans, re-sends
 * or the subscription API.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "clock.h"
#include "crlnote.h"
#include "crlwatch.h"
#include "key.h"
#include "log.h"
#include "urlpolicy.h"

static size_t discard(char *data, size_t size, size_t n, void *arg)
{
	(void)data;
	(void)arg;
	return size * n;
}

/* Below: notifications, shared by the requests that carry them. */
struct note;
static struct note *note_ref(struct note *n);
static void note_unref(struct note *n);

/* ---- Requests, on the event loop ---- */

static time_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + 1; /* never 0: "not yet" */
}

/* @s answered a request over its connection. */
static void sub_used(struct sub *s)
{
	s->used = mono_now();
	s->warm_after = 0;
	s->warm_backoff = 0;
}

/* The subscriber @id, or NULL: it has left the list. */
static struct sub *sub_find(struct crlwatch *cw, uint64_t id)
{
	size_t i;

	for (i = 0; i < cw->n_subs; i++)
		if (cw->subs[i].id == id)
			return &cw->subs[i];
	return NULL;
}

/*
 * A request under way. It names its subscriber by id, not by address
 * (crlwatch.subs is reallocated, and a removal moves the last one into
 * the hole), and holds a reference to the note it POSTs: the handle
 * points into the note's bytes (CURLOPT_POSTFIELDS) until
 * xfer_release().
 */
struct xfer {
	struct xfer *next;
	CURL *c;
	bool own; /* c is the subscriber's own handle (s->curl) */
	uint64_t sub;
	struct note *note; /* POST (a reference); NULL: a pre-warm GET */
	struct curl_slist *hdr;
	struct round *round; /* the first try of a new notification, or NULL */
	struct urlpolicy_guard guard; /* a subscriber the API added */
};

/* A socket libcurl asked to be watched (curl_multi_assign()). */
struct sockev {
	struct sockev *next, **prev;
	struct event *ev;
};

/* The first POSTs of one new notification: one log line when all are
 * over. */
struct round {
	size_t left; /* POSTs under way, + 1 while watch_notify() starts them */
	size_t subs, ok, kept;
	bool catchup;
	char *location, *number;
};

static void post_finish(struct crlwatch *cw, struct xfer *x, struct sub *s,
			CURLcode rc);
static void warm_finish(struct sub *s, const struct xfer *x, CURLcode rc);
static void round_add(struct crlwatch *cw, struct round *r, bool ok, bool kept);

/*
 * A handle with the options every request has. Each subscriber keeps
 * one (s->curl, its TLS session for resumption); the connections are
 * kept in the multi handle's pool, so the next request needs no new
 * handshake, whichever handle makes it.
 */
static CURL *easy_new(const struct watch_opts *o)
{
	CURL *c = curl_easy_init();

	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if (o->keepalive)
		curl_easy_setopt(c, CURLOPT_MAXAGE_CONN, (long)o->keepalive);
	else
		curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	if (o->ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, o->ca);
	if (o->cert)
		curl_easy_setopt(c, CURLOPT_SSLCERT, o->cert);
	if (o->key)
		curl_easy_setopt(c, CURLOPT_SSLKEY, o->key);
	return c;
}

/* A handle for a request to @s: its own, unless that one is busy (two
 * CRLs at once, a pre-warm and a notification): then a new one for this
 * request only (*@own false). */
static CURL *xfer_handle(struct crlwatch *cw, struct sub *s, bool *own)
{
	*own = false;
	if (s->curl_busy)
		return easy_new(cw->o);
	if (!s->curl)
		s->curl = easy_new(cw->o);
	if (!s->curl)
		return NULL;
	s->curl_busy = *own = true;
	return s->curl;
}

static void sub_close(struct sub *s)
{
	curl_easy_cleanup(s->curl);
	s->curl = NULL;
	s->curl_busy = s->warming = false;
	s->posts = 0;
	s->used = s->warm_after = s->warm_backoff = 0;
}

static void check_done(struct crlwatch *cw);

static void on_curl_socket(evutil_socket_t fd, short what, void *arg)
{
	struct crlwatch *cw = arg;
	int running;

	curl_multi_socket_action(cw->multi, fd,
				 (what & EV_READ ? CURL_CSELECT_IN : 0) |
					 (what & EV_WRITE ? CURL_CSELECT_OUT :
							    0),
				 &running);
	check_done(cw);
}

static void on_curl_timer(evutil_socket_t fd, short what, void *arg)
{
	struct crlwatch *cw = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(cw->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(cw);
}

static void sockev_free(struct sockev *se)
{
	if (!se)
		return;
	*se->prev = se->next;
	if (se->next)
		se->next->prev = se->prev;
	event_free(se->ev);
	free(se);
}

/* CURLMOPT_SOCKETFUNCTION: watch @fd for what libcurl waits for on it. */
static int curl_socket_cb(CURL *c, curl_socket_t fd, int what, void *arg,
			  void *sockp)
{
	struct crlwatch *cw = arg;
	struct sockev *se = sockp;
	short kind = EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) |
		     (what & CURL_POLL_OUT ? EV_WRITE : 0);

	(void)c;
	if (what == CURL_POLL_REMOVE) {
		sockev_free(se);
		return 0;
	}
	if (se) {
		event_del(se->ev);
		event_assign(se->ev, cw->base, fd, kind, on_curl_socket, cw);
	} else {
		se = calloc(1, sizeof(*se));
		if (se)
			se->ev = event_new(cw->base, fd, kind, on_curl_socket,
					   cw);
		if (!se || !se->ev) {
			free(se);
			/* The request's timeout ends it. */
			guise_err("cannot watch a subscriber's connection: "
				  "out of memory");
			return 0;
		}
		se->next = cw->socks;
		se->prev = &cw->socks;
		if (se->next)
			se->next->prev = &se->next;
		cw->socks = se;
		curl_multi_assign(cw->multi, fd, se);
	}
	event_add(se->ev, NULL);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: call libcurl back in @ms ms (-1: no more). */
static int curl_timer_cb(CURLM *m, long ms, void *arg)
{
	struct crlwatch *cw = arg;
	struct timeval tv = { (time_t)(ms / 1000),
			      (suseconds_t)(ms % 1000) * 1000 };

	(void)m;
	if (ms < 0)
		evtimer_del(cw->curl_timer);
	else
		evtimer_add(cw->curl_timer, &tv);
	return 0;
}

/* The multi handle, on cw->base's loop (made at first use). */
static CURLM *multi(struct crlwatch *cw)
{
	CURLM *m;

	if (cw->multi || !cw->base)
		return cw->multi;
	if (!cw->curl_timer)
		cw->curl_timer = evtimer_new(cw->base, on_curl_timer, cw);
	m = cw->curl_timer ? curl_multi_init() : NULL;
	if (!m)
		return NULL;
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, 1024L);
	curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
	curl_multi_setopt(m, CURLMOPT_SOCKETDATA, cw);
	curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
	curl_multi_setopt(m, CURLMOPT_TIMERDATA, cw);
	cw->multi = m;
	return m;
}

/* @x is over: its handle out of the multi handle (back to @s if its own,
 * pointing at nothing freed), its note let go. */
static void xfer_release(struct crlwatch *cw, struct xfer *x, struct sub *s)
{
	if (cw->multi)
		curl_multi_remove_handle(cw->multi, x->c);
	if (x->own && s) {
		curl_easy_setopt(x->c, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(x->c, CURLOPT_POSTFIELDS, NULL);
		curl_easy_setopt(x->c, CURLOPT_PRIVATE, NULL);
		curl_easy_setopt(x->c, CURLOPT_OPENSOCKETFUNCTION, NULL);
		curl_easy_setopt(x->c, CURLOPT_OPENSOCKETDATA, NULL);
		curl_easy_setopt(x->c, CURLOPT_PREREQFUNCTION, NULL);
		curl_easy_setopt(x->c, CURLOPT_PREREQDATA, NULL);
		s->curl_busy = false;
	} else if (!x->own) {
		curl_easy_cleanup(x->c);
	}
	curl_slist_free_all(x->hdr);
	note_unref(x->note);
	free(x);
}

static void post_prepare(CURL *c, const char *url, struct curl_slist *hdr,
			 const struct note *nt);
static int warm_prepare(CURL *c, const char *notify);

/*
 * A subscriber the API added (not --to): its requests connect to no
 * address urlpolicy_addr_special() calls special (loopback, link-local
 * ...) unless its URL names that very address (urlpolicy_guard()), so a
 * name whose DNS answer changed since the subscribe cannot aim the POST
 * there. 0 or -1 (out of memory).
 */
static int xfer_guard(struct xfer *x, const struct sub *s)
{
	struct urlpolicy_url u;

	if (s->holders.configured)
		return 0;
	if (urlpolicy_parse(s->url, 0, &u))
		return -1;
	urlpolicy_guard(x->c, &x->guard, &u);
	urlpolicy_url_free(&u);
	return 0;
}

/* Start a request to @s: POST @nt (for @r, or NULL: a re-send), or the
 * pre-warm GET (@nt NULL). 0, or -1: out of memory, nothing started. */
static int xfer_start(struct crlwatch *cw, struct sub *s, struct note *nt,
		      struct round *r)
{
	struct xfer *x = calloc(1, sizeof(*x));
	CURLM *m = multi(cw);

	if (!x || !m)
		goto fail;
	x->sub = s->id;
	x->c = xfer_handle(cw, s, &x->own);
	if (!x->c)
		goto fail;
	if (nt) {
		x->hdr = curl_slist_append(NULL,
					   "Content-Type: application/cms");
		if (!x->hdr)
			goto fail;
		x->note = note_ref(nt);
		post_prepare(x->c, s->url, x->hdr, nt);
	} else if (warm_prepare(x->c, s->url)) {
		goto fail;
	}
	if (xfer_guard(x, s))
		goto fail;
	curl_easy_setopt(x->c, CURLOPT_PRIVATE, (char *)x);
	if (curl_multi_add_handle(m, x->c) != CURLM_OK)
		goto fail;
	x->round = r;
	x->next = cw->xfers;
	cw->xfers = x;
	if (nt)
		s->posts++;
	else
		s->warming = true;
	return 0;
fail:
	if (x && x->c)
		xfer_release(cw, x, s);
	else
		free(x);
	return -1;
}

static void xfer_unlink(struct crlwatch *cw, struct xfer *x)
{
	struct xfer **p;

	for (p = &cw->xfers; *p; p = &(*p)->next) {
		if (*p == x) {
			*p = x->next;
			return;
		}
	}
}

/* Give up the requests under way to subscriber @id (0: all): what they
 * carried stays pending; a first try counts as not delivered. */
static void xfers_abort(struct crlwatch *cw, uint64_t id)
{
	struct xfer **p = &cw->xfers, *x;
	struct sub *s;

	while ((x = *p)) {
		if (id && x->sub != id) {
			p = &x->next;
			continue;
		}
		*p = x->next;
		s = sub_find(cw, x->sub);
		if (s && x->note)
			s->posts--;
		else if (s)
			s->warming = false;
		round_add(cw, x->round, false, false);
		xfer_release(cw, x, s);
	}
}

/* What libcurl reports done: taken, then the timers armed anew. */
static void check_done(struct crlwatch *cw)
{
	struct CURLMsg *msg;
	struct xfer *x;
	struct sub *s;
	CURLcode rc;
	char *p;
	int left;

	while (cw->multi && (msg = curl_multi_info_read(cw->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		rc = msg->data.result; /* msg is gone with the handle */
		p = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &p);
		x = (struct xfer *)p;
		if (!x)
			continue;
		xfer_unlink(cw, x);
		s = sub_find(cw, x->sub);
		if (x->note)
			post_finish(cw, x, s, rc);
		else
			warm_finish(s, x, rc);
		xfer_release(cw, x, s);
		watch_retry_arm(cw);
		watch_warm_arm(cw);
	}
}

void watch_disconnect(struct crlwatch *cw)
{
	size_t i;

	xfers_abort(cw, 0);
	for (i = 0; i < cw->n_subs; i++) {
		sub_close(&cw->subs[i]);
		/* What they owe: re-sent at once (watch_retry_arm()). */
		cw->subs[i].retry_ms = 0;
		if (cw->subs[i].n_pend)
			cw->subs[i].retry_at = 1;
	}
	curl_multi_cleanup(cw->multi); /* closes the pool's connections */
	cw->multi = NULL;
	while (cw->socks) /* left by libcurl, if any */
		sockev_free(cw->socks);
	if (cw->curl_timer)
		event_free(cw->curl_timer);
	cw->curl_timer = NULL;
}

void watch_send_wait(struct crlwatch *cw)
{
	while (cw->xfers && cw->base && !event_base_loop(cw->base, EVLOOP_ONCE))
		;
}

/* ---- Pre-warmed connections ---- */

/* The notify URL's server, path /v1/health?keepalive=1 (malloc'd). */
static char *warm_url(const char *notify)
{
	CURLU *u = curl_url();
	char *out = NULL, *s = NULL;

	if (u && !curl_url_set(u, CURLUPART_URL, notify, 0) &&
	    !curl_url_set(u, CURLUPART_PATH, "/v1/health", 0) &&
	    !curl_url_set(u, CURLUPART_QUERY, "keepalive=1", 0) &&
	    !curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) &&
	    !curl_url_get(u, CURLUPART_URL, &s, 0))
		out = strdup(s);
	curl_free(s);
	curl_url_cleanup(u);
	return out;
}

#define WARM_BACKOFF_MAX 3600u

/* Prepare @c for GET /v1/health?keepalive=1 on @notify's server. 0 or
 * -1. */
static int warm_prepare(CURL *c, const char *notify)
{
	char *url = warm_url(notify);

	if (!url)
		return -1;
	curl_easy_setopt(c, CURLOPT_URL, url); /* copied */
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	/* A subscriber that is down is given up soon (and retried). */
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
	free(url);
	return 0;
}

/* The pre-warm @x of @s (NULL: it left) is over (@x NULL: not started). */
static void warm_finish(struct sub *s, const struct xfer *x, CURLcode rc)
{
	const char *why;
	long code = 0;

	if (!s)
		return;
	s->warming = false;
	if (x && rc == CURLE_OK)
		curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK || code != 200) {
		if (rc == CURLE_OK)
			why = "refused";
		else if (x && x->guard.refused)
			why = x->guard.why;
		else
			why = curl_easy_strerror(rc);
		/* Warned once per outage; retried after 1, 2, 4 ... s, at
		 * most hourly (a subscriber starting with us is warm soon). */
		if (!s->warm_backoff)
			guise_warn("pre-warm %s: %s (retrying with backoff)",
				   s->url, why);
		s->warm_backoff = s->warm_backoff ? 2 * s->warm_backoff : 1;
		if (s->warm_backoff > WARM_BACKOFF_MAX)
			s->warm_backoff = WARM_BACKOFF_MAX;
		s->warm_after = mono_now() + s->warm_backoff;
		s->used = 0; /* no connection to keep */
		return;
	}
	if (s->warm_backoff)
		guise_info("pre-warm %s: connected again", s->url);
	sub_used(s);
}

void watch_prewarm(struct crlwatch *cw, bool idle_only)
{
	const time_t now = mono_now(), stale = cw->o->keepalive / 2;
	size_t i, n = 0;
	struct sub *s;

	for (i = 0; i < cw->n_subs; i++) {
		s = &cw->subs[i];
		/* One under way opens or keeps the connection already. */
		if (s->warming || s->posts || s->warm_after > now ||
		    (s->used && (idle_only || now - s->used < stale)))
			continue;
		n++;
		if (xfer_start(cw, s, NULL, NULL))
			warm_finish(s, NULL, CURLE_OUT_OF_MEMORY);
	}
	if (n)
		guise_debug("pre-warming %zu subscriber connections", n);
	watch_warm_arm(cw);
}

void watch_warm_arm(struct crlwatch *cw)
{
	const time_t now = mono_now();
	struct timeval tv = { 0, 0 };
	time_t next = 0, at;
	size_t i;

	if (!cw->warm_ev)
		return;
	for (i = 0; i < cw->n_subs; i++) {
		const struct sub *s = &cw->subs[i];

		/* Not connected, nothing under way: a new one (or after
		 * watch_disconnect()) at once, else after its backoff.
		 * As watch_prewarm(cw, true) picks them. */
		if (s->used || s->warming || s->posts)
			continue;
		at = s->warm_after > now ? s->warm_after : now;
		if (!next || at < next)
			next = at;
	}
	if (!next) {
		evtimer_del(cw->warm_ev);
		return;
	}
	tv.tv_sec = next - now;
	evtimer_add(cw->warm_ev, &tv);
}

/* ---- Notifications: made once, delivered until acknowledged ---- */

/* Re-send backoff: 1 s doubling to 60 s, each wait drawn in [b/2, b]. */
#define RETRY_MIN_MS 1000u
#define RETRY_MAX_MS 60000u
/* A Retry-After (429, 503) is honoured up to this. */
#define RETRY_AFTER_MAX_S 600

struct note {
	unsigned int refs;
	size_t key;
	unsigned char *der;
	size_t len;
	char *number; /* hex, for the logs */
	bool serials; /* lists serials: exact against the CRL before it */
};

/* Never 0: a retry_at of 0 is "none due". */
static uint64_t mono_ms(void)
{
	return guise_mono_ms() + 1;
}

static struct note *note_ref(struct note *n)
{
	n->refs++;
	return n;
}

static void note_unref(struct note *n)
{
	if (!n || --n->refs)
		return;
	free(n->der);
	free(n->number);
	free(n);
}

/* @n signed, for key @k (one reference), or NULL. */
static struct note *note_make(struct crlwatch *cw, const struct crlnote *n,
			      size_t k)
{
	struct note *nt = calloc(1, sizeof(*nt));

	if (!nt)
		return NULL;
	nt->refs = 1;
	nt->key = k;
	nt->serials = n->revoked && sk_ASN1_INTEGER_num(n->revoked) > 0;
	nt->number = crlnote_int_hex(n->number);
	if (!nt->number ||
	    crlnote_sign(n, cw->sign_cert, cw->sign_key, &nt->der, &nt->len)) {
		note_unref(nt);
		return NULL;
	}
	return nt;
}

static int issuer_id(X509_NAME *name, unsigned char id[32])
{
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int len = i2d_X509_NAME(name, &der), ok;

	ok = len > 0 &&
	     EVP_Digest(der, (size_t)len, id, &mdlen, EVP_sha256(), NULL) &&
	     mdlen == 32;
	OPENSSL_free(der);
	return ok ? 0 : -1;
}

/* The key of (@id, @delta), added if new; SIZE_MAX if out of memory. */
static size_t key_find(struct crlwatch *cw, const unsigned char id[32],
		       bool delta)
{
	struct notekey *v;
	size_t i;

	for (i = 0; i < cw->n_keys; i++)
		if (cw->keys[i].delta == delta &&
		    !memcmp(cw->keys[i].id, id, 32))
			return i;
	v = realloc(cw->keys, (cw->n_keys + 1) * sizeof(*v));
	if (!v)
		return SIZE_MAX;
	cw->keys = v;
	v[cw->n_keys] = (struct notekey){ .delta = delta };
	memcpy(v[cw->n_keys].id, id, 32);
	return cw->n_keys++;
}

int watch_write_atomic(const char *dir, const char *name, const void *data,
		       size_t len, bool sync)
{
	char path[4096], tmp[4096];
	const char *p = data;
	size_t left = len;
	ssize_t w;
	int fd, ok;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
		    sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >=
		    sizeof(tmp))
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0644);
	if (fd < 0)
		return -1;
	while (left) {
		w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		p += w;
		left -= (size_t)w;
	}
	ok = !left && (!sync || !fsync(fd));
	ok = !close(fd) && ok && !rename(tmp, path);
	if (!ok) {
		unlink(tmp);
		return -1;
	}
	if (sync) {
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			fsync(fd);
			close(fd);
		}
	}
	return 0;
}

/* --save: DIR/<issuer SHA-256, 16 hex>-<full|delta>-<number>.cms. */
static void save(struct crlwatch *cw, const struct note *nt)
{
	const struct notekey *k = &cw->keys[nt->key];
	char id[17], name[512];

	guise_hex_format(k->id, 8, id);
	snprintf(name, sizeof(name), "%s-%s-%s.cms", id,
		 k->delta ? "delta" : "full", nt->number);
	if (watch_write_atomic(cw->o->save, name, nt->der, nt->len, false))
		guise_warn("%s/%s: cannot save the notification: %s",
			   cw->o->save, name, strerror(errno));
}

/* ---- --state: the marks ---- */

static void state_name(const struct notekey *k, char *name)
{
	guise_hex_format(k->id, 32, name);
	strcpy(name + 64, k->delta ? ".delta" : ".full");
}

/* Key @k is acknowledged by every subscriber up to k->latest: the mark. */
static void mark(struct crlwatch *cw, size_t k)
{
	struct notekey *key = &cw->keys[k];
	char name[80], line[160], *num;
	ASN1_INTEGER *m;
	size_t i, j;

	/* A subscriber could not keep one pending (out of memory): not
	 * acknowledged by every subscriber, whatever their lists say. */
	if (!cw->o->state || !key->latest || key->held ||
	    (key->mark && ASN1_INTEGER_cmp(key->latest, key->mark) <= 0))
		return;
	for (i = 0; i < cw->n_subs; i++)
		for (j = 0; j < cw->subs[i].n_pend; j++)
			if (cw->subs[i].pend[j].key == k)
				return;
	m = ASN1_INTEGER_dup(key->latest);
	num = crlnote_int_hex(key->latest);
	state_name(key, name);
	if (!m || !num) {
		ASN1_INTEGER_free(m);
		free(num);
		return;
	}
	snprintf(line, sizeof(line), "%s\n", num);
	if (strlen(num) > 140 ||
	    watch_write_atomic(cw->o->state, name, line, strlen(line), true)) {
		guise_warn("%s/%s: cannot write the mark: %s", cw->o->state,
			   name, strerror(errno));
		ASN1_INTEGER_free(m);
	} else {
		ASN1_INTEGER_free(key->mark);
		key->mark = m;
	}
	free(num);
}

/* DIR/<64 hex>.full|.delta: its mark into a key. */
static void state_read(struct crlwatch *cw, const char *name)
{
	unsigned char id[32];
	char path[4096], buf[160], idhex[65];
	const char *dot = strchr(name, '.');
	ASN1_INTEGER *num;
	size_t k, n;
	FILE *fp;

	if (!dot || dot - name != 64 ||
	    (strcmp(dot, ".full") && strcmp(dot, ".delta")))
		return;
	memcpy(idhex, name, 64);
	idhex[64] = '\0';
	if (guise_hex_parse(idhex, id, sizeof(id)))
		return;
	snprintf(path, sizeof(path), "%s/%s", cw->o->state, name);
	fp = fopen(path, "re");
	n = fp ? fread(buf, 1, sizeof(buf) - 1, fp) : 0;
	if (fp)
		fclose(fp);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	num = crlnote_hex_int(buf);
	k = num ? key_find(cw, id, !strcmp(dot, ".delta")) : SIZE_MAX;
	if (k == SIZE_MAX) {
		guise_warn("%s: not a CRL number: ignored", path);
		ASN1_INTEGER_free(num);
		return;
	}
	ASN1_INTEGER_free(cw->keys[k].mark);
	cw->keys[k].mark = num;
}

int watch_state_load(struct crlwatch *cw)
{
	const char *dir = cw->o->state;
	struct dirent *de;
	char path[4096];
	DIR *d;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		guise_err("--state %s: %s", dir, strerror(errno));
		return -1;
	}
	d = opendir(dir);
	if (!d) {
		guise_err("--state %s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)))
		state_read(cw, de->d_name);
	closedir(d);
	snprintf(path, sizeof(path), "%s/started", dir);
	cw->state_started = !access(path, F_OK);
	guise_info("--state %s: %zu marks%s", dir, cw->n_keys,
		   cw->state_started ?
			   "; CRLs above them are notified at start" :
			   "; first start: the CRLs found are the marks");
	return 0;
}

void watch_state_started(struct crlwatch *cw, bool notified)
{
	unsigned char id[32];
	size_t i, k;

	if (!cw->o->state)
		return;
	for (i = 0; !notified && i < cw->n_w; i++) {
		const struct watched *w = &cw->w[i];

		if (!w->number || issuer_id(w->issuer, id))
			continue;
		k = key_find(cw, id, w->delta);
		if (k == SIZE_MAX)
			continue;
		if (!cw->keys[k].latest ||
		    ASN1_INTEGER_cmp(w->number, cw->keys[k].latest) > 0) {
			ASN1_INTEGER_free(cw->keys[k].latest);
			cw->keys[k].latest = ASN1_INTEGER_dup(w->number);
		}
		mark(cw, k);
	}
	if (!cw->state_started &&
	    watch_write_atomic(cw->o->state, "started", "", 0, true))
		guise_warn("%s/started: cannot write: %s", cw->o->state,
			   strerror(errno));
	cw->state_started = true;
}

/* ---- Pending notifications ---- */

static struct pending *pend_find(struct sub *s, size_t k)
{
	size_t i;

	for (i = 0; i < s->n_pend; i++)
		if (s->pend[i].key == k)
			return &s->pend[i];
	return NULL;
}

/* @nt pending for @s, replacing the older one of its key. 0 or -1. */
static int pend_set(struct sub *s, struct note *nt)
{
	struct pending *p = pend_find(s, nt->key);

	if (p) {
		note_unref(p->note);
		p->note = note_ref(nt);
		return 0;
	}
	p = realloc(s->pend, (s->n_pend + 1) * sizeof(*p));
	if (!p)
		return -1;
	s->pend = p;
	p[s->n_pend++] = (struct pending){ nt->key, note_ref(nt) };
	return 0;
}

/* @s acknowledged @nt: no longer pending (a newer one of its key
 * stays). */
static void pend_ack(struct sub *s, const struct note *nt)
{
	size_t i;

	for (i = 0; i < s->n_pend; i++) {
		if (s->pend[i].note != nt)
			continue;
		note_unref(s->pend[i].note);
		memmove(&s->pend[i], &s->pend[i + 1],
			(s->n_pend - i - 1) * sizeof(*s->pend));
		s->n_pend--;
		return;
	}
}

/* @nt's entry to the end of @s's list: a notification that keeps failing
 * (one issuer's refused) holds up the others of @s by one turn only. */
static void pend_rotate(struct sub *s, const struct note *nt)
{
	struct pending p;
	size_t i;

	for (i = 0; i + 1 < s->n_pend; i++) {
		if (s->pend[i].note != nt)
			continue;
		p = s->pend[i];
		memmove(&s->pend[i], &s->pend[i + 1],
			(s->n_pend - i - 1) * sizeof(*s->pend));
		s->pend[s->n_pend - 1] = p;
		return;
	}
}

static void pend_free(struct sub *s)
{
	size_t i;

	for (i = 0; i < s->n_pend; i++)
		note_unref(s->pend[i].note);
	free(s->pend);
	s->pend = NULL;
	s->n_pend = 0;
	s->retry_at = 0;
	s->retry_ms = 0;
	s->failing = false;
	s->missed = false;
}

size_t watch_pending(const struct crlwatch *cw)
{
	size_t i, n = 0;

	for (i = 0; i < cw->n_subs; i++)
		n += cw->subs[i].n_pend;
	return n;
}

void watch_retry_arm(struct crlwatch *cw)
{
	uint64_t next = 0, now = mono_ms(), ms, at;
	struct timeval tv;
	size_t i;

	for (i = 0; i < cw->n_subs; i++) {
		const struct sub *s = &cw->subs[i];

		/* One with a POST under way is armed again when it ends. */
		if (!(s->n_pend || s->missed) || s->posts)
			continue;
		at = s->retry_at ? s->retry_at : now;
		if (!next || at < next)
			next = at;
	}
	if (!cw->retry_ev)
		return;
	if (!next) {
		evtimer_del(cw->retry_ev);
		return;
	}
	ms = next > now ? next - now : 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(cw->retry_ev, &tv);
}

/* A wait in [b/2, b] ms. */
static uint64_t jitter(unsigned int b)
{
	unsigned int r = 0;

	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (unsigned int)mono_ms();
	return b / 2 + r % (b / 2 + 1);
}

/* Prepare @c to POST @nt to @url. */
static void post_prepare(CURL *c, const char *url, struct curl_slist *hdr,
			 const struct note *nt)
{
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, nt->der);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)nt->len);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 0L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
}

/*
 * The POST made with @c is over (@rc): 0 if answered 2xx (*@kept: over a
 * connection already open), else -1 with @why and *@retry_after (s, 0:
 * none).
 */
static int post_done(CURL *c, CURLcode rc, bool *kept, char *why, size_t whylen,
		     long *retry_after)
{
	long code = 0, conns = 1;
	curl_off_t ra = -1;

	*retry_after = 0;
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s", curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns);
	curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra);
	if (code < 200 || code > 299) {
		snprintf(why, whylen, "HTTP %ld", code);
		if (ra > 0)
			*retry_after = ra > RETRY_AFTER_MAX_S ?
					       RETRY_AFTER_MAX_S :
					       (long)ra;
		return -1;
	}
	*kept = conns == 0;
	return 0;
}

/* @s did not acknowledge @nt (@why, Retry-After @ra s): it stays pending,
 * re-sent after the backoff. */
static void post_failed(struct sub *s, const struct note *nt, const char *why,
			long ra)
{
	uint64_t wait;

	pend_rotate(s, nt);
	s->retry_ms = s->retry_ms ? 2 * s->retry_ms : RETRY_MIN_MS;
	if (s->retry_ms > RETRY_MAX_MS)
		s->retry_ms = RETRY_MAX_MS;
	wait = jitter(s->retry_ms);
	if ((uint64_t)ra * 1000 > wait)
		wait = (uint64_t)ra * 1000;
	s->retry_at = mono_ms() + wait;
	if (!s->failing)
		guise_warn("POST %s: %s; CRL number %s kept for it, "
			   "re-sent in %.1f s, then with backoff "
			   "(%zu pending for it)",
			   s->url, why, nt->number, (double)wait / 1e3,
			   s->n_pend);
	else
		guise_debug("POST %s: %s; CRL number %s re-sent in "
			    "%.1f s (%zu pending for it)",
			    s->url, why, nt->number, (double)wait / 1e3,
			    s->n_pend);
	s->failing = true;
}

/* The POST @x to @s (NULL: it left) is over: acknowledged, it leaves
 * the pending list (and its key may get its mark); else backoff. */
static void post_finish(struct crlwatch *cw, struct xfer *x, struct sub *s,
			CURLcode rc)
{
	struct note *nt = x->note;
	bool kept = false;
	char why[128];
	long ra;

	if (!s) {
		round_add(cw, x->round, false, false);
		return;
	}
	s->posts--;
	if (post_done(x->c, rc, &kept, why, sizeof(why), &ra)) {
		if (rc != CURLE_OK && x->guard.refused)
			snprintf(why, sizeof(why), "%s", x->guard.why);
		post_failed(s, nt, why, ra);
		round_add(cw, x->round, false, false);
		return;
	}
	sub_used(s);
	pend_ack(s, nt);
	if (s->failing)
		guise_info("POST %s: CRL number %s delivered after retrying "
			   "(%zu more pending)",
			   s->url, nt->number, s->n_pend);
	s->failing = false;
	s->retry_ms = 0;
	/* Its other pending ones: at once. */
	s->retry_at = s->n_pend ? mono_ms() : 0;
	cw->notes_sent++;
	cw->notes_kept += kept;
	cw->notes_retried += !x->round;
	mark(cw, nt->key);
	round_add(cw, x->round, true, kept);
}

/* One fewer POST of @r under way (the one of @ok, over a @kept
 * connection); the last one logs it. NULL: not a first try. */
static void round_add(struct crlwatch *cw, struct round *r, bool ok, bool kept)
{
	if (!r)
		return;
	r->ok += ok;
	r->kept += kept;
	if (--r->left)
		return;
	guise_info("%s: CRL number %s notified to %zu of %zu (%zu over kept "
		   "connections%s); %zu pending",
		   r->location, r->number ? r->number : "?", r->ok, r->subs,
		   r->kept,
		   r->catchup ? ", a catch-up without --serials to some" : "",
		   watch_pending(cw));
	cw->notes_failed += r->subs - r->ok;
	cw->notify_errors += r->ok < r->subs;
	free(r->location);
	OPENSSL_free(r->number);
	free(r);
}

/*
 * Out of memory, @nt could not be kept pending for @s. Rather than
 * losing it, it is held on its key, where no --state mark passes it, and
 * kept for @s again by watch_retry() (held_retry()).
 */
static void note_lost(struct crlwatch *cw, struct sub *s, struct note *nt)
{
	struct notekey *key = &cw->keys[nt->key];

	guise_err("POST %s: out of memory: CRL number %s not kept for it; "
		  "tried again in 1 s",
		  s->url, nt->number);
	if (key->held != nt) {
		note_unref(key->held);
		key->held = note_ref(nt);
	}
	s->missed = true;
	s->retry_at = mono_ms() + RETRY_MIN_MS;
}

/* No subscriber misses a held note any more: the keys may get marks. */
static void held_settle(struct crlwatch *cw)
{
	size_t i;

	for (i = 0; i < cw->n_subs; i++)
		if (cw->subs[i].missed)
			return;
	for (i = 0; i < cw->n_keys; i++) {
		if (!cw->keys[i].held)
			continue;
		note_unref(cw->keys[i].held);
		cw->keys[i].held = NULL;
		mark(cw, i);
	}
}

/*
 * The held notes pending again for each subscriber that missed one
 * (unless a newer one of the key is pending for it). Which key it missed
 * is not recorded: it may get a note of another key held for another
 * subscriber twice, which a receiver takes as a duplicate.
 */
static void held_retry(struct crlwatch *cw)
{
	size_t i, k;

	for (i = 0; i < cw->n_subs; i++) {
		struct sub *s = &cw->subs[i];

		if (!s->missed)
			continue;
		s->missed = false;
		for (k = 0; k < cw->n_keys; k++)
			if (cw->keys[k].held && !pend_find(s, k) &&
			    pend_set(s, cw->keys[k].held))
				s->missed = true;
		if (s->missed)
			s->retry_at = mono_ms() + RETRY_MIN_MS;
	}
	held_settle(cw);
}

void watch_retry(struct crlwatch *cw)
{
	uint64_t now = mono_ms();
	size_t i, n = 0;
	struct note *nt;

	held_retry(cw);
	for (i = 0; i < cw->n_subs; i++) {
		struct sub *s = &cw->subs[i];

		if (!s->n_pend || s->posts || s->retry_at > now)
			continue;
		nt = s->pend[0].note;
		n++;
		if (xfer_start(cw, s, nt, NULL))
			post_failed(s, nt, "out of memory", 0);
	}
	if (n)
		guise_debug("re-sending %zu pending notifications; %zu "
			    "pending",
			    n, watch_pending(cw));
	watch_retry_arm(cw);
}

/* Serials of @crl that @previous did not list. */
static STACK_OF(ASN1_INTEGER) * new_serials(X509_CRL *crl, X509_CRL *previous)
{
	STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);
	STACK_OF(ASN1_INTEGER) *out = sk_ASN1_INTEGER_new_null();
	X509_REVOKED *old;
	int i;

	for (i = 0; out && i < sk_X509_REVOKED_num(rev); i++) {
		const ASN1_INTEGER *s = X509_REVOKED_get0_serialNumber(
			sk_X509_REVOKED_value(rev, i));
		ASN1_INTEGER *dup;

		if (previous && X509_CRL_get0_by_serial(previous, &old,
							(ASN1_INTEGER *)s) == 1)
			continue;
		dup = ASN1_INTEGER_dup(s);
		if (!dup || !sk_ASN1_INTEGER_push(out, dup)) {
			ASN1_INTEGER_free(dup);
			sk_ASN1_INTEGER_pop_free(out, ASN1_INTEGER_free);
			return NULL;
		}
		if (sk_ASN1_INTEGER_num(out) >= CRLNOTE_MAX_SERIALS)
			break;
	}
	return out;
}

/*
 * --serials lists what is new since the CRL before (@previous). A
 * subscriber still owing the notification of that one (pending) has not
 * been told of it: for it, the list would not be the difference to what
 * it was last told. It gets a catch-up without the list instead (the
 * location, and with --carry the CRL itself, bring every serial), made
 * at most once per CRL.
 */
int watch_notify(struct crlwatch *cw, X509_CRL *crl, const char *location,
		 X509_CRL *previous)
{
	const struct watch_opts *o = cw->o;
	bool delta = X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0;
	struct note *full = NULL, *plain = NULL;
	STACK_OF(ASN1_INTEGER) * revoked;
	struct crlnote n = { 0 };
	struct round *r = NULL;
	size_t i, k = SIZE_MAX;
	bool all_kept = true;
	unsigned char id[32];
	struct notekey *key;
	int rc = -1;

	n.issuer = X509_NAME_dup(X509_CRL_get_issuer(crl));
	n.number = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	if (n.issuer && n.number && !issuer_id(n.issuer, id))
		k = key_find(cw, id, delta);
	if (k == SIZE_MAX)
		goto fail;
	key = &cw->keys[k];
	if (!o->notify_existing && key->mark &&
	    ASN1_INTEGER_cmp(n.number, key->mark) <= 0) {
		/* (any size: ASN1_INTEGER_get() says -1 past LONG_MAX) */
		char *num = i2s_ASN1_INTEGER(NULL, n.number);

		guise_info("%s: CRL number %s notified before (--state): "
			   "skipped",
			   location, num ? num : "?");
		OPENSSL_free(num);
		rc = 0;
		goto out;
	}
	n.location = strdup(location);
	n.issued_at = time(NULL);
	n.is_delta = delta;
	if (o->carry) {
		X509_CRL_up_ref(crl);
		if (delta)
			n.delta = crl;
		else
			n.crl = crl;
	}
	if (o->serials && !delta) {
		n.revoked = new_serials(crl, previous);
		if (!n.revoked)
			goto fail;
	}
	r = calloc(1, sizeof(*r));
	if (!n.location || !r || !(r->location = strdup(location)) ||
	    !(full = note_make(cw, &n, k)))
		goto fail;
	/* --carry: base64 makes a CRL a third larger, and no receiver takes
	 * a notification over CRLNOTE_MAX_SIZE (it would be re-sent for
	 * ever). The location brings the CRL then. */
	if (full->len > CRLNOTE_MAX_SIZE && (n.crl || n.delta)) {
		guise_warn("%s: CRL number %s too large to carry: notified "
			   "with its location only",
			   location, full->number);
		note_unref(full);
		full = NULL;
		X509_CRL_free(n.crl);
		X509_CRL_free(n.delta);
		n.crl = n.delta = NULL;
		full = note_make(cw, &n, k);
		if (!full)
			goto fail;
	}
	if (o->save)
		save(cw, full);
	r->number = i2s_ASN1_INTEGER(NULL, n.number); /* any size (BN) */
	r->subs = cw->n_subs;
	r->left = 1; /* held until every POST is started */
	ASN1_INTEGER_free(key->latest);
	key->latest = ASN1_INTEGER_dup(n.number);
	for (i = 0; i < cw->n_subs; i++) {
		struct sub *s = &cw->subs[i];
		struct note *nt = full;

		if (full->serials && pend_find(s, k)) {
			if (!plain) {
				revoked = n.revoked;
				n.revoked = NULL;
				plain = note_make(cw, &n, k);
				n.revoked = revoked;
			}
			nt = plain ? plain : full;
			r->catchup |= nt == plain;
		}
		r->left++;
		if (pend_set(s, nt)) {
			note_lost(cw, s, nt);
			all_kept = false;
			round_add(cw, r, false, false);
			continue;
		}
		if (xfer_start(cw, s, nt, r)) {
			post_failed(s, nt, "out of memory", 0);
			round_add(cw, r, false, false);
		}
	}
	/* A note of this key held for a subscriber that missed it is
	 * replaced by this newer one everywhere. */
	if (all_kept && key->held) {
		note_unref(key->held);
		key->held = NULL;
	}
	/* The hold of the start: the log line now if nothing is under way. */
	round_add(cw, r, false, false);
	if (!cw->n_subs)
		mark(cw, k);
	watch_retry_arm(cw);
	rc = 0;
	goto out;
fail:
	guise_err("%s: cannot make the notification", location);
	if (r)
		free(r->location);
	free(r);
out:
	note_unref(full);
	note_unref(plain);
	crlnote_free(&n);
	return rc;
}

void watch_send_free(struct crlwatch *cw)
{
	size_t i;

	/* The requests under way and libcurl's events: before the loop. */
	watch_disconnect(cw);
	for (i = 0; i < cw->n_subs; i++)
		pend_free(&cw->subs[i]);
	for (i = 0; i < cw->n_keys; i++) {
		ASN1_INTEGER_free(cw->keys[i].latest);
		ASN1_INTEGER_free(cw->keys[i].mark);
		note_unref(cw->keys[i].held);
	}
	free(cw->keys);
	cw->keys = NULL;
	cw->n_keys = 0;
}

/* ---- Subscriptions ---- */

/* How many subscriptions @who holds. */
static size_t holds(const struct crlwatch *cw, const char *who)
{
	size_t i, n = 0;

	for (i = 0; i < cw->n_subs; i++)
		n += holders_has(&cw->subs[i].holders, who);
	return n;
}

/* @s leaves the list: its requests under way are given up, what it owed
 * is dropped, its keys may settle. */
static void sub_remove(struct crlwatch *cw, size_t i)
{
	struct sub *s = &cw->subs[i];
	size_t j;

	xfers_abort(cw, s->id);
	sub_close(s);
	pend_free(s);
	free(s->url);
	holders_free(&s->holders);
	cw->subs[i] = cw->subs[--cw->n_subs];
	held_settle(cw);
	for (j = 0; j < cw->n_keys; j++)
		mark(cw, j);
	watch_retry_arm(cw);
}
int watch_subscribe(struct crlwatch *cw, const char *url, const char *who,
		    bool add)
{
	struct sub *v, *s;
	size_t i;
	int err;

	for (i = 0; i < cw->n_subs; i++) {
		s = &cw->subs[i];
		if (strcmp(s->url, url))
			continue;
		if (add && !who)
			s->holders.configured = true;
		/* a --to destination: no hold, whatever the caller's count */
		if (add && (!who || s->holders.configured ||
			    holders_has(&s->holders, who)))
			return 0;
		if (add && holds(cw, who) >= cw->o->subscribe_limit)
			return -EDQUOT;
		if (add)
			return holders_add(&s->holders, who);
		err = holders_drop(&s->holders, who);
		if (err)
			return err;
		sub_remove(cw, i);
		return 0;
	}
	if (!add)
		return -ENOENT;
	if (who && holds(cw, who) >= cw->o->subscribe_limit)
		return -EDQUOT;
	if (cw->n_subs >= 1024)
		return -ENOSPC;
	v = realloc(cw->subs, (cw->n_subs + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	cw->subs = v;
	s = &v[cw->n_subs];
	*s = (struct sub){ .url = strdup(url), .id = ++cw->sub_ids };
	s->holders.configured = !who;
	if (!s->url)
		return -ENOMEM;
	err = who ? holders_add(&s->holders, who) : 0;
	if (err) {
		free(s->url);
		holders_free(&s->holders);
		return err;
	}
	cw->n_subs++;
	cw->subscribed += !!who;
	return 0;
}

/* ---- Which URLs a client may subscribe ---- */

int watch_url_allowed(const struct watch_opts *o, const char *url, X509 *client,
		      const char **why)
{
	switch (urlpolicy_subscribe(&o->allow, url, client, NULL)) {
	case URLPOLICY_OK:
		return 0;
	case URLPOLICY_MALFORMED:
		*why = "expected {\"url\": \"https://host[:port]/path\"}: no "
		       "user, query, fragment or escaped dot, slash or "
		       "backslash";
		break;
	case URLPOLICY_NOT_LISTED:
		*why = "the URL is not under a --subscribe-allow prefix";
		break;
	case URLPOLICY_NOT_NAMED:
		*why = "without --subscribe-allow a client may subscribe only "
		       "https:// URLs of a host its certificate's "
		       "subjectAltName names";
		break;
	}
	return -1;
}
