// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "addr.h"
#include "http.h"
#include "log.h"
#include "tls.h"

static struct bufferevent *http_bevcb(struct event_base *base, void *arg)
{
	struct http_server *srv = arg;
	struct bufferevent *bev;
	SSL *ssl;

	ssl = SSL_new(srv->ctx);
	if (!ssl)
		return NULL;
	/*
	 * On failure (out of memory) libevent 2.1 may or may not have freed
	 * @ssl already, so it is not freed here: a rare leak rather than a
	 * double free. evhttp then falls back to a plain socket, whose
	 * requests http_begin() refuses (no SSL, no caller).
	 */
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
					     BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (!bev)
		return NULL;
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/*
 * An answer (or an event line) leaves in more than one TLS record: with
 * Nagle's algorithm the last one waits for the peer's delayed ACK, about
 * 40 ms a request on loopback. Accepted sockets inherit TCP_NODELAY from
 * the listening one (Linux).
 */
static void http_nodelay(evutil_socket_t fd)
{
	int one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		guise_warn("http: TCP_NODELAY: %s", strerror(errno));
}

/*
 * accept() failed for a reason that is not retriable at once: out of
 * descriptors (EMFILE, ENFILE) or memory. The listening socket stays
 * readable, so libevent would call accept() again at once, forever: a
 * busy loop that starves the connections being served, whose closing is
 * what frees descriptors. Stop accepting for a moment instead; the
 * pending connections wait in the backlog. Warned at most once a minute.
 */
#define HTTP_ACCEPT_PAUSE_MS 100

static void http_accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *srv = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(srv->lev);
}

/*
 * The error callback gets the listener's argument, which is evhttp's own
 * (evhttp_bind_listener()): the server is found in this list. The
 * servers live on the loop thread.
 */
static struct http_server *http_guarded;

