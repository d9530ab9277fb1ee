// SPDX-License-Identifier: GPL-2.0
/*
 * guise-crlwatch: the CRL issuance check software of a CA or a CRL
 * repository. Polls a directory (e.g. where `openssl ca -gencrl` writes)
 * or a URL, and when a CRL with a higher CRL number appears sends a
 * signed "CRL issued" notification to every subscriber.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/pem.h>

#include "cmdline.h"
#include "crlnote.h"
#include "crlwatch.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "tls.h"

static void usage(FILE *fp)
{
	fprintf(fp,
		"Usage: guise-crlwatch (-d DIR | -u URL) -I FILE -s CERT -k KEY [OPTIONS]\n"
		"Watch a CRL repository; notify subscribers of each new CRL.\n"
		"\n"
		"  -d, --dir DIR            watch the CRL files (*.crl, *.pem, *.der)\n"
		"  -u, --url URL            poll one CRL at URL (off the loop,\n"
		"                           conditional GET)\n"
		"      --url-ca FILE        the CA of URL's server (default: the\n"
		"                           system's trust store)\n"
		"  -I, --issuer FILE        trusted CRL issuer certificates (PEM,\n"
		"                           repeat): only CRLs they signed count\n"
		"  -b, --location-base URL  where DIR's files are published\n"
		"                           (default file://DIR/NAME; NAME\n"
		"                           percent-encoded)\n"
		"  -s, --sign-cert FILE     the notifier (or CA) certificate\n"
		"  -k, --sign-key FILE      its private key\n"
		"  -t, --to URL             a subscriber's /v1/notify (repeat)\n"
		"      --cert FILE --key FILE --ca FILE\n"
		"                           client TLS towards the subscribers\n"
		"      --keepalive SEC      keep each subscriber's connection open\n"
		"                           (default 300, as certd; 0: one per POST)\n"
		"      --no-prewarm         open it at the first notification, not\n"
		"                           at start and every keepalive/2\n"
		"  -l, --listen ADDR        accept POST /v1/subscribe and\n"
		"                           /v1/unsubscribe over mutual TLS\n"
		"      --server-cert FILE --server-key FILE --server-ca FILE\n"
		"      --subscribe-allow PREFIX\n"
		"                           subscriptions may name URLs under\n"
		"                           PREFIX only (repeat; default: https\n"
		"                           to the client's own SAN host)\n"
		"      --subscribe-limit N  subscriptions one client certificate\n"
		"                           may hold (default 16)\n"
		"  -p, --port-file FILE     write the bound subscribe port\n"
		"  -o, --save DIR           keep each notification sent as\n"
		"                           DIR/ISSUER-full|delta-NUMBER.cms\n"
		"      --state DIR          remember what was delivered (CRLs\n"
		"                           published while down are notified\n"
		"                           at start) and the subscriptions\n"
		"  -i, --interval SEC       poll period (default 1, fractions ok);\n"
		"                           with --dir also at once on a new file\n"
		"  -C, --carry              put the CRL into the notification\n"
		"  -S, --serials            list the newly revoked serials\n"
		"  -e, --notify-existing    notify the CRLs found at start too\n"
		"  -1, --once               one scan (notifying), then exit\n"
		"  -v, --verbose            more log messages\n"
		"  -h, --help               this help\n"
		"\n"
		"See guise-crlwatch(8) and Documentation/certd.rst.\n");
}

enum {
	OPT_CERT = 256,
	OPT_KEY,
	OPT_CA,
	OPT_SCERT,
	OPT_SKEY,
	OPT_SCA,
	OPT_KEEPALIVE,
	OPT_NO_PREWARM,
	OPT_STATE,
	OPT_URL_CA,
	OPT_ALLOW,
	OPT_SUB_LIMIT,
};

static int add_str(char ***list, size_t *n, const char *s)
{
	char **v = realloc(*list, (*n + 1) * sizeof(*v));

	if (!v)
		return -1;
	*list = v;
	v[(*n)++] = (char *)s;
	return 0;
}

static int add_issuer(struct watch_opts *o, const char *file)
{
	char **v = realloc(o->issuers, (o->n_issuers + 1) * sizeof(*v));

	if (!v)
		return -1;
	o->issuers = v;
	o->issuers[o->n_issuers++] = (char *)file;
	return 0;
}

static int parse_opts(int argc, char **argv, struct watch_opts *o,
		      enum guise_log_level *verbosity)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "url", required_argument, NULL, 'u' },
		{ "issuer", required_argument, NULL, 'I' },
		{ "location-base", required_argument, NULL, 'b' },
		{ "sign-cert", required_argument, NULL, 's' },
		{ "sign-key", required_argument, NULL, 'k' },
		{ "to", required_argument, NULL, 't' },
		{ "cert", required_argument, NULL, OPT_CERT },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "ca", required_argument, NULL, OPT_CA },
		{ "keepalive", required_argument, NULL, OPT_KEEPALIVE },
		{ "no-prewarm", no_argument, NULL, OPT_NO_PREWARM },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "url-ca", required_argument, NULL, OPT_URL_CA },
		{ "subscribe-allow", required_argument, NULL, OPT_ALLOW },
		{ "subscribe-limit", required_argument, NULL, OPT_SUB_LIMIT },
		{ "listen", required_argument, NULL, 'l' },
		{ "server-cert", required_argument, NULL, OPT_SCERT },
		{ "server-key", required_argument, NULL, OPT_SKEY },
		{ "server-ca", required_argument, NULL, OPT_SCA },
		{ "port-file", required_argument, NULL, 'p' },
		{ "save", required_argument, NULL, 'o' },
		{ "interval", required_argument, NULL, 'i' },
		{ "carry", no_argument, NULL, 'C' },
		{ "serials", no_argument, NULL, 'S' },
		{ "notify-existing", no_argument, NULL, 'e' },
		{ "once", no_argument, NULL, '1' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long ul;
	char *end;
	int c, err;

	o->interval = 1;
	o->keepalive = 300;
	o->prewarm = true;
	o->subscribe_limit = HOLDERS_PER_CLIENT;
	while ((c = getopt_long(argc, argv, "d:u:I:b:s:k:t:l:p:o:i:CSe1vh",
				longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o->dir = optarg;
			break;
		case 'u':
			o->url = optarg;
			break;
		case 'I':
			if (add_issuer(o, optarg))
				return -1;
			break;
		case 'b':
			o->location_base = optarg;
			break;
		case 's':
			o->sign_cert = optarg;
			break;
		case 'k':
			o->sign_key = optarg;
			break;
		case 't':
			if (add_str(&o->to, &o->n_to, optarg))
				return -1;
			break;
		case OPT_STATE:
			o->state = optarg;
			break;
		case OPT_URL_CA:
			o->url_ca = optarg;
			break;
		case OPT_ALLOW:
			err = urlpolicy_add(&o->allow, optarg);
			if (err == -EINVAL)
				fprintf(stderr,
					"guise-crlwatch: --subscribe-allow %s: "
					"expected an http(s) URL prefix "
					"without user, query or fragment\n",
					optarg);
			if (err)
				return -1;
			break;
		case OPT_SUB_LIMIT:
			errno = 0;
			ul = strtoul(optarg, &end, 10);
			if (errno || *end || optarg[0] == '-' || !ul ||
			    ul > 1024) {
				fprintf(stderr,
					"guise-crlwatch: --subscribe-limit: 1 to 1024\n");
				return -1;
			}
			o->subscribe_limit = (unsigned int)ul;
			break;
		case OPT_CERT:
			o->cert = optarg;
			break;
		case OPT_KEY:
			o->key = optarg;
			break;
		case OPT_CA:
			o->ca = optarg;
			break;
		case OPT_KEEPALIVE:
			errno = 0;
			ul = strtoul(optarg, &end, 10);
			if (errno || *end || optarg[0] == '-' || ul > 86400) {
				fprintf(stderr,
					"guise-crlwatch: --keepalive: 0 to 86400 seconds\n");
				return -1;
			}
			o->keepalive = (unsigned int)ul;
			break;
		case OPT_NO_PREWARM:
			o->prewarm = false;
			break;
		case 'l':
			o->listen = optarg;
			break;
		case OPT_SCERT:
			o->server_cert = optarg;
			break;
		case OPT_SKEY:
			o->server_key = optarg;
			break;
		case OPT_SCA:
			o->server_ca = optarg;
			break;
		case 'p':
			o->port_file = optarg;
			break;
		case 'o':
			o->save = optarg;
			break;
		case 'i':
			o->interval = strtod(optarg, &end);
			if (*end || !(o->interval >= 0.01) ||
			    o->interval > 86400) {
				fprintf(stderr,
					"guise-crlwatch: bad interval\n");
				return -1;
			}
			break;
		case 'C':
			o->carry = true;
			break;
		case 'S':
			o->serials = true;
			break;
		case 'e':
			o->notify_existing = true;
			break;
		case '1':
			o->once = true;
			break;
		case 'v':
			if (*verbosity < GUISE_LOG_DEBUG)
				(*verbosity)++;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc || !o->dir == !o->url || !o->n_issuers ||
	    !o->sign_cert || !o->sign_key ||
	    (o->listen &&
	     (!o->server_cert || !o->server_key || !o->server_ca))) {
		usage(stderr);
		return -1;
	}
	/* The URL is the notifications' location. */
	if (o->url && strlen(o->url) > CRLNOTE_MAX_URL) {
		guise_err("--url: longer than the %u bytes receivers take",
			  CRLNOTE_MAX_URL);
		return -1;
	}
	return 0;
}

