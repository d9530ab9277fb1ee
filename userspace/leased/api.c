// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "api.h"
#include "audit.h"
#include "log.h"
#include "metrics.h"
#include "request.h"
#include "revocation.h"

#define HTTP_TOO_MANY 429
#define API_LIST_DEFAULT 1000
#define API_LIST_MAX 100000

/* Who may call what. Subscriber calls act on the caller's own leases (its
 * certificate address); an admin may also end anyone's lease. */
static const struct role_rule api_rules[] = {
	{ "rent", ROLE_SUBSCRIBER },
	{ "return", ROLE_SUBSCRIBER | ROLE_ADMIN },
	{ "renew", ROLE_SUBSCRIBER },
	{ "reveal", ROLE_SUBSCRIBER },
	{ "list", ROLE_OPERATOR | ROLE_ADMIN },
	{ "history", ROLE_ABUSE_DESK },
	{ "audit", ROLE_AUDITOR | ROLE_ADMIN },
	{ "audit/verify", ROLE_AUDITOR | ROLE_ADMIN },
	{ "metrics", ROLE_OPERATOR | ROLE_ADMIN },
	{ "health", ROLE_ALL },
	{ NULL, 0 },
};

/* A checked caller: its identity, roles and the names for the audit. */
struct api_call {
	struct http_caller c;
	char roles[96];
	struct leased_actor who;
};

/*
 * Method, identity, then the matrix. A refusal is a 403 and an audit
 * record ("denied"), the same whatever the request names: no oracle.
 * Returns 0, or -1 after replying.
 */
static int api_begin(struct evhttp_request *req, struct api *api,
		     enum evhttp_cmd_type method, const char *endpoint,
		     struct api_call *call)
{
	if (http_begin_caller(req, method, api->policy, &call->c))
		return -1;
	roles_format(call->c.roles, call->roles, sizeof(call->roles));
	call->who.name = call->c.name;
	call->who.roles = call->roles;
	if (roles_allowed(api_rules, endpoint, call->c.roles))
		return 0;
	api->d->m.denied++;
	leased_audit(api->d, &call->who, "denied", NULL, "refused", endpoint);
	http_reply_error(req, HTTP_FORBIDDEN,
			 "forbidden: your roles do not allow this call");
	return -1;
}

/* Subscriber calls need the address the certificate proves. */
static int api_need_addr(struct evhttp_request *req,
			 const struct api_call *call)
{
	if (call->c.has_addr)
		return 0;
	http_reply_error(
		req, HTTP_FORBIDDEN,
		"client certificate must carry exactly one IPv6 address");
	return -1;
}

/* The body parsed for @op; -1 after replying 400. */
static int api_body(struct evhttp_request *req, struct api *api, enum api_op op,
		    struct api_request *out)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const unsigned char *data = len ? evbuffer_pullup(in, -1) : NULL;
	char why[256];

	if (api_request_parse(op, (const char *)data, data ? len : 0,
			      api->d->conf->default_lifetime,
			      api->d->conf->max_lifetime, out, why,
			      sizeof(why))) {
		http_reply_error(req, HTTP_BADREQUEST, why);
		return -1;
	}
	return 0;
}

/* The one answer for "no such lease, or not yours": no oracle. */
static void reply_not_found(struct evhttp_request *req)
{
	http_reply_error(req, HTTP_NOTFOUND, "not found");
}

static void put_addr(json_t *o, const char *key, const struct in6_addr *a)
{
	char buf[INET6_ADDRSTRLEN];

	json_object_set_new(
		o, key, json_string(inet_ntop(AF_INET6, a, buf, sizeof(buf))));
}

static json_t *lease_json(const struct lease_rec *l)
{
	json_t *o = json_pack("{s:I}", "expires", (json_int_t)l->expires);

	if (o) {
		put_addr(o, "virtual", &l->virt);
		put_addr(o, "peer", &l->peer);
	}
	return o;
}

/*
 * Remember the certificate a lease was rented with, for certd's revocation
 * events. After the rent's commit: if this fails (logged, counted) the lease
 * stands but a revocation will not end it before it expires.
 */
static void api_record_cert(struct evhttp_request *req, struct leased *d,
			    const struct in6_addr *virt)
{
	char serial[REVOCATION_SERIAL_MAX], *issuer;

	if (revocation_request_id(req, &issuer, serial, sizeof(serial)))
		return; /* the UNIX socket: no certificate */
	if (store_lease_cert_set(d->store, virt, issuer, serial))
		d->m.store_errors++;
	free(issuer);
}

