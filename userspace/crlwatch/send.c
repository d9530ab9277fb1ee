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
 * Every request goes through this one handle: libcurl keeps the
 * connections to the subscribers (one each) and their TLS sessions.
 */
static CURL *handle(struct crlwatch *cw)
{
	const struct watch_opts *o = cw->o;
	CURL *c = cw->curl;

	if (c)
		return c;
	c = cw->curl = curl_easy_init();
	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_MAXCONNECTS, 1024L);
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

void watch_disconnect(struct crlwatch *cw)
{
	size_t i;

	curl_easy_cleanup(cw->curl);
	cw->curl = NULL;
	for (i = 0; i < cw->n_subs; i++)
		cw->subs[i].used = cw->subs[i].warm_after =
			cw->subs[i].warm_backoff = 0;
}

/* 0 if the POST was answered 2xx; *@kept: it needed no new connection. */
static int post(struct crlwatch *cw, struct sub *s, const unsigned char *body,
		size_t len, bool *kept)
{
	const char *url = s->url;
	struct curl_slist *hdr;
	CURL *c = handle(cw);
	long code = 0, conns = 1;
	CURLcode rc;

	if (!c)
		return -1;
	hdr = curl_slist_append(NULL, "Content-Type: application/cms");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 0L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns);
	}
	/* The handle keeps pointers to these: not past this POST. */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
	curl_slist_free_all(hdr);
	if (rc != CURLE_OK || code < 200 || code > 299) {
		guise_warn("POST %s: %s", url,
			   rc != CURLE_OK ? curl_easy_strerror(rc) : "refused");
		return -1;
	}
	*kept = conns == 0;
	sub_used(s);
	return 0;
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

static int warm_one(struct crlwatch *cw, struct sub *s)
{
	char *url = warm_url(s->url);
	CURL *c = handle(cw);
	long code = 0;
	CURLcode rc;

	if (!url || !c) {
		free(url);
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	/* A subscriber that is down must not hold up the scans for long. */
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK || code != 200) {
		/* Warned once per outage; retried after 1, 2, 4 ... s, at
		 * most hourly (a subscriber starting with us is warm soon). */
		if (!s->warm_backoff)
			guise_warn("pre-warm %s: %s (retrying with backoff)",
				   url,
				   rc != CURLE_OK ? curl_easy_strerror(rc) :
						    "refused");
		s->warm_backoff = s->warm_backoff ? 2 * s->warm_backoff : 1;
		if (s->warm_backoff > WARM_BACKOFF_MAX)
			s->warm_backoff = WARM_BACKOFF_MAX;
		s->warm_after = mono_now() + s->warm_backoff;
		s->used = 0; /* no connection to keep */
		free(url);
		return -1;
	}
	if (s->warm_backoff)
		guise_info("pre-warm %s: connected again", url);
	sub_used(s);
	free(url);
	return 0;
}

unsigned int watch_prewarm(struct crlwatch *cw, bool idle_only)
{
	const time_t now = mono_now(), stale = cw->o->keepalive / 2;
	size_t i, n = 0, ok = 0;
	time_t next = 0;
	struct sub *s;

	for (i = 0; i < cw->n_subs; i++) {
		s = &cw->subs[i];
		if (s->warm_after <= now &&
		    !(s->used && (idle_only || now - s->used < stale))) {
			n++;
			ok += !warm_one(cw, s);
		}
		/* Not connected yet, backing off: its next try. */
		if (!s->used && s->warm_after &&
		    (!next || s->warm_after < next))
			next = s->warm_after;
	}
	if (n)
		guise_debug("pre-warmed %zu of %zu subscriber connections", ok,
			    n);
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

int watch_notify(struct crlwatch *cw, X509_CRL *crl, const char *location,
		 X509_CRL *previous)
{
	bool delta = X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0;
	struct crlnote n = { 0 };
	unsigned char *der = NULL;
	size_t len, i, kept = 0;
	int failed = 0;
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
	if (!n.issuer || !n.number || !n.location ||
	    crlnote_sign(&n, cw->sign_cert, cw->sign_key, &der, &len)) {
		guise_err("%s: cannot make the notification", location);
		crlnote_free(&n);
		return -1;
	}
	if (cw->o->save)
		save(cw->o->save, n.number, der, len);
	for (i = 0; i < cw->n_subs; i++) {
		if (post(cw, &cw->subs[i], der, len, &k)) {
			cw->notes_failed++;
			failed++;
		} else {
			cw->notes_sent++;
			kept += k;
		}
	}
	cw->notes_kept += kept;
	guise_info(
		"%s: CRL number %ld notified to %zu of %zu (%zu over kept connections)",
		location, ASN1_INTEGER_get(n.number), cw->n_subs - failed,
		cw->n_subs, kept);
	free(der);
	crlnote_free(&n);
	return failed ? -1 : 0;
}

int watch_subscribe(struct crlwatch *cw, const char *url, bool add)
{
	struct sub *v;
	size_t i;

	for (i = 0; i < cw->n_subs; i++) {
		if (strcmp(cw->subs[i].url, url))
			continue;
		if (add)
			return 0;
		free(cw->subs[i].url);
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
	v[cw->n_subs] = (struct sub){ .url = strdup(url) };
	if (!v[cw->n_subs].url)
		return -ENOMEM;
	cw->n_subs++;
	cw->subscribed += add;
	return 0;
}
