// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "api.h"
#include "certio.h"
#include "events.h"
#include "http.h"
#include "loader.h"
#include "log.h"
#include "notify.h"
#include "urlpolicy.h"
#include "validate.h"
#include "worker.h"

#define API_MAX_INTERMEDIATES 16

/*
 * Method check and a verified client certificate (any subject: certd's
 * clients are daemons and peers, not address holders). 0 or -1 (replied).
 */
static int api_begin(struct evhttp_request *req, enum evhttp_cmd_type method)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev =
		conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;

	if (evhttp_request_get_command(req) != method) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "Allow",
				  method == EVHTTP_REQ_GET ? "GET" : "POST");
		http_reply_error(req, 405, "method not allowed");
		return -1;
	}
	if (!ssl || !SSL_get0_peer_certificate(ssl) ||
	    SSL_get_verify_result(ssl) != X509_V_OK) {
		http_reply_error(req, HTTP_FORBIDDEN,
				 "a verified client certificate is required");
		return -1;
	}
	return 0;
}

static int parse_purpose(const char *name)
{
	int idx;

	if (!name || !strcmp(name, "any"))
		return 0;
	idx = X509_PURPOSE_get_by_sname(name);
	if (idx < 0)
		return -1;
	return X509_PURPOSE_get_id(X509_PURPOSE_get0(idx));
}

struct api_req {
	struct validation_req vr;
	const char *url; /* acquire */
};

static void api_req_free(struct api_req *r)
{
	X509_free(r->vr.leaf);
	sk_X509_pop_free(r->vr.untrusted, X509_free);
	sk_ASN1_OBJECT_pop_free(r->vr.policies, ASN1_OBJECT_free);
}

/* The common request fields; @need_cert: "cert" is required. */
static int parse_req(json_t *body, struct api_req *r, bool acquire, char *err,
		     size_t errlen)
{
	const char *cert = NULL, *purpose = NULL;
	json_t *inter = NULL, *pol = NULL, *v;
	json_int_t at = 0;
	json_error_t jerr;
	size_t i;

	memset(r, 0, sizeof(*r));
	if (json_unpack_ex(body, &jerr, JSON_STRICT,
			   acquire ? "{s:s, s?o, s?s, s?o, s?I}" :
				     "{s:s, s?o, s?s, s?o, s?I}",
			   acquire ? "url" : "cert", acquire ? &r->url : &cert,
			   "intermediates", &inter, "purpose", &purpose,
			   "policies", &pol, "at", &at)) {
		snprintf(err, errlen, "bad request: %.100s", jerr.text);
		return -1;
	}
	r->vr.purpose = parse_purpose(purpose);
	if (r->vr.purpose < 0) {
		snprintf(err, errlen, "unknown purpose");
		return -1;
	}
	if (at < 0) {
		snprintf(err, errlen, "bad time");
		return -1;
	}
	r->vr.at = (time_t)at;
	if (cert && !(r->vr.leaf = certio_cert_text(cert))) {
		snprintf(err, errlen,
			 "cert: not a PEM or base64 DER certificate");
		return -1;
	}
	if (inter) {
		if (!json_is_array(inter) ||
		    json_array_size(inter) > API_MAX_INTERMEDIATES) {
			snprintf(err, errlen, "intermediates: at most %d",
				 API_MAX_INTERMEDIATES);
			return -1;
		}
		r->vr.untrusted = sk_X509_new_null();
		json_array_foreach(inter, i, v) {
			X509 *x =
				json_is_string(v) ?
					certio_cert_text(json_string_value(v)) :
					NULL;

			if (!x || !r->vr.untrusted ||
			    !sk_X509_push(r->vr.untrusted, x)) {
				X509_free(x);
				snprintf(err, errlen,
					 "intermediates: bad certificate %zu",
					 i);
				return -1;
			}
		}
	}
	if (pol) {
		if (!json_is_array(pol) || json_array_size(pol) > 16) {
			snprintf(err, errlen, "policies: a list of OIDs");
			return -1;
		}
		r->vr.policies = sk_ASN1_OBJECT_new_null();
		json_array_foreach(pol, i, v) {
			ASN1_OBJECT *o =
				json_is_string(v) ?
					OBJ_txt2obj(json_string_value(v), 1) :
					NULL;

			if (!o || !r->vr.policies ||
			    !sk_ASN1_OBJECT_push(r->vr.policies, o)) {
				ASN1_OBJECT_free(o);
				snprintf(err, errlen, "policies: bad OID");
				return -1;
			}
		}
	}
	return 0;
}

