// SPDX-License-Identifier: GPL-2.0
/* guise-certd: certificate validation with pushed CRL notifications. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <systemd/sd-daemon.h>

#include "api.h"
#include "certd.h"
#include "certio.h"
#include "cmdline.h"
#include "detach.h"
#include "events.h"
#include "http.h"
#include "loader.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "ocsp.h"
#include "tls.h"
#include "validate.h"
#include "worker.h"

#define DEFAULT_CONFIG "/etc/guise/certd.conf"
/* TLS sessions the API server keeps for resumption. */
#define CERTD_TLS_SESSIONS 1024

static const struct daemon_usage usage = {
	.name = "guise-certd",
	.summary =
		"Validate certificates against a pushed CRL cache; answer OCSP;\n"
		"receive, check and forward CRL issuance notifications.\n",
	.default_config = DEFAULT_CONFIG,
	.checks = "the configuration, anchors, CRLs,\n"
		  "                        OCSP signers and certificates",
	.port = "the API port and the OCSP\n"
		"                        port (if any)",
	.doc = "Documentation/certd.rst",
};

struct daemon_state {
	struct certd_conf conf;
	struct certd d;
	SSL_CTX *ctx;
	struct event_base *base;
	struct http_server srv;
	struct http_server ocsp; /* plain HTTP: OCSP answers are signed */
	struct daemon_signals sig;
};

/* SIGHUP. */
static void reload(void *arg)
{
	struct daemon_state *s = arg;

	guise_info("SIGHUP: reloading the configured CRLs");
	/* READY again once queued: the load itself runs off the loop,
	 * validations are answered meanwhile. */
	sd_notify(0, "RELOADING=1");
	notify_reload(&s->d);
	/* Forwarding destinations that are down: tried again now. */
	worker_rewarm(s->d.worker);
	sd_notify(0, "READY=1");
}

static int ocsp_start(struct daemon_state *s)
{
	if (http_server_start_plain(&s->ocsp, s->base,
				    (struct sockaddr *)&s->conf.ocsp_listen,
				    s->conf.ocsp_listen_len))
		return -1;
	evhttp_set_max_body_size(s->ocsp.http, 65536);
	ocsp_register(s->ocsp.http, &s->d);
	return 0;
}

static void teardown(struct daemon_state *s)
{
	notify_stop(&s->d); /* first: its last replies use the rest */
	api_stop(&s->d); /* likewise the acquires' */
	events_free(s->d.events);
	http_server_stop(&s->ocsp);
	http_server_stop(&s->srv);
	worker_stop(s->d.worker);
	daemon_signals_free(&s->sig);
	if (s->base)
		event_base_free(s->base);
	SSL_CTX_free(s->ctx);
	ocsp_exit(&s->d);
	notify_free(&s->d);
	path_cache_flush(&s->d.paths);
	crl_cache_free(&s->d.crls);
	X509_STORE_free(s->d.anchors);
	sk_X509_pop_free(s->d.intermediates, X509_free);
	sk_X509_pop_free(s->d.notifiers, X509_free);
	certd_conf_free(&s->conf);
}

/* --check-config: every configured CRL file must read and parse. */
static int check_crl_files(const struct certd_conf *c)
{
	STACK_OF(CERTD_CRL) *sk = sk_CERTD_CRL_new_null();
	size_t i;
	int bad = !sk;

	for (i = 0; sk && i < c->crls.n; i++)
		bad |= certio_load_crls(c->crls.v[i], sk) != 0;
	sk_CERTD_CRL_pop_free(sk, CERTD_CRL_free);
	return bad ? -1 : 0;
}

/*
 * Keep the session of a connection that completed its handshake however
 * it ends: libevent frees the SSL without SSL_shutdown() (a client's
 * close_notify, or our keep-alive timeout), and OpenSSL would then drop
 * the session from the cache as if the connection had failed (nginx
 * marks its closes the same way). A connection that failed is not in the
 * finished state and keeps OpenSSL's treatment. SSL_free() calls this
 * before it looks (ex_data go first).
 */
static void on_ssl_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
			long argl, void *argp)
{
	SSL *ssl = parent;

	(void)ptr;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (ssl && SSL_is_server(ssl) && SSL_is_init_finished(ssl))
		SSL_set_shutdown(ssl,
				 SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
}

/*
 * Resumption from the server's own session cache instead of tickets: a
 * ticket holds the client's certificate, which OpenSSL 3 decodes again on
 * every resumption (at a peer receiving a forwarded notification, the
 * largest cost after the notification itself). A session a handshake,
 * in a bounded cache: certd's clients are a few daemons and peers.
 */
static int tls_session_cache(SSL_CTX *ctx)
{
	static int idx = -1;

	if (idx < 0)
		idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, on_ssl_free);
	if (idx < 0)
		return -1;
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(ctx, CERTD_TLS_SESSIONS);
	return 0;
}