static void api_rent(struct evhttp_request *req, void *arg)
{
	struct api *api = arg;
	struct leased *d = api->d;
	struct api_request rq;
	struct api_call call;
	struct lease_rec l;
	json_t *body;
	int err;

	if (api_begin(req, api, EVHTTP_REQ_POST, "rent", &call) ||
	    api_need_addr(req, &call) || api_body(req, api, API_RENT, &rq))
		return;
	if (!api_addr_usable(&call.c.addr)) {
		http_reply_error(req, HTTP_FORBIDDEN,
				 "certificate address cannot hold leases");
		return;
	}
	if (!api_addr_usable(&rq.addr) ||
	    !memcmp(&rq.addr, &call.c.addr, sizeof(rq.addr)) ||
	    pools_contains(&d->pools, &rq.addr)) {
		http_reply_error(req, HTTP_BADREQUEST,
				 "bad request: peer cannot be leased for");
		return;
	}
	err = leases_rent(d, &call.c.addr, &rq.addr, rq.lifetime,
			  LEASED_HOST_FLAGS, &l);
	switch (err) {
	case 0:
		api_record_cert(req, d, &l.virt);
		body = lease_json(&l);
		if (body)
			json_object_set_new(body, "lifetime",
					    json_integer(rq.lifetime));
		http_reply_json(req, 201, body);
		return;
	case -EEXIST:
		body = lease_json(&l);
		if (body)
			json_object_set_new(
				body, "error",
				json_string(
					"lease exists for this peer; renew it"));
		http_reply_json(req, HTTP_CONFLICT, body);
		return;
	case -EAGAIN:
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "Retry-After", "1");
		http_reply_error(req, HTTP_TOO_MANY, "rent rate limit reached");
		return;
	case -ENOSPC:
		http_reply_error(req, HTTP_SERVUNAVAIL, "pool exhausted");
		return;
	case -EDQUOT:
		http_reply_error(req, HTTP_SERVUNAVAIL,
				 "lease limit per client reached");
		return;
	case -EREMOTEIO:
		http_reply_error(req, HTTP_BADGATEWAY,
				 "kernel refused the lease");
		return;
	default:
		http_reply_error(req, HTTP_INTERNAL, "store failure");
		return;
	}
}

static void api_return(struct evhttp_request *req, void *arg)
{
	struct api *api = arg;
	struct api_request rq;
	struct api_call call;
	bool own, admin;
	int err = -ENOENT;

	if (api_begin(req, api, EVHTTP_REQ_POST, "return", &call) ||
	    api_body(req, api, API_RETURN, &rq))
		return;
	own = (call.c.roles & ROLE_SUBSCRIBER) && call.c.has_addr;
	admin = call.c.roles & ROLE_ADMIN;
	if (!own && !admin && api_need_addr(req, &call))
		return;
	if (own)
		err = leases_return(api->d, &call.c.addr, &rq.addr, &call.who);
	if (err == -ENOENT && admin)
		err = leases_return(api->d, NULL, &rq.addr, &call.who);
	if (err == -ENOENT) {
		reply_not_found(req);
	} else if (err) {
		http_reply_error(req, HTTP_INTERNAL, "store failure");
	} else {
		json_t *o = json_pack("{s:b}", "returned", 1);

		if (o)
			put_addr(o, "virtual", &rq.addr);
		http_reply_json(req, HTTP_OK, o);
	}
}

static void api_renew(struct evhttp_request *req, void *arg)
{
	struct api *api = arg;
	struct api_request rq;
	struct api_call call;
	struct lease_rec l;
	int err;

	if (api_begin(req, api, EVHTTP_REQ_POST, "renew", &call) ||
	    api_need_addr(req, &call) || api_body(req, api, API_RENEW, &rq))
		return;
	err = leases_renew(api->d, &call.c.addr, &rq.addr, rq.lifetime, &l);
	if (err == -ENOENT)
		reply_not_found(req);
	else if (err == -EREMOTEIO)
		http_reply_error(req, HTTP_BADGATEWAY,
				 "kernel refused the lease");
	else if (err)
		http_reply_error(req, HTTP_INTERNAL, "store failure");
	else
		http_reply_json(req, HTTP_OK, lease_json(&l));
}

static void api_reveal(struct evhttp_request *req, void *arg)
{
	struct api *api = arg;
	struct in6_addr real;
	struct api_request rq;
	struct api_call call;
	json_t *o;

	if (api_begin(req, api, EVHTTP_REQ_POST, "reveal", &call) ||
	    api_need_addr(req, &call) || api_body(req, api, API_REVEAL, &rq))
		return;
	if (leases_reveal(api->d, &call.c.addr, &rq.addr, &call.who, &real)) {
		reply_not_found(req);
		return;
	}
	o = json_object();
	if (o) {
		put_addr(o, "virtual", &rq.addr);
		put_addr(o, "real", &real);
	}
	http_reply_json(req, HTTP_OK, o);
}

