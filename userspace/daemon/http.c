// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <search.h>
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
#include "confval.h"
#include "http.h"
#include "log.h"
#include "tls.h"

/*
 * The connection caps (http.h, struct http_limits).
 *
 * evhttp 2.1 accepts a connection and builds it at once: the only hook on
 * the way is the bufferevent callback (http_bevcb), which is not told the
 * socket. It sets the socket into the SSL it was given right after, and
 * nothing of the connection runs before the next turn of the loop. So
 * http_bevcb gives each connection's SSL a record (struct http_conn, as
 * ex_data) and queues it; an event made active there runs in the same
 * pass over the active events (priority 0, the first where the base has
 * several), before the next epoll_wait() can report the new socket
 * (http_conn_check): it reads the socket and its peer's address from the
 * SSL, and counts the connection or shuts its socket down. The handshake
 * then fails: a ClientHello already queued is still read (shutdown()
 * keeps received data) and may cost a ServerHello's key exchange before
 * the write fails; without one, no byte is read or written. evhttp frees
 * the connection and closes the socket, with SO_LINGER 0: a reset, no
 * TIME_WAIT left behind. A refused connection costs an SSL, a bufferevent
 * and a connection object for one turn of the loop, and at most one
 * handshake step.
 *
 * The handshake has a deadline of its own (handshake_timeout): evhttp's
 * 10 s timeout is per read, so a client trickling its handshake a byte at
 * a time would keep its place forever. An admitted connection gets a
 * one-shot timer (http_conn_deadline), freed when the SSL's info
 * callback reports the handshake done, or with the record; if it fires,
 * the socket is shut down like a refused one's, and the bufferevent,
 * which waits on it for the handshake, sees the end at once. After the
 * handshake a client is known by its certificate, and evhttp's timeout
 * is left to do the rest.
 *
 * The end of a connection is the freeing of its SSL (bufferevent_openssl
 * frees it where it closes the socket): the ex_data free callback gives
 * back its place. Nothing a handler does (evhttp_connection_set_closecb(),
 * which certd's event streams use, keeps one callback) can lose it.
 *
 * Over the global cap, new connections are refused rather than left in
 * the listen backlog: evconnlistener accepts the whole backlog at each
 * turn anyway, a refused client learns it at once (and may try another
 * server) instead of waiting for a SYN retry, and a client over its own
 * cap is refused the same way whatever the others do.
 *
 * A record lives as long as its SSL and holds a reference to its table
 * (struct http_conns): the SSLs of a stopped server may be freed later,
 * when libevent finalizes their bufferevents.
 *
 * A client is its address (see http.h): per /128, not per /64, which
 * would lump together the hosts of a LAN that share a /64 (SLAAC); a
 * guise client is the one address its certificate names. A wider cap
 * counts each IPv6 /64 too, so that one host cycling through the
 * addresses of its /64 cannot take the whole server. IPv4 addresses have
 * no prefix here: a host seldom has more than one, and a /24 is as often
 * many unrelated hosts (a provider's pool) as one network.
 */
struct http_conns {
	unsigned long refs; /* the server's (until stopped) + one per record */
	uint64_t open; /* connections counted */
	void *clients; /* tsearch() tree of struct http_count, per address */
	void *prefixes; /* ... per IPv6 /64 (the last 64 bits zero) */
	/* Not yet checked (http_conn_check), oldest first. */
	struct http_conn *pending, *pending_last;
	/* Here, not in the server: a deadline may expire after it stops. */
	uint64_t handshake_timeouts;
	time_t timeout_warned; /* monotonic s */
};

struct http_count {
	struct in6_addr key; /* an address or a /64 */
	uint32_t n;
};

enum http_conn_state {
	HTTP_CONN_PENDING,
	HTTP_CONN_COUNTED,
	HTTP_CONN_UNCOUNTED, /* refused, or not identified */
};

struct http_conn {
	struct http_conns *t;
	SSL *ssl;
	struct http_conn *prev, *next; /* in t->pending */
	enum http_conn_state state;
	bool per_client; /* counted in t->clients under addr */
	bool per_prefix; /* counted in t->prefixes under addr's /64 */
	struct in6_addr addr;
	struct event *deadline; /* of the handshake, until it is done */
};

static int http_conn_idx = -1;

void http_limits_init(struct http_limits *l)
{
	l->max_connections = HTTP_MAX_CONNECTIONS;
	l->max_connections_per_client = HTTP_MAX_CONNECTIONS_PER_CLIENT;
	l->max_connections_per_prefix = HTTP_MAX_CONNECTIONS_PER_PREFIX;
	l->handshake_timeout = HTTP_HANDSHAKE_TIMEOUT;
}