/* The signing certificate and key into @cw (replacing any), or -1. */
static int load_signer(struct crlwatch *cw)
{
	BIO *bio = BIO_new_file(cw->o->sign_cert, "r");
	EVP_PKEY *key;
	X509 *cert;

	cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	bio = BIO_new_file(cw->o->sign_key, "r");
	key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (!cert || !key || X509_check_private_key(cert, key) != 1) {
		guise_err("%s / %s: cannot load the signing key",
			  cw->o->sign_cert, cw->o->sign_key);
		X509_free(cert);
		EVP_PKEY_free(key);
		return -1;
	}
	X509_free(cw->sign_cert);
	EVP_PKEY_free(cw->sign_key);
	cw->sign_cert = cert;
	cw->sign_key = key;
	return 0;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	watch_scan(arg, true);
}

/* The notifications a subscriber did not acknowledge: re-sent. */
static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	watch_retry(arg);
}

/* --url: the fetch thread brought a new body. */
static void on_fetched(void *arg)
{
	watch_scan(arg, true);
}

/*
 * Pre-warm: the connection to each subscriber is opened at start and at
 * subscription (cw->warm_ev, armed by watch_warm_arm(): on the next loop
 * iteration, after the answer to the subscription has gone; one not
 * reached is tried again on its backoff), and one idle for keepalive/2 s
 * gets a request (warm_tick, every keepalive/4 s), so a notification,
 * however rare, finds it open: no TCP or TLS handshake between a new CRL
 * and the first server (certd's "[network] prewarm" does the same along
 * its forwarding lists). The requests run on the loop (send.c).
 */
