// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <linux/guise.h>

#include "api.h"
#include "audit.h"
#include "certcheck.h"
#include "http.h"
#include "key.h"
#include "log.h"
#include "metrics.h"
#include "sender.h"
#include "server.h"
#include "revalidate.h"
#include "revocation.h"
#include "store.h"

static const struct role_rule rules[] = {
	{ "client-add", ROLE_ADMIN },
	{ "client-del", ROLE_ADMIN },
	{ "channel-add", ROLE_ADMIN },
	{ "channel-del", ROLE_ADMIN },
	{ "content-add", ROLE_ADMIN },
	{ "content-del", ROLE_ADMIN },
	{ "entitle", ROLE_ADMIN },
	{ "revoke", ROLE_ADMIN },
	{ "list", ROLE_ADMIN | ROLE_OPERATOR | ROLE_AUDITOR },
	{ "status", ROLE_ADMIN | ROLE_OPERATOR | ROLE_AUDITOR },
	{ "enroll", ROLE_SUBSCRIBER | ROLE_ADMIN },
	{ "metrics", ROLE_ADMIN | ROLE_OPERATOR },
	{ NULL, 0 },
};

struct call {
	struct keyd_api *api;
	struct evhttp_request *req;
	const char *endpoint;
	struct http_caller who;
	char roles[96];
};

static void audit(struct call *c, const char *object, const char *outcome)
{
	struct audit_record r = {
		.time = (int64_t)time(NULL),
		.actor = c->who.name,
		.roles = c->roles,
		.action = c->endpoint,
		.object = object,
		.outcome = outcome,
	};

	if (audit_append(store_db(c->api->d->store), &r))
		c->api->d->m.store_errors++;
}

/* Method, caller, role. 0 or -1 after replying. */
static int begin(struct call *c, enum evhttp_cmd_type method)
{
	struct http_roles policy = {
		.file = c->api->roles,
		.cert_default = c->api->d->conf->default_roles,
		.local_root = ROLE_ADMIN,
	};

	/* Every reply is counted, the refusals below included. */
	metrics_count_reply(c->req, c->api->d);
	if (http_begin_caller(c->req, method, &policy, &c->who))
		return -1;
	roles_format(c->who.roles, c->roles, sizeof(c->roles));
	if (!roles_allowed(rules, c->endpoint, c->who.roles)) {
		if (method == EVHTTP_REQ_POST)
			audit(c, NULL, "denied");
		http_reply_error(c->req, HTTP_FORBIDDEN, "forbidden");
		return -1;
	}
	return 0;
}

static void reply_bad(struct evhttp_request *req, const char *what)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "bad request: %s", what);
	http_reply_error(req, HTTP_BADREQUEST, msg);
}

/* The outcome of a server_*() call: 200 {} or the error. */
static void finish(struct call *c, const char *object, int err)
{
	static const struct {
		int err, code;
		const char *msg, *outcome;
	} map[] = {
		{ -ENOENT, HTTP_NOTFOUND, "not found", "not-found" },
		{ -EEXIST, HTTP_CONFLICT, "already exists", "exists" },
		{ -EBUSY, HTTP_CONFLICT, "still has contents", "busy" },
		{ -E2BIG, HTTP_CONFLICT, "too many channels for one client",
		  "refused" },
		{ -EINVAL, HTTP_BADREQUEST, "bad request", "refused" },
	};
	size_t i;

	if (!err) {
		audit(c, object, "ok");
		http_reply_json(c->req, HTTP_OK, json_object());
		return;
	}
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (map[i].err == err) {
			audit(c, object, map[i].outcome);
			http_reply_error(c->req, map[i].code, map[i].msg);
			return;
		}
	}
	audit(c, object, "error");
	http_reply_error(c->req, HTTP_INTERNAL, "internal error");
}