static void api_history(struct evhttp_request *req, void *arg)
{
	struct api *api = arg;
	struct api_request rq;
	struct api_call call;
	struct lease_rec l;
	int64_t end;
	bool live;
	json_t *o;
	int err;

	if (api_begin(req, api, EVHTTP_REQ_POST, "history", &call) ||
	    api_body(req, api, API_HISTORY, &rq))
		return;
	err = leases_history(api->d, &rq.addr, rq.when, rq.reason, &call.who,
			     &l, &end, &live);
	if (err == -ENOENT) {
		reply_not_found(req);
		return;
	}
	if (err) {
		http_reply_error(req, HTTP_INTERNAL, "store failure");
		return;
	}
	o = json_pack("{s:I, s:I, s:I, s:b}", "time", (json_int_t)rq.when,
		      "start", (json_int_t)l.created, "end", (json_int_t)end,
		      "live", live);
	if (o) {
		put_addr(o, "virtual", &l.virt);
		put_addr(o, "real", &l.real);
		put_addr(o, "peer", &l.peer);
	}
	http_reply_json(req, HTTP_OK, o);
}

/* The value of query parameter @key, or NULL. *@bad if the query does not
 * parse. */
static const char *query_get(struct evhttp_request *req, struct evkeyvalq *q,
			     const char *key, bool *bad)
{
	const char *query =
		evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));

	TAILQ_INIT(q);
	*bad = false;
	if (!query)
		return NULL;
	if (evhttp_parse_query_str(query, q)) {
		*bad = true;
		return NULL;
	}
	return evhttp_find_header(q, key);
}

/* A non-negative integer query parameter (@dflt when absent); -1 after
 * replying 400. */
static int query_int(struct evhttp_request *req, const char *key,
		     long long dflt, long long max, long long *out)
{
	struct evkeyvalq q;
	const char *v;
	char *end;
	bool bad;

	v = query_get(req, &q, key, &bad);
	*out = dflt;
	if (v) {
		errno = 0;
		*out = strtoll(v, &end, 10);
		bad = errno || end == v || *end || *out < 0 || *out > max;
	}
	evhttp_clear_headers(&q);
	if (bad) {
		char msg[96];

		snprintf(msg, sizeof(msg), "bad request: query %s", key);
		http_reply_error(req, HTTP_BADREQUEST, msg);
		return -1;
	}
	return 0;
}

static void api_list(struct evhttp_request *req, void *arg)
{
	struct api *api = arg;
	struct lease_rec *v = NULL;
	struct api_call call;
	long long limit;
	json_t *arr, *o;
	size_t n = 0, i;
	char detail[32];

	if (api_begin(req, api, EVHTTP_REQ_GET, "list", &call) ||
	    query_int(req, "limit", API_LIST_DEFAULT, API_LIST_MAX, &limit))
		return;
	if (store_lease_list(api->d->store, INT64_MAX, (size_t)limit, &v, &n)) {
		http_reply_error(req, HTTP_INTERNAL, "store failure");
		return;
	}
	/* The list shows real addresses: an administrative read. */
	snprintf(detail, sizeof(detail), "%zu leases", n);
	leased_audit(api->d, &call.who, "list", NULL, "ok", detail);
	arr = json_array();
	for (i = 0; arr && i < n; i++) {
		o = lease_json(&v[i]);
		if (!o)
			continue;
		put_addr(o, "real", &v[i].real);
		json_object_set_new(o, "created", json_integer(v[i].created));
		json_object_set_new(
			o, "mode",
			json_string(v[i].flags == LEASED_HOST_FLAGS ?
					    "host" :
					    "gateway"));
		json_array_append_new(arr, o);
	}
	free(v);
	http_reply_json(req, HTTP_OK,
			json_pack("{s:o*, s:I}", "leases", arr, "count",
				  (json_int_t)n));
}

/* Send the text of @fp (an open_memstream) with @mime. */
static void reply_text(struct evhttp_request *req, const char *mime, char *text,
		       size_t len)
{
	struct evbuffer *buf = evbuffer_new();

	if (!buf || evbuffer_add(buf, text, len)) {
		if (buf)
			evbuffer_free(buf);
		http_reply_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "Content-Type", mime);
	evhttp_send_reply(req, HTTP_OK, NULL, buf);
	evbuffer_free(buf);
}

