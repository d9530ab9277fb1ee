// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "base64.h"
#include "certio.h"
#include "crlnote.h"
#include "events.h"
#include "log.h"
#include "notify.h"
#include "worker.h"

#define CT_NOTE "application/cms"
#define CT_JSON "application/json"

void notify_free(struct certd *d)
{
	size_t i;

	for (i = 0; i < d->n_seen; i++) {
		X509_NAME_free(d->seen[i].issuer);
		ASN1_INTEGER_free(d->seen[i].number);
	}
	free(d->seen);
	for (i = 0; i < d->n_subs; i++)
		free(d->subs[i]);
	free(d->subs);
	for (i = 0; i < d->n_path_subs; i++)
		free(d->path_subs[i]);
	free(d->path_subs);
}

/* Token bucket of conf->notify_rate per second, burst of the same. */
static bool rate_ok(struct certd *d)
{
	double rate = d->conf->notify_rate, dt;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!d->tokens_at.tv_sec) {
		d->tokens = rate;
	} else {
		dt = (double)(now.tv_sec - d->tokens_at.tv_sec) +
		     (double)(now.tv_nsec - d->tokens_at.tv_nsec) / 1e9;
		d->tokens += dt * rate;
		if (d->tokens > rate)
			d->tokens = rate;
	}
	d->tokens_at = now;
	if (d->tokens < 1)
		return false;
	d->tokens -= 1;
	return true;
}

/* May @signer vouch for CRLs of @issuer? */
static bool signer_allowed(struct certd *d, X509 *signer,
			   const X509_NAME *issuer)
{
	int i;

	for (i = 0; i < sk_X509_num(d->notifiers); i++)
		if (!X509_cmp(sk_X509_value(d->notifiers, i), signer))
			return true;
	if (X509_NAME_cmp(X509_get_subject_name(signer), issuer))
		return false;
	for (i = 0; i < sk_X509_num(d->crls.cas); i++)
		if (!X509_cmp(sk_X509_value(d->crls.cas, i), signer))
			return true;
	return false;
}

static bool seen_before(struct certd *d, const struct crlnote *n)
{
	struct crl_issuer *is = crl_cache_find(&d->crls, n->issuer);
	size_t i;

	if (is && is->full &&
	    ASN1_INTEGER_cmp(n->number, is->full->number) <= 0)
		return true;
	for (i = 0; i < d->n_seen; i++)
		if (!ASN1_INTEGER_cmp(d->seen[i].number, n->number) &&
		    !X509_NAME_cmp(d->seen[i].issuer, n->issuer))
			return true;
	return false;
}

static void remember(struct certd *d, const struct crlnote *n)
{
	struct seen_note s, *v;

	s.issuer = X509_NAME_dup(n->issuer);
	s.number = ASN1_INTEGER_dup(n->number);
	if (!s.issuer || !s.number)
		goto drop;
	if (d->n_seen == NOTIFY_MAX_SEEN) {
		X509_NAME_free(d->seen[0].issuer);
		ASN1_INTEGER_free(d->seen[0].number);
		memmove(d->seen, d->seen + 1, --d->n_seen * sizeof(s));
	}
	v = realloc(d->seen, (d->n_seen + 1) * sizeof(s));
	if (!v)
		goto drop;
	d->seen = v;
	d->seen[d->n_seen++] = s;
	return;
drop:
	X509_NAME_free(s.issuer);
	ASN1_INTEGER_free(s.number);
}

static int put_crl(struct certd *d, X509_CRL *crl, const ASN1_INTEGER *num,
		   char *err, size_t errlen)
{
	struct crl_serial *newly = NULL;
	size_t n_newly = 0;
	int ret;

	ret = crl_cache_put(&d->crls, crl, time(NULL), &newly, &n_newly, err,
			    errlen);
	if (!ret) {
		d->m.crl_updates++;
		d->m.events_sent += events_revoked(d->events,
						   X509_CRL_get_issuer(crl),
						   num, newly, n_newly);
	} else if (ret != -EALREADY) {
		d->m.crl_rejected++;
	}
	free(newly);
	return ret;
}

int notify_put_crl(struct certd *d, X509_CRL *crl, char *err, size_t errlen)
{
	ASN1_INTEGER *num =
		X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	int ret = put_crl(d, crl, num, err, errlen);

	ASN1_INTEGER_free(num);
	return ret;
}

static X509_CRL *fetch_crl(struct certd *d, const char *url)
{
	const struct certd_conf *c = d->conf;
	struct worker_tls tls = { c->client_cert, c->client_key, c->client_ca,
				  c->fetch_timeout };
	unsigned char *data;
	X509_CRL *crl;
	size_t len;

	if (fetch_url(&tls, url, c->max_body, &data, &len)) {
		d->m.crl_fetch_errors++;
		return NULL;
	}
	crl = certio_crl(data, len);
	free(data);
	if (!crl)
		d->m.crl_fetch_errors++;
	return crl;
}

static unsigned int forward(struct certd *d, const unsigned char *body,
			    size_t len)
{
	unsigned int n = 0;
	size_t i;

	for (i = 0; i < d->conf->forward.n; i++)
		n += !worker_post(d->worker, d->conf->forward.v[i], CT_NOTE,
				  body, len);
	for (i = 0; i < d->n_subs; i++)
		n += !worker_post(d->worker, d->subs[i], CT_NOTE, body, len);
	d->m.notify_forwarded += n;
	return n;
}