int http_limits_set(struct http_limits *l, const char *name, const char *value)
{
	uint32_t v;

	if (!strcmp(name, "max_connections"))
		return conf_parse_u32(value, 0, HTTP_MAX_CONNECTIONS_LIMIT,
				      &l->max_connections);
	if (!strcmp(name, "max_connections_per_client"))
		return conf_parse_u32(value, 0, HTTP_MAX_CONNECTIONS_LIMIT,
				      &l->max_connections_per_client);
	if (!strcmp(name, "max_connections_per_prefix"))
		return conf_parse_u32(value, 0, HTTP_MAX_CONNECTIONS_LIMIT,
				      &l->max_connections_per_prefix);
	if (!strcmp(name, "handshake_timeout")) {
		if (conf_parse_duration(value, true, &v) ||
		    v > HTTP_HANDSHAKE_TIMEOUT_LIMIT)
			return -EINVAL;
		l->handshake_timeout = v;
		return 0;
	}
	return -ENOENT;
}

static int http_count_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct http_count *)a)->key,
		      &((const struct http_count *)b)->key,
		      sizeof(struct in6_addr));
}

/* The count of @key in @tree, NULL if none. */
static struct http_count *http_count_find(void **tree,
					  const struct in6_addr *key)
{
	struct http_count k = { .key = *key }, **node;

	node = tfind(&k, tree, http_count_cmp);
	return node ? *node : NULL;
}

/* One more under @key (@found: its count, NULL if none). 0 or -ENOMEM. */
static int http_count_add(void **tree, struct http_count *found,
			  const struct in6_addr *key)
{
	struct http_count **node;

	if (!found) {
		found = calloc(1, sizeof(*found));
		if (!found)
			return -ENOMEM;
		found->key = *key;
		node = tsearch(found, tree, http_count_cmp);
		if (!node) {
			free(found);
			return -ENOMEM;
		}
	}
	found->n++;
	return 0;
}

/* One less under @key, which @tree counts. */
static void http_count_drop(void **tree, const struct in6_addr *key)
{
	struct http_count k = { .key = *key }, **node, *gone;

	node = tfind(&k, tree, http_count_cmp);
	if (!node || --(*node)->n)
		return;
	gone = *node;
	tdelete(&k, tree, http_count_cmp);
	free(gone);
}

/* The /64 of @addr into @prefix; false for IPv4 (see above). */
static bool http_addr_prefix(const struct in6_addr *addr,
			     struct in6_addr *prefix)
{
	if (IN6_IS_ADDR_V4MAPPED(addr))
		return false;
	*prefix = *addr;
	memset(&prefix->s6_addr[8], 0, 8);
	return true;
}

static void http_conns_unref(struct http_conns *t)
{
	if (--t->refs)
		return;
	/* Empty by now: every counted record gave its place back. */
	tdestroy(t->clients, free);
	tdestroy(t->prefixes, free);
	free(t);
}

static void http_pending_unlink(struct http_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		c->t->pending = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		c->t->pending_last = c->prev;
	c->prev = c->next = NULL;
}

/* A connection's SSL is freed: its connection has ended. */
static void http_conn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
			   long argl, void *argp)
{
	struct http_conn *c = ptr;
	struct in6_addr prefix;

	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (!c)
		return;
	if (c->deadline)
		event_free(c->deadline);
	if (c->state == HTTP_CONN_PENDING)
		http_pending_unlink(c);
	if (c->state == HTTP_CONN_COUNTED) {
		c->t->open--;
		if (c->per_client)
			http_count_drop(&c->t->clients, &c->addr);
		if (c->per_prefix && http_addr_prefix(&c->addr, &prefix))
			http_count_drop(&c->t->prefixes, &prefix);
	}
	http_conns_unref(c->t);
	free(c);
}

/* The peer of @fd as an IPv6 address (IPv4: mapped). 0 or -1. */
static int http_peer_addr(int fd, struct in6_addr *addr)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;

	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len))
		return -1;
	if (ss.ss_family == AF_INET6) {
		*addr = ((const struct sockaddr_in6 *)&ss)->sin6_addr;
		return 0;
	}
	if (ss.ss_family != AF_INET)
		return -1;
	memset(addr, 0, sizeof(*addr));
	addr->s6_addr[10] = 0xff;
	addr->s6_addr[11] = 0xff;
	memcpy(&addr->s6_addr[12], &sin->sin_addr, 4);
	return 0;
}

