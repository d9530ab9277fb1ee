/* SPDX-License-Identifier: GPL-2.0 */
/* The HTTPS server (libevent evhttp over bufferevent_openssl) and the
 * helpers every handler uses: JSON bodies in and out, the caller's
 * certificate address. */
#ifndef GUISE_DAEMON_HTTP_H
#define GUISE_DAEMON_HTTP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "roles.h"

/* Codes libevent 2.1 does not name. */
#define HTTP_FORBIDDEN 403
#define HTTP_CONFLICT 409
#define HTTP_BADGATEWAY 502

/* Request bodies are small JSON objects. */
#define HTTP_MAX_BODY 4096
/* The request line and headers together: a longer request is refused
 * (libevent's 413) and its connection closed, so a client cannot make a
 * daemon buffer headers without end. */
#define HTTP_MAX_HEADERS 16384
#define HTTP_TIMEOUT_S 10

/*
 * Connection caps of a TLS server ([server] max_connections,
 * max_connections_per_client and max_connections_per_prefix; 0: no cap).
 * A connection over a cap is closed (reset) as soon as it is accepted,
 * before its TLS handshake. Clients are told apart by their address, an
 * IPv6 one whole (/128: an address is what a client certificate names)
 * and an IPv4 one (also when it reaches an IPv6 socket as
 * ::ffff:a.b.c.d); the prefix cap counts the IPv6 addresses of one /64
 * together (not IPv4: see http.c).
 *
 * [server] handshake_timeout (seconds, 0: none): an admitted connection
 * whose TLS handshake is not done that long after its accept() is closed
 * the same way.
 */
#define HTTP_MAX_CONNECTIONS 4096U
#define HTTP_MAX_CONNECTIONS_PER_CLIENT 64U
#define HTTP_MAX_CONNECTIONS_PER_PREFIX 256U
#define HTTP_MAX_CONNECTIONS_LIMIT 1048576U
#define HTTP_HANDSHAKE_TIMEOUT 10U
#define HTTP_HANDSHAKE_TIMEOUT_LIMIT 3600U

struct http_limits {
	uint32_t max_connections; /* open connections of the server */
	uint32_t max_connections_per_client; /* ... from one address */
	uint32_t max_connections_per_prefix; /* ... from one IPv6 /64 */
	uint32_t handshake_timeout; /* s from accept() to handshake done */
};

struct http_conns;

struct http_server {
	struct evhttp *http;
	SSL_CTX *ctx; /* not owned; NULL for a local UNIX socket server */
	uint16_t port; /* the port bound (useful with port 0) */
	char *unix_path; /* the socket file of a UNIX server (unlinked at stop) */
	/* accept() out of descriptors or memory: paused (http_accept_error) */
	struct evconnlistener *lev;
	struct event *accept_resume;
	uint64_t accept_pauses;
	time_t accept_warned; /* monotonic s */
	struct http_server *next_guarded;
	/* The caps (TLS servers; see struct http_limits). */
	const char *kind; /* "https", "http", "unix" (metrics label) */
	struct http_limits limits;
	struct http_conns *conns; /* the open connections, NULL: untracked */
	struct event *conn_check; /* new connections counted or refused */
	uint64_t refused_global, refused_client, refused_prefix;
	time_t refuse_warned; /* monotonic s */
};

/* The default caps (HTTP_MAX_CONNECTIONS...). */
void http_limits_init(struct http_limits *l);
/*
 * A [server] setting of @l: max_connections, max_connections_per_client
 * or max_connections_per_prefix, each 0 (no cap) or up to
 * HTTP_MAX_CONNECTIONS_LIMIT; handshake_timeout, a duration ("10",
 * "30s", "1m") up to HTTP_HANDSHAKE_TIMEOUT_LIMIT s or 0 (none). 0,
 * -ENOENT (not one of them) or -EINVAL.
 */
int http_limits_set(struct http_limits *l, const char *name, const char *value);

/* Bind @sa and serve TLS with @ctx on @base, with the caps @limits (NULL:
 * the defaults). 0 or -1 (logged). */
