// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <openssl/x509v3.h>

#include "crlnote.h"
#include "crlwatch.h"
#include "log.h"

static size_t discard(char *data, size_t size, size_t n, void *arg)
{
	(void)data;
	(void)arg;
	return size * n;
}

/*
 * Each subscriber has a handle of its own (its TLS session for
 * resumption); the connections are kept in the multi handle's pool, so
 * the next notification needs no new handshake. The requests to all
 * subscribers run at once (perform_all): one that does not answer holds
 * up the others by nothing.
 */
static CURL *sub_handle(struct crlwatch *cw, struct sub *s)
{
	const struct watch_opts *o = cw->o;
	CURL *c = s->curl;

	if (c)
		return c;
	c = s->curl = curl_easy_init();
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

static CURLM *multi(struct crlwatch *cw)
{
	if (!cw->multi) {
		cw->multi = curl_multi_init();
		if (cw->multi)
			curl_multi_setopt(cw->multi, CURLMOPT_MAXCONNECTS,
					  1024L);
	}
	return cw->multi;
}

/*
 * Run the requests prepared on the handles of @subs[0..@n) at once and
 * wait for all of them (each bounded by its CURLOPT_TIMEOUT); their
 * results into @res.
 */
static void perform_all(struct crlwatch *cw, struct sub **subs, CURLcode *res,
			size_t n)
{
	CURLM *m = multi(cw);
	int running = 0, left;
	struct CURLMsg *msg;
	size_t i;

	for (i = 0; i < n; i++) {
		res[i] = CURLE_FAILED_INIT;
		if (m && curl_multi_add_handle(m, subs[i]->curl) == CURLM_OK)
			running = 1;
	}
	while (running) {
		if (curl_multi_perform(m, &running) != CURLM_OK ||
		    (running &&
		     curl_multi_poll(m, NULL, 0, 1000, NULL) != CURLM_OK))
			break;
	}
	while (m && (msg = curl_multi_info_read(m, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		for (i = 0; i < n; i++)
			if (subs[i]->curl == msg->easy_handle)
				res[i] = msg->data.result;
	}
	for (i = 0; m && i < n; i++)
		curl_multi_remove_handle(m, subs[i]->curl);
}

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

static void sub_close(struct sub *s)
{
	curl_easy_cleanup(s->curl);
	s->curl = NULL;
	s->used = s->warm_after = s->warm_backoff = 0;
}

void watch_disconnect(struct crlwatch *cw)
{
	size_t i;

	for (i = 0; i < cw->n_subs; i++)
		sub_close(&cw->subs[i]);
	curl_multi_cleanup(cw->multi); /* closes the pool's connections */
	cw->multi = NULL;
}

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

/* Prepare @s's handle for GET /v1/health?keepalive=1. 0 or -1. */
static int warm_prepare(struct sub *s)
{
	char *url = warm_url(s->url);

	if (!url)
		return -1;
	curl_easy_setopt(s->curl, CURLOPT_URL, url); /* copied */
	curl_easy_setopt(s->curl, CURLOPT_HTTPGET, 1L);
	/* A subscriber that is down must not hold up the scans for long. */
	curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
	curl_easy_setopt(s->curl, CURLOPT_TIMEOUT, 5L);
	free(url);
	return 0;
}

static int warm_done(struct sub *s, CURLcode rc)
{
	long code = 0;

	if (rc == CURLE_OK)
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK || code != 200) {
		/* Warned once per outage; retried after 1, 2, 4 ... s, at
		 * most hourly (a subscriber starting with us is warm soon). */
		if (!s->warm_backoff)
			guise_warn("pre-warm %s: %s (retrying with backoff)",
				   s->url,
				   rc != CURLE_OK ? curl_easy_strerror(rc) :
						    "refused");
		s->warm_backoff = s->warm_backoff ? 2 * s->warm_backoff : 1;
		if (s->warm_backoff > WARM_BACKOFF_MAX)
			s->warm_backoff = WARM_BACKOFF_MAX;
		s->warm_after = mono_now() + s->warm_backoff;
		s->used = 0; /* no connection to keep */
		return -1;
	}
	if (s->warm_backoff)
		guise_info("pre-warm %s: connected again", s->url);
	sub_used(s);
	return 0;
}

unsigned int watch_prewarm(struct crlwatch *cw, bool idle_only)
{
	const time_t now = mono_now(), stale = cw->o->keepalive / 2;
	struct sub **todo = calloc(cw->n_subs + 1, sizeof(*todo));
	CURLcode *res = calloc(cw->n_subs + 1, sizeof(*res));
	size_t i, n = 0, ok = 0;
	time_t next = 0;
	struct sub *s;

	for (i = 0; todo && res && i < cw->n_subs; i++) {
		s = &cw->subs[i];
		if (s->warm_after <= now &&
		    !(s->used && (idle_only || now - s->used < stale)) &&
		    sub_handle(cw, s) && !warm_prepare(s))
			todo[n++] = s;
	}
	perform_all(cw, todo, res, n);
	for (i = 0; i < n; i++)
		ok += !warm_done(todo[i], res[i]);
	for (i = 0; i < cw->n_subs; i++) {
		s = &cw->subs[i];
		/* Not connected yet, backing off: its next try. */
		if (!s->used && s->warm_after &&
		    (!next || s->warm_after < next))
			next = s->warm_after;
	}
	if (n)
		guise_debug("pre-warmed %zu of %zu subscriber connections", ok,
			    n);
	free(todo);
	free(res);
	return next ? (unsigned int)(next > now ? next - now : 0) + 1 : 0;
}

static void save(const char *dir, const ASN1_INTEGER *number,
		 const unsigned char *der, size_t len)
{
	char *hex = crlnote_int_hex(number), path[4096];
	FILE *fp;

	if (!hex)
		return;
	snprintf(path, sizeof(path), "%.3000s/%s.cms", dir, hex);
	free(hex);
	fp = fopen(path, "wb");
	if (!fp || fwrite(der, 1, len, fp) != len)
		guise_warn("%s: cannot save the notification", path);
	if (fp)
		fclose(fp);
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

/* Prepare @s's handle to POST @der. */
static void post_prepare(struct sub *s, struct curl_slist *hdr,
			 const unsigned char *der, size_t len)
{
	curl_easy_setopt(s->curl, CURLOPT_URL, s->url);
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, der);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, 0L);
	curl_easy_setopt(s->curl, CURLOPT_TIMEOUT, 10L);
}

/* 0 if the POST was answered 2xx; *@kept: it needed no new connection. */
static int post_done(struct sub *s, CURLcode rc, bool *kept)
{
	long code = 0, conns = 1;

	if (rc == CURLE_OK) {
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_getinfo(s->curl, CURLINFO_NUM_CONNECTS, &conns);
	}
	/* The handle keeps pointers to these: not past this POST. */
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, NULL);
	if (rc != CURLE_OK || code < 200 || code > 299) {
		guise_warn("POST %s: %s", s->url,
			   rc != CURLE_OK ? curl_easy_strerror(rc) : "refused");
		return -1;
	}
	*kept = conns == 0;
	sub_used(s);
	return 0;
}