/*
 * Close the connection on @fd before anything more is read: its handshake
 * reads end of file, evhttp frees it and closes @fd with a reset.
 */
static void http_conn_refuse(int fd)
{
	static const struct linger abort_close = { .l_onoff = 1,
						   .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_close,
		   sizeof(abort_close));
	shutdown(fd, SHUT_RDWR);
}

enum http_cap { HTTP_CAP_GLOBAL, HTTP_CAP_CLIENT, HTTP_CAP_PREFIX };

/*
 * Refuse @c (on @fd), over the cap @cap: counted, and warned at most once
 * a minute, like the accept() pauses.
 */
static void http_conn_over(struct http_server *srv, struct http_conn *c, int fd,
			   enum http_cap cap)
{
	const struct http_limits *l = &srv->limits;
	const char *what, *name;
	char a[INET6_ADDRSTRLEN];
	struct timespec ts;
	uint64_t total;
	uint32_t max;

	switch (cap) {
	case HTTP_CAP_GLOBAL:
		srv->refused_global++;
		max = l->max_connections;
		what = "open";
		name = "max_connections";
		break;
	case HTTP_CAP_CLIENT:
		srv->refused_client++;
		max = l->max_connections_per_client;
		what = "from that address";
		name = "max_connections_per_client";
		break;
	default:
		srv->refused_prefix++;
		max = l->max_connections_per_prefix;
		what = "from its /64";
		name = "max_connections_per_prefix";
		break;
	}
	http_conn_refuse(fd);
	total = srv->refused_global + srv->refused_client + srv->refused_prefix;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (total != 1 && ts.tv_sec - srv->refuse_warned < 60)
		return;
	srv->refuse_warned = ts.tv_sec;
	guise_warn(
		"http: connection from %s refused: %u connections %s (%s; %" PRIu64
		" refusals so far)",
		guise_addr_format(&c->addr, a), max, what, name, total);
}

/* Count @c or refuse it (see above). */
static void http_conn_admit(struct http_server *srv, struct http_conn *c)
{
	struct http_conns *t = c->t;
	const struct http_limits *l = &srv->limits;
	struct http_count *client = NULL, *net = NULL;
	int fd = SSL_get_fd(c->ssl);
	struct in6_addr prefix;
	bool by_prefix;

	c->state = HTTP_CONN_UNCOUNTED;
	if (http_peer_addr(fd, &c->addr))
		return; /* no socket (libevent failed): nothing to count */
	if (l->max_connections && t->open >= l->max_connections) {
		http_conn_over(srv, c, fd, HTTP_CAP_GLOBAL);
		return;
	}
	if (l->max_connections_per_client)
		client = http_count_find(&t->clients, &c->addr);
	if (client && client->n >= l->max_connections_per_client) {
		http_conn_over(srv, c, fd, HTTP_CAP_CLIENT);
		return;
	}
	by_prefix = l->max_connections_per_prefix &&
		    http_addr_prefix(&c->addr, &prefix);
	if (by_prefix)
		net = http_count_find(&t->prefixes, &prefix);
	if (net && net->n >= l->max_connections_per_prefix) {
		http_conn_over(srv, c, fd, HTTP_CAP_PREFIX);
		return;
	}
	/* Out of memory: served, not counted under that address or /64. */
	c->per_client = l->max_connections_per_client &&
			!http_count_add(&t->clients, client, &c->addr);
	c->per_prefix = by_prefix &&
			!http_count_add(&t->prefixes, net, &prefix);
	t->open++;
	c->state = HTTP_CONN_COUNTED;
}

/* @c's handshake is not done by its deadline: close it like a refusal. */
static void http_conn_expire(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;
	struct http_conns *t = c->t;
	char a[INET6_ADDRSTRLEN];
	struct timespec ts;

	(void)fd;
	(void)what;
	http_conn_refuse(SSL_get_fd(c->ssl));
	t->handshake_timeouts++;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (t->handshake_timeouts != 1 && ts.tv_sec - t->timeout_warned < 60)
		return;
	t->timeout_warned = ts.tv_sec;
	guise_warn(
		"http: connection from %s closed: TLS handshake not done in time (handshake_timeout; %" PRIu64
		" so far)",
		guise_addr_format(&c->addr, a), t->handshake_timeouts);
}

/*
 * Start @c's handshake deadline. Out of memory, it has none (evhttp's
 * idle timeout still ends a silent client).
 */