static struct event *warm_tick;

static void on_warm_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	watch_prewarm(arg, false);
}

static void on_warm_soon(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	watch_prewarm(arg, true);
}

/*
 * SIGHUP: the signing certificate and key again (the old ones stay if
 * the new do not load), new connections to the subscribers (they read
 * the client certificate, key and CA files anew), pre-warmed at once
 * whatever their backoff, and a scan.
 */
static void on_hup(void *arg)
{
	struct crlwatch *cw = arg;

	guise_info("SIGHUP: reloading the signing key and the issuers, "
		   "reconnecting");
	load_signer(cw);
	watch_load_issuers(cw);
	watch_disconnect(cw);
	watch_warm_arm(cw); /* all of them, at once */
	watch_scan(cw, true);
	watch_retry_arm(cw); /* what is pending: re-sent at once */
}

static void subscribe(struct evhttp_request *req, struct crlwatch *cw, bool add)
{
	char who[HOLDER_ID_MAX], *norm = NULL;
	const char *url, *why;
	json_t *body;
	int err;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		http_reply_error(req, 405, "method not allowed");
		return;
	}
	if (holders_caller(req, who, sizeof(who))) {
		http_reply_error(req, HTTP_FORBIDDEN,
				 "a verified client certificate is required");
		return;
	}
	body = http_json_body(req);
	if (!body)
		return;
	if (json_unpack(body, "{s:s}", "url", &url) ||
	    (strncmp(url, "https://", 8) && strncmp(url, "http://", 7)) ||
	    strlen(url) > 1024) {
		http_reply_error(req, HTTP_BADREQUEST,
				 "expected {\"url\": \"https://...\"}");
	} else if (!(norm = urlpolicy_normalize(url))) {
		http_reply_error(req, 503, "out of memory");
	} else if (add &&
		   watch_url_allowed(cw->o, norm, holders_peer(req), &why)) {
		/* Checked as it is kept and requested: one spelling of a
		 * URL is one subscription (and one unsubscribe matches it). */
		guise_info("subscribe %s: refused: %s", url, why);
		http_reply_error(req, HTTP_FORBIDDEN, why);
	} else {
		url = norm;
		err = watch_subscribe(cw, url, who, add);
		if (err == -EBUSY)
			err = 0; /* our hold let go; others keep it */
		if (err == -ENOENT)
			http_reply_error(req, HTTP_NOTFOUND, "not subscribed");
		else if (err == -EDQUOT)
			http_reply_json(
				req, 429,
				json_pack("{s:s, s:i}", "error",
					  "this client holds as many "
					  "subscriptions as it may "
					  "(--subscribe-limit)",
					  "limit",
					  (json_int_t)cw->o->subscribe_limit));
		else if (err == -EPERM)
			http_reply_error(req, HTTP_FORBIDDEN,
					 "subscribed by another client or "
					 "on the command line");
		else if (err)
			http_reply_error(req, 503, "cannot subscribe");
		else
			http_reply_json(req, HTTP_OK,
					json_pack("{s:s, s:b}", "url", url,
						  "subscribed", add));
		if (!err)
			watch_subs_save(cw);
		if (!err && add)
			watch_warm_arm(cw);
	}
	free(norm);
	json_decref(body);
}