static void validate_cb(struct evhttp_request *req, void *arg)
{
	struct certd *d = arg;
	struct validation v;
	struct api_req r;
	json_t *body;
	char err[160];

	if (api_begin(req, EVHTTP_REQ_POST))
		return;
	body = http_json_body(req);
	if (!body)
		return;
	if (parse_req(body, &r, false, err, sizeof(err))) {
		http_reply_error(req, HTTP_BADREQUEST, err);
		goto out;
	}
	certd_validate(d, &r.vr, &v);
	if (v.new_path)
		notify_share_path(d, v.chain, r.vr.purpose);
	http_reply_json(req, HTTP_OK, validation_json(&v));
	validation_free(&v);
out:
	api_req_free(&r);
	json_decref(body);
}

/* 403 {"error": "url not allowed: @why"}. */
static void url_denied(struct evhttp_request *req, const char *why)
{
	char msg[320];

	snprintf(msg, sizeof(msg), "url not allowed: %s", why);
	http_reply_error(req, HTTP_FORBIDDEN, msg);
}

static char *cert_pem(X509 *x)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long len;

	if (bio && PEM_write_bio_X509(bio, x)) {
		len = BIO_get_mem_data(bio, &data);
		out = strndup(data, (size_t)len);
	}
	BIO_free(bio);
	return out;
}

/*
 * POST /v1/acquire: the fetch (libcurl, blocking, up to fetch_timeout)
 * runs on a thread of its own, never on the event loop; the validation
 * and the answer on the loop once it is done. Each of the
 * CERTD_ACQUIRE_MAX acquirers (a loader.h job queue, thread "acquire",
 * started at the first acquire) takes one fetch at a time: more acquires
 * at once are answered 503 at once.
 *
 * The request: libevent 2.1 keeps an unanswered incoming request until
 * it is answered, also when its client goes away meanwhile (the
 * connection is freed, the request detached from it, req->evcon NULL);
 * answering it then frees it (evhttp_send()). So the answer is sent
 * exactly once, from acquire_done(), whatever the client did; and at
 * shutdown api_stop() cuts the fetches short and answers before the
 * servers (and the connections that hold their requests) are freed.
 */
struct acquire {
	struct certd *d;
	struct evhttp_request *req;
	struct api_req r; /* r.url NULL: it points into the body */
	struct urlpolicy_url url; /* what was checked; url.url is fetched */
	unsigned int slot;
	/* Set on the acquirer thread. */
	struct worker_tls tls;
	struct urlpolicy_guard guard;
	unsigned char *data;
	size_t len;
	int ret;
};

static void acquire_free(struct acquire *a)
{
	api_req_free(&a->r);
	urlpolicy_url_free(&a->url);
	free(a->data);
	free(a);
}

/* Acquirer thread: the fetch (the configuration is read-only), without
 * redirects, to no address the URL does not name (urlpolicy_guard()). */
static void acquire_work(void *arg)
{
	struct acquire *a = arg;

	a->ret = fetch_url_guarded(&a->tls, &a->url, &a->guard, CERTIO_MAX_CERT,
				   &a->data, &a->len, &a->d->acquire_cancel);
}