static json_t *body(struct call *c, const char *fmt, ...)
{
	json_error_t jerr;
	json_t *root = http_json_body(c->req);
	va_list ap;
	int rc;

	if (!root)
		return NULL;
	va_start(ap, fmt);
	rc = json_vunpack_ex(root, &jerr, JSON_STRICT, fmt, ap);
	va_end(ap);
	if (rc) {
		reply_bad(c->req, jerr.text);
		json_decref(root);
		return NULL;
	}
	return root;
}

#define CALL(name)                                                      \
	struct call c = { .api = arg, .req = req, .endpoint = (name) }; \
	struct keyd *d = c.api->d;                                      \
	uint64_t now = (uint64_t)time(NULL);                            \
	(void)d;                                                        \
	(void)now

static bool id_ok(json_int_t v)
{
	return v >= 1 && v <= UINT32_MAX;
}

static void api_client_add(struct evhttp_request *req, void *arg)
{
	CALL("client-add");
	const char *id, *addr;
	struct in6_addr a;
	json_t *root;

	if (begin(&c, EVHTTP_REQ_POST) ||
	    !(root = body(&c, "{s:s, s:s}", "id", &id, "address", &addr)))
		return;
	if (inet_pton(AF_INET6, addr, &a) != 1)
		reply_bad(req, "address is not an IPv6 address");
	else
		finish(&c, id, server_client_add(d, id, &a));
	json_decref(root);
}

static void api_client_del(struct evhttp_request *req, void *arg)
{
	CALL("client-del");
	const char *id;
	json_t *root;

	if (begin(&c, EVHTTP_REQ_POST) ||
	    !(root = body(&c, "{s:s}", "id", &id)))
		return;
	finish(&c, id, server_client_del(d, id, now));
	json_decref(root);
}

static void api_channel_add(struct evhttp_request *req, void *arg)
{
	CALL("channel-add");
	json_int_t id, port, period = 0, bw = 0;
	struct kchannel ch;
	const char *group;
	char obj[16];
	json_t *root;

	if (begin(&c, EVHTTP_REQ_POST) ||
	    !(root = body(&c, "{s:I, s:s, s:I, s?:I, s?:I}", "id", &id, "group",
			  &group, "port", &port, "kc_period", &period,
			  "bandwidth_kbps", &bw)))
		return;
	memset(&ch, 0, sizeof(ch));
	if (!id_ok(id) || port < 1 || port > 65535 || period < 0 ||
	    period > UINT32_MAX || bw < 0 || bw > UINT32_MAX ||
	    inet_pton(AF_INET6, group, &ch.group) != 1) {
		reply_bad(req, "id 1..2^32-1, group an IPv6 multicast "
			       "address, port 1..65535");
	} else {
		ch.id = (uint32_t)id;
		ch.port = (uint16_t)port;
		ch.kc_period = (uint32_t)period;
		ch.bandwidth_kbps = (uint32_t)bw;
		snprintf(obj, sizeof(obj), "channel %u", ch.id);
		finish(&c, obj, server_channel_add(d, &ch, now));
	}
	json_decref(root);
}

static void del_by_id(struct evhttp_request *req, void *arg, const char *ep,
		      const char *what,
		      int (*fn)(struct keyd *, uint32_t, uint64_t))
{
	CALL(ep);
	json_int_t id;
	char obj[32];
	json_t *root;

	if (begin(&c, EVHTTP_REQ_POST) ||
	    !(root = body(&c, "{s:I}", "id", &id)))
		return;
	snprintf(obj, sizeof(obj), "%s %lld", what, (long long)id);
	if (!id_ok(id))
		reply_bad(req, "id 1..2^32-1");
	else
		finish(&c, obj, fn(d, (uint32_t)id, now));
	json_decref(root);
}

static void api_channel_del(struct evhttp_request *req, void *arg)
{
	del_by_id(req, arg, "channel-del", "channel", server_channel_del);
}

static void api_content_del(struct evhttp_request *req, void *arg)
{
	del_by_id(req, arg, "content-del", "content", server_content_del);
}