static void api_audit(struct evhttp_request *req, void *arg)
{
	struct api *api = arg;
	enum audit_format fmt = AUDIT_JSON;
	struct api_call call;
	struct evkeyvalq q;
	const char *name;
	char *text = NULL;
	size_t len = 0;
	long long since;
	FILE *fp;
	bool bad;
	int err;

	if (api_begin(req, api, EVHTTP_REQ_GET, "audit", &call) ||
	    query_int(req, "since", 0, INT64_MAX, &since))
		return;
	name = query_get(req, &q, "format", &bad);
	if (name && audit_format_parse(name, &fmt))
		bad = true;
	evhttp_clear_headers(&q);
	if (bad) {
		http_reply_error(req, HTTP_BADREQUEST,
				 "bad request: format is csv, json or xml");
		return;
	}
	leased_audit(api->d, &call.who, "audit-export", NULL, "ok",
		     fmt == AUDIT_CSV ? "csv" :
		     fmt == AUDIT_XML ? "xml" :
					"json");
	fp = open_memstream(&text, &len);
	if (!fp) {
		http_reply_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	err = audit_export(store_db(api->d->store), fmt, since, fp);
	if (fclose(fp))
		err = err ? err : -ENOMEM;
	if (err)
		http_reply_error(req, HTTP_INTERNAL, "audit export failed");
	else
		reply_text(req, audit_format_mime(fmt), text, len);
	free(text);
}

static void api_audit_verify(struct evhttp_request *req, void *arg)
{
	struct api *api = arg;
	struct audit_verify_result res;
	struct api_call call;
	json_t *o;
	int err;

	if (api_begin(req, api, EVHTTP_REQ_GET, "audit/verify", &call))
		return;
	err = audit_verify(store_db(api->d->store), &res);
	if (err && err != -EBADMSG) {
		http_reply_error(req, HTTP_INTERNAL, "store failure");
		return;
	}
	o = json_pack("{s:b, s:I}", "intact", !err, "records",
		      (json_int_t)res.records);
	if (o && err) {
		json_object_set_new(o, "problem", json_string(res.problem));
		json_object_set_new(o, "seq", json_integer(res.bad_seq));
	} else if (o) {
		json_object_set_new(o, "head", json_string(res.head));
	}
	/* Recorded after the check, so the answer covers what was there. */
	leased_audit(api->d, &call.who, "audit-verify", NULL,
		     err ? "broken" : "intact", res.problem);
	http_reply_json(req, HTTP_OK, o);
}

static void api_health(struct evhttp_request *req, void *arg)
{
	struct api *api = arg;
	struct leased *d = api->d;
	struct api_call call;
	uint64_t live;

	if (api_begin(req, api, EVHTTP_REQ_GET, "health", &call))
		return;
	if (store_lease_count(d->store, NULL, &live)) {
		http_reply_error(req, HTTP_SERVUNAVAIL, "store failure");
		return;
	}
	http_reply_json(req, HTTP_OK,
			json_pack("{s:s, s:I, s:b, s:b, s:s}", "status", "ok",
				  "leases", (json_int_t)live, "kernel_sync",
				  d->kernel != NULL, "gateway",
				  d->conf->gateway, "roles", call.roles));
}

static void api_metrics(struct evhttp_request *req, void *arg)
{
	struct api *api = arg;
	struct api_call call;
	struct evbuffer *buf;

	if (api_begin(req, api, EVHTTP_REQ_GET, "metrics", &call))
		return;
	buf = evbuffer_new();
	if (!buf || metrics_format(api->d, buf)) {
		if (buf)
			evbuffer_free(buf);
		http_reply_error(req, HTTP_INTERNAL, "metrics unavailable");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "Content-Type", "text/plain; version=0.0.4");
	evhttp_send_reply(req, HTTP_OK, NULL, buf);
	evbuffer_free(buf);
}

int api_register(struct evhttp *http, struct api *api)
{
	static const struct {
		const char *path;
		void (*cb)(struct evhttp_request *, void *);
	} routes[] = {
		{ "/v1/rent", api_rent },
		{ "/v1/return", api_return },
		{ "/v1/renew", api_renew },
		{ "/v1/reveal", api_reveal },
		{ "/v1/list", api_list },
		{ "/v1/history", api_history },
		{ "/v1/audit", api_audit },
		{ "/v1/audit/verify", api_audit_verify },
		{ "/v1/health", api_health },
		{ "/v1/metrics", api_metrics },
	};
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (evhttp_set_cb(http, routes[i].path, routes[i].cb, api)) {
			guise_err("http: cannot route %s", routes[i].path);
			return -1;
		}
	}
	return 0;
}