static void http_conn_deadline(struct http_server *srv, struct http_conn *c)
{
	struct timeval tv = { .tv_sec = srv->limits.handshake_timeout };

	if (!tv.tv_sec)
		return;
	c->deadline = evtimer_new(event_get_base(srv->conn_check),
				  http_conn_expire, c);
	if (c->deadline && evtimer_add(c->deadline, &tv)) {
		event_free(c->deadline);
		c->deadline = NULL;
	}
}

/* The handshake of @ssl is done: its deadline no longer applies. */
static void http_conn_info(const SSL *ssl, int where, int ret)
{
	struct http_conn *c;

	(void)ret;
	if (!(where & SSL_CB_HANDSHAKE_DONE))
		return;
	c = SSL_get_ex_data(ssl, http_conn_idx);
	if (c && c->deadline) {
		event_free(c->deadline);
		c->deadline = NULL;
	}
}

static void http_conn_check(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *srv = arg;
	struct http_conn *c;

	(void)fd;
	(void)what;
	while ((c = srv->conns->pending)) {
		http_pending_unlink(c);
		http_conn_admit(srv, c);
		if (c->state == HTTP_CONN_COUNTED)
			http_conn_deadline(srv, c);
	}
}

/* Give @ssl a record, to be checked at once. 0 or -1. */
static int http_conn_track(struct http_server *srv, SSL *ssl)
{
	struct http_conns *t = srv->conns;
	struct http_conn *c;

	if (!t)
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -1;
	c->t = t;
	c->ssl = ssl;
	c->state = HTTP_CONN_PENDING;
	if (!SSL_set_ex_data(ssl, http_conn_idx, c)) {
		free(c);
		return -1;
	}
	t->refs++;
	c->prev = t->pending_last;
	if (c->prev)
		c->prev->next = c;
	else
		t->pending = c;
	t->pending_last = c;
	event_active(srv->conn_check, EV_TIMEOUT, 0);
	return 0;
}

/* Set up the caps of @srv (a TLS server). 0 or -1 (logged). */
static int http_conns_start(struct http_server *srv, struct event_base *base,
			    const struct http_limits *limits)
{
	if (limits)
		srv->limits = *limits;
	else
		http_limits_init(&srv->limits);
	/* Counted even without caps: the metrics, and caps set by a
	 * reload (http_server_set_limits()). */
	if (http_conn_idx < 0)
		http_conn_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL,
						     http_conn_free);
	srv->conns = calloc(1, sizeof(*srv->conns));
	if (srv->conns)
		srv->conns->refs = 1;
	srv->conn_check = event_new(base, -1, 0, http_conn_check, srv);
	if (http_conn_idx < 0 || !srv->conns || !srv->conn_check ||
	    event_priority_set(srv->conn_check, 0)) {
		guise_err("http: out of memory");
		return -1;
	}
	return 0;
}

static void http_conns_stop(struct http_server *srv)
{
	struct http_conn *c;

	if (srv->conn_check)
		event_free(srv->conn_check);
	srv->conn_check = NULL;
	if (!srv->conns)
		return;
	while ((c = srv->conns->pending)) {
		http_pending_unlink(c);
		c->state = HTTP_CONN_UNCOUNTED;
	}
	http_conns_unref(srv->conns);
	srv->conns = NULL;
}

static struct bufferevent *http_bevcb(struct event_base *base, void *arg)
{
	struct http_server *srv = arg;
	struct bufferevent *bev;
	SSL *ssl;