static int setup(struct daemon_state *s, const struct daemon_opts *o)
{
	if (certd_conf_load(o->config, &s->conf))
		return -1;
	s->d.conf = &s->conf;
	if (crl_cache_init(&s->d.crls))
		return -1;
	s->d.crls.stale_unknown = s->conf.stale_unknown;
	if (validate_init(&s->d) || ocsp_init(&s->d))
		return -1;
	s->ctx = tls_server_ctx(s->conf.cert, s->conf.key, s->conf.ca);
	if (!s->ctx)
		return -1;
	if (tls_session_cache(s->ctx))
		return -1;
	if (o->check_config)
		return check_crl_files(&s->conf);
	s->base = daemon_event_base();
	if (!s->base)
		return -1;
	s->d.base = s->base;
	s->d.events = events_new(s->base);
	if (!s->d.events)
		return -1;
	/* Before the loader thread starts: at once, on this thread. */
	notify_reload(&s->d);
	if (http_server_start(&s->srv, s->base, s->ctx,
			      (struct sockaddr *)&s->conf.listen,
			      s->conf.listen_len, &s->conf.limits) ||
	    api_register(s->srv.http, &s->d))
		return -1;
	/* Notifications may carry a CRL: more than http.c's JSON bodies. */
	evhttp_set_max_body_size(s->srv.http, s->conf.max_body);
	if (s->conf.ocsp_listen_len && ocsp_start(s))
		return -1;
	return daemon_signals_add(&s->sig, s->base, reload, s);
}

int main(int argc, char **argv)
{
	struct daemon_state s;
	struct worker_tls tls;
	struct daemon_opts o = { 0 };
	int ret = 1;

	memset(&s, 0, sizeof(s));
	if (daemon_parse_opts(&usage, argc, argv, &o))
		return 2;
	guise_log_init("guise-certd", o.verbosity);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	/* Fork first, as the other daemons do (detach.h). */
	if (!o.foreground && !o.check_config && daemon_detach_start()) {
		guise_err("cannot detach: %s", strerror(errno));
		goto out;
	}
	if (setup(&s, &o)) {
		if (o.check_config)
			fprintf(stderr, "%s: configuration NOT usable\n",
				o.config);
		goto out;
	}
	if (o.check_config) {
		printf("%s: configuration ok (%zu trust anchor files, %zu CRL "
		       "files, %zu OCSP signers)\n",
		       o.config, s.conf.anchors.n, s.conf.crls.n,
		       s.d.n_signers);
		ret = 0;
		goto out;
	}
	if (o.port_file &&
	    daemon_write_port_file(o.port_file,
				   (unsigned int[]){ s.srv.port, s.ocsp.port },
				   s.ocsp.port ? 2 : 1)) {
		guise_err("%s: cannot write: %s", o.port_file, strerror(errno));
		goto out;
	}
	/* After the fork: a thread does not survive it. */
	tls = (struct worker_tls){
		.cert = s.conf.client_cert,
		.key = s.conf.client_key,
		.ca = s.conf.client_ca,
		.timeout = s.conf.fetch_timeout,
		.keepalive = s.conf.keepalive,
		/* [network] prewarm: connected to ahead of notifications. */
		.warm = (const char *const *)s.conf.forward.v,
		.n_warm = s.conf.prewarm ? s.conf.forward.n : 0,
	};
	if (worker_start(&tls, &s.d.worker)) {
		guise_err("cannot start the forwarding thread");
		goto out;
	}
	if (loader_start(s.base, &s.d.loader)) {
		guise_err("cannot start the CRL loader thread");
		goto out;
	}
	guise_info("serving on port %u, OCSP on %u, %zu CRL issuers",
		   s.srv.port, s.ocsp.port, s.d.crls.n_issuers);
	sd_notifyf(0, "READY=1\nSTATUS=serving on port %u, OCSP on %u",
		   s.srv.port, s.ocsp.port);
	daemon_detach_ready(0);
	if (event_base_dispatch(s.base) < 0) {
		guise_err("event loop failed");
		goto out;
	}
	ret = 0;
out:
	teardown(&s);
	curl_global_cleanup();
	daemon_detach_ready(ret); /* a failed start: the parent exits with it */
	return ret;
}
