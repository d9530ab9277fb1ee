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

/* Keep idle connections this long (certd's [network] keepalive). */
#define POST_KEEPALIVE 300L

static int post(struct crlwatch *cw, const char *url, const unsigned char *body,
		size_t len)
{
	const struct watch_opts *o = cw->o;
	struct curl_slist *hdr;
	CURL *c = cw->curl;
	long code = 0;
	CURLcode rc;

	if (!c) {
		c = cw->curl = curl_easy_init();
		if (!c)
			return -1;
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
		/* One connection per subscriber, kept. */
		curl_easy_setopt(c, CURLOPT_MAXCONNECTS, 1024L);
		curl_easy_setopt(c, CURLOPT_MAXAGE_CONN, POST_KEEPALIVE);
		if (o->ca)
			curl_easy_setopt(c, CURLOPT_CAINFO, o->ca);
		if (o->cert)
			curl_easy_setopt(c, CURLOPT_SSLCERT, o->cert);
		if (o->key)
			curl_easy_setopt(c, CURLOPT_SSLKEY, o->key);
	}
	hdr = curl_slist_append(NULL, "Content-Type: application/cms");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	/* The handle keeps pointers to these: not past this POST. */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
	curl_slist_free_all(hdr);
	if (rc != CURLE_OK || code < 200 || code > 299) {
		guise_warn("POST %s: %s", url,
			   rc != CURLE_OK ? curl_easy_strerror(rc) : "refused");
		return -1;
	}
	return 0;
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
	size_t len, i;
	int failed = 0;

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
		if (post(cw, cw->subs[i], der, len)) {
			cw->notes_failed++;
			failed++;
		} else {
			cw->notes_sent++;
		}
	}
	guise_info("%s: CRL number %ld notified to %zu of %zu", location,
		   ASN1_INTEGER_get(n.number), cw->n_subs - failed, cw->n_subs);
	free(der);
	crlnote_free(&n);
	return failed ? -1 : 0;
}

int watch_subscribe(struct crlwatch *cw, const char *url, bool add)
{
	char **v;
	size_t i;

	for (i = 0; i < cw->n_subs; i++) {
		if (strcmp(cw->subs[i], url))
			continue;
		if (add)
			return 0;
		free(cw->subs[i]);
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
	v[cw->n_subs] = strdup(url);
	if (!v[cw->n_subs])
		return -ENOMEM;
	cw->n_subs++;
	cw->subscribed += add;
	return 0;
}
