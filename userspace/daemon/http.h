/* SPDX-License-Identifier: GPL-2.0 */
/* The HTTPS server (libevent evhttp over bufferevent_openssl) and the
 * helpers every handler uses: JSON bodies in and out, the caller's
 * certificate address. */
#ifndef GUISE_DAEMON_HTTP_H
#define GUISE_DAEMON_HTTP_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/ssl.h>

/* Codes libevent 2.1 does not name. */
#define HTTP_FORBIDDEN 403
#define HTTP_CONFLICT 409
#define HTTP_BADGATEWAY 502

/* Request bodies are small JSON objects. */
#define HTTP_MAX_BODY 4096
#define HTTP_TIMEOUT_S 10

struct http_server {
	struct evhttp *http;
	SSL_CTX *ctx; /* not owned */
	uint16_t port; /* the port bound (useful with port 0) */
};

/* Bind @sa and serve TLS with @ctx on @base. 0 or -1 (logged). */
int http_server_start(struct http_server *srv, struct event_base *base,
		      SSL_CTX *ctx, const struct sockaddr *sa, int salen);
void http_server_stop(struct http_server *srv);

/* Send @body (reference stolen, may be NULL) as JSON with @code. */
void http_reply_json(struct evhttp_request *req, int code, json_t *body);
/* {"error": @msg} with @code. */
void http_reply_error(struct evhttp_request *req, int code, const char *msg);

/*
 * Check the method (405 otherwise) and identify the caller by its
 * certificate (403 otherwise). Returns 0, or -1 after replying.
 */
int http_begin(struct evhttp_request *req, enum evhttp_cmd_type method,
	       struct in6_addr *caller);

/* The request body as a JSON object; NULL after replying 400. */
json_t *http_json_body(struct evhttp_request *req);

#endif
