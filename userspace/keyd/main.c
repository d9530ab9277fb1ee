// SPDX-License-Identifier: GPL-2.0
/* guise-keyd: entitlement and key distribution, server or client role. */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "api.h"
#include "audit.h"
#include "base64.h"
#include "certcheck.h"
#include "certd_clients.h"
#include "client.h"
#include "cmdline.h"
#include "conf.h"
#include "detach.h"
#include "http.h"
#include "kernel.h"
#include "keyfile.h"
#include "keyd.h"
#include "kresync.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "netns.h"
#include "revalidate.h"
#include "revocation.h"
#include "sender.h"
#include "server.h"
#include "store.h"
#include "tls.h"

#define DEFAULT_CONFIG "/etc/guise/keyd.conf"

struct daemon_state {
	const struct daemon_opts *o;
	struct keyd_conf conf;
	struct keyd d;
	struct keyd_api api;
	struct keyc *client;
	SSL_CTX *ctx;
	struct event_base *base;
	struct http_server srv;
	struct daemon_signals sig;
	struct event *tick;
	struct http_server local;
	struct revocation *rev;
	struct revalidate_ops reval;
	struct kresync *kresync;
	int home_ns; /* the network namespace the daemon started in */
};

static const struct daemon_usage usage = {
	.name = "guise-keyd",
	.summary =
		"Distribute content keys (server role) or receive them (client\n"
		"role): DEMMs, announcements, Km -> Kc -> Ks.\n",
	.default_config = DEFAULT_CONFIG,
	.checks = "the configuration, roles file,\n"
		  "                        certificates or key file",
	.port = "the bound API port (server)",
	.doc = "Documentation/keying.rst",
};

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct daemon_state *s = arg;
	uint64_t now = (uint64_t)time(NULL);

	(void)fd;
	(void)what;
	if (s->client)
		client_tick(s->client, now);
	else
		server_tick(&s->d, now);
}

static void on_client_status(struct evhttp_request *req, void *arg)
{
	struct daemon_state *s = arg;
	struct http_roles policy = { .local_root = ROLE_ADMIN };
	struct http_caller who;

	if (http_begin_caller(req, EVHTTP_REQ_GET, &policy, &who))
		return;
	/* The socket's mode (0600) already limits who can ask; the status
	 * carries no secret. */
	if (!who.local) {
		http_reply_error(req, HTTP_FORBIDDEN, "forbidden");
		return;
	}
	http_reply_json(req, HTTP_OK, client_status(s->client));
}

/* The client role's counters as Prometheus text, on the local socket. */
static void on_client_metrics(struct evhttp_request *req, void *arg)
{
	struct daemon_state *s = arg;
	struct http_roles policy = { .local_root = ROLE_ADMIN };
	struct http_caller who;
	struct evbuffer *buf;
	json_t *st;

	if (http_begin_caller(req, EVHTTP_REQ_GET, &policy, &who))
		return;
	if (!who.local) {
		http_reply_error(req, HTTP_FORBIDDEN, "forbidden");
		return;
	}
	st = client_status(s->client);
	buf = evbuffer_new();
	if (buf && (!st || metrics_client(st, buf))) {
		evbuffer_free(buf);
		buf = NULL;
	}
	json_decref(st);
	metrics_reply(req, buf);
}

/* The local socket: the whole API (server) or the status (client). */
static int local_listen(struct daemon_state *s)
{
	if (!s->conf.socket)
		return 0;
	if (http_server_start_unix(&s->local, s->base, s->conf.socket, 0600))
		return -1;
	if (s->client)
		return evhttp_set_cb(s->local.http, "/v1/status",
				     on_client_status, s) ||
				       evhttp_set_cb(s->local.http,
						     "/v1/metrics",
						     on_client_metrics, s) ?
			       -1 :
			       0;
	return api_register(s->local.http, &s->api);
}

/* Namespace, kernel and the multicast interface. */
static int kernel_setup(struct daemon_state *s)
{
	int err;

	if (s->conf.netns) {
		err = guise_netns_enter(s->conf.netns);
		if (err) {
			guise_err("netns \"%s\": %s", s->conf.netns,
				  strerror(-err));
			return -1;
		}
	}
	if (s->conf.interface) {
		s->conf.ifindex = if_nametoindex(s->conf.interface);
		if (!s->conf.ifindex) {
			guise_err("interface %s: %s", s->conf.interface,
				  strerror(errno));
			return -1;
		}
	}
	if (s->conf.sync && kernel_open(&s->d.kernel))
		return -1;
	return 0;
}