int watch_notify(struct crlwatch *cw, X509_CRL *crl, const char *location,
		 X509_CRL *previous)
{
	bool delta = X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0;
	struct sub **todo = calloc(cw->n_subs + 1, sizeof(*todo));
	CURLcode *res = calloc(cw->n_subs + 1, sizeof(*res));
	struct curl_slist *hdr =
		curl_slist_append(NULL, "Content-Type: application/cms");
	size_t len, i, nt = 0, kept = 0, sent = 0;
	struct crlnote n = { 0 };
	unsigned char *der = NULL;
	char *num;
	int rc = -1;
	bool k;

	n.issuer = X509_NAME_dup(X509_CRL_get_issuer(crl));
	n.number = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	n.location = strdup(location);
	n.issued_at = time(NULL);
	if (cw->o->carry) {
		X509_CRL_up_ref(crl);
		if (delta)
			n.delta = crl;
		else
			n.crl = crl;
	}
	if (cw->o->serials && !delta)
		n.revoked = new_serials(crl, previous);
	if (!todo || !res || !hdr || !n.issuer || !n.number || !n.location ||
	    crlnote_sign(&n, cw->sign_cert, cw->sign_key, &der, &len)) {
		guise_err("%s: cannot make the notification", location);
		goto out;
	}
	if (cw->o->save)
		save(cw->o->save, n.number, der, len);
	for (i = 0; i < cw->n_subs; i++) {
		if (sub_handle(cw, &cw->subs[i])) {
			post_prepare(&cw->subs[i], hdr, der, len);
			todo[nt++] = &cw->subs[i];
		}
	}
	perform_all(cw, todo, res, nt);
	for (i = 0; i < nt; i++) {
		if (!post_done(todo[i], res[i], &k)) {
			sent++;
			kept += k;
		}
	}
	cw->notes_sent += sent;
	cw->notes_failed += cw->n_subs - sent;
	cw->notes_kept += kept;
	num = i2s_ASN1_INTEGER(NULL, n.number); /* any size (BN) */
	guise_info(
		"%s: CRL number %s notified to %zu of %zu (%zu over kept connections)",
		location, num ? num : "?", sent, cw->n_subs, kept);
	OPENSSL_free(num);
	rc = sent == cw->n_subs ? 0 : -1;
out:
	curl_slist_free_all(hdr);
	free(todo);
	free(res);
	free(der);
	crlnote_free(&n);
	return rc;
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
		if (add)
			return who ? holders_add(&s->holders, who) : 0;
		err = holders_drop(&s->holders, who);
		if (err)
			return err;
		sub_close(s);
		free(s->url);
		holders_free(&s->holders);
		cw->subs[i] = cw->subs[--cw->n_subs];
		return 0;
	}
	if (!add)
		return -ENOENT;
	if (cw->n_subs >= 1024)
		return -ENOSPC;
	v = realloc(cw->subs, (cw->n_subs + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	cw->subs = v;
	s = &v[cw->n_subs];
	*s = (struct sub){ .url = strdup(url) };
	s->holders.configured = !who;
	if (!s->url)
		return -ENOMEM;
	err = who ? holders_add(&s->holders, who) : 0;
	if (err) {
		free(s->url);
		return err;
	}
	cw->n_subs++;
	cw->subscribed += !!who;
	return 0;
}