	ssl = SSL_new(srv->ctx);
	if (!ssl)
		return NULL;
	if (http_conn_track(srv, ssl)) {
		SSL_free(ssl);
		return NULL;
	}
	/* Tells the handshake's end (libevent sets no info callback). */
	SSL_set_info_callback(ssl, http_conn_info);
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

/*
 * What every server takes: bounded headers and bodies, the idle timeout,
 * and every method, so that a method an endpoint does not serve gets its
 * 405 in JSON with Allow (http_begin()) and not libevent's 501 page.
 */
static void http_set_limits(struct evhttp *http)
{
	evhttp_set_max_headers_size(http, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(http, HTTP_MAX_BODY);
	evhttp_set_timeout(http, HTTP_TIMEOUT_S);
	evhttp_set_allowed_methods(
		http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
			      EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
			      EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
			      EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(http, http_default_cb, NULL);
}

/* TLS with @ctx (and the caps @limits), or plain HTTP if NULL. */
static int http_tcp_start(struct http_server *srv, struct event_base *base,
			  SSL_CTX *ctx, const struct sockaddr *sa, int salen,
			  const struct http_limits *limits)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct evhttp_bound_socket *bound;
	struct evconnlistener *lev;

	srv->ctx = ctx;
	srv->kind = ctx ? "https" : "http";
	srv->http = evhttp_new(base);
	if (!srv->http) {
		guise_err("http: out of memory");
		return -1;
	}
	if (ctx && http_conns_start(srv, base, limits))
		goto fail;
	if (ctx)
		evhttp_set_bevcb(srv->http, http_bevcb, srv);
	http_set_limits(srv->http);

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
	http_conns_stop(srv);
	return -1;
}

int http_server_start(struct http_server *srv, struct event_base *base,
		      SSL_CTX *ctx, const struct sockaddr *sa, int salen,
		      const struct http_limits *limits)
{
	if (!ctx) {
		guise_err("http: no TLS context");
		return -1;
	}
	return http_tcp_start(srv, base, ctx, sa, salen, limits);
}

int http_server_start_plain(struct http_server *srv, struct event_base *base,
			    const struct sockaddr *sa, int salen)
{
	return http_tcp_start(srv, base, NULL, sa, salen, NULL);
}

void http_server_stop(struct http_server *srv)
{
	http_accept_unguard(srv);
	if (srv->http)
		evhttp_free(srv->http);
	srv->http = NULL;
	/* After the connections: those freed now give their place back. */
	http_conns_stop(srv);
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

void http_server_set_limits(struct http_server *srv,
			    const struct http_limits *limits)
{
	srv->limits = *limits;
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
	srv->kind = "unix";
	srv->unix_path = strdup(path);
	srv->http = evhttp_new(base);
	if (!srv->http || !srv->unix_path) {
		guise_err("http: out of memory");
		goto fail;
	}
	http_set_limits(srv->http);
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

static int http_metric_head(struct evbuffer *buf, const char *prefix,
			    const char *name, const char *type,
			    const char *help)
{
	return evbuffer_add_printf(buf, "# HELP %s_%s %s\n# TYPE %s_%s %s\n",
				   prefix, name, help, prefix, name, type) < 0 ?
		       -1 :
		       0;
}

int http_metrics_format(struct evbuffer *buf, const char *prefix)
{
	const struct http_server *srv;

	if (http_metric_head(buf, prefix, "http_connections", "gauge",
			     "Open connections, counted against the caps."))
		return -1;
	for (srv = http_guarded; srv; srv = srv->next_guarded)
		if (srv->conns &&
		    evbuffer_add_printf(
			    buf,
			    "%s_http_connections{server=\"%s\"} %" PRIu64 "\n",
			    prefix, srv->kind, srv->conns->open) < 0)
			return -1;
	if (http_metric_head(
		    buf, prefix, "http_connections_refused_total", "counter",
		    "Connections closed at once, over max_connections, max_connections_per_client or max_connections_per_prefix."))
		return -1;
	for (srv = http_guarded; srv; srv = srv->next_guarded)
		if (srv->conns &&
		    evbuffer_add_printf(
			    buf,
			    "%s_http_connections_refused_total{server=\"%s\",reason=\"max_connections\"} %" PRIu64
			    "\n%s_http_connections_refused_total{server=\"%s\",reason=\"max_connections_per_client\"} %" PRIu64
			    "\n%s_http_connections_refused_total{server=\"%s\",reason=\"max_connections_per_prefix\"} %" PRIu64
			    "\n",
			    prefix, srv->kind, srv->refused_global, prefix,
			    srv->kind, srv->refused_client, prefix, srv->kind,
			    srv->refused_prefix) < 0)
			return -1;
	if (http_metric_head(
		    buf, prefix, "http_handshake_timeouts_total", "counter",
		    "Connections closed for not finishing their TLS handshake within handshake_timeout."))
		return -1;
	for (srv = http_guarded; srv; srv = srv->next_guarded)
		if (srv->conns &&
		    evbuffer_add_printf(
			    buf,
			    "%s_http_handshake_timeouts_total{server=\"%s\"} %" PRIu64
			    "\n",
			    prefix, srv->kind,
			    srv->conns->handshake_timeouts) < 0)
			return -1;
	if (http_metric_head(
		    buf, prefix, "http_accept_pauses_total", "counter",
		    "Pauses of accept(), out of descriptors or memory."))
		return -1;
	for (srv = http_guarded; srv; srv = srv->next_guarded)
		if (evbuffer_add_printf(
			    buf,
			    "%s_http_accept_pauses_total{server=\"%s\"} %" PRIu64
			    "\n",
			    prefix, srv->kind, srv->accept_pauses) < 0)
			return -1;
	return 0;
}
