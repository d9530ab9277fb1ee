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
#include <openssl/sha.h>

#include "addr.h"
#include "api.h"
#include "audit.h"
#include "certcheck.h"
#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "request.h"
#include "revalidate.h"
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
 * Audited calls (a refusal, a reveal, a history lookup) each write and
 * sync an audit record that is never purged: per caller, at most [audit]
 * rate a second on average, burst at once, or one certificate holder
 * could keep the disk busy and grow the log without end. Over the rate:
 * 429 before anything is looked up or written, the same whatever the
 * request names. The caller is the address its certificate proves, else
 * a digest of its name; root on the UNIX socket is not limited.
 */
static bool api_audit_rate_ok(struct evhttp_request *req, struct api *api,
			      const struct api_call *call)
{
	const struct leased_conf *conf = api->d->conf;
	unsigned char md[SHA256_DIGEST_LENGTH];
	struct in6_addr key;

	if (call->c.local)
		return true;
	if (call->c.has_addr) {
		key = call->c.addr;
	} else {
		SHA256((const unsigned char *)call->c.name,
		       strlen(call->c.name), md);
		memcpy(&key, md, sizeof(key));
	}
	if (ratelimit_take(api->d->audit_rl, &key, conf->audit_rate,
			   conf->audit_burst, guise_mono_ms()))
		return true;
	api->d->m.audit_rate_limited++;
	http_reply_error(req, HTTP_TOO_MANY,
			 "too many audited requests: slow down");
	return false;
}

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
	if (!api_audit_rate_ok(req, api, call))
		return -1;
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

/* What discloses addresses is answered only once audited (the disk is
 * full, the store failed): the same answer whatever was asked. */
static void reply_unaudited(struct evhttp_request *req)
{
	http_reply_error(req, HTTP_SERVUNAVAIL, "audit log unavailable");
}

static void put_addr(json_t *o, const char *key, const struct in6_addr *a)
{
	char buf[INET6_ADDRSTRLEN];

	json_object_set_new(o, key, json_string(guise_addr_format(a, buf)));
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
 * A rent, return or renew in flight: the answer goes out from
 * its *_done() callback, after the group commit that holds the write.
 */
struct api_pending {
	struct lease_op op; /* first */
	struct evhttp_request *req;
	char serial[REVOCATION_SERIAL_MAX];
};

/* A new op of @kind for @req; NULL after replying 500. */
static struct api_pending *
api_pending_new(struct evhttp_request *req, enum lease_op_kind kind,
		void (*done)(struct leased *, struct lease_op *))
{
	struct api_pending *a = calloc(1, sizeof(*a));

	if (!a) {
		http_reply_error(req, HTTP_INTERNAL, "out of memory");
		return NULL;
	}
	a->req = req;
	a->op.kind = kind;
	a->op.done = done;
	return a;
}

static void api_pending_free(struct api_pending *a)
{
	free(a->op.issuer);
	free(a->op.chain);
	free(a);
}

static void rent_done(struct leased *d, struct lease_op *op)
{
	struct api_pending *a = (struct api_pending *)op;
	struct evhttp_request *req = a->req;
	json_t *body;

	(void)d;
	switch (op->err) {
	case 0:
		body = lease_json(&op->l);
		if (body)
			json_object_set_new(body, "lifetime",
					    json_integer(op->lifetime));
		http_reply_json(req, 201, body);
		break;
	case -EEXIST:
		body = lease_json(&op->l);
		if (body)
			json_object_set_new(
				body, "error",
				json_string(
					"lease exists for this peer; renew it"));
		http_reply_json(req, HTTP_CONFLICT, body);
		break;
	case -EAGAIN:
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "Retry-After", "1");
		http_reply_error(req, HTTP_TOO_MANY, "rent rate limit reached");
		break;
	case -ENOSPC:
		http_reply_error(req, HTTP_SERVUNAVAIL, "pool exhausted");
		break;
	case -EDQUOT:
		http_reply_error(req, HTTP_SERVUNAVAIL,
				 "lease limit per client reached");
		break;
	case -EREMOTEIO:
		http_reply_error(req, HTTP_BADGATEWAY,
				 "kernel refused the lease");
		break;
	default:
		http_reply_error(req, HTTP_INTERNAL, "store failure");
		break;
	}
	api_pending_free(a);
}

