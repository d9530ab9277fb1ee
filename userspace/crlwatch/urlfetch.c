// SPDX-License-Identifier: GPL-2.0
/*
 * --url: the CRL fetched off the event loop. One libcurl handle, kept
 * for the daemon's life (its connection and TLS session stay open
 * between polls), polls every --interval from a thread of its own, so a
 * slow or silent CRL server holds up neither the notifications nor the
 * subscription API. Each poll is a conditional GET: If-None-Match with
 * the ETag of the body last taken, else If-Modified-Since with its
 * Last-Modified when that is at least 2 s older than the response's
 * Date (RFC 9110: a Last-Modified within a second of the Date is weak,
 * the file may have changed again within that second); a 304, or a 200
 * with the same bytes, is "nothing new". The CRL server is verified
 * against --url-ca, else the system's trust store (not --ca, the
 * subscribers' CA). Redirects: http and https, 5 at most. A failure is
 * logged once, then every FAIL_LOG_S while it lasts, and its end.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/evp.h>

#include "crlnote.h"
#include "crlwatch.h"
#include "log.h"

/* As a CRL file (scan.c): a larger one could not be carried. */
#define FETCH_MAX CRLNOTE_MAX_SIZE
#define FETCH_CONNECT_S 10L
#define FETCH_TIMEOUT_S 120L /* a whole fetch, from the thread */
#define FETCH_START_S 10L /* the one at start, before the loop runs */
#define FAIL_LOG_S 300

struct urlfetch {
	const struct watch_opts *o;
	CURL *c;
	/* The validators of the body last taken. */
	char etag[256];
	curl_off_t last_modified; /* -1: none usable */
	unsigned char digest[32];
	bool have_digest;
	atomic_bool forget; /* urlfetch_forget(): drop the validators */
	/* The response under way (its headers, its body). */
	char resp_etag[256];
	time_t resp_date;
	unsigned char *buf;
	size_t len;
	/* Failures. */
	unsigned long fails;
	time_t fail_logged;
	/* The thread. */
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool stop;
	int pipe[2];
	struct event *ev;
	void (*ready)(void *arg);
	void *arg;
	/* Under @lock: a body fetched, not taken yet. */
	unsigned char *new_data;
	size_t new_len;
};

static time_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct urlfetch *f = arg;
	size_t len = size * n;
	unsigned char *p;

	if (len > FETCH_MAX - f->len)
		return 0;
	p = realloc(f->buf, f->len + len);
	if (!p)
		return 0;
	f->buf = p;
	memcpy(f->buf + f->len, data, len);
	f->len += len;
	return len;
}

/* A header's value, trimmed, into @out (empty if it does not fit). */
static void header_value(const char *h, size_t len, size_t name, char *out,
			 size_t size)
{
	const char *v = h + name, *e = h + len;

	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' ||
			 e[-1] == '\t'))
		e--;
	if ((size_t)(e - v) >= size) {
		out[0] = '\0';
		return;
	}
	memcpy(out, v, (size_t)(e - v));
	out[e - v] = '\0';
}

static size_t on_header(char *h, size_t size, size_t n, void *arg)
{
	struct urlfetch *f = arg;
	size_t len = size * n;
	char date[128];

	if (len >= 5 && !strncmp(h, "HTTP/", 5)) {
		/* A response begins (another after a redirect). */
		f->resp_etag[0] = '\0';
		f->resp_date = -1;
		f->len = 0;
	} else if (len > 5 && !strncasecmp(h, "ETag:", 5)) {
		header_value(h, len, 5, f->resp_etag, sizeof(f->resp_etag));
	} else if (len > 5 && !strncasecmp(h, "Date:", 5)) {
		header_value(h, len, 5, date, sizeof(date));
		f->resp_date = date[0] ? curl_getdate(date, NULL) : -1;
	}
	return len;
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c,
		       curl_off_t d)
{
	struct urlfetch *f = arg;

	(void)a, (void)b, (void)c, (void)d;
	return atomic_load(&f->stop) ? 1 : 0;
}