static int setup_server(struct daemon_state *s)
{
	char pass[512];
	int n = 0, err;

	if (s->conf.secret_file) {
		n = guise_keyfile_read_pass(s->conf.secret_file, pass,
					    sizeof(pass));
		if (n < 0) {
			guise_err("secret_file %s: %s", s->conf.secret_file,
				  strerror(-n));
			return -1;
		}
	}
	err = store_open(s->conf.db, s->conf.secret_file ? pass : NULL,
			 (size_t)n, &s->d.store);
	explicit_bzero(pass, sizeof(pass));
	if (err)
		return -1;
	if (s->conf.roles_file &&
	    roles_file_load(s->conf.roles_file, &s->api.roles))
		return -1;
	s->ctx = tls_server_ctx(s->conf.cert, s->conf.key, s->conf.ca);
	if (!s->ctx)
		return -1;
	tls_server_full_handshakes(s->ctx); /* the client's chain, each time */
	s->api.d = &s->d;
	if (http_server_start(&s->srv, s->base, s->ctx,
			      (struct sockaddr *)&s->conf.listen,
			      s->conf.listen_len, &s->conf.limits) ||
	    api_register(s->srv.http, &s->api))
		return -1;
	if (kernel_setup(s) || sender_new(s->base, &s->d, &s->d.sender))
		return -1;
	if (server_start(&s->d, (uint64_t)time(NULL))) {
		guise_err("cannot load the server state");
		return -1;
	}
	return 0;
}

/*
 * Certificate (@issuer base64 DER, @serial) revoked: if a client enrolled
 * with it, revoke every entitlement it has, each as `guise revoke` does
 * (its reduced DEMM first, then the channel's new Kc), audited as
 * cert-revoked (actor certd). @via: NULL for a certd event, else
 * re-validation found it @via ("revoked", "invalid"). True if a client's
 * entitlements were revoked. On the loop thread.
 */
static bool cert_revoked(struct daemon_state *s, const char *issuer,
			 const char *serial, const char *via)
{
	uint64_t now = (uint64_t)time(NULL);
	char id[KEYD_ID_MAX], detail[200];
	struct kclient *cl;
	struct audit_record r = {
		.time = (int64_t)now,
		.actor = "certd",
		.action = "cert-revoked",
		.object = id,
		.detail = detail,
	};
	int err = 0;

	if (store_client_by_cert(s->d.store, issuer, serial, id, sizeof(id)) ||
	    !(cl = server_client_find(&s->d, id)))
		return false;
	if (via)
		snprintf(detail, sizeof(detail),
			 "serial=%s channels=%u reason=revalidation status=%s",
			 serial, cl->nchannels, via);
	else
		snprintf(detail, sizeof(detail), "serial=%s channels=%u",
			 serial, cl->nchannels);
	while (!err && cl->nchannels)
		err = server_revoke(&s->d, id, cl->channels[0], now);
	r.outcome = err ? "error" : "ok";
	if (audit_append(store_db(s->d.store), &r))
		s->d.m.store_errors++;
	s->d.m.certs_revoked++;
	guise_info("certificate %s revoked (%s): client %s's entitlements "
		   "revoked%s",
		   serial, via ? "revalidation" : "event", id,
		   err ? " (with errors)" : "");
	return true;
}

/* certd's revocation events. */
static void on_revoked(const unsigned char *issuer_der, size_t issuer_len,
		       const char *serial, void *arg)
{
	struct daemon_state *s = arg;
	char *issuer;

	s->d.m.certd_events++;
	certcheck_revoked(s->d.cc, issuer_der, issuer_len, serial);
	issuer = b64_encode(issuer_der, issuer_len);
	if (!issuer)
		return;
	cert_revoked(s, issuer, serial, NULL);
	free(issuer);
}

/* Re-validation (revalidate.h): the certificates of entitled clients. */
static int reval_list(void *arg, struct revalidate_cert **out, size_t *n)
{
	struct daemon_state *s = arg;

	if (store_entitled_cert_chains(s->d.store, out, n)) {
		s->d.m.store_errors++;
		return -1;
	}
	return 0;
}

/* certd calls one revoked or invalid: as on_revoked(), another reason. */
static void reval_end(void *arg, const char *issuer, const char *serial,
		      enum certcheck_verdict v)
{
	struct daemon_state *s = arg;