static void api_rent(struct evhttp_request *req, void *arg)
{
	struct api *api = arg;
	struct leased *d = api->d;
	struct api_request rq;
	struct api_call call;
	struct api_pending *a;

	if (api_begin(req, api, EVHTTP_REQ_POST, "rent", &call) ||
	    api_need_addr(req, &call) || api_body(req, api, API_RENT, &rq))
		return;
	/* Inside a pool, R could be drawn as its own V. */
	if (!api_addr_usable(&call.c.addr) ||
	    pools_contains(&d->pools, &call.c.addr)) {
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
	a = api_pending_new(req, LEASE_OP_RENT, rent_done);
	if (!a)
		return;
	a->op.real = call.c.addr;
	a->op.addr = rq.addr;
	a->op.lifetime = rq.lifetime;
	a->op.flags = LEASED_HOST_FLAGS;
	/* The certificate, for certd's revocation events (none on the
	 * UNIX socket). Read now: the connection may be gone later. */
	if (!revocation_request_id(req, &a->op.issuer, a->serial,
				   sizeof(a->serial))) {
		a->op.serial = a->serial;
		/* And the chain behind it, for re-validation. */
		if (revalidate_request_chain(req, &a->op.chain,
					     &a->op.chain_len))
			guise_warn("rent: certificate chain too large to "
				   "keep: the lease is not re-validated");
	}
	/* @req is not ours once submitted: rent_done() answers it. */
	leases_submit(d, &a->op);
}

static void return_done(struct leased *d, struct lease_op *op)
{
	struct api_pending *a = (struct api_pending *)op;
	json_t *o;

	(void)d;
	if (op->err == -ENOENT) {
		reply_not_found(a->req);
	} else if (op->err) {
		http_reply_error(a->req, HTTP_INTERNAL, "store failure");
	} else {
		o = json_pack("{s:b}", "returned", 1);
		if (o)
			put_addr(o, "virtual", &op->addr);
		http_reply_json(a->req, HTTP_OK, o);
	}
	api_pending_free(a);
}

static void api_return(struct evhttp_request *req, void *arg)
{
	struct api *api = arg;
	struct api_request rq;
	struct api_call call;
	struct api_pending *a;
	bool own, admin;

	if (api_begin(req, api, EVHTTP_REQ_POST, "return", &call) ||
	    api_body(req, api, API_RETURN, &rq))
		return;
	own = (call.c.roles & ROLE_SUBSCRIBER) && call.c.has_addr;
	admin = call.c.roles & ROLE_ADMIN;
	if (!own && !admin && api_need_addr(req, &call))
		return;
	a = api_pending_new(req, LEASE_OP_RETURN, return_done);
	if (!a)
		return;
	a->op.real = call.c.addr;
	a->op.addr = rq.addr;
	a->op.own = own;
	a->op.admin = admin;
	a->op.who = &call.who; /* used inside leases_submit() only */
	leases_submit(api->d, &a->op);
}

static void renew_done(struct leased *d, struct lease_op *op)
{
	struct api_pending *a = (struct api_pending *)op;

	(void)d;
	if (op->err == -ENOENT)
		reply_not_found(a->req);
	else if (op->err == -EREMOTEIO)
		http_reply_error(a->req, HTTP_BADGATEWAY,
				 "kernel refused the lease");
	else if (op->err)
		http_reply_error(a->req, HTTP_INTERNAL, "store failure");
	else
		http_reply_json(a->req, HTTP_OK, lease_json(&op->l));
	api_pending_free(a);
}

static void api_renew(struct evhttp_request *req, void *arg)
{
	struct api *api = arg;
	struct api_request rq;
	struct api_call call;
	struct api_pending *a;

	if (api_begin(req, api, EVHTTP_REQ_POST, "renew", &call) ||
	    api_need_addr(req, &call) || api_body(req, api, API_RENEW, &rq))
		return;
	a = api_pending_new(req, LEASE_OP_RENEW, renew_done);
	if (!a)
		return;
	a->op.real = call.c.addr;
	a->op.addr = rq.addr;
	a->op.lifetime = rq.lifetime;
	leases_submit(api->d, &a->op);
}

static void api_reveal(struct evhttp_request *req, void *arg)
{
	struct api *api = arg;
	struct in6_addr real;
	struct api_request rq;
	struct api_call call;
	json_t *o;
	int err;

	if (api_begin(req, api, EVHTTP_REQ_POST, "reveal", &call) ||
	    api_need_addr(req, &call) || api_body(req, api, API_REVEAL, &rq) ||
	    !api_audit_rate_ok(req, api, &call))
		return;
	err = leases_reveal(api->d, &call.c.addr, &rq.addr, &call.who, &real);
	if (err == -ECANCELED) {
		reply_unaudited(req);
		return;
	}
	if (err) {
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
	    api_body(req, api, API_HISTORY, &rq) ||
	    !api_audit_rate_ok(req, api, &call))
		return;
	err = leases_history(api->d, &rq.addr, rq.when, rq.reason, &call.who,
			     &l, &end, &live);
	if (err == -ECANCELED) {
		reply_unaudited(req);
		return;
	}
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
	batch_flush(api->d); /* only what is durable is listed */
	if (store_lease_list(api->d->store, INT64_MAX, (size_t)limit, &v, &n)) {
		http_reply_error(req, HTTP_INTERNAL, "store failure");
		return;
	}
	/* The list shows real addresses: an administrative read. */
	snprintf(detail, sizeof(detail), "%zu leases", n);
	if (leased_audit(api->d, &call.who, "list", NULL, "ok", detail)) {
		free(v);
		reply_unaudited(req);
		return;
	}
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
	http_send(req, HTTP_OK, NULL, buf);
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
	/* The log names who revealed what: audited like a list. */
	if (leased_audit(api->d, &call.who, "audit-export", NULL, "ok",
			 fmt == AUDIT_CSV ? "csv" :
			 fmt == AUDIT_XML ? "xml" :
					    "json")) {
		reply_unaudited(req);
		return;
	}
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
	http_send(req, HTTP_OK, NULL, buf);
	evbuffer_free(buf);
}

/*
 * Every route passes certd's check of the client certificate first
 * (certcheck.h): the handler runs now, once certd answered, or never (the
 * request was refused).
 */
#define API_CHECKED(fn)                                                 \
	static void fn##_checked(struct evhttp_request *req, void *arg) \
	{                                                               \
		struct api *api = arg;                                  \
                                                                        \
		certcheck_gate(api->d->cc, req, fn, arg);               \
	}
API_CHECKED(api_rent)
API_CHECKED(api_return)
API_CHECKED(api_renew)
API_CHECKED(api_reveal)
API_CHECKED(api_list)
API_CHECKED(api_history)
API_CHECKED(api_audit)
API_CHECKED(api_audit_verify)
API_CHECKED(api_health)
API_CHECKED(api_metrics)

int api_register(struct evhttp *http, struct api *api)
{
	static const struct {
		const char *path;
		void (*cb)(struct evhttp_request *, void *);
	} routes[] = {
		{ "/v1/rent", api_rent_checked },
		{ "/v1/return", api_return_checked },
		{ "/v1/renew", api_renew_checked },
		{ "/v1/reveal", api_reveal_checked },
		{ "/v1/list", api_list_checked },
		{ "/v1/history", api_history_checked },
		{ "/v1/audit", api_audit_checked },
		{ "/v1/audit/verify", api_audit_verify_checked },
		{ "/v1/health", api_health_checked },
		{ "/v1/metrics", api_metrics_checked },
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