static void api_content_add(struct evhttp_request *req, void *arg)
{
	CALL("content-add");
	json_int_t id, channel, period = 0;
	const char *alg = "chacha20-poly1305";
	char obj[32];
	json_t *root;
	int a;

	if (begin(&c, EVHTTP_REQ_POST) ||
	    !(root = body(&c, "{s:I, s:I, s?:s, s?:I}", "id", &id, "channel",
			  &channel, "alg", &alg, "ks_period", &period)))
		return;
	a = guise_alg_parse(alg);
	snprintf(obj, sizeof(obj), "content %lld", (long long)id);
	if (!id_ok(id) || !id_ok(channel) || a < 0 || period < 0 ||
	    period > UINT32_MAX)
		reply_bad(req, "id and channel 1..2^32-1, alg "
			       "chacha20-poly1305, aes128-gcm or aes256-gcm");
	else
		finish(&c, obj,
		       server_content_add(d, (uint32_t)id, (uint32_t)channel,
					  (uint8_t)a, (uint32_t)period, now));
	json_decref(root);
}

static void entitlement(struct evhttp_request *req, void *arg, bool on)
{
	CALL(on ? "entitle" : "revoke");
	const char *client;
	json_int_t channel;
	char obj[KEYD_ID_MAX + 32];
	json_t *root;

	if (begin(&c, EVHTTP_REQ_POST) ||
	    !(root = body(&c, "{s:s, s:I}", "client", &client, "channel",
			  &channel)))
		return;
	snprintf(obj, sizeof(obj), "%s channel %lld", client,
		 (long long)channel);
	if (!id_ok(channel))
		reply_bad(req, "channel 1..2^32-1");
	else if (on)
		finish(&c, obj,
		       server_entitle(d, client, (uint32_t)channel, now));
	else
		finish(&c, obj,
		       server_revoke(d, client, (uint32_t)channel, now));
	json_decref(root);
}

static void api_entitle(struct evhttp_request *req, void *arg)
{
	entitlement(req, arg, true);
}

static void api_revoke(struct evhttp_request *req, void *arg)
{
	entitlement(req, arg, false);
}

/*
 * Remember the certificate @cl enrolled with, for certd's revocation events
 * (main.c). A failure is logged and counted; the enrolment still answers.
 */
static void record_cert(struct call *c, const struct kclient *cl)
{
	char serial[REVOCATION_SERIAL_MAX], *issuer;
	unsigned char *chain = NULL;
	size_t len = 0;

	if (revocation_request_id(c->req, &issuer, serial, sizeof(serial)))
		return;
	/* And the chain, to re-validate it (revalidate.h). */
	if (revalidate_request_chain(c->req, &chain, &len))
		guise_warn("enroll: certificate chain too large to keep: "
			   "client %s is not re-validated",
			   cl->id);
	if (store_client_cert_set(c->api->d->store, cl->id, issuer, serial,
				  chain, len))
		c->api->d->m.store_errors++;
	free(chain);
	free(issuer);
}