struct urlfetch *urlfetch_new(const struct watch_opts *o)
{
	struct urlfetch *f = calloc(1, sizeof(*f));
	pthread_condattr_t ca;
	CURL *c;

	if (!f)
		return NULL;
	f->o = o;
	f->last_modified = -1;
	f->pipe[0] = f->pipe[1] = -1;
	pthread_mutex_init(&f->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cond, &ca);
	pthread_condattr_destroy(&ca);
	c = f->c = curl_easy_init();
	if (!c) {
		urlfetch_free(f);
		return NULL;
	}
	curl_easy_setopt(c, CURLOPT_URL, o->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, FETCH_CONNECT_S);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, FETCH_START_S);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L); /* see above */
	/* A Content-Length above it: refused before the body comes. */
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)FETCH_MAX);
	curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, f);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, f);
	if (o->url_ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, o->url_ca);
	return f;
}

static void failed(struct urlfetch *f, const char *why)
{
	time_t now = mono_s();

	if (atomic_load(&f->stop))
		return;
	if (!f->fails++)
		guise_warn("--url %s: %s (tried again every %.3g s; logged "
			   "again every %d s while it fails)",
			   f->o->url, why, f->o->interval, FAIL_LOG_S);
	else if (now - f->fail_logged >= FAIL_LOG_S)
		guise_warn("--url %s: still failing: %s (%lu attempts)",
			   f->o->url, why, f->fails);
	else
		return;
	f->fail_logged = now;
}

static void fetched(struct urlfetch *f)
{
	if (f->fails)
		guise_info("--url %s: fetched again after %lu failures",
			   f->o->url, f->fails);
	f->fails = 0;
}

/* Why a 3xx @code is a failure, into @why: where it pointed (what the
 * server wrote, printable ASCII only into the log). */