static void http_accept_error(struct evconnlistener *lev, void *arg)
{
	static const struct timeval delay = { 0, HTTP_ACCEPT_PAUSE_MS * 1000 };
	int err = EVUTIL_SOCKET_ERROR();
	struct http_server *srv;
	struct timespec ts;
	time_t now;

	(void)arg; /* evhttp's */
	for (srv = http_guarded; srv && srv->lev != lev;)
		srv = srv->next_guarded;
	if (!srv) {
		guise_warn("http: accept: %s",
			   evutil_socket_error_to_string(err));
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec;
	srv->accept_pauses++;
	if (srv->accept_pauses == 1 || now - srv->accept_warned >= 60) {
		guise_warn(
			"http: accept: %s: not accepting for %d ms (%llu such pauses so far)",
			evutil_socket_error_to_string(err),
			HTTP_ACCEPT_PAUSE_MS,
			(unsigned long long)srv->accept_pauses);
		srv->accept_warned = now;
	}
	if (evconnlistener_disable(lev) ||
	    evtimer_add(srv->accept_resume, &delay))
		evconnlistener_enable(lev); /* cannot pause: retry at once */
}

/* Watch @lev's accept() errors (see above). 0 or -1 (logged). */
static int http_accept_guard(struct http_server *srv, struct event_base *base,
			     struct evconnlistener *lev)
{
	srv->accept_resume = evtimer_new(base, http_accept_resume, srv);
	if (!srv->accept_resume) {
		guise_err("http: out of memory");
		return -1;
	}
	srv->lev = lev;
	srv->next_guarded = http_guarded;
	http_guarded = srv;
	evconnlistener_set_error_cb(lev, http_accept_error);
	return 0;
}

static void http_accept_unguard(struct http_server *srv)
{
	struct http_server **p;

	for (p = &http_guarded; *p; p = &(*p)->next_guarded)
		if (*p == srv) {
			*p = srv->next_guarded;
			break;
		}
	if (srv->accept_resume)
		event_free(srv->accept_resume);
	srv->accept_resume = NULL;
	srv->lev = NULL;
}

static void http_default_cb(struct evhttp_request *req, void *arg)
{
	(void)arg;
	http_reply_error(req, HTTP_NOTFOUND, "not found");
}

/* TLS with @ctx, or plain HTTP if NULL. */
static int http_tcp_start(struct http_server *srv, struct event_base *base,
			  SSL_CTX *ctx, const struct sockaddr *sa, int salen)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct evhttp_bound_socket *bound;
	struct evconnlistener *lev;

	srv->ctx = ctx;
	srv->http = evhttp_new(base);
	if (!srv->http) {
		guise_err("http: out of memory");
		return -1;
	}
	if (ctx)
		evhttp_set_bevcb(srv->http, http_bevcb, srv);
	evhttp_set_max_body_size(srv->http, HTTP_MAX_BODY);
	evhttp_set_timeout(srv->http, HTTP_TIMEOUT_S);
	evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	evhttp_set_gencb(srv->http, http_default_cb, NULL);

	lev = evconnlistener_new_bind(base, NULL, NULL,
				      LEV_OPT_CLOSE_ON_FREE |
					      LEV_OPT_CLOSE_ON_EXEC |
					      LEV_OPT_REUSEABLE,
				      128, sa, salen);
	if (!lev) {
		guise_err("http: cannot listen: %s",
			  evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		goto fail;
	}
	bound = evhttp_bind_listener(srv->http, lev);
	if (!bound) {
		evconnlistener_free(lev);
		guise_err("http: out of memory");
		goto fail;
	}
	if (http_accept_guard(srv, base, lev))
		goto fail;
	if (getsockname(evhttp_bound_socket_get_fd(bound),
			(struct sockaddr *)&ss, &sslen)) {
		guise_err("http: getsockname: %s", strerror(errno));
		goto fail;
	}
	http_nodelay(evhttp_bound_socket_get_fd(bound));
	srv->port = ntohs(ss.ss_family == AF_INET6 ?
				  ((struct sockaddr_in6 *)&ss)->sin6_port :
				  ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
fail:
	http_accept_unguard(srv);
	evhttp_free(srv->http);
	srv->http = NULL;
	return -1;
}

int http_server_start(struct http_server *srv, struct event_base *base,
		      SSL_CTX *ctx, const struct sockaddr *sa, int salen)
{
	if (!ctx) {
		guise_err("http: no TLS context");
		return -1;
	}
	return http_tcp_start(srv, base, ctx, sa, salen);
}

int http_server_start_plain(struct http_server *srv, struct event_base *base,
			    const struct sockaddr *sa, int salen)
{
	return http_tcp_start(srv, base, NULL, sa, salen);
}

void http_server_stop(struct http_server *srv)
{
	http_accept_unguard(srv);
	if (srv->http)
		evhttp_free(srv->http);
	srv->http = NULL;
	if (srv->unix_path) {
		unlink(srv->unix_path);
		free(srv->unix_path);
		srv->unix_path = NULL;
	}
}

void http_server_set_ctx(struct http_server *srv, SSL_CTX *ctx)
{
	srv->ctx = ctx;
}

int http_server_start_unix(struct http_server *srv, struct event_base *base,
			   const char *path, mode_t mode)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct evconnlistener *lev;
	mode_t old;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		guise_err("http: socket path too long: %s", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	srv->ctx = NULL;
	srv->unix_path = strdup(path);
	srv->http = evhttp_new(base);
	if (!srv->http || !srv->unix_path) {
		guise_err("http: out of memory");
		goto fail;
	}
	evhttp_set_max_body_size(srv->http, HTTP_MAX_BODY);
	evhttp_set_timeout(srv->http, HTTP_TIMEOUT_S);
	evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	evhttp_set_gencb(srv->http, http_default_cb, NULL);
	unlink(path);
	/* No window in which the socket is wider open than @mode. */
	old = umask((mode_t)~mode & 0777);
	lev = evconnlistener_new_bind(
		base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
		32, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (!lev) {
		guise_err("http: cannot listen on %s: %s", path,
			  evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		goto fail;
	}
	if (!evhttp_bind_listener(srv->http, lev)) {
		evconnlistener_free(lev);
		guise_err("http: out of memory");
		goto fail;
	}
	if (http_accept_guard(srv, base, lev))
		goto fail;
	return 0;
fail:
	http_accept_unguard(srv);
	if (srv->http)
		evhttp_free(srv->http);
	srv->http = NULL;
	free(srv->unix_path);
	srv->unix_path = NULL;
	return -1;
}

/*
 * evhttp builds a reply in the connection's output buffer, the headers in
 * one chain and the body in others, and writes it on the next loop
 * iteration (writing is enabled after the reply is complete).
 * bufferevent_openssl makes one SSL_write, so one TLS record and one
 * send(), per chain: made contiguous first, a small reply leaves as one
 * record in one system call. Larger replies are left alone (a record
 * holds 16 KiB at most; no point copying them).
 */
#define HTTP_COALESCE_MAX 16384

void http_send(struct evhttp_request *req, int code, const char *reason,
	       struct evbuffer *body)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev =
		conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	struct evbuffer *out;

	evhttp_send_reply(req, code, reason, body);
	/* @req may be gone now; the connection is not (it writes later). */
	out = bev ? bufferevent_get_output(bev) : NULL;
	if (out && evbuffer_get_length(out) <= HTTP_COALESCE_MAX)
		evbuffer_pullup(out, -1);
}

void http_reply_json(struct evhttp_request *req, int code, json_t *body)
{
	struct evbuffer *buf = evbuffer_new();
	char *text = NULL;

	if (body)
		text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (!buf || (body && !text) ||
	    (text && (evbuffer_add(buf, text, strlen(text)) ||
		      evbuffer_add(buf, "\n", 1)))) {
		free(text);
		if (buf)
			evbuffer_free(buf);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	free(text);
	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "Content-Type", "application/json");
	http_send(req, code, NULL, buf);
	evbuffer_free(buf);
}

void http_reply_error(struct evhttp_request *req, int code, const char *msg)
{
	http_reply_json(req, code, json_pack("{s:s}", "error", msg));
}

int http_begin(struct evhttp_request *req, enum evhttp_cmd_type method,
	       struct in6_addr *caller)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev;
	SSL *ssl = NULL;

	if (evhttp_request_get_command(req) != method) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "Allow",
				  method == EVHTTP_REQ_GET ? "GET" : "POST");
		http_reply_error(req, 405, "method not allowed");
		return -1;
	}
	bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	if (bev)
		ssl = bufferevent_openssl_get_ssl(bev);
	if (!ssl || tls_peer_address(ssl, caller)) {
		http_reply_error(
			req, HTTP_FORBIDDEN,
			"client certificate must carry exactly one IPv6 address");
		return -1;
	}
	return 0;
}