/* Loop: validate what was fetched and answer. */
static void acquire_done(void *arg)
{
	struct acquire *a = arg;
	struct evhttp_request *req = a->req;
	struct certd *d = a->d;
	struct validation v;
	json_t *o;
	char *pem;

	d->acquire_busy[a->slot] = false;
	d->acquiring--;
	/* A refused address matters only if the fetch failed: libcurl
	 * tries a name's other addresses (::1 refused, then a public one
	 * fetched: the answer is that fetch's). */
	if (a->ret && a->guard.refused) {
		d->m.acquires_denied++;
		guise_info("acquire %s: refused: %s", a->url.url, a->guard.why);
		url_denied(req, a->guard.why);
		goto out;
	}
	if (a->ret) {
		d->m.acquires_refused++;
		http_reply_error(req, HTTP_BADGATEWAY, "cannot fetch the url");
		goto out;
	}
	a->r.vr.leaf = certio_cert(a->data, a->len);
	if (!a->r.vr.leaf) {
		d->m.acquires_refused++;
		http_reply_error(req, HTTP_BADGATEWAY,
				 "the url holds no certificate");
		goto out;
	}
	certd_validate(d, &a->r.vr, &v);
	if (v.new_path)
		notify_share_path(d, v.chain, a->r.vr.purpose);
	o = validation_json(&v);
	if (v.status == VALID_GOOD) {
		pem = cert_pem(a->r.vr.leaf);
		json_object_set_new(o, "cert",
				    pem ? json_string(pem) : json_null());
		free(pem);
		http_reply_json(req, HTTP_OK, o);
	} else {
		d->m.acquires_refused++;
		http_reply_json(req, 422, o);
	}
	validation_free(&v);
out:
	acquire_free(a);
}

/* A free acquirer (started if need be), or -1. */
static int acquire_slot(struct certd *d)
{
	unsigned int i;

	if (d->acquire_stopped)
		return -1;
	for (i = 0; i < CERTD_ACQUIRE_MAX; i++) {
		if (d->acquire_busy[i])
			continue;
		if (!d->acquirers[i] &&
		    loader_start_named(d->base, "acquire", &d->acquirers[i]))
			return -1;
		return (int)i;
	}
	return -1;
}

/*
 * May /v1/acquire fetch @url? Only if [network] acquire_allow is set and
 * @url is under one of its prefixes (a query allowed); then NULL and
 * @out holds the parsed URL. Else why not.
 */
static const char *acquire_allowed(const struct certd_conf *c, const char *url,
				   struct urlpolicy_url *out)
{
	if (!c->acquire_allow.n)
		return "acquire is not enabled ([network] acquire_allow)";
	if (urlpolicy_parse(url, URLPOLICY_QUERY, out))
		return "expected an http(s) URL without user, password, "
		       "fragment, IPv6 zone or escaped dot, slash or "
		       "backslash in its path";
	if (!urlpolicy_match(&c->acquire_allow, out)) {
		urlpolicy_url_free(out);
		return "not under a [network] acquire_allow prefix";
	}
	return NULL;
}

static void acquire_cb(struct evhttp_request *req, void *arg)
{
	const struct certd_conf *c;
	struct certd *d = arg;
	struct acquire *a;
	const char *why;
	json_t *body;
	char err[160];
	int slot;

	if (api_begin(req, EVHTTP_REQ_POST))
		return;
	body = http_json_body(req);
	if (!body)
		return;
	d->m.acquires++;
	a = calloc(1, sizeof(*a));
	if (!a) {
		http_reply_error(req, 503, "out of memory");
		goto out;
	}
	if (parse_req(body, &a->r, true, err, sizeof(err))) {
		http_reply_error(req, HTTP_BADREQUEST, err);
		goto fail;
	}
	if (strncmp(a->r.url, "http://", 7) &&
	    strncmp(a->r.url, "https://", 8)) {
		http_reply_error(req, HTTP_BADREQUEST, "url: http or https");
		goto fail;
	}
	/* Before anything is fetched or started: only what the
	 * configuration allows (nothing by default). */
	why = acquire_allowed(d->conf, a->r.url, &a->url);
	if (why) {
		d->m.acquires_denied++;
		guise_info("acquire %.200s: refused: %s", a->r.url, why);
		if (!d->conf->acquire_allow.n)
			http_reply_error(req, HTTP_FORBIDDEN, why);
		else
			url_denied(req, why);
		goto fail;
	}
	a->r.url = NULL; /* @body goes */
	slot = acquire_slot(d);
	if (slot < 0) {
		d->m.acquires_busy++;
		http_reply_error(req, 503,
				 d->acquiring >= CERTD_ACQUIRE_MAX ?
					 "too many acquires at once" :
					 "cannot acquire now");
		goto fail;
	}
	c = d->conf;
	a->d = d;
	a->req = req;
	a->slot = (unsigned int)slot;
	a->tls = (struct worker_tls){ .cert = c->client_cert,
				      .key = c->client_key,
				      .ca = c->client_ca,
				      .timeout = c->fetch_timeout };
	if (loader_run(d->acquirers[slot], acquire_work, acquire_done, a)) {
		http_reply_error(req, 503, "cannot acquire now");
		goto fail;
	}
	d->acquire_busy[slot] = true;
	d->acquiring++;
	goto out; /* answered by acquire_done() */
fail:
	acquire_free(a);
out:
	json_decref(body);
}

