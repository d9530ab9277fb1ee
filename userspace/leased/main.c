// SPDX-License-Identifier: GPL-2.0
/* guise-leased: the virtual address server. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>

#include "api.h"
#include "conf.h"
#include "gateway.h"
#include "http.h"
#include "kernel.h"
#include "leased.h"
#include "log.h"
#include "netns.h"
#include "tls.h"

#define DEFAULT_CONFIG "/etc/guise/leased.conf"

struct opts {
	const char *config;
	const char *port_file;
	bool foreground;
	enum guise_log_level verbosity;
};

static void usage(FILE *fp)
{
	fprintf(fp,
		"Usage: guise-leased [OPTIONS]\n"
		"Serve virtual source address leases over HTTPS (mutual TLS).\n"
		"\n"
		"  -c, --config FILE     configuration (default " DEFAULT_CONFIG
		")\n"
		"  -f, --foreground      do not detach; log to stderr\n"
		"  -p, --port-file FILE  once serving, write the bound port\n"
		"                        there (useful with port 0)\n"
		"  -v, --verbose         more log messages (repeat for debug)\n"
		"  -h, --help            this help\n"
		"  -V, --version         print the version\n"
		"\n"
		"See guise-leased(8) and Documentation/leased.rst.\n");
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
			printf("guise-leased %s\n", GUISE_VERSION);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "guise-leased: unexpected argument \"%s\"\n",
			argv[optind]);
		return -1;
	}
	return 0;
}

/* Write "PORT\n" to @path through a rename, so readers never see half. */
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

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	leases_sweep(arg, time(NULL));
}

/* Open the kernel side in the configured namespace and reconcile. */
static int kernel_setup(struct leased *d)
{
	int err;

	if (d->conf->netns) {
		err = guise_netns_enter(d->conf->netns);
		if (err) {
			guise_err("netns \"%s\": %s", d->conf->netns,
				  strerror(-err));
			return -1;
		}
	}
	if (kernel_open(&d->kernel))
		return -1;
	if (leases_reconcile(d, time(NULL))) {
		guise_err("reconcile with the kernel failed");
		return -1;
	}
	return 0;
}

struct daemon_state {
	struct leased_conf conf;
	struct leased d;
	SSL_CTX *ctx;
	struct event_base *base;
	struct http_server srv;
	struct event *sigterm, *sigint, *sweep;
	struct gateway *gw;
};

static void teardown(struct daemon_state *s)
{
	gateway_stop(s->gw);
	http_server_stop(&s->srv);
	if (s->sweep)
		event_free(s->sweep);
	if (s->sigterm)
		event_free(s->sigterm);
	if (s->sigint)
		event_free(s->sigint);
	if (s->base)
		event_base_free(s->base);
	SSL_CTX_free(s->ctx);
	kernel_close(s->d.kernel);
	store_close(s->d.store);
	leased_conf_free(&s->conf);
}

static int setup(struct daemon_state *s, const struct opts *o)
{
	static const struct timeval one_second = { 1, 0 };

	if (leased_conf_load(o->config, &s->conf))
		return -1;
	s->d.conf = &s->conf;
	pool_init(&s->d.pool, &s->conf.prefix);
	if (store_open(s->conf.db, &s->d.store))
		return -1;
	s->ctx = tls_server_ctx(s->conf.cert, s->conf.key, s->conf.ca);
	if (!s->ctx)
		return -1;
	s->base = event_base_new();
	if (!s->base) {
		guise_err("event loop: out of memory");
		return -1;
	}
	/* Bind before entering another namespace: the API stays here. */
	if (http_server_start(&s->srv, s->base, s->ctx,
			      (struct sockaddr *)&s->conf.listen,
			      s->conf.listen_len) ||
	    api_register(s->srv.http, &s->d))
		return -1;
	if (s->conf.sync && kernel_setup(&s->d))
		return -1;
	s->sigterm = evsignal_new(s->base, SIGTERM, on_signal, s->base);
	s->sigint = evsignal_new(s->base, SIGINT, on_signal, s->base);
	s->sweep = event_new(s->base, -1, EV_PERSIST, on_sweep, &s->d);
	if (!s->sigterm || !s->sigint || !s->sweep ||
	    evsignal_add(s->sigterm, NULL) || evsignal_add(s->sigint, NULL) ||
	    evtimer_add(s->sweep, &one_second)) {
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
	guise_log_init("guise-leased", o.verbosity);
	signal(SIGPIPE, SIG_IGN);

	if (setup(&s, &o))
		goto out;
	/* The socket is listening: connections wait in its backlog. */
	if (o.port_file && write_port_file(o.port_file, s.srv.port)) {
		guise_err("%s: cannot write: %s", o.port_file, strerror(errno));
		goto out;
	}
	if (!o.foreground) {
		/* Keep stderr for the log; the loop must follow the fork. */
		if (daemon(0, 1) || event_reinit(s.base)) {
			guise_err("cannot detach: %s", strerror(errno));
			goto out;
		}
	}
	/* After the fork: a thread does not survive it. */
	if (s.conf.gateway && gateway_start(s.base, &s.d, &s.gw))
		goto out;
	guise_info("serving on port %u, pool %u host bits, kernel sync %s",
		   s.srv.port, s.d.pool.host_bits, s.d.kernel ? "on" : "off");
	if (event_base_dispatch(s.base) < 0) {
		guise_err("event loop failed");
		goto out;
	}
	ret = 0;
out:
	teardown(&s);
	return ret;
}