/* The caller on a UNIX socket: its uid. 0 or -1. */
static int http_local_caller(evutil_socket_t fd, struct http_caller *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct ucred cred;
	socklen_t clen = sizeof(cred);

	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) ||
	    ss.ss_family != AF_UNIX ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen))
		return -1;
	c->local = true;
	c->uid = cred.uid;
	snprintf(c->name, sizeof(c->name), "uid:%u", (unsigned int)cred.uid);
	return 0;
}

/*
 * What a connection's certificate proves (address, CN, name, roles),
 * worked out at its first request and kept with its SSL: decoding the
 * certificate's extensions and subject again for each request was a
 * tenth of guise-leased's own CPU time. The certificate of a connection
 * does not change (tls_server_ctx(): no renegotiation, no post-handshake
 * authentication); the reference to it, compared at each request, makes
 * sure of it.
 */
struct http_peer {
	X509 *cert;
	struct http_caller c;
};

static int http_peer_idx = -1;

static void http_peer_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
			   long argl, void *argp)
{
	struct http_peer *p = ptr;

	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (p)
		X509_free(p->cert);
	free(p);
}

/* The caller behind a verified certificate, from scratch. 0 or -1. */
static int http_cert_identify(SSL *ssl, X509 *cert, struct http_caller *c)
{
	char a[INET6_ADDRSTRLEN];
	int err;

	if (SSL_get_verify_result(ssl) != X509_V_OK)
		return -1;
	err = tls_peer_address(ssl, &c->addr);
	c->has_addr = !err;
	if (roles_cert_cn(cert, c->cn, sizeof(c->cn)))
		c->cn[0] = '\0';
	if (c->has_addr)
		snprintf(c->name, sizeof(c->name), "%s",
			 guise_addr_format(&c->addr, a));
	else
		snprintf(c->name, sizeof(c->name), "CN=%s", c->cn);
	c->roles = roles_from_cert(cert);
	return 0;
}

