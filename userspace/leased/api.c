// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "api.h"
#include "http.h"
#include "log.h"
#include "metrics.h"

/* The one answer for "no such lease, or not yours": no oracle. */
static void reply_not_found(struct evhttp_request *req)
{
	http_reply_error(req, HTTP_NOTFOUND, "not found");
}

static void reply_bad_field(struct evhttp_request *req, const char *what)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "bad request: %s", what);
	http_reply_error(req, HTTP_BADREQUEST, msg);
}

static json_t *lease_json(const struct lease_rec *l)
{
	char v[INET6_ADDRSTRLEN], p[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, &l->virt, v, sizeof(v));
	inet_ntop(AF_INET6, &l->peer, p, sizeof(p));
	return json_pack("{s:s, s:s, s:I}", "virtual", v, "peer", p, "expires",
			 (json_int_t)l->expires);
}

/* Addresses the kernel refuses as R, P or V. */
static bool addr_usable(const struct in6_addr *a)
{
	return !IN6_IS_ADDR_UNSPECIFIED(a) && !IN6_IS_ADDR_LOOPBACK(a) &&
	       !IN6_IS_ADDR_MULTICAST(a) && !IN6_IS_ADDR_V4MAPPED(a);
}

/*
 * Unpack the body: @fmt is a jansson format over an object that must not
 * carry other keys. Reads "virtual" into *@virt when @virt is non-NULL and
 * "lifetime" (optional, default from the pool) into *@lifetime. Returns
 * the object (release it) or NULL after replying 400.
 */
static json_t *parse_body(struct evhttp_request *req, struct leased *d,
			  const char *fmt, const char *addr_key,
			  struct in6_addr *addr, uint32_t *lifetime)
{
	json_int_t lt = d->conf->default_lifetime;
	const char *text = NULL;
	json_error_t jerr;
	json_t *root;

	root = http_json_body(req);
	if (!root)
		return NULL;
	if (json_unpack_ex(root, &jerr, JSON_STRICT, fmt, addr_key, &text,
			   "lifetime", &lt)) {
		reply_bad_field(req, jerr.text);
		goto fail;
	}
	if (inet_pton(AF_INET6, text, addr) != 1) {
		reply_bad_field(req, addr_key[0] == 'p' ?
					     "peer is not an IPv6 address" :
					     "virtual is not an IPv6 address");
		goto fail;
	}
	if (lifetime) {
		if (lt < 1 || lt > (json_int_t)d->conf->max_lifetime) {
			char msg[96];

			snprintf(msg, sizeof(msg),
				 "lifetime must be 1..%u seconds",
				 d->conf->max_lifetime);
			reply_bad_field(req, msg);
			goto fail;
		}
		*lifetime = (uint32_t)lt;
	}
	return root;
fail:
	json_decref(root);
	return NULL;
}

static void api_rent(struct evhttp_request *req, void *arg)
{
	struct leased *d = arg;
	char who[INET6_ADDRSTRLEN];
	struct in6_addr real, peer;
	struct lease_rec l;
	uint32_t lifetime;
	json_t *root, *body;
	int err;

	if (http_begin(req, EVHTTP_REQ_POST, &real))
		return;
	root = parse_body(req, d, "{s:s, s?:I}", "peer", &peer, &lifetime);
	if (!root)
		return;
	json_decref(root);
	if (!addr_usable(&real)) {
		http_reply_error(req, HTTP_FORBIDDEN,
				 "certificate address cannot hold leases");
		return;
	}
	if (!addr_usable(&peer) || !memcmp(&peer, &real, sizeof(peer)) ||
	    pool_contains(&d->pool, &peer)) {
		reply_bad_field(req, "peer cannot be leased for");
		return;
	}
	inet_ntop(AF_INET6, &real, who, sizeof(who));
	err = leases_rent(d, &real, &peer, lifetime, who, &l);
	switch (err) {
	case 0:
		body = lease_json(&l);
		if (body)
			json_object_set_new(body, "lifetime",
					    json_integer(lifetime));
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
	struct leased *d = arg;
	struct in6_addr real, virt;
	char v[INET6_ADDRSTRLEN];
	json_t *root;
	int err;

	if (http_begin(req, EVHTTP_REQ_POST, &real))
		return;
	root = parse_body(req, d, "{s:s}", "virtual", &virt, NULL);
	if (!root)
		return;
	json_decref(root);
	err = leases_return(d, &real, &virt);
	if (err == -ENOENT) {
		reply_not_found(req);
	} else if (err) {
		http_reply_error(req, HTTP_INTERNAL, "store failure");
	} else {
		inet_ntop(AF_INET6, &virt, v, sizeof(v));
		http_reply_json(req, HTTP_OK,
				json_pack("{s:s, s:b}", "virtual", v,
					  "returned", 1));
	}
}

static void api_renew(struct evhttp_request *req, void *arg)
{
	struct leased *d = arg;
	struct in6_addr real, virt;
	struct lease_rec l;
	uint32_t lifetime;
	json_t *root;
	int err;

	if (http_begin(req, EVHTTP_REQ_POST, &real))
		return;
	root = parse_body(req, d, "{s:s, s?:I}", "virtual", &virt, &lifetime);
	if (!root)
		return;
	json_decref(root);
	err = leases_renew(d, &real, &virt, lifetime, &l);
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
	struct leased *d = arg;
	struct in6_addr caller, virt, real;
	char v[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN];
	json_t *root;

	if (http_begin(req, EVHTTP_REQ_POST, &caller))
		return;
	root = parse_body(req, d, "{s:s}", "virtual", &virt, NULL);
	if (!root)
		return;
	json_decref(root);
	if (leases_reveal(d, &caller, &virt, &real)) {
		reply_not_found(req);
		return;
	}
	inet_ntop(AF_INET6, &virt, v, sizeof(v));
	inet_ntop(AF_INET6, &real, r, sizeof(r));
	http_reply_json(req, HTTP_OK,
			json_pack("{s:s, s:s}", "virtual", v, "real", r));
}

static void api_health(struct evhttp_request *req, void *arg)
{
	struct leased *d = arg;
	struct in6_addr caller;
	uint64_t live;

	if (http_begin(req, EVHTTP_REQ_GET, &caller))
		return;
	if (store_lease_count(d->store, NULL, &live)) {
		http_reply_error(req, HTTP_SERVUNAVAIL, "store failure");
		return;
	}
	http_reply_json(req, HTTP_OK,
			json_pack("{s:s, s:I, s:b, s:b}", "status", "ok",
				  "leases", (json_int_t)live, "kernel_sync",
				  d->kernel != NULL, "gateway",
				  d->conf->gateway));
}

static void api_metrics(struct evhttp_request *req, void *arg)
{
	struct leased *d = arg;
	struct in6_addr caller;
	struct evbuffer *buf;

	if (http_begin(req, EVHTTP_REQ_GET, &caller))
		return;
	buf = evbuffer_new();
	if (!buf || metrics_format(d, buf)) {
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

int api_register(struct evhttp *http, struct leased *d)
{
	static const struct {
		const char *path;
		void (*cb)(struct evhttp_request *, void *);
	} routes[] = {
		{ "/v1/rent", api_rent },     { "/v1/return", api_return },
		{ "/v1/renew", api_renew },   { "/v1/reveal", api_reveal },
		{ "/v1/health", api_health }, { "/v1/metrics", api_metrics },
	};
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (evhttp_set_cb(http, routes[i].path, routes[i].cb, d)) {
			guise_err("http: cannot route %s", routes[i].path);
			return -1;
		}
	}
	return 0;
}