int http_server_start(struct http_server *srv, struct event_base *base,
		      SSL_CTX *ctx, const struct sockaddr *sa, int salen,
		      const struct http_limits *limits);
/*
 * The same without TLS, for a protocol that signs its answers instead
 * (certd's OCSP responder); set its callbacks and limits on srv->http.
 */
int http_server_start_plain(struct http_server *srv, struct event_base *base,
			    const struct sockaddr *sa, int salen);
void http_server_stop(struct http_server *srv);

/* "[v6]:port" or "v4:port" (port 0: any) into @ss. 0 or -EINVAL. */
int http_parse_listen(const char *value, struct sockaddr_storage *ss, int *len);

/*
 * The same API on a local UNIX stream socket @path (plain HTTP, no TLS):
 * any stale socket file is replaced, the new one gets @mode (e.g. 0600,
 * root administration only). Callers are identified by SO_PEERCRED (see
 * http_begin_caller). 0 or -1 (logged). Register the same callbacks on
 * srv->http as on the TLS server.
 */
int http_server_start_unix(struct http_server *srv, struct event_base *base,
			   const char *path, mode_t mode);

/* Swap the TLS context (SIGHUP: new certificates); connections being
 * served keep the old one, new connections get @ctx. */
void http_server_set_ctx(struct http_server *srv, SSL_CTX *ctx);
/* New caps (SIGHUP): for new connections; open ones are not closed. */
void http_server_set_limits(struct http_server *srv,
			    const struct http_limits *limits);

/* Send @body (reference stolen, may be NULL) as JSON with @code. */
/* evhttp_send_reply(), a small reply coalesced into one TLS record. */
void http_send(struct evhttp_request *req, int code, const char *reason,
	       struct evbuffer *body);
void http_reply_json(struct evhttp_request *req, int code, json_t *body);
/* {"error": @msg} with @code. */
void http_reply_error(struct evhttp_request *req, int code, const char *msg);

/*
 * Check the method (405 otherwise) and identify the caller by its
 * certificate (403 otherwise). Returns 0, or -1 after replying.
 */
int http_begin(struct evhttp_request *req, enum evhttp_cmd_type method,
	       struct in6_addr *caller);

/*
 * Who is calling, and with which roles (see roles.h for where roles come
 * from). Filled by http_begin_caller().
 */
struct http_caller {
	bool local; /* over the UNIX socket */
	uid_t uid; /* local: the peer's uid (SO_PEERCRED); else (uid_t)-1 */
	bool has_addr; /* TLS: the certificate carries exactly one IPv6 */
	struct in6_addr addr; /* ... which is this address */
	char cn[128]; /* TLS: the subject commonName, "" if none */
	char name[160]; /* for logs and the audit log: the address, CN=.. or
			   uid:N */
	role_set roles;
};

/* A server's role policy (may change on reload; read per request). */
struct http_roles {
	const struct roles_file *file; /* NULL: none */
	role_set cert_default; /* every verified certificate holder */
	role_set local_root; /* uid 0 on the UNIX socket (ROLE_ADMIN) */
};

/*
 * Check the method (405) and identify the caller: a verified client
 * certificate (with or without an address; 403 without a certificate), or
 * the peer credentials on a UNIX socket. Fills @caller including its
 * roles under @policy. Returns 0, or -1 after replying. The caller may
 * still have no role at all: check with roles_allowed().
 */
int http_begin_caller(struct evhttp_request *req, enum evhttp_cmd_type method,
		      const struct http_roles *policy,
		      struct http_caller *caller);

/* The request body as a JSON object; NULL after replying 400. */
json_t *http_json_body(struct evhttp_request *req);

/*
 * Append the connection metrics of every server of the process to @buf,
 * named @prefix_http_* (e.g. guise_leased_http_connections), labelled
 * server="https", "http" or "unix": open connections, connections
 * refused by each cap, TLS handshakes cut at their deadline, accept()
 * pauses. 0 or -1.
 */
int http_metrics_format(struct evbuffer *buf, const char *prefix);

#endif
