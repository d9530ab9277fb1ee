// SPDX-License-Identifier: GPL-2.0
/* guise-leased: the virtual address server. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "api.h"
#include "audit.h"
#include "base64.h"
#include "certcheck.h"
#include "certd_clients.h"
#include "clock.h"
#include "cmdline.h"
#include "conf.h"
#include "detach.h"
#include "gateway.h"
#include "http.h"
#include "kernel.h"
#include "kresync.h"
#include "leased.h"
#include "log.h"
#include "loop.h"
#include "netns.h"
#include "ratelimit.h"
#include "revalidate.h"
#include "revocation.h"
#include "roles.h"
#include "tls.h"

#define DEFAULT_CONFIG "/etc/guise/leased.conf"
/* Idle rate buckets are pruned once a minute. */
#define HOUSEKEEPING_TICKS 60

static const struct daemon_usage usage = {
	.name = "guise-leased",
	.summary =
		"Serve virtual source address leases over HTTPS (mutual TLS).\n",
	.default_config = DEFAULT_CONFIG,
	.checks = "the configuration, roles file\n"
		  "                        and certificates",
	.port = "the bound API port",
	.doc = "Documentation/leased.rst",
};

struct daemon_state {
	const struct daemon_opts *o;
	struct leased_conf conf;
	struct leased d;
	struct roles_file *roles;
	struct http_roles policy;
	struct api api;
	SSL_CTX *ctx;
	struct event_base *base;
	struct http_server srv, local;
	struct daemon_signals sig;
	struct event *sweep;
	struct gateway *gw;
	struct revocation *rev;
	struct revalidate_ops reval;
	int home_ns; /* the network namespace the daemon started in */
	unsigned int ticks;
};

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct daemon_state *s = arg;
	int64_t now = time(NULL);

	(void)fd;
	(void)what;
	leases_sweep(&s->d, now);
	/* One indexed DELETE a second: retention holds to the second. */
	leases_purge(&s->d, now);
	if (s->ticks++ % HOUSEKEEPING_TICKS == 0) {
		uint64_t ms = guise_mono_ms();

		ratelimit_prune(s->d.rl, s->conf.rent_rate, s->conf.rent_burst,
				ms);
		ratelimit_prune(s->d.audit_rl, s->conf.audit_rate,
				s->conf.audit_burst, ms);
	}
}

/* certd's revocation events, on the loop thread. */
static void on_revoked(const unsigned char *issuer_der, size_t issuer_len,
		       const char *serial, void *arg)
{
	struct daemon_state *s = arg;
	char *issuer;

	s->d.m.revocation_events++;
	certcheck_revoked(s->d.cc, issuer_der, issuer_len, serial);
	issuer = b64_encode(issuer_der, issuer_len);
	if (!issuer)
		return;
	leases_revoke_cert(&s->d, issuer, serial, "revoked", NULL, time(NULL));
	free(issuer);
}