	certcheck_revoked_b64(s->d.cc, issuer, serial);
	if (cert_revoked(s, issuer, serial,
			 v == CERTCHECK_REVOKED ? "revoked" : "invalid"))
		s->d.m.revalidation_ended++;
}

/* The stream (re)connected (also the first time): what it missed is lost,
 * so the cached certificate checks are no longer trusted, and the
 * certificates of the entitled clients are asked about again. */
static void on_certd_connected(void *arg)
{
	struct daemon_state *s = arg;

	certcheck_flush(s->d.cc);
	revalidate_run(s->d.rv);
}

/* [certd] url: follow its revocation events; [certd] check: and ask it
 * about each request's client certificate (certd_clients.h). */
static int revocation_setup(struct daemon_state *s)
{
	const struct certd_clients_conf cc = {
		.certd = &s->conf.certd,
		.cert = s->conf.cert,
		.key = s->conf.key,
		.ca = s->conf.ca,
		.revalidate = &s->reval,
		.home_ns = s->home_ns,
	};

	if (!s->conf.certd.url || s->conf.role != KEYD_SERVER)
		return 0;
	s->reval = (struct revalidate_ops){
		.list = reval_list,
		.end = reval_end,
		.arg = s,
	};
	return certd_clients_start(s->base, &cc, on_revoked, on_certd_connected,
				   s, &s->d.cc, &s->d.rv, &s->rev);
}

/*
 * What a reload can change, loaded and checked, all or nothing: the
 * server's roles file and certificates (*@rf and *@ctx stay NULL for the
 * client role). 0 or -1 (logged).
 */
static int load_extras(const struct keyd_conf *c, struct roles_file **rf,
		       SSL_CTX **ctx)
{
	*rf = NULL;
	*ctx = NULL;
	if (c->role != KEYD_SERVER)
		return 0;
	if (c->roles_file && roles_file_load(c->roles_file, rf))
		return -1;
	*ctx = tls_server_ctx(c->cert, c->key, c->ca);
	if (!*ctx) {
		roles_file_free(*rf);
		*rf = NULL;
		return -1;
	}
	tls_server_full_handshakes(*ctx); /* the client's chain, each time */
	return 0;
}

/* Can the daemon create files next to @path (the store, the state)? */
static int dir_writable(const char *what, const char *path)
{
	char dir[4096];
	char *slash;

	if ((size_t)snprintf(dir, sizeof(dir), "%s", path) >= sizeof(dir)) {
		guise_err("%s %s: path too long", what, path);
		return -1;
	}
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (access(dir, W_OK | X_OK)) {
		guise_err("%s %s: directory %s: %s", what, path, dir,
			  strerror(errno));
		return -1;
	}
	return 0;
}

/* What only a start reads: the store's secret and directory, certd's
 * TLS files, the client's key file and state directory. */
static int check_start_files(const struct keyd_conf *c)
{
	char pass[512];
	int n;

	if (c->role == KEYD_CLIENT)
		return client_check_key(c) || dir_writable("state", c->state);
	if (c->secret_file) {
		n = guise_keyfile_read_pass(c->secret_file, pass, sizeof(pass));
		explicit_bzero(pass, sizeof(pass));
		if (n < 0) {
			guise_err("secret_file %s: %s", c->secret_file,
				  strerror(-n));
			return -1;
		}
	}
	return dir_writable("db", c->db) ||
	       certd_section_check_tls(&c->certd, c->cert, c->key, c->ca);
}

/* --check-config: load everything a start would, touch nothing, report.
 * The exit status: 0 usable, 1 not. */
static int check_config(const char *path)
{
	struct keyd_conf c;
	struct roles_file *rf = NULL;
	SSL_CTX *ctx = NULL;
	bool ok;

	ok = !keyd_conf_load(path, &c) && !load_extras(&c, &rf, &ctx) &&
	     !check_start_files(&c);
	if (!ok)
		fprintf(stderr, "%s: configuration NOT usable\n", path);
	else if (c.role == KEYD_SERVER)
		printf("%s: configuration ok (server role, roles file %s)\n",
		       path, c.roles_file ? c.roles_file : "none");
	else
		printf("%s: configuration ok (client role, key file %s)\n",
		       path, c.key_file);
	SSL_CTX_free(ctx);
	roles_file_free(rf);
	keyd_conf_free(&c);
	return ok ? 0 : 1;
}