static void subscribe_cb(struct evhttp_request *req, void *arg)
{
	subscribe(req, arg, true);
}

static void unsubscribe_cb(struct evhttp_request *req, void *arg)
{
	subscribe(req, arg, false);
}

/* --once: 0 if a CRL was found and notified to every subscriber, and
 * nothing failed; else 1, saying why. */
static int once_status(const struct crlwatch *cw, int scan)
{
	const struct watch_opts *o = cw->o;
	int ret = 0;

	if (scan) {
		guise_err("--once: %s could not be read",
			  o->dir ? o->dir : o->url);
		return 1;
	}
	if (cw->crls_rejected) {
		guise_err("--once: %" PRIu64
			  " CRL(s) not signed by an --issuer",
			  cw->crls_rejected);
		ret = 1;
	}
	if (!cw->crls_new && o->dir) {
		guise_err("--once: no CRL to notify in %s (%" PRIu64
			  " file(s) skipped)",
			  o->dir, cw->files_bad);
		ret = 1;
	} else if (!cw->crls_new) {
		guise_err("--once: no CRL to notify at %s", o->url);
		ret = 1;
	}
	if (cw->notify_errors || cw->notes_failed) {
		guise_err("--once: %" PRIu64 " of %" PRIu64
			  " CRL(s) not notified to every subscriber",
			  cw->notify_errors, cw->crls_new);
		ret = 1;
	}
	return ret;
}