/* The caller behind a verified certificate. 0 or -1. */
static int http_cert_caller(SSL *ssl, struct http_caller *c)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);
	struct http_peer *p;

	if (!cert)
		return -1;
	if (http_peer_idx < 0)
		http_peer_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL,
						     http_peer_free);
	p = http_peer_idx < 0 ? NULL : SSL_get_ex_data(ssl, http_peer_idx);
	if (p && p->cert == cert) {
		*c = p->c;
		return 0;
	}
	if (http_cert_identify(ssl, cert, c))
		return -1;
	/* Kept if possible; without it, worked out again next time. */
	if (!p && http_peer_idx >= 0 && (p = calloc(1, sizeof(*p))) &&
	    SSL_set_ex_data(ssl, http_peer_idx, p) != 1) {
		free(p);
		p = NULL;
	}
	if (p && X509_up_ref(cert) == 1) {
		X509_free(p->cert);
		p->cert = cert;
		p->c = *c;
	}
	return 0;
}

int http_begin_caller(struct evhttp_request *req, enum evhttp_cmd_type method,
		      const struct http_roles *policy,
		      struct http_caller *caller)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev;
	SSL *ssl = NULL;

	memset(caller, 0, sizeof(*caller));
	caller->uid = (uid_t)-1;
	if (evhttp_request_get_command(req) != method) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "Allow",
				  method == EVHTTP_REQ_GET ? "GET" : "POST");
		http_reply_error(req, 405, "method not allowed");
		return -1;
	}
	bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	if (bev)
		ssl = bufferevent_openssl_get_ssl(bev);
	if (ssl) {
		if (http_cert_caller(ssl, caller))
			goto refuse;
		caller->roles |= policy->cert_default;
	} else if (!bev || http_local_caller(bufferevent_getfd(bev), caller)) {
		goto refuse;
	} else if (caller->uid == 0) {
		caller->roles |= policy->local_root;
	}
	caller->roles |= roles_file_lookup(
		policy->file, caller->has_addr ? &caller->addr : NULL,
		caller->cn[0] ? caller->cn : NULL, caller->uid);
	return 0;
refuse:
	http_reply_error(req, HTTP_FORBIDDEN, "caller not identified");
	return -1;
}

json_t *http_json_body(struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	json_error_t jerr;
	unsigned char *data;
	char msg[256];
	json_t *root;

	data = evbuffer_pullup(in, -1);
	if (!len || !data) {
		http_reply_error(req, HTTP_BADREQUEST,
				 "expected a JSON object body");
		return NULL;
	}
	root = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES,
			  &jerr);
	if (!root) {
		snprintf(msg, sizeof(msg), "bad JSON: %s", jerr.text);
		http_reply_error(req, HTTP_BADREQUEST, msg);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		http_reply_error(req, HTTP_BADREQUEST,
				 "expected a JSON object body");
		return NULL;
	}
	return root;
}

/*
 * A listen address of a config file: the authority of a URI, parsed by
 * libevent (evutil_parse_sockaddr_port() refuses port 0).
 */
int http_parse_listen(const char *value, struct sockaddr_storage *ss, int *len)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	char uri_text[128], host[INET6_ADDRSTRLEN];
	struct evhttp_uri *uri;
	const char *h, *p;
	size_t hl;
	int port, err = -EINVAL;

	if ((size_t)snprintf(uri_text, sizeof(uri_text), "https://%s", value) >=
	    sizeof(uri_text))
		return -EINVAL;
	uri = evhttp_uri_parse_with_flags(uri_text, 0);
	if (!uri)
		return -EINVAL;
	h = evhttp_uri_get_host(uri);
	p = evhttp_uri_get_path(uri);
	port = evhttp_uri_get_port(uri);
	if (!h || port < 0 || port > 65535 || (p && *p) ||
	    evhttp_uri_get_userinfo(uri) || evhttp_uri_get_query(uri))
		goto out;
	memset(ss, 0, sizeof(*ss));
	hl = strlen(h);
	if (h[0] == '[' && hl > 2 && hl - 2 < sizeof(host) &&
	    h[hl - 1] == ']') {
		memcpy(host, h + 1, hl - 2);
		host[hl - 2] = '\0';
		if (evutil_inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			goto out;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*sin6);
	} else {
		if (evutil_inet_pton(AF_INET, h, &sin->sin_addr) != 1)
			goto out;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = sizeof(*sin);
	}
	err = 0;
out:
	evhttp_uri_free(uri);
	return err;
}