#define REJECT(code, ...)                                \
	do {                                             \
		snprintf(err, sizeof(err), __VA_ARGS__); \
		status = code;                           \
		goto out;                                \
	} while (0)

int notify_handle(struct certd *d, const unsigned char *body, size_t len,
		  json_t **reply)
{
	X509_CRL *fetched = NULL, *crl;
	struct crl_serial *newly = NULL;
	struct crlnote n;
	size_t n_newly = 0;
	bool updated = false;
	X509 *signer = NULL;
	char err[256], *num;
	unsigned int fwd;
	int status = 200;

	*reply = NULL;
	memset(&n, 0, sizeof(n));
	if (!rate_ok(d)) {
		d->m.notify_limited++;
		*reply = json_pack("{s:s}", "error", "rate limited");
		return 429;
	}
	if (crlnote_open(body, len, &n, &signer, err, sizeof(err))) {
		d->m.notify_rejected++;
		status = 403;
		goto out;
	}
	if (!signer_allowed(d, signer, n.issuer)) {
		d->m.notify_rejected++;
		REJECT(403, "signer may not notify for this issuer");
	}
	if ((n.crl && X509_NAME_cmp(X509_CRL_get_issuer(n.crl), n.issuer)) ||
	    (n.delta &&
	     X509_NAME_cmp(X509_CRL_get_issuer(n.delta), n.issuer))) {
		d->m.notify_rejected++;
		REJECT(403, "carried CRL of another issuer");
	}
	num = crlnote_int_hex(n.number);
	if (seen_before(d, &n)) {
		d->m.notify_duplicate++;
		*reply = json_pack("{s:s, s:s?}", "result", "duplicate",
				   "crl_number", num);
		free(num);
		goto out;
	}
	remember(d, &n);
	d->m.notify_accepted++;
	crl = n.crl;
	if (!crl && n.location)
		crl = fetched = fetch_crl(d, n.location);
	if (crl && X509_NAME_cmp(X509_CRL_get_issuer(crl), n.issuer))
		crl = NULL;
	if (crl && !put_crl(d, crl, n.number, err, sizeof(err)))
		updated = true;
	if (n.delta && !put_crl(d, n.delta, n.number, err, sizeof(err)))
		updated = true;
	if (n.revoked && !crl_cache_push_serials(&d->crls, n.issuer, n.revoked,
						 &newly, &n_newly)) {
		d->m.events_sent += events_revoked(d->events, n.issuer,
						   n.number, newly, n_newly);
		updated = updated || n_newly;
	}
	fwd = forward(d, body, len);
	*reply = json_pack("{s:s, s:s?, s:b, s:i}", "result", "accepted",
			   "crl_number", num, "updated", updated, "forwarded",
			   fwd);
	free(num);
out:
	if (!*reply)
		*reply = json_pack("{s:s}", "error", err);
	free(newly);
	X509_CRL_free(fetched);
	X509_free(signer);
	crlnote_free(&n);
	ERR_clear_error();
	return status;
}

int notify_subscribe(struct certd *d, const char *topic, const char *url,
		     bool add)
{
	bool paths = !strcmp(topic, "paths");
	char ***v = paths ? &d->path_subs : &d->subs;
	size_t *n = paths ? &d->n_path_subs : &d->n_subs, i;
	char **nv;

	if (!paths && strcmp(topic, "crl"))
		return -EINVAL;
	for (i = 0; i < *n; i++) {
		if (strcmp((*v)[i], url))
			continue;
		if (add)
			return 0;
		free((*v)[i]);
		(*v)[i] = (*v)[--*n];
		return 0;
	}
	if (!add)
		return -ENOENT;
	if (*n >= 1024)
		return -ENOSPC;
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] = strdup(url);
	if (!nv[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

void notify_share_path(struct certd *d, STACK_OF(X509) * chain, int purpose)
{
	json_t *o = json_object(), *arr = json_array();
	unsigned char *der;
	char *text = NULL;
	size_t i;
	int j, len;

	if (!d->conf->peers.n && !d->n_path_subs)
		goto out;
	if (!o || !arr || json_object_set(o, "chain", arr))
		goto out;
	if (purpose) {
		int idx = X509_PURPOSE_get_by_id(purpose);

		if (idx < 0 ||
		    json_object_set_new(o, "purpose",
					json_string(X509_PURPOSE_get0_sname(
						X509_PURPOSE_get0(idx)))))
			goto out;
	}
	for (j = 0; j < sk_X509_num(chain); j++) {
		char *b64;

		der = NULL;
		len = i2d_X509(sk_X509_value(chain, j), &der);
		b64 = len > 0 ? b64_encode(der, len) : NULL;
		OPENSSL_free(der);
		if (!b64 || json_array_append_new(arr, json_string(b64))) {
			free(b64);
			goto out;
		}
		free(b64);
	}
	text = json_dumps(o, JSON_COMPACT);
	if (!text)
		goto out;
	for (i = 0; i < d->conf->peers.n; i++)
		d->m.paths_shared += !worker_post(d->worker,
						  d->conf->peers.v[i], CT_JSON,
						  text, strlen(text));
	for (i = 0; i < d->n_path_subs; i++)
		d->m.paths_shared += !worker_post(d->worker, d->path_subs[i],
						  CT_JSON, text, strlen(text));
out:
	free(text);
	json_decref(arr);
	json_decref(o);
}