/* The caller's own Km, found by its certificate address. */
static void api_enroll(struct evhttp_request *req, void *arg)
{
	CALL("enroll");
	char hex[2 * GUISE_KEYING_KEY_LEN + 1];
	struct kclient *cl;
	unsigned int i;

	if (begin(&c, EVHTTP_REQ_POST))
		return;
	cl = c.who.has_addr ? server_client_by_addr(d, &c.who.addr) : NULL;
	if (!cl) {
		audit(&c, NULL, "not-found");
		http_reply_error(req, HTTP_NOTFOUND, "not a known client");
		return;
	}
	record_cert(&c, cl);
	for (i = 0; i < GUISE_KEYING_KEY_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", cl->ck.km[i]);
	audit(&c, cl->id, "ok");
	http_reply_json(req, HTTP_OK,
			json_pack("{s:s, s:s, s:i}", "client", cl->id, "km",
				  hex, "control_port", d->conf->port));
	explicit_bzero(hex, sizeof(hex));
}

static json_t *client_json(const struct kclient *cl)
{
	char a[INET6_ADDRSTRLEN];
	json_t *ch = json_array();
	unsigned int i;

	inet_ntop(AF_INET6, &cl->addr, a, sizeof(a));
	for (i = 0; i < cl->nchannels; i++)
		json_array_append_new(ch, json_integer(cl->channels[i]));
	return json_pack("{s:s, s:s, s:o}", "id", cl->id, "address", a,
			 "channels", ch);
}

static json_t *channel_json(const struct kchannel *ch)
{
	char g[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, &ch->group, g, sizeof(g));
	return json_pack("{s:I, s:s, s:i, s:I, s:I, s:I, s:I}", "id",
			 (json_int_t)ch->id, "group", g, "port", ch->port,
			 "kc_period", (json_int_t)ch->kc_period,
			 "bandwidth_kbps", (json_int_t)ch->bandwidth_kbps,
			 "epoch", (json_int_t)ch->cur.epoch, "kc_not_after",
			 (json_int_t)ch->cur.not_after);
}

static json_t *content_json(const struct kcontent *ct)
{
	return json_pack("{s:I, s:I, s:s, s:I, s:I, s:I, s:I}", "id",
			 (json_int_t)ct->id, "channel", (json_int_t)ct->channel,
			 "alg", guise_alg_name(ct->alg), "ks_period",
			 (json_int_t)ct->ks_period, "key_id",
			 (json_int_t)ct->cur.key_id, "tx_from",
			 (json_int_t)ct->cur.tx_from, "ks_not_after",
			 (json_int_t)ct->cur.not_after);
}

static void api_list(struct evhttp_request *req, void *arg)
{
	CALL("list");
	const char *uri = evhttp_request_get_uri(req);
	json_t *arr;
	size_t i;

	if (begin(&c, EVHTTP_REQ_GET))
		return;
	arr = json_array();
	if (strstr(uri, "/v1/clients")) {
		for (i = 0; i < d->nclients; i++)
			json_array_append_new(arr, client_json(d->clients[i]));
	} else if (strstr(uri, "/v1/channels")) {
		for (i = 0; i < d->nchannels; i++)
			json_array_append_new(arr,
					      channel_json(&d->channels[i]));
	} else {
		for (i = 0; i < d->ncontents; i++)
			json_array_append_new(arr,
					      content_json(d->contents[i]));
	}
	http_reply_json(req, HTTP_OK, arr);
}

/* @o (the status) with the certificate check's and re-validation's
 * counters; NULL if @o is. */
static json_t *with_certcheck(struct keyd *d, json_t *o)
{
	const struct certcheck_stats cs = certcheck_get_stats(d->cc);
	const struct revalidate_stats rs = revalidate_get_stats(d->rv);

	if (o)
		json_object_set_new(
			o, "revalidation",
			json_pack("{s:b, s:I, s:I, s:I, s:I, s:I}", "on",
				  d->rv != NULL, "runs", (json_int_t)rs.runs,
				  "checked", (json_int_t)rs.checked, "ended",
				  (json_int_t)rs.ended, "errors",
				  (json_int_t)rs.errors, "clients_ended",
				  (json_int_t)d->m.revalidation_ended));

	if (o)
		json_object_set_new(o, "certcheck",
				    json_pack("{s:b, s:I, s:I, s:I, s:I}", "on",
					      d->cc != NULL, "hits",
					      (json_int_t)cs.hits, "misses",
					      (json_int_t)cs.misses, "denied",
					      (json_int_t)cs.denied, "errors",
					      (json_int_t)cs.errors));
	return o;
}

static void api_status(struct evhttp_request *req, void *arg)
{
	CALL("status");
	const struct keyd_counters *m = &d->m;

	if (begin(&c, EVHTTP_REQ_GET))
		return;
	http_reply_json(
		req, HTTP_OK,
		/* the status, with the certificate check's counters */
		with_certcheck(
			d,
			json_pack(
				"{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
				" s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
				"role", "server", "clients",
				(json_int_t)d->nclients, "channels",
				(json_int_t)d->nchannels, "contents",
				(json_int_t)d->ncontents, "cap_bytes_per_s",
				(json_int_t)sender_rate(d->sender), "queued",
				(json_int_t)sender_queued(d->sender),
				"window_bytes",
				(json_int_t)sender_window_bytes(d->sender),
				"demms_sent", (json_int_t)m->demms_sent,
				"announces_sent", (json_int_t)m->announces_sent,
				"bytes_sent", (json_int_t)m->bytes_sent,
				"deferred", (json_int_t)m->deferred,
				"revocations", (json_int_t)m->revocations,
				"kc_rotations", (json_int_t)m->kc_rotations,
				"ks_rotations", (json_int_t)m->ks_rotations,
				"kernel_errors", (json_int_t)m->kernel_errors,
				"kernel_resyncs", (json_int_t)m->kernel_resyncs,
				"send_errors", (json_int_t)m->send_errors,
				"certs_revoked",
				(json_int_t)m->certs_revoked)));
}

/* Prometheus text: operator or admin, like guise-leased's. */
static void api_metrics(struct evhttp_request *req, void *arg)
{
	CALL("metrics");
	struct evbuffer *buf;

	if (begin(&c, EVHTTP_REQ_GET))
		return;
	buf = evbuffer_new();
	if (buf && metrics_server(d, buf)) {
		evbuffer_free(buf);
		buf = NULL;
	}
	metrics_reply(req, buf);
}

/* Unknown paths: 404, counted like every other reply. */
static void api_not_found(struct evhttp_request *req, void *arg)
{
	struct keyd_api *api = arg;

	metrics_count_reply(req, api->d);
	http_reply_error(req, HTTP_NOTFOUND, "not found");
}

/*
 * Every route passes certd's check of the client certificate first
 * (certcheck.h): the handler runs now, once certd answered, or never (the
 * request was refused; that reply is counted too).
 */
#define API_CHECKED(fn)                                                 \
	static void fn##_checked(struct evhttp_request *req, void *arg) \
	{                                                               \
		struct keyd_api *api = arg;                             \
                                                                        \
		metrics_count_reply(req, api->d);                       \
		certcheck_gate(api->d->cc, req, fn, arg);               \
	}
API_CHECKED(api_list)
API_CHECKED(api_client_add)
API_CHECKED(api_client_del)
API_CHECKED(api_channel_add)
API_CHECKED(api_channel_del)
API_CHECKED(api_content_add)
API_CHECKED(api_content_del)
API_CHECKED(api_entitle)
API_CHECKED(api_revoke)
API_CHECKED(api_enroll)
API_CHECKED(api_status)
API_CHECKED(api_metrics)

int api_register(struct evhttp *http, struct keyd_api *api)
{
	static const struct {
		const char *path;
		void (*cb)(struct evhttp_request *, void *);
	} routes[] = {
		{ "/v1/clients", api_list_checked },
		{ "/v1/clients/add", api_client_add_checked },
		{ "/v1/clients/del", api_client_del_checked },
		{ "/v1/channels", api_list_checked },
		{ "/v1/channels/add", api_channel_add_checked },
		{ "/v1/channels/del", api_channel_del_checked },
		{ "/v1/contents", api_list_checked },
		{ "/v1/contents/add", api_content_add_checked },
		{ "/v1/contents/del", api_content_del_checked },
		{ "/v1/entitle", api_entitle_checked },
		{ "/v1/revoke", api_revoke_checked },
		{ "/v1/enroll", api_enroll_checked },
		{ "/v1/status", api_status_checked },
		{ "/v1/metrics", api_metrics_checked },
	};
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (evhttp_set_cb(http, routes[i].path, routes[i].cb, api)) {
			guise_err("api: cannot register %s", routes[i].path);
			return -1;
		}
	evhttp_set_gencb(http, api_not_found, api);
	return 0;
}