int main(int argc, char **argv)
{
	enum guise_log_level verbosity = GUISE_LOG_WARN;
	struct daemon_signals sig = { 0 };
	struct event *tick = NULL, *dirw = NULL;
	struct http_server srv = { 0 };
	struct event_base *base = NULL;
	struct watch_opts o = { 0 };
	struct crlwatch cw = { 0 };
	struct sockaddr_storage ss;
	struct timeval tv;
	SSL_CTX *ctx = NULL;
	char *url;
	size_t i;
	int sslen, scan, err, ret = 1;
	bool notify;

	if (parse_opts(argc, argv, &o, &verbosity)) {
		free(o.to);
		free(o.issuers);
		urlpolicy_free(&o.allow);
		return 2;
	}
	guise_log_init("guise-crlwatch", verbosity);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	cw.o = &o;
	if (!getcwd(cw.cwd, sizeof(cw.cwd)))
		cw.cwd[0] = '\0';
	if (load_signer(&cw) || watch_load_issuers(&cw))
		goto out;
	for (i = 0; i < o.n_to; i++) {
		/* As subscriptions are kept: two spellings of one URL are
		 * one subscriber. */
		url = urlpolicy_normalize(o.to[i]);
		err = url ? watch_subscribe(&cw, url, NULL, true) : -ENOMEM;
		free(url);
		if (err)
			goto out;
	}
	if (o.state && watch_state_load(&cw))
		goto out;
	watch_subs_load(&cw); /* what --listen was asked before a restart */
	if (o.url && !(cw.fetch = urlfetch_new(&o)))
		goto out;
	/* The notifications are POSTed on the loop, from the first scan on
	 * (--once runs it until they are over). */
	base = cw.base = daemon_event_base();
	if (!base)
		goto out;
	/* With --state after a first run, what was published meanwhile. */
	notify = o.notify_existing || o.once || cw.state_started;
	scan = watch_scan(&cw, notify);
	watch_state_started(&cw, notify);
	if (o.once) {
		watch_send_wait(&cw);
		ret = once_status(&cw, scan);
		goto out;
	}
	if (o.listen) {
		if (http_parse_listen(o.listen, &ss, &sslen)) {
			guise_err("--listen %s: expected [v6]:port or v4:port",
				  o.listen);
			goto out;
		}
		ctx = tls_server_ctx(o.server_cert, o.server_key, o.server_ca);
		if (!ctx ||
		    http_server_start(&srv, base, ctx, (struct sockaddr *)&ss,
				      sslen, NULL) ||
		    evhttp_set_cb(srv.http, "/v1/subscribe", subscribe_cb,
				  &cw) ||
		    evhttp_set_cb(srv.http, "/v1/unsubscribe", unsubscribe_cb,
				  &cw))
			goto out;
		if (o.port_file &&
		    daemon_write_port_file(o.port_file,
					   (unsigned int[]){ srv.port }, 1)) {
			guise_err("%s: cannot write", o.port_file);
			goto out;
		}
	}
	tv.tv_sec = (time_t)o.interval;
	tv.tv_usec = (suseconds_t)((o.interval - floor(o.interval)) * 1e6);
	tick = event_new(base, -1, EV_PERSIST, on_tick, &cw);
	cw.retry_ev = evtimer_new(base, on_retry, &cw);
	if (!tick || !cw.retry_ev || evtimer_add(tick, &tv) ||
	    daemon_signals_add(&sig, base, on_hup, &cw))
		goto out;
	watch_retry_arm(&cw); /* what the start scan could not deliver */
	if (cw.fetch && urlfetch_start(cw.fetch, base, on_fetched, &cw))
		goto out;
	if (o.prewarm && o.keepalive) {
		tv.tv_sec = o.keepalive >= 4 ? o.keepalive / 4 : 1;
		tv.tv_usec = 0;
		warm_tick = event_new(base, -1, EV_PERSIST, on_warm_tick, &cw);
		cw.warm_ev = evtimer_new(base, on_warm_soon, &cw);
		if (!warm_tick || !cw.warm_ev || evtimer_add(warm_tick, &tv))
			goto out;
		watch_warm_arm(&cw);
	}
	if (o.dir)
		dirw = dirwatch_start(base, &cw, o.dir);
	guise_info("watching %s every %.3f s for %zu subscribers%s",
		   o.dir ? o.dir : o.url, o.interval, cw.n_subs,
		   o.url ? " (off the loop)" : "");
	ret = event_base_dispatch(base) < 0;
out:
	urlfetch_free(cw.fetch); /* its thread, before the loop goes */
	cw.fetch = NULL;
	dirwatch_stop(dirw);
	if (warm_tick)
		event_free(warm_tick);
	if (cw.warm_ev)
		event_free(cw.warm_ev);
	cw.warm_ev = NULL;
	if (tick)
		event_free(tick);
	if (cw.retry_ev)
		event_free(cw.retry_ev);
	cw.retry_ev = NULL;
	daemon_signals_free(&sig);
	http_server_stop(&srv);
	/* The requests under way and their events, before the loop goes. */
	watch_send_free(&cw);
	if (base)
		event_base_free(base);
	cw.base = NULL;
	SSL_CTX_free(ctx);
	watch_free(&cw);
	free(o.to);
	free(o.issuers);
	urlpolicy_free(&o.allow);
	curl_global_cleanup();
	return ret;
}
