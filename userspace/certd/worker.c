// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "log.h"
#include "worker.h"

/* Shared by the POSTs of one body; freed by the last, on either thread. */
struct worker_body {
	void *data;
	size_t len;
	unsigned int refs; /* atomic */
};

struct job {
	struct job *next;
	char *url, *ctype;
	struct worker_body *body;
	CURL *c; /* while running */
	struct curl_slist *hdr;
};

struct worker {
	struct worker_tls tls;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *head, **tail;
	size_t queued;
	bool stop;
	uint64_t sent, failed, dropped;
	/* The worker thread's own: the transfers under way, with one
	 * connection cache (multi) and one TLS session cache (share). */
	CURLM *multi;
	CURLSH *share;
	size_t active;
};

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

static size_t discard(char *data, size_t size, size_t n, void *arg)
{
	(void)data;
	(void)arg;
	return size * n;
}

static void job_free(struct job *j)
{
	curl_slist_free_all(j->hdr);
	free(j->url);
	free(j->ctype);
	worker_body_put(j->body);
	free(j);
}

/* Add @j's POST to the transfers under way. 0 or -1. */
static int post_start(struct worker *w, struct job *j)
{
	char ct[128];

	j->c = curl_easy_init();
	if (!j->c)
		return -1;
	tls_setopts(j->c, &w->tls);
	if (w->share)
		curl_easy_setopt(j->c, CURLOPT_SHARE, w->share);
	snprintf(ct, sizeof(ct), "Content-Type: %s", j->ctype);
	j->hdr = curl_slist_append(NULL, ct);
	curl_easy_setopt(j->c, CURLOPT_URL, j->url);
	curl_easy_setopt(j->c, CURLOPT_HTTPHEADER, j->hdr);
	curl_easy_setopt(j->c, CURLOPT_POSTFIELDS, j->body->data);
	curl_easy_setopt(j->c, CURLOPT_POSTFIELDSIZE_LARGE,
			 (curl_off_t)j->body->len);
	curl_easy_setopt(j->c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(j->c, CURLOPT_PRIVATE, j);
	if (!j->hdr || curl_multi_add_handle(w->multi, j->c) != CURLM_OK) {
		curl_easy_cleanup(j->c);
		j->c = NULL;
		return -1;
	}
	w->active++;
	return 0;
}

/* A transfer is over: count it, free it. */
static void post_done(struct worker *w, CURL *c, CURLcode rc)
{
	struct job *j = NULL;
	long code = 0;
	bool ok;

	curl_easy_getinfo(c, CURLINFO_PRIVATE, (char **)&j);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	ok = rc == CURLE_OK && code >= 200 && code <= 299;
	if (!ok)
		guise_warn("POST %s: %s", j ? j->url : "?",
			   rc != CURLE_OK ? curl_easy_strerror(rc) : "refused");
	curl_multi_remove_handle(w->multi, c);
	curl_easy_cleanup(c);
	w->active--;
	if (j)
		job_free(j);
	pthread_mutex_lock(&w->lock);
	if (ok)
		w->sent++;
	else
		w->failed++;
	pthread_mutex_unlock(&w->lock);
}

/*
 * The queue is served in parallel: up to WORKER_PARALLEL POSTs at once on
 * one curl multi handle, so a notification reaches every destination of
 * the forwarding list after about one TLS handshake and answer, not one
 * per destination, and a slow peer holds up nobody else.
 */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct job *j;
	CURLMsg *msg;
	int running, left;

	for (;;) {
		pthread_mutex_lock(&w->lock);
		while (!w->head && !w->active && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		if (!w->head && !w->active) {
			pthread_mutex_unlock(&w->lock);
			break; /* stopping, and nothing left */
		}
		while (w->head && w->active < WORKER_PARALLEL) {
			j = w->head;
			w->head = j->next;
			if (!w->head)
				w->tail = &w->head;
			w->queued--;
			j->next = NULL;
			if (post_start(w, j)) {
				w->failed++;
				job_free(j);
			}
		}
		pthread_mutex_unlock(&w->lock);
		if (!w->active)
			continue;
		curl_multi_perform(w->multi, &running);
		while ((msg = curl_multi_info_read(w->multi, &left)))
			if (msg->msg == CURLMSG_DONE)
				post_done(w, msg->easy_handle,
					  msg->data.result);
		/* worker_post() wakes this up for new jobs. */
		if (w->active)
			curl_multi_poll(w->multi, NULL, 0, 1000, NULL);
	}
	return NULL;
}

int worker_start(const struct worker_tls *tls, struct worker **out)
{
	struct worker *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->tls = *tls;
	w->tail = &w->head;
	w->multi = curl_multi_init();
	if (!w->multi) {
		free(w);
		return -ENOMEM;
	}
	/* TLS sessions resumed across POSTs; only this thread uses it. */
	w->share = curl_share_init();
	if (w->share)
		curl_share_setopt(w->share, CURLSHOPT_SHARE,
				  CURL_LOCK_DATA_SSL_SESSION);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (pthread_create(&w->thread, NULL, worker_main, w)) {
		curl_share_cleanup(w->share);
		curl_multi_cleanup(w->multi);
		free(w);
		return -EAGAIN;
	}
	*out = w;
	return 0;
}

void worker_stop(struct worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	curl_multi_wakeup(w->multi);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	curl_multi_cleanup(w->multi);
	curl_share_cleanup(w->share);
	free(w);
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
		const void *body, size_t len)
{
	struct worker_body *b = worker_body_new(body, len);
	int ret;

	if (!b)
		return -ENOMEM;
	ret = worker_post_body(w, url, content_type, b);
	worker_body_put(b);
	return ret;
}

int worker_post_body(struct worker *w, const char *url,
		     const char *content_type, struct worker_body *body)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j)
		return -ENOMEM;
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
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	curl_multi_wakeup(w->multi);
	return 0;
}

void worker_counts(struct worker *w, uint64_t *sent, uint64_t *failed,
		   uint64_t *dropped)
{
	pthread_mutex_lock(&w->lock);
	*sent = w->sent;
	*failed = w->failed;
	*dropped = w->dropped;
	pthread_mutex_unlock(&w->lock);
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

int fetch_url(const struct worker_tls *tls, const char *url, size_t max,
	      unsigned char **out, size_t *out_len)
{
	struct fetch_buf b = { .max = max };
	CURL *c = curl_easy_init();
	long code = 0;
	CURLcode rc;

	if (!c)
		return -1;
	tls_setopts(c, tls);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	/* file:// answers 0. */
	if (rc != CURLE_OK || (code && (code < 200 || code > 299)) || !b.len) {
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