void api_stop(struct certd *d)
{
	unsigned int i;

	/* The fetches under way are given up (within a second) and
	 * answered 502 (what still reaches the client: the loop has
	 * stopped); no new one starts. */
	d->acquire_stopped = true;
	__atomic_store_n(&d->acquire_cancel, true, __ATOMIC_RELAXED);
	for (i = 0; i < CERTD_ACQUIRE_MAX; i++) {
		loader_stop(d->acquirers[i]);
		d->acquirers[i] = NULL;
	}
}

static void notify_cb(struct evhttp_request *req, void *arg)
{
	if (api_begin(req, EVHTTP_REQ_POST))
		return;
	notify_post(arg, req); /* answered when processed */
}

/*
 * May the caller of @req subscribe @url? urlpolicy_subscribe(): with
 * [network] subscribe_allow, a URL under one of its prefixes; without,
 * https:// to a host the caller's certificate names in its
 * subjectAltName. NULL and *@norm (the URL as libcurl writes it again,
 * what is subscribed; malloc'd), or why not.
 */
static const char *subscribe_allowed(const struct certd_conf *c,
				     struct evhttp_request *req,
				     const char *url, char **norm)
{
	switch (urlpolicy_subscribe(&c->subscribe_allow, url, holders_peer(req),
				    norm)) {
	case URLPOLICY_OK:
		return NULL;
	case URLPOLICY_MALFORMED:
		break;
	case URLPOLICY_NOT_LISTED:
		return "not under a [network] subscribe_allow prefix";
	case URLPOLICY_NOT_NAMED:
		return "without [network] subscribe_allow, only an https:// "
		       "URL of a host that the client certificate's "
		       "subjectAltName names (IP address or DNS name)";
	}
	return "expected https://host[:port]/path without user, password, "
	       "query, fragment, IPv6 zone or escaped dot, slash or "
	       "backslash";
}

static void subscribe(struct evhttp_request *req, struct certd *d, bool add)
{
	const char *url, *topic = "crl", *why;
	char who[HOLDER_ID_MAX], *norm = NULL;
	json_error_t jerr;
	json_t *body;
	int err;

	if (api_begin(req, EVHTTP_REQ_POST))
		return;
	body = http_json_body(req);
	if (!body)
		return;
	if (json_unpack_ex(body, &jerr, JSON_STRICT, "{s:s, s?s}", "url", &url,
			   "topic", &topic) ||
	    (strncmp(url, "https://", 8) && strncmp(url, "http://", 7)) ||
	    strlen(url) > 1024) {
		http_reply_error(req, HTTP_BADREQUEST,
				 "expected {\"url\": \"https://...\", "
				 "\"topic\": \"crl\"|\"paths\"}");
		goto out;
	}
	if (holders_caller(req, who, sizeof(who))) {
		http_reply_error(req, HTTP_FORBIDDEN,
				 "a verified client certificate is required");
		goto out;
	}
	if (add && (why = subscribe_allowed(d->conf, req, url, &norm))) {
		d->m.subscribe_denied++;
		guise_info("subscribe %s: refused: %s", url, why);
		url_denied(req, why);
		goto out;
	}
	if (!add)
		norm = urlpolicy_normalize(url);
	if (!norm) {
		http_reply_error(req, 503, "out of memory");
		goto out;
	}
	url = norm;
	err = notify_subscribe(d, topic, url, who, add);
	if (err == -EBUSY)
		err = 0; /* our hold let go; others keep it */
	if (err == -EINVAL)
		http_reply_error(req, HTTP_BADREQUEST, "unknown topic");
	else if (err == -ENOENT)
		http_reply_error(req, HTTP_NOTFOUND, "not subscribed");
	else if (err == -EDQUOT)
		http_reply_json(
			req, 429,
			json_pack("{s:s, s:i}", "error",
				  "this client holds as many subscriptions "
				  "as it may ([network] subscribe_limit)",
				  "limit",
				  (json_int_t)d->conf->subscribe_limit));
	else if (err == -EPERM)
		http_reply_error(req, HTTP_FORBIDDEN,
				 "subscribed by another client");
	else if (err)
		http_reply_error(req, 503, "cannot subscribe");
	else
		http_reply_json(req, HTTP_OK,
				json_pack("{s:s, s:s, s:b}", "url", url,
					  "topic", topic, "subscribed", add));
out:
	free(norm);
	json_decref(body);
}