/* Re-validation (revalidate.h): the certificates behind live leases. */
static int reval_list(void *arg, struct revalidate_cert **out, size_t *n)
{
	struct daemon_state *s = arg;

	if (store_live_cert_chains(s->d.store, time(NULL), out, n)) {
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
	s->d.m.revalidation_ended += leases_revoke_cert(
		&s->d, issuer, serial, "revalidation",
		v == CERTCHECK_REVOKED ? "revoked" : "invalid", time(NULL));
}

/* The stream (re)connected (also the first time): what it missed is lost,
 * so the cached certificate checks are no longer trusted, and the
 * certificates behind the live leases are asked about again. */
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

	if (!s->conf.certd.url)
		return 0;
	s->reval = (struct revalidate_ops){
		.list = reval_list,
		.end = reval_end,
		.arg = s,
	};
	return certd_clients_start(s->base, &cc, on_revoked, on_certd_connected,
				   s, &s->d.cc, &s->d.rv, &s->rev);
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

/* After a module reload (new family and group ids, no leases) or a failed
 * removal: the events group again, then the kernel to match the store. */
static int kernel_resync(void *arg, uint64_t now)
{
	struct daemon_state *s = arg;
	int err = s->gw ? gateway_resubscribe(s->gw) : 0;

	if (!err)
		err = leases_reconcile(&s->d, (int64_t)now);
	if (!err)
		s->d.m.kernel_resyncs++;
	return err;
}

static int kresync_setup(struct daemon_state *s)
{
	const struct kresync_ops ops = {
		.resync = kernel_resync,
		.arg = s,
		.done = "kernel reconciled with the store",
		.failed = "reconcile failed",
		.gone = "no lease is enforced until it is back",
	};

	if (!s->d.kernel)
		return 0;
	return kresync_start(s->base, s->d.kernel, &ops, &s->d.kresync);
}

/* The parts of a configuration that can change without a restart are
 * checked here: the roles file and the certificates. */
static int load_extras(const struct leased_conf *c, struct roles_file **rf,
		       SSL_CTX **ctx)
{
	*rf = NULL;
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

/*
 * SIGHUP: a new configuration, roles file and certificates, all or
 * nothing. Leases are untouched; settings that need a restart (listen,
 * db, socket, netns, sync, gateway, [certd]) keep their running values.
 */
static void reload(void *arg)
{
	struct daemon_state *s = arg;
	struct leased_conf nc;
	struct roles_file *rf;
	SSL_CTX *ctx;

	sd_notify(0, "RELOADING=1");
	if (leased_conf_load(s->o->config, &nc) ||
	    load_extras(&nc, &rf, &ctx)) {
		guise_err("reload failed: keeping the running configuration");
		leased_conf_free(&nc);
		sd_notify(0, "READY=1");
		return;
	}
	if (memcmp(&nc.listen, &s->conf.listen, sizeof(nc.listen)) ||
	    str_differ(nc.db, s->conf.db) ||
	    str_differ(nc.socket, s->conf.socket) ||
	    str_differ(nc.netns, s->conf.netns) || nc.sync != s->conf.sync ||
	    nc.gateway != s->conf.gateway ||
	    certd_section_differ(&nc.certd, &s->conf.certd))
		guise_warn("reload: listen, db, socket, netns, sync, gateway "
			   "and [certd] changes need a restart; kept");
	nc.listen = s->conf.listen;
	nc.listen_len = s->conf.listen_len;
	swap_str(&nc.db, &s->conf.db);
	swap_str(&nc.socket, &s->conf.socket);
	swap_str(&nc.netns, &s->conf.netns);
	nc.sync = s->conf.sync;
	nc.gateway = s->conf.gateway;
	certd_section_swap(&nc.certd, &s->conf.certd);

	http_server_set_ctx(&s->srv, ctx);
	http_server_set_limits(&s->srv, &nc.limits);
	SSL_CTX_free(s->ctx);
	s->ctx = ctx;
	roles_file_free(s->roles);
	s->roles = rf;
	leased_conf_free(&s->conf);
	s->conf = nc;
	s->policy.file = s->roles;
	s->policy.cert_default = s->conf.default_roles;
	pools_init(&s->d.pools, s->conf.prefix, s->conf.npools);
	guise_info("reloaded %s: %u pools", s->o->config, s->d.pools.n);
	sd_notify(0, "READY=1");
}

static void teardown(struct daemon_state *s)
{
	/* Commit and answer what is pending while the requests exist. */
	if (s->d.store)
		batch_free(&s->d);
	kresync_stop(s->d.kresync);
	s->d.kresync = NULL;
	gateway_stop(s->gw);
	revocation_stop(s->rev);
	/* Before the servers: it answers the requests still waiting. */
	certcheck_stop(s->d.cc);
	s->d.cc = NULL;
	revalidate_stop(s->d.rv);
	s->d.rv = NULL;
	http_server_stop(&s->srv);
	http_server_stop(&s->local);
	if (s->sweep)
		event_free(s->sweep);
	daemon_signals_free(&s->sig);
	if (s->base)
		event_base_free(s->base);
	SSL_CTX_free(s->ctx);
	roles_file_free(s->roles);
	ratelimit_free(s->d.rl);
	ratelimit_free(s->d.audit_rl);
	kernel_close(s->d.kernel);
	store_close(s->d.store);
	leased_conf_free(&s->conf);
}

/* Log the audit chain's state: its head is the value to keep elsewhere. */
static void audit_report(struct daemon_state *s)
{
	struct audit_verify_result res;
	int err = audit_verify(store_db(s->d.store), &res);

	if (err == -EBADMSG)
		guise_err("audit log BROKEN at seq %lld: %s",
			  (long long)res.bad_seq, res.problem);
	else if (!err)
		guise_info("audit log intact: %llu records, head %s",
			   (unsigned long long)res.records,
			   res.head[0] ? res.head : "(empty)");
}

static int setup(struct daemon_state *s)
{
	static const struct timeval one_second = { 1, 0 };

	if (leased_conf_load(s->o->config, &s->conf))
		return -1;
	s->d.conf = &s->conf;
	pools_init(&s->d.pools, s->conf.prefix, s->conf.npools);
	if (load_extras(&s->conf, &s->roles, &s->ctx) ||
	    certd_section_check_tls(&s->conf.certd, s->conf.cert, s->conf.key,
				    s->conf.ca))
		return -1;
	s->policy.file = s->roles;
	s->policy.cert_default = s->conf.default_roles;
	s->policy.local_root = ROLE_ADMIN;
	if (s->o->check_config)
		return 0;
	s->d.rl = ratelimit_new();
	s->d.audit_rl = ratelimit_new();
	if (!s->d.rl || !s->d.audit_rl) {
		guise_err("out of memory");
		return -1;
	}
	if (store_open(s->conf.db, &s->d.store))
		return -1;
	audit_report(s);
	s->base = daemon_event_base();
	/* The group commit runs below every request (batch.h). */
	if (!s->base || event_base_priority_init(s->base, BATCH_PRIORITIES) ||
	    batch_init(&s->d, s->base)) {
		guise_err("event loop: out of memory");
		return -1;
	}
	s->api.d = &s->d;
	s->api.policy = &s->policy;
	/* Bind before entering another namespace: the API stays here. */
	if (http_server_start(&s->srv, s->base, s->ctx,
			      (struct sockaddr *)&s->conf.listen,
			      s->conf.listen_len, &s->conf.limits) ||
	    api_register(s->srv.http, &s->api))
		return -1;
	if (s->conf.socket &&
	    (http_server_start_unix(&s->local, s->base, s->conf.socket, 0600) ||
	     api_register(s->local.http, &s->api)))
		return -1;
	if (s->conf.sync && kernel_setup(&s->d))
		return -1;
	/* A signal stops the loop between handlers: every acknowledged
	 * rent is already committed. */
	if (daemon_signals_add(&s->sig, s->base, reload, s))
		return -1;
	s->sweep = event_new(s->base, -1, EV_PERSIST, on_sweep, s);
	if (!s->sweep || evtimer_add(s->sweep, &one_second)) {
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
	guise_log_init("guise-leased", o.verbosity);
	signal(SIGPIPE, SIG_IGN);

	s.o = &o;
	/* Before the store opens: SQLite must not cross a fork (detach.h). */
	if (!o.foreground && !o.check_config && daemon_detach_start()) {
		guise_err("cannot detach: %s", strerror(errno));
		goto out;
	}
	if (setup(&s)) {
		if (o.check_config)
			fprintf(stderr, "%s: configuration NOT usable\n",
				o.config);
		goto out;
	}
	if (o.check_config) {
		printf("%s: configuration ok (%u pools, roles file %s)\n",
		       o.config, s.d.pools.n,
		       s.conf.roles_file ? s.conf.roles_file : "none");
		ret = 0;
		goto out;
	}
	/* The socket is listening: connections wait in its backlog. */
	if (o.port_file &&
	    daemon_write_port_file(o.port_file, (unsigned int[]){ s.srv.port },
				   1)) {
		guise_err("%s: cannot write: %s", o.port_file, strerror(errno));
		goto out;
	}
	/* After the fork: a thread does not survive it. */
	if (s.conf.gateway && gateway_start(s.base, &s.d, &s.gw))
		goto out;
	if (kresync_setup(&s))
		goto out;
	if (revocation_setup(&s))
		goto out;
	guise_info("serving on port %u, %u pools, kernel sync %s", s.srv.port,
		   s.d.pools.n, s.d.kernel ? "on" : "off");
	sd_notifyf(0, "READY=1\nSTATUS=serving on port %u", s.srv.port);
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