static void redirected(struct urlfetch *f, long code, char *why, size_t size)
{
	char *to = NULL, *p;

	curl_easy_getinfo(f->c, CURLINFO_REDIRECT_URL, &to);
	snprintf(why, size,
		 "HTTP %ld, a redirect to %.1024s: not followed (give --url "
		 "the final URL)",
		 code, to ? to : "(no Location)");
	for (p = why; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
}

/* One conditional GET: 1 a new body (*@data malloc'd), 0 nothing new,
 * -1 failed. */
static int fetch_once(struct urlfetch *f, unsigned char **data, size_t *len)
{
	struct curl_slist *hdr = NULL;
	unsigned char digest[32];
	curl_off_t ft = -1;
	long code = 0, unmet = 0;
	char line[300], why[1200];
	time_t date;
	CURLcode rc;

	f->len = 0;
	f->resp_etag[0] = '\0';
	f->resp_date = -1;
	if (atomic_exchange(&f->forget, false)) {
		f->etag[0] = '\0';
		f->last_modified = -1;
		f->have_digest = false;
	}
	if (f->etag[0]) {
		snprintf(line, sizeof(line), "If-None-Match: %s", f->etag);
		hdr = curl_slist_append(NULL, line);
	}
	curl_easy_setopt(f->c, CURLOPT_HTTPHEADER, hdr);
	if (!f->etag[0] && f->last_modified > 0) {
		curl_easy_setopt(f->c, CURLOPT_TIMECONDITION,
				 (long)CURL_TIMECOND_IFMODSINCE);
		curl_easy_setopt(f->c, CURLOPT_TIMEVALUE_LARGE,
				 f->last_modified);
	} else {
		curl_easy_setopt(f->c, CURLOPT_TIMECONDITION,
				 (long)CURL_TIMECOND_NONE);
	}
	rc = curl_easy_perform(f->c);
	curl_easy_setopt(f->c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdr);
	if (rc != CURLE_OK) {
		failed(f, curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(f->c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(f->c, CURLINFO_CONDITION_UNMET, &unmet);
	curl_easy_getinfo(f->c, CURLINFO_FILETIME_T, &ft);
	if (code == 304 || unmet) {
		fetched(f);
		return 0;
	}
	if (code < 200 || code > 299 || !f->len) {
		if (code >= 300 && code <= 399)
			redirected(f, code, why, sizeof(why));
		else
			snprintf(why, sizeof(why),
				 code >= 200 && code <= 299 ? "an empty body" :
							      "HTTP %ld",
				 code);
		failed(f, why);
		return -1;
	}
	fetched(f);
	snprintf(f->etag, sizeof(f->etag), "%s", f->resp_etag);
	date = f->resp_date >= 0 ? f->resp_date : time(NULL);
	f->last_modified = ft > 0 && ft + 1 < date ? ft : -1;
	if (!EVP_Digest(f->buf, f->len, digest, NULL, EVP_sha256(), NULL))
		memset(digest, 0, sizeof(digest));
	if (f->have_digest && !memcmp(digest, f->digest, sizeof(digest)))
		return 0; /* the server does not do conditional GETs */
	memcpy(f->digest, digest, sizeof(digest));
	f->have_digest = true;
	*data = f->buf;
	*len = f->len;
	f->buf = NULL;
	f->len = 0;
	return 1;
}

/* Sleep --interval s unless stopped; false if stopped. */
static bool pause_poll(struct urlfetch *f)
{
	double iv = f->o->interval;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)iv;
	ts.tv_nsec += (long)((iv - (double)(time_t)iv) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&f->lock);
	while (!atomic_load(&f->stop) &&
	       pthread_cond_timedwait(&f->cond, &f->lock, &ts) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&f->lock);
	return !atomic_load(&f->stop);
}

static void *thread_main(void *arg)
{
	struct urlfetch *f = arg;
	unsigned char *data;
	ssize_t w;
	size_t len;

	while (pause_poll(f)) {
		if (fetch_once(f, &data, &len) != 1)
			continue;
		pthread_mutex_lock(&f->lock);
		free(f->new_data); /* not taken yet: the newer wins */
		f->new_data = data;
		f->new_len = len;
		pthread_mutex_unlock(&f->lock);
		do
			w = write(f->pipe[1], "n", 1);
		while (w < 0 && errno == EINTR);
	}
	return NULL;
}

static void on_pipe(evutil_socket_t fd, short what, void *arg)
{
	struct urlfetch *f = arg;
	char buf[64];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	f->ready(f->arg);
}

int urlfetch_start(struct urlfetch *f, struct event_base *base,
		   void (*ready)(void *arg), void *arg)
{
	f->ready = ready;
	f->arg = arg;
	if (pipe2(f->pipe, O_NONBLOCK | O_CLOEXEC))
		return -1;
	f->ev = event_new(base, f->pipe[0], EV_READ | EV_PERSIST, on_pipe, f);
	if (!f->ev || event_add(f->ev, NULL))
		return -1;
	curl_easy_setopt(f->c, CURLOPT_TIMEOUT, FETCH_TIMEOUT_S);
	if (pthread_create(&f->thread, NULL, thread_main, f)) {
		guise_err("--url: cannot start the fetch thread");
		return -1;
	}
	f->running = true;
	return 0;
}

int urlfetch_next(struct urlfetch *f, unsigned char **data, size_t *len)
{
	int ret = 0;

	if (!f)
		return -1;
	if (!f->running)
		return fetch_once(f, data, len);
	pthread_mutex_lock(&f->lock);
	if (f->new_data) {
		*data = f->new_data;
		*len = f->new_len;
		f->new_data = NULL;
		ret = 1;
	}
	pthread_mutex_unlock(&f->lock);
	return ret;
}

void urlfetch_forget(struct urlfetch *f)
{
	if (f)
		atomic_store(&f->forget, true);
}

void urlfetch_free(struct urlfetch *f)
{
	if (!f)
		return;
	if (f->running) {
		pthread_mutex_lock(&f->lock);
		atomic_store(&f->stop, true);
		pthread_cond_signal(&f->cond);
		pthread_mutex_unlock(&f->lock);
		pthread_join(f->thread, NULL);
	}
	if (f->ev)
		event_free(f->ev);
	if (f->pipe[0] >= 0)
		close(f->pipe[0]);
	if (f->pipe[1] >= 0)
		close(f->pipe[1]);
	curl_easy_cleanup(f->c);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
	free(f->buf);
	free(f->new_data);
	free(f);
}