static void subscribe_cb(struct evhttp_request *req, void *arg)
{
	subscribe(req, arg, true);
}

static void unsubscribe_cb(struct evhttp_request *req, void *arg)
{
	subscribe(req, arg, false);
}

/* A path shared by a peer: verified here, cached, never re-shared. */
static void paths_cb(struct evhttp_request *req, void *arg)
{
	struct certd *d = arg;
	struct validation v;
	struct api_req r;
	json_t *body, *chain, *rest, *vbody, *purpose;
	char err[160];

	if (api_begin(req, EVHTTP_REQ_POST))
		return;
	body = http_json_body(req);
	if (!body)
		return;
	memset(&r, 0, sizeof(r));
	chain = json_object_get(body, "chain");
	if (!json_is_array(chain) || json_array_size(chain) < 1 ||
	    json_array_size(chain) > API_MAX_INTERMEDIATES + 1) {
		http_reply_error(req, HTTP_BADREQUEST,
				 "expected {\"chain\": [...]}");
		goto out;
	}
	rest = json_array();
	json_array_extend(rest, chain);
	json_array_remove(rest, 0);
	purpose = json_object_get(body, "purpose");
	vbody = json_pack("{s:O, s:o, s:O*}", "cert", json_array_get(chain, 0),
			  "intermediates", rest, "purpose", purpose);
	if (!vbody || parse_req(vbody, &r, false, err, sizeof(err))) {
		json_decref(vbody);
		d->m.paths_refused++;
		http_reply_error(req, HTTP_BADREQUEST, "bad chain");
		goto out;
	}
	json_decref(vbody);
	certd_validate(d, &r.vr, &v);
	if (v.new_path)
		d->m.paths_received++;
	else
		d->m.paths_refused += v.status != VALID_GOOD;
	http_reply_json(req, HTTP_OK,
			json_pack("{s:s, s:b}", "status",
				  validation_status_name(v.status), "cached",
				  v.new_path || v.cached));
	validation_free(&v);
out:
	api_req_free(&r);
	json_decref(body);
}

static void events_cb(struct evhttp_request *req, void *arg)
{
	struct certd *d = arg;

	if (api_begin(req, EVHTTP_REQ_GET))
		return;
	events_stream(d->events, req);
}