static void swap_str(char **a, char **b)
{
	char *t = *a;

	*a = *b;
	*b = t;
}

static bool str_differ(const char *a, const char *b)
{
	return (a || b) && (!a || !b || strcmp(a, b));
}

/* Does @nc change a setting bound at start (see keep_restart_only)? */
static bool restart_differs(const struct keyd_conf *nc,
			    const struct keyd_conf *run)
{
	return memcmp(&nc->listen, &run->listen, sizeof(nc->listen)) ||
	       str_differ(nc->db, run->db) ||
	       str_differ(nc->socket, run->socket) ||
	       str_differ(nc->secret_file, run->secret_file) ||
	       nc->port != run->port ||
	       str_differ(nc->interface, run->interface) ||
	       nc->hops != run->hops || nc->have_unicast != run->have_unicast ||
	       memcmp(&nc->unicast, &run->unicast, sizeof(nc->unicast)) ||
	       str_differ(nc->netns, run->netns) || nc->sync != run->sync ||
	       str_differ(nc->key_file, run->key_file) ||
	       str_differ(nc->pass_file, run->pass_file) ||
	       str_differ(nc->state, run->state) ||
	       nc->ngroups != run->ngroups ||
	       memcmp(nc->groups, run->groups, sizeof(nc->groups)) ||
	       certd_section_differ(&nc->certd, &run->certd);
}

/*
 * Settings bound at start keep their running values in @nc: the sockets
 * (listen, socket, the control port, interface, hops, unicast), the
 * store (db, secret_file), the namespace and kernel (netns, sync), the
 * client's key file, state and groups, and the certd stream ([certd]).
 * The old values move to @run, which the caller frees.
 */
static void keep_restart_only(struct keyd_conf *nc, struct keyd_conf *run)
{
	nc->listen = run->listen;
	nc->listen_len = run->listen_len;
	swap_str(&nc->db, &run->db);
	swap_str(&nc->socket, &run->socket);
	swap_str(&nc->secret_file, &run->secret_file);
	nc->port = run->port;
	swap_str(&nc->interface, &run->interface);
	nc->ifindex = run->ifindex;
	nc->hops = run->hops;
	nc->have_unicast = run->have_unicast;
	nc->unicast = run->unicast;
	swap_str(&nc->netns, &run->netns);
	nc->sync = run->sync;
	swap_str(&nc->key_file, &run->key_file);
	swap_str(&nc->pass_file, &run->pass_file);
	swap_str(&nc->state, &run->state);
	memcpy(nc->groups, run->groups, sizeof(nc->groups));
	nc->ngroups = run->ngroups;
	certd_section_swap(&nc->certd, &run->certd);
}

/*
 * SIGHUP: the configuration file again and, for the server, its roles
 * file and certificates, all or nothing. The model (clients, channels,
 * contents, entitlements, keys in the kernel, the send queue) and the
 * client's state are untouched; settings bound at start keep their
 * running values until a restart.
 */
static void reload(void *arg)
{
	struct daemon_state *s = arg;
	const char *path = s->o->config;
	struct roles_file *rf = NULL;
	struct keyd_conf nc;
	SSL_CTX *ctx = NULL;
	int err;

	sd_notify(0, "RELOADING=1");
	err = keyd_conf_load(path, &nc);
	if (!err && nc.role != s->conf.role) {
		guise_err("%s: [keyd] role changes need a restart", path);
		err = -1;
	}
	if (err || load_extras(&nc, &rf, &ctx)) {
		guise_err("reload failed: keeping the running configuration");
		keyd_conf_free(&nc);
		sd_notify(0, "READY=1");
		return;
	}
	if (restart_differs(&nc, &s->conf))
		guise_warn("reload: listen, db, socket, secret_file, [control] "
			   "port, interface, hops, unicast, [kernel], [client] "
			   "and [certd] changes need a restart; kept");
	keep_restart_only(&nc, &s->conf);
	if (ctx) {
		/* New connections get the new certificates; open ones keep
		 * theirs (an SSL holds a reference to its context). */
		http_server_set_ctx(&s->srv, ctx);
		SSL_CTX_free(s->ctx);
		s->ctx = ctx;
		roles_file_free(s->api.roles);
		s->api.roles = rf;
		http_server_set_limits(&s->srv, &nc.limits);
	}
	keyd_conf_free(&s->conf);
	s->conf = nc;
	guise_info("reloaded %s", path);
	sd_notify(0, "READY=1");
}

