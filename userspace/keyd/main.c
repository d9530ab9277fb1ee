// SPDX-License-Identifier: GPL-2.0
/* guise-keyd: entitlement and key distribution, server or client role. */
#include <errno.h>
#include <getopt.h>
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
#include "client.h"
#include "conf.h"
#include "http.h"
#include "kernel.h"
#include "keyfile.h"
#include "keyd.h"
#include "log.h"
#include "netns.h"
#include "revocation.h"
#include "sender.h"
#include "server.h"
#include "store.h"
#include "tls.h"

#define DEFAULT_CONFIG "/etc/guise/keyd.conf"

struct opts {
	const char *config;
	const char *port_file;
	bool foreground;
	enum guise_log_level verbosity;
};

struct daemon_state {
	struct keyd_conf conf;
	struct keyd d;
	struct keyd_api api;
	struct keyc *client;
	SSL_CTX *ctx;
	struct event_base *base;
	struct http_server srv;
	struct event *sigterm, *sigint, *tick;
	struct http_server local;
	struct revocation *rev;
};

static void usage(FILE *fp)
{
	fprintf(fp,
		"Usage: guise-keyd [OPTIONS]\n"
		"Distribute content keys (server role) or receive them (client\n"
		"role): DEMMs, announcements, Km -> Kc -> Ks.\n"
		"\n"
		"  -c, --config FILE     configuration (default " DEFAULT_CONFIG
		")\n"
		"  -f, --foreground      do not detach; log to stderr\n"
		"  -p, --port-file FILE  server: once serving, write the bound\n"
		"                        API port there (useful with port 0)\n"
		"  -v, --verbose         more log messages (repeat for debug)\n"
		"  -h, --help            this help\n"
		"  -V, --version         print the version\n"
		"\n"
		"See guise-keyd(8) and Documentation/keying.rst.\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "port-file", required_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->config = DEFAULT_CONFIG;
	o->verbosity = GUISE_LOG_WARN;
	while ((c = getopt_long(argc, argv, "c:fp:vhV", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 'p':
			o->port_file = optarg;
			break;
		case 'v':
			if (o->verbosity < GUISE_LOG_DEBUG)
				o->verbosity++;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("guise-keyd %s\n", GUISE_VERSION);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "guise-keyd: unexpected argument \"%s\"\n",
			argv[optind]);
		return -1;
	}
	return 0;
}

static int write_port_file(const char *path, unsigned int port)
{
	char tmp[4096];
	FILE *fp;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -1;
	fp = fopen(tmp, "w");
	if (!fp)
		return -1;
	fprintf(fp, "%u\n", port);
	if (fclose(fp) || rename(tmp, path)) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	guise_info("signal %d: shutting down", (int)sig);
	event_base_loopbreak(arg);
}

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

/* The local socket: the whole API (server) or the status (client). */
static int local_listen(struct daemon_state *s)
{
	if (!s->conf.socket)
		return 0;
	if (http_server_start_unix(&s->local, s->base, s->conf.socket, 0600))
		return -1;
	if (s->client)
		return evhttp_set_cb(s->local.http, "/v1/status",
				     on_client_status, s) ?
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
	s->api.d = &s->d;
	if (http_server_start(&s->srv, s->base, s->ctx,
			      (struct sockaddr *)&s->conf.listen,
			      s->conf.listen_len) ||
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
 * certd says a certificate is revoked: if a client enrolled with it, revoke
 * every entitlement it has, each as `guise revoke` does (its reduced DEMM
 * first, then the channel's new Kc). On the loop thread.
 */
static void on_revoked(const unsigned char *issuer_der, size_t issuer_len,
		       const char *serial, void *arg)
{
	struct daemon_state *s = arg;
	uint64_t now = (uint64_t)time(NULL);
	char id[KEYD_ID_MAX], detail[160], *issuer;
	struct kclient *cl;
	struct audit_record r = {
		.time = (int64_t)now,
		.actor = "certd",
		.action = "cert-revoked",
		.object = id,
		.detail = detail,
	};
	int err = 0;

	issuer = b64_encode(issuer_der, issuer_len);
	if (!issuer)
		return;
	if (store_client_by_cert(s->d.store, issuer, serial, id, sizeof(id)) ||
	    !(cl = server_client_find(&s->d, id))) {
		free(issuer);
		return;
	}
	free(issuer);
	snprintf(detail, sizeof(detail), "serial=%s channels=%u", serial,
		 cl->nchannels);
	while (!err && cl->nchannels)
		err = server_revoke(&s->d, id, cl->channels[0], now);
	r.outcome = err ? "error" : "ok";
	if (audit_append(store_db(s->d.store), &r))
		s->d.m.store_errors++;
	s->d.m.certs_revoked++;
	guise_info("certificate %s revoked: client %s's entitlements revoked%s",
		   serial, id, err ? " (with errors)" : "");
}

static int revocation_setup(struct daemon_state *s)
{
	struct revocation_conf rc = {
		.url = s->conf.certd_url,
		.cert = s->conf.certd_cert ? s->conf.certd_cert : s->conf.cert,
		.key = s->conf.certd_key ? s->conf.certd_key : s->conf.key,
		.ca = s->conf.certd_ca ? s->conf.certd_ca : s->conf.ca,
	};

	if (!rc.url || s->conf.role != KEYD_SERVER)
		return 0;
	s->rev = revocation_start(s->base, &rc, on_revoked, NULL, s);
	if (!s->rev) {
		guise_err("[certd] %s: cannot start the event client", rc.url);
		return -1;
	}
	return 0;
}

static void teardown(struct daemon_state *s)
{
	revocation_stop(s->rev);
	http_server_stop(&s->local);
	client_stop(s->client);
	server_stop(&s->d);
	sender_free(s->d.sender);
	http_server_stop(&s->srv);
	if (s->tick)
		event_free(s->tick);
	if (s->sigterm)
		event_free(s->sigterm);
	if (s->sigint)
		event_free(s->sigint);
	if (s->base)
		event_base_free(s->base);
	SSL_CTX_free(s->ctx);
	roles_file_free(s->api.roles);
	kernel_close(s->d.kernel);
	store_close(s->d.store);
	keyd_conf_free(&s->conf);
}

static int setup(struct daemon_state *s, const struct opts *o)
{
	static const struct timeval one_second = { 1, 0 };

	if (keyd_conf_load(o->config, &s->conf))
		return -1;
	s->d.conf = &s->conf;
	s->base = event_base_new();
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
	if (local_listen(s))
		return -1;
	s->sigterm = evsignal_new(s->base, SIGTERM, on_signal, s->base);
	s->sigint = evsignal_new(s->base, SIGINT, on_signal, s->base);
	s->tick = event_new(s->base, -1, EV_PERSIST, on_tick, s);
	if (!s->sigterm || !s->sigint || !s->tick ||
	    evsignal_add(s->sigterm, NULL) || evsignal_add(s->sigint, NULL) ||
	    evtimer_add(s->tick, &one_second)) {
		guise_err("event loop: cannot add events");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct daemon_state s;
	struct opts o = { 0 };
	int ret = 1;

	memset(&s, 0, sizeof(s));
	if (parse_opts(argc, argv, &o))
		return 2;
	guise_log_init("guise-keyd", o.verbosity);
	signal(SIGPIPE, SIG_IGN);
	umask(077);

	if (setup(&s, &o))
		goto out;
	if (o.port_file && s.srv.http &&
	    write_port_file(o.port_file, s.srv.port)) {
		guise_err("%s: cannot write: %s", o.port_file, strerror(errno));
		goto out;
	}
	if (!o.foreground && (daemon(0, 1) || event_reinit(s.base))) {
		guise_err("cannot detach: %s", strerror(errno));
		goto out;
	}
	/* After the fork: a thread does not survive it. */
	if (revocation_setup(&s))
		goto out;
	guise_info("%s role running", s.client ? "client" : "server");
	sd_notify(0, "READY=1");
	if (event_base_dispatch(s.base) < 0) {
		guise_err("event loop failed");
		goto out;
	}
	ret = 0;
	sd_notify(0, "STOPPING=1");
out:
	teardown(&s);
	return ret;
}