static json_t *crl_json(const struct crl_issuer *is, time_t now)
{
	char name[256], hex[2 * CRL_SERIAL_MAX + 2];
	struct crl_serial k;
	json_t *o;

	X509_NAME_oneline(is->name, name, sizeof(name));
	o = json_pack("{s:s, s:I}", "issuer", name, "pushed",
		      (json_int_t)is->npushed);
	if (o && is->full) {
		if (!crl_serial_key(is->full->number, &k)) {
			crl_serial_hex(&k, hex);
			json_object_set_new(o, "crl_number", json_string(hex));
		}
		json_object_set_new(o, "entries",
				    json_integer((json_int_t)is->full->n));
		json_object_set_new(o, "next_update",
				    json_integer(is->full->next_update));
		json_object_set_new(o, "stale",
				    json_boolean(is->full->next_update &&
						 is->full->next_update < now));
		/* When it entered the cache (freshness measurements). */
		json_object_set_new(
			o, "loaded_at",
			json_real((double)is->full->loaded.tv_sec +
				  (double)is->full->loaded.tv_nsec / 1e9));
	}
	if (o && crl_issuer_delta(is))
		json_object_set_new(o, "delta_entries",
				    json_integer((json_int_t)is->delta->n));
	return o;
}

/*
 * GET /v1/health?keepalive=1: a peer's forwarding thread connecting ahead
 * of notifications ([network] prewarm). Its connection may stay idle as
 * long as after a notification (keepalive + 10 s, so that the peer, not
 * we, closes it); the answer is short. Any verified client may ask, as
 * any may post a (replayed) notification. True if asked.
 */
static bool peer_keepalive(struct certd *d, struct evhttp_request *req)
{
	const char *q =
		evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct evhttp_connection *evcon;
	struct evkeyvalq kv;
	const char *v;
	bool yes;

	if (!q || evhttp_parse_query_str(q, &kv))
		return false;
	v = evhttp_find_header(&kv, "keepalive");
	yes = v && !strcmp(v, "1");
	evhttp_clear_headers(&kv);
	if (!yes)
		return false;
	d->m.peer_keepalive++;
	evcon = evhttp_request_get_connection(req);
	if (evcon && d->conf->keepalive)
		evhttp_connection_set_timeout(evcon,
					      (int)d->conf->keepalive + 10);
	return true;
}

static void health_cb(struct evhttp_request *req, void *arg)
{
	struct certd *d = arg;
	time_t now = time(NULL);
	json_t *crls;
	size_t i;

	if (api_begin(req, EVHTTP_REQ_GET))
		return;
	if (peer_keepalive(d, req)) {
		http_reply_json(req, HTTP_OK,
				json_pack("{s:s, s:I}", "status", "ok",
					  "keepalive",
					  (json_int_t)d->conf->keepalive + 10));
		return;
	}
	crls = json_array();
	for (i = 0; crls && i < d->crls.n_issuers; i++)
		json_array_append_new(crls, crl_json(d->crls.issuers[i], now));
	http_reply_json(
		req, HTTP_OK,
		json_pack("{s:s, s:o*, s:I, s:I, s:I, s:I}", "status", "ok",
			  "crls", crls, "paths", (json_int_t)d->paths.n,
			  "subscribers", (json_int_t)d->n_subs, "streams",
			  (json_int_t)events_streams(d->events), "generation",
			  (json_int_t)d->crls.generation));
}

static void metrics_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *buf;

	if (api_begin(req, EVHTTP_REQ_GET))
		return;
	buf = evbuffer_new();
	if (!buf || metrics_format(arg, buf)) {
		if (buf)
			evbuffer_free(buf);
		http_reply_error(req, HTTP_INTERNAL, "metrics failed");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "Content-Type", "text/plain; version=0.0.4");
	http_send(req, HTTP_OK, "OK", buf);
	evbuffer_free(buf);
}

int api_register(struct evhttp *http, struct certd *d)
{
	static const struct {
		const char *path;
		void (*cb)(struct evhttp_request *, void *);
	} routes[] = {
		{ "/v1/validate", validate_cb },
		{ "/v1/acquire", acquire_cb },
		{ "/v1/notify", notify_cb },
		{ "/v1/subscribe", subscribe_cb },
		{ "/v1/unsubscribe", unsubscribe_cb },
		{ "/v1/paths", paths_cb },
		{ "/v1/events", events_cb },
		{ "/v1/health", health_cb },
		{ "/v1/metrics", metrics_cb },
	};
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (evhttp_set_cb(http, routes[i].path, routes[i].cb, d)) {
			guise_err("http: cannot register %s", routes[i].path);
			return -1;
		}
	}
	return 0;
}