static void teardown(struct daemon_state *s)
{
	kresync_stop(s->kresync);
	revocation_stop(s->rev);
	/* Before the servers: it answers the requests still waiting. */
	certcheck_stop(s->d.cc);
	s->d.cc = NULL;
	revalidate_stop(s->d.rv);
	s->d.rv = NULL;
	http_server_stop(&s->local);
	client_stop(s->client);
	server_stop(&s->d);
	sender_free(s->d.sender);
	http_server_stop(&s->srv);
	if (s->tick)
		event_free(s->tick);
	daemon_signals_free(&s->sig);
	if (s->base)
		event_base_free(s->base);
	SSL_CTX_free(s->ctx);
	roles_file_free(s->api.roles);
	kernel_close(s->d.kernel);
	store_close(s->d.store);
	keyd_conf_free(&s->conf);
}

static void client_lost(void *arg)
{
	client_kernel_lost(arg);
}

static int client_resync(void *arg, uint64_t now)
{
	return client_kernel_resync(arg, now);
}

static int server_resync(void *arg, uint64_t now)
{
	return server_kernel_resync(arg, now);
}

/* Follow the guise module: after a reload, the content keys again. */
static int kresync_setup(struct daemon_state *s)
{
	struct kresync_ops ops = {
		.resync = server_resync,
		.arg = &s->d,
		.done = "content keys installed again",
		.failed = "installing the content keys failed",
		.gone = "no content is encrypted or decrypted until it is back",
	};

	if (!s->d.kernel)
		return 0;
	if (s->client) {
		ops.lost = client_lost;
		ops.resync = client_resync;
		ops.arg = s->client;
	}
	return kresync_start(s->base, s->d.kernel, &ops, &s->kresync);
}

static int setup(struct daemon_state *s, const struct daemon_opts *o)
{
	static const struct timeval one_second = { 1, 0 };

	if (keyd_conf_load(o->config, &s->conf))
		return -1;
	s->d.conf = &s->conf;
	s->base = daemon_event_base();
	if (!s->base) {
		guise_err("event loop: out of memory");
		return -1;
	}
	if (s->conf.role == KEYD_SERVER) {
		if (setup_server(s))
			return -1;
	} else if (kernel_setup(s) ||
		   client_start(s->base, &s->conf, s->d.kernel, &s->client)) {
		return -1;
	}
	if (local_listen(s) || kresync_setup(s))
		return -1;
	if (daemon_signals_add(&s->sig, s->base, reload, s))
		return -1;
	s->tick = event_new(s->base, -1, EV_PERSIST, on_tick, s);
	if (!s->tick || evtimer_add(s->tick, &one_second)) {
		guise_err("event loop: cannot add events");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct daemon_state s;
	struct daemon_opts o = { 0 };
	int ret = 1;

	memset(&s, 0, sizeof(s));
	s.home_ns = guise_netns_open_self();
	if (daemon_parse_opts(&usage, argc, argv, &o))
		return 2;
	guise_log_init("guise-keyd", o.verbosity);
	if (o.check_config)
		return check_config(o.config);
	signal(SIGPIPE, SIG_IGN);
	umask(077);
	s.o = &o;

	/* Before the store opens: SQLite must not cross a fork (detach.h). */
	if (!o.foreground && daemon_detach_start()) {
		guise_err("cannot detach: %s", strerror(errno));
		goto out;
	}
	if (setup(&s, &o))
		goto out;
	if (o.port_file && s.srv.http &&
	    daemon_write_port_file(o.port_file, (unsigned int[]){ s.srv.port },
				   1)) {
		guise_err("%s: cannot write: %s", o.port_file, strerror(errno));
		goto out;
	}
	/* After the fork: a thread does not survive it. */
	if (revocation_setup(&s))
		goto out;
	guise_info("%s role running", s.client ? "client" : "server");
	sd_notify(0, "READY=1");
	daemon_detach_ready(0);
	if (event_base_dispatch(s.base) < 0) {
		guise_err("event loop failed");
		goto out;
	}
	ret = 0;
out:
	teardown(&s);
	if (s.home_ns >= 0)
		close(s.home_ns);
	daemon_detach_ready(ret); /* a failed start: the parent exits with it */
	return ret;
}
