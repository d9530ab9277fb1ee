// SPDX-License-Identifier: GPL-2.0
/*
 * guise-keyd operations on loopback, the real daemons (ASan builds) with
 * real mutual TLS (PKI from keyd_certs.sh) and [kernel] sync = off:
 * --check-config on good and bad files, sd_notify (a NOTIFY_SOCKET of
 * our own), GET /v1/metrics (who may read it, counters that move), and
 * SIGHUP: a renewed server certificate is served to new connections,
 * the [control] cap changes, settings bound at start are kept, and
 * entitlements and the client's keys survive; a bad configuration on
 * SIGHUP is refused and the daemon keeps serving the running one.
 * Without --foreground, the server's writes stay durable while another
 * process opens and closes its live database (the fork comes before the
 * store opens: detach.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sqlite3.h>

#ifndef DAEMON_BIN
#define DAEMON_BIN "../build/asan/guise-keyd"
#endif
#include "daemon_test.h"
#ifndef GUISE_BIN
#define GUISE_BIN "../build/asan/guise"
#endif
#ifndef TESTS_DIR
#define TESTS_DIR "tests"
#endif

static unsigned int ctl_port;
static int notify_fd = -1;
static char notified[8192]; /* every sd_notify message so far */

/* guise-keyd --check-config --config DIR/NAME.conf; its output in @out. */
static int check_config(const char *name, char *out, size_t size)
{
	char conf[512];
	char *argv[] = { DAEMON_BIN, "--check-config", "--config", conf, NULL };

	path(conf, sizeof(conf), name, ".conf");
	return run_capture(argv, out, size, true);
}

/* The server configuration, with @cert/@key (server, server2, ...),
 * the cap @kbps, the control port @port and @extra lines at the end. */
static int write_server(const char *name, const char *cert, const char *key,
			unsigned int kbps, unsigned int port, const char *extra)
{
	char buf[4096];

	snprintf(buf, sizeof(buf),
		 "[keyd]\nrole = server\n\n[server]\nlisten = [::1]:0\n"
		 "cert = %s/%s.crt\nkey = %s/%s.key\nca = %s/ca.crt\n"
		 "db = %s/server.db\nsecret_file = %s/server.secret\n\n"
		 "[control]\nport = %u\nunicast = ::1\nrefresh = 1s\n"
		 "demm_lifetime = 3s\nswitch_delay = 1s\nmax_kbps = %u\n\n"
		 "[kernel]\nsync = off\n%s",
		 dir, cert, dir, key, dir, dir, dir, port, kbps,
		 extra ? extra : "");
	return write_file(name, ".conf", buf);
}

static int write_client(const char *name, const char *pass, const char *extra)
{
	char buf[2048];

	snprintf(buf, sizeof(buf),
		 "[keyd]\nrole = client\n\n[control]\nport = %u\n"
		 "refresh = 1s\ndemm_lifetime = 3s\n\n[kernel]\nsync = off\n\n"
		 "[client]\nkey_file = %s/h1.km\npass_file = %s/%s\n"
		 "state = %s/h1.state\nsocket = %s/h1.sock\n%s",
		 ctl_port, dir, dir, pass, dir, dir, extra ? extra : "");
	return write_file(name, ".conf", buf);
}

/* Our NOTIFY_SOCKET: a datagram socket the daemons' sd_notify writes to. */
static bool notify_open(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	path(sun.sun_path, sizeof(sun.sun_path), "notify", ".sock");
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return notify_fd >= 0 &&
	       !bind(notify_fd, (struct sockaddr *)&sun, sizeof(sun)) &&
	       !setenv("NOTIFY_SOCKET", sun.sun_path, 1);
}

/* Wait up to @ms for the @n-th sd_notify message containing @what. */
static bool notify_wait(const char *what, int n, int ms)
{
	char msg[1024];
	ssize_t len;
	int i, seen;
	const char *p;

	for (i = 0; i <= ms / 50; i++) {
		while ((len = recv(notify_fd, msg, sizeof(msg) - 1,
				   MSG_DONTWAIT)) > 0) {
			msg[len] = '\0';
			if (strlen(notified) + (size_t)len + 2 <
			    sizeof(notified)) {
				strcat(notified, msg);
				strcat(notified, "\n");
			}
		}
		for (seen = 0, p = notified; (p = strstr(p, what)); p++)
			seen++;
		if (seen >= n)
			return true;
		usleep(50 * 1000);
	}
	return false;
}

/* Start DIR/NAME.conf with -v, stderr into DIR/NAME.log; wait for the
 * port file (server) or the socket (client). */
/* How many times DIR/NAME.log holds @needle. */
static int log_count(const char *name, const char *needle)
{
	static char buf[1 << 20];
	char p[512];
	const char *q;
	size_t n;
	FILE *fp;
	int count = 0;

	path(p, sizeof(p), name, ".log");
	fp = fopen(p, "r");
	if (!fp)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	for (q = buf; (q = strstr(q, needle)); q++)
		count++;
	return count;
}

/* Wait up to @ms for DIR/NAME.log to hold @needle @n times. */
static bool log_wait(const char *name, const char *needle, int n, int ms)
{
	int i;

	for (i = 0; i <= ms / 50; i++) {
		if (log_count(name, needle) >= n)
			return true;
		usleep(50 * 1000);
	}
	return false;
}

/* POST as admin; the status code. */
static long admin_post(const struct daemon *d, const char *api,
		       const char *body)
{
	struct resp r;

	request(d, "admin", api, body, &r);
	resp_free(&r);
	return r.code;
}

/* One metric of @d read now by @who (-1 if it cannot be read). */
static double metric_now(const struct daemon *d, const char *who,
			 const char *name)
{
	struct resp r;
	double v;

	request(d, who, "/v1/metrics", NULL, &r);
	v = r.code == 200 ? metric(&r, name) : -1;
	resp_free(&r);
	return v;
}

/* Wait up to @ms for @name to exceed @than. */
static bool metric_above(const struct daemon *d, const char *name, double than,
			 int ms)
{
	int i;

	for (i = 0; i <= ms / 100; i++) {
		if (metric_now(d, "operator", name) > than)
			return true;
		usleep(100 * 1000);
	}
	return false;
}

/*
 * The commonName of the certificate @d's TLS port presents to a new
 * connection (as admin, verified against the test CA) into @cn.
 */
static bool server_cn(const struct daemon *d, char *cn, size_t size)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
				   .sin6_port = htons((uint16_t)d->port),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	char ca[512], cert[512], key[512];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = NULL;
	X509 *peer;
	bool ok = false;
	int fd = -1;

	cn[0] = '\0';
	path(ca, sizeof(ca), "ca", ".crt");
	path(cert, sizeof(cert), "admin", ".crt");
	path(key, sizeof(key), "admin", ".key");
	if (!ctx || SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1 ||
	    SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		goto out;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto out;
	ssl = SSL_new(ctx);
	if (!ssl || !SSL_set_fd(ssl, fd) || SSL_connect(ssl) != 1)
		goto out;
	peer = SSL_get0_peer_certificate(ssl);
	ok = peer &&
	     X509_NAME_get_text_by_NID(X509_get_subject_name(peer),
				       NID_commonName, cn, (int)size) > 0;
	SSL_shutdown(ssl);
out:
	SSL_free(ssl);
	if (fd >= 0)
		close(fd);
	SSL_CTX_free(ctx);
	return ok;
}

/* Wait up to @ms for new connections to see the certificate @want. */
static bool cn_becomes(const struct daemon *d, const char *want, int ms)
{
	char cn[128];
	int i;

	for (i = 0; i <= ms / 100; i++) {
		if (server_cn(d, cn, sizeof(cn)) && !strcmp(cn, want))
			return true;
		usleep(100 * 1000);
	}
	return false;
}

/* The client's live keys and one of its counters (-1: no status). */
static long long client_status(const struct daemon *h, const char *counter,
			       size_t *nkeys)
{
	struct resp r;
	long long v = -1;

	*nkeys = 0;
	request(h, "unix:h1", "/v1/status", NULL, &r);
	if (r.code == 200 && r.json) {
		*nkeys = json_array_size(json_object_get(r.json, "keys"));
		v = (long long)json_integer_value(json_object_get(
			json_object_get(r.json, "counters"), counter));
	}
	resp_free(&r);
	return v;
}

static bool client_keyed(const struct daemon *h, int ms)
{
	size_t n;
	int i;

	for (i = 0; i <= ms / 100; i++) {
		if (client_status(h, "demms", &n) >= 1 && n >= 1)
			return true;
		usleep(100 * 1000);
	}
	return false;
}

/* Is @client entitled to @channel, as GET /v1/clients says? */
static bool entitled(const struct daemon *d, const char *client, int channel)
{
	struct resp r;
	json_t *c, *ch;
	size_t i, j;
	bool found = false;

	request(d, "operator", "/v1/clients", NULL, &r);
	json_array_foreach(r.json, i, c) {
		if (strcmp(json_string_value(json_object_get(c, "id")) ?: "",
			   client))
			continue;
		json_array_foreach(json_object_get(c, "channels"), j, ch)
			found |= json_integer_value(ch) == channel;
	}
	resp_free(&r);
	return found;
}

static void test_check_config(void)
{
	char out[8192], p[512];

	tap_ok(check_config("server", out, sizeof(out)) == 0 &&
		       strstr(out, "server.conf: configuration ok (server "
				   "role, roles file none)"),
	       "--check-config: a good server configuration is ok");
	path(p, sizeof(p), "server", ".db");
	tap_ok(access(p, F_OK) && errno == ENOENT,
	       "--check-config creates no store");
	write_file("bad", ".conf", "[keyd]\nrole = server\n[server\n");
	tap_ok(check_config("bad", out, sizeof(out)) == 1 &&
		       strstr(out, "configuration NOT usable") &&
		       strstr(out, "syntax error"),
	       "--check-config: a syntax error is NOT usable (exit 1)");
	write_server("bad", "server", "server", 16, ctl_port,
		     "\n[control]\nbogus = 1\n");
	tap_ok(check_config("bad", out, sizeof(out)) == 1 &&
		       strstr(out, "unknown setting [control] bogus"),
	       "--check-config: an unknown setting is NOT usable");
	write_server("bad", "missing", "server", 16, ctl_port, NULL);
	tap_ok(check_config("bad", out, sizeof(out)) == 1 &&
		       strstr(out, "missing.crt") &&
		       strstr(out, "configuration NOT usable"),
	       "--check-config: a missing certificate is NOT usable");
	write_server("bad", "server", "admin", 16, ctl_port, NULL);
	tap_ok(check_config("bad", out, sizeof(out)) == 1 &&
		       strstr(out, "admin.key") && strstr(out, "mismatch"),
	       "--check-config: a key that is not the certificate's fails");
	write_file("badroles", "", "[2001:db8::1]\nroles = wizard\n");
	snprintf(out, sizeof(out), "\n[roles]\nfile = %s/badroles\n", dir);
	write_server("bad", "server", "server", 16, ctl_port, out);
	tap_ok(check_config("bad", out, sizeof(out)) == 1 &&
		       strstr(out, "badroles"),
	       "--check-config: a bad roles file fails");
	write_file("roles", "", "[2001:db8::1]\nroles = operator\n");
	snprintf(out, sizeof(out), "\n[roles]\nfile = %s/roles\n", dir);
	write_server("good", "server", "server", 16, ctl_port, out);
	tap_ok(check_config("good", out, sizeof(out)) == 0 &&
		       strstr(out, "/roles)"),
	       "--check-config: a good roles file is named in the verdict");
	path(p, sizeof(p), "server", ".secret");
	unlink(p);
	tap_ok(check_config("server", out, sizeof(out)) == 1 &&
		       strstr(out, "secret_file"),
	       "--check-config: an unreadable secret_file fails");
	write_file("server", ".secret", "store secret\n");
	tap_ok(check_config("h1", out, sizeof(out)) == 1 &&
		       strstr(out, "run guise enroll first"),
	       "--check-config: a client without its key file fails");
}

/* Enrol host1 with the CLI: DIR/h1.km sealed with DIR/pass. */
static bool enroll(const struct daemon *srv)
{
	char url[64], cert[512], key[512], ca[512], km[512], pass[512],
		out[4096];
	char *argv[] = { GUISE_BIN,	"enroll", "--out",	  km,
			 "--pass-file", pass,	  "--iterations", "10000",
			 "--server",	url,	  "--cert",	  cert,
			 "--key",	key,	  "--ca",	  ca,
			 NULL };

	snprintf(url, sizeof(url), "https://[::1]:%u", srv->port);
	path(cert, sizeof(cert), "host1", ".crt");
	path(key, sizeof(key), "host1", ".key");
	path(ca, sizeof(ca), "ca", ".crt");
	path(km, sizeof(km), "h1", ".km");
	path(pass, sizeof(pass), "pass", "");
	return run_capture(argv, out, sizeof(out), true) == 0;
}

static void test_metrics(const struct daemon *srv)
{
	const char *c403 = "guise_keyd_api_requests_total{code=\"403\"}";
	const char *c404 = "guise_keyd_api_requests_total{code=\"404\"}";
	double demms, revs, kcs, denied;
	struct resp r;

	request(srv, "operator", "/v1/metrics", NULL, &r);
	tap_ok(r.code == 200 && metric(&r, "guise_keyd_clients") == 2 &&
		       metric(&r, "guise_keyd_channels") == 1 &&
		       metric(&r, "guise_keyd_contents") == 1 &&
		       strstr(r.body, "# TYPE guise_keyd_demms_sent_total "
				      "counter"),
	       "operator reads /v1/metrics: 2 clients, 1 channel, 1 content "
	       "(%ld)",
	       r.code);
	tap_ok(metric(&r, "guise_keyd_cap_bytes_per_second") == 2000,
	       "metrics: the cap is min(16 kbit/s, 5%% of 2000 kbit/s) = "
	       "2000 B/s");
	demms = metric(&r, "guise_keyd_demms_sent_total");
	revs = metric(&r, "guise_keyd_revocations_total");
	kcs = metric(&r, "guise_keyd_kc_rotations_total");
	denied = metric(&r, c403);
	resp_free(&r);
	request(srv, "host1", "/v1/metrics", NULL, &r);
	tap_ok(r.code == 403, "a subscriber gets 403 for /v1/metrics (%ld)",
	       r.code);
	resp_free(&r);
	request(srv, "admin", "/v1/metrics", NULL, &r);
	tap_ok(r.code == 200 && metric(&r, "guise_keyd_clients") == 2,
	       "admin reads /v1/metrics (%ld)", r.code);
	resp_free(&r);
	tap_ok(metric_now(srv, "operator", c403) ==
		       (denied < 0 ? 1 : denied + 1),
	       "the 403 is counted by code");
	request(srv, "operator", "/v1/no-such-thing", NULL, &r);
	resp_free(&r);
	tap_ok(r.code == 404 && metric_now(srv, "operator", c404) == 1,
	       "an unknown path: 404, counted");
	tap_ok(metric_above(srv, "guise_keyd_demms_sent_total", demms, 5000) &&
		       metric_now(srv, "operator",
				  "guise_keyd_control_bytes_sent_total") > 0 &&
		       metric_now(srv, "operator",
				  "guise_keyd_announces_sent_total") > 0,
	       "DEMMs, announcements and control bytes sent go up");
	tap_ok(admin_post(srv, "/v1/revoke",
			  "{\"client\":\"h2\",\"channel\":1}") == 200 &&
		       metric_now(srv, "operator",
				  "guise_keyd_revocations_total") == revs + 1 &&
		       metric_above(srv, "guise_keyd_kc_rotations_total", kcs,
				    5000),
	       "a revocation: revocations_total + 1, Kc rotated");
	tap_ok(metric_now(srv, "operator", "guise_keyd_certd_events_total") ==
			       0 &&
		       metric_now(srv, "operator",
				  "guise_keyd_deferred_total") >= 0 &&
		       metric_now(srv, "operator",
				  "guise_keyd_api_errors_total") >= 2,
	       "certd events (none without certd), deferrals and API errors "
	       "are exported");
}

static void test_client_metrics(const struct daemon *h1)
{
	struct resp r;

	request(h1, "unix:h1", "/v1/metrics", NULL, &r);
	tap_ok(r.code == 200 &&
		       metric(&r, "guise_keyd_client_demms_total") >= 1 &&
		       metric(&r, "guise_keyd_client_announces_total") >= 1 &&
		       metric(&r, "guise_keyd_client_keys") >= 1 &&
		       metric(&r, "guise_keyd_client_forged_total") == 0,
	       "client role: /v1/metrics on the local socket (%ld)", r.code);
	resp_free(&r);
}

/* A good SIGHUP: new certificate, new cap, a start-bound port kept. */
static void test_reload(struct daemon *srv, const struct daemon *h1)
{
	double demms =
		metric_now(srv, "operator", "guise_keyd_demms_sent_total");
	long long flushes, lapses;
	struct resp r;
	size_t nkeys;
	char cn[128];

	tap_ok(server_cn(srv, cn, sizeof(cn)) && !strcmp(cn, "server"),
	       "before SIGHUP the server presents CN=server (%s)", cn);
	flushes = client_status(h1, "flushes", &nkeys);
	lapses = client_status(h1, "lapses", &nkeys);
	write_server("server", "server2", "server2", 24, ctl_port + 1, NULL);
	kill(srv->pid, SIGHUP);
	tap_ok(notify_wait("RELOADING=1", 1, 10000) &&
		       notify_wait("READY=1", 2, 10000),
	       "sd_notify: RELOADING=1 then READY=1");
	tap_ok(cn_becomes(srv, "server2", 10000),
	       "after SIGHUP new connections see the new certificate");
	tap_ok(daemon_alive(srv) && entitled(srv, "h1", 1),
	       "the entitlement survives the reload");
	tap_ok(metric_now(srv, "operator", "guise_keyd_cap_bytes_per_second") ==
		       3000,
	       "[control] max_kbps reloaded: the cap is 3000 B/s");
	tap_ok(metric_now(srv, "operator", "guise_keyd_demms_sent_total") >=
		       demms,
	       "counters are not reset by a reload");
	request(srv, "host1", "/v1/enroll", "{}", &r);
	tap_ok(r.code == 200 && json_integer_value(json_object_get(
					r.json, "control_port")) == ctl_port,
	       "[control] port needs a restart: still %u", ctl_port);
	resp_free(&r);
	tap_ok(log_count("server", "need a restart; kept") >= 1,
	       "the ignored change is logged");
	sleep(4); /* longer than demm_lifetime: DEMMs must keep coming */
	tap_ok(client_status(h1, "flushes", &nkeys) == flushes &&
		       client_status(h1, "lapses", &nkeys) == lapses &&
		       nkeys >= 1,
	       "the client kept its key across the server's reload");
}

/* Bad configurations on SIGHUP: refused, the running one serves on. */
static void test_bad_reload(struct daemon *srv)
{
	const char *line = "reload failed: keeping the running configuration";
	char text[512];
	int n = log_count("server", line);

	write_file("server", ".conf", "[keyd]\nrole = server\n[server\n");
	kill(srv->pid, SIGHUP);
	tap_ok(log_wait("server", line, n + 1, 10000),
	       "a syntax error on SIGHUP: \"%s\"", line);
	tap_ok(daemon_alive(srv) &&
		       metric_now(srv, "operator", "guise_keyd_clients") == 2 &&
		       cn_becomes(srv, "server2", 100) &&
		       entitled(srv, "h1", 1),
	       "... the daemon keeps serving the running configuration");
	write_server("server", "server", "server2", 16, ctl_port, NULL);
	kill(srv->pid, SIGHUP);
	tap_ok(log_wait("server", line, n + 2, 10000) &&
		       log_wait("server", "server2.key", 1, 100),
	       "a key that does not match the new certificate is refused");
	tap_ok(daemon_alive(srv) && cn_becomes(srv, "server2", 100) &&
		       metric_now(srv, "operator",
				  "guise_keyd_cap_bytes_per_second") == 3000,
	       "... the running certificate and cap stay");
	snprintf(text, sizeof(text),
		 "[keyd]\nrole = client\n\n[client]\nkey_file = %s/h1.km\n"
		 "state = %s/x.state\n",
		 dir, dir);
	write_file("server", ".conf", text);
	kill(srv->pid, SIGHUP);
	tap_ok(log_wait("server", line, n + 3, 10000) &&
		       log_count("server", "role changes need a restart") ==
			       1 &&
		       daemon_alive(srv),
	       "a role change on SIGHUP is refused");
	write_server("server", "server", "server", 16, ctl_port, NULL);
	kill(srv->pid, SIGHUP);
	tap_ok(cn_becomes(srv, "server", 10000) &&
		       metric_now(srv, "operator",
				  "guise_keyd_cap_bytes_per_second") == 2000,
	       "a good configuration after failures is taken again");
}

static void test_client_reload(struct daemon *h1)
{
	const char *line = "reload failed: keeping the running configuration";
	size_t nkeys;

	write_client("h1", "pass", "groups = ff3e::1\n");
	kill(h1->pid, SIGHUP);
	tap_ok(log_wait("h1", "reloaded", 1, 10000) &&
		       log_count("h1", "need a restart; kept") == 1 &&
		       client_keyed(h1, 100),
	       "client SIGHUP: reloaded, [client] groups kept, keys kept");
	write_file("h1", ".conf", "[keyd]\nrole = client\n[client]\n");
	kill(h1->pid, SIGHUP);
	tap_ok(log_wait("h1", line, 1, 10000) && daemon_alive(h1) &&
		       client_status(h1, "demms", &nkeys) >= 1 && nkeys >= 1,
	       "client: a bad configuration on SIGHUP is refused, it serves "
	       "on");
	write_client("h1", "pass", NULL);
}

/* @sql on DIR/server.db from this process, then closed: one integer, or
 * -1. The close of what SQLite takes for the last connection checkpoints
 * and deletes the WAL unless the daemon holds its locks. */
static long long server_db(const char *sql)
{
	char db[512];
	sqlite3_stmt *st;
	long long v = -1;
	sqlite3 *sq;

	path(db, sizeof(db), "server", ".db");
	if (sqlite3_open_v2(db, &sq, SQLITE_OPEN_READWRITE, NULL) ==
		    SQLITE_OK &&
	    sqlite3_prepare_v2(sq, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(sq);
	return v;
}

/* The server detached; a client added, the database opened and closed
 * by this process, another client added; kill -9: both are stored. */
static void test_detached(struct daemon *srv)
{
	long long before;
	bool ok;
	int st;

	ok = daemon_start_detached(srv, &st);
	tap_ok(ok,
	       "server without --foreground: the command exits %d once "
	       "it serves",
	       st);
	before = server_db("SELECT count(*) FROM clients;");
	tap_ok(admin_post(srv, "/v1/clients/add",
			  "{\"id\":\"h3\",\"address\":\"2001:db8:1::12\"}") ==
			       200 &&
		       server_db("SELECT count(*) FROM clients;") == before + 1,
	       "a client added; another process opens and closes the store");
	tap_ok(admin_post(srv, "/v1/clients/add",
			  "{\"id\":\"h4\",\"address\":\"2001:db8:1::13\"}") ==
		       200,
	       "another client added");
	daemon_stop(srv, SIGKILL);
	tap_ok(server_db("SELECT count(*) FROM clients;") == before + 2,
	       "after kill -9: both clients are in the store");
}

static bool setup(void)
{
	char cmd[1024];

	if (!test_dir_make("keyd-ops") || curl_global_init(CURL_GLOBAL_DEFAULT))
		return false;
	ctl_port = 20000 + (unsigned int)getpid() % 20000;
	snprintf(cmd, sizeof(cmd), "sh %s/keyd_certs.sh %s", TESTS_DIR, dir);
	return system(cmd) == 0 &&
	       !write_server("server", "server", "server", 16, ctl_port,
			     NULL) &&
	       !write_file("server", ".secret", "store secret\n") &&
	       !write_client("h1", "pass", NULL) &&
	       !write_file("pass", "", "correct horse battery staple\n") &&
	       !write_file("wrongpass", "", "not the passphrase\n") &&
	       notify_open();
}

/* The model: clients h1, h2, channel 1 (2000 kbit/s), content 10. */
static bool populate(const struct daemon *srv)
{
	return admin_post(srv, "/v1/clients/add",
			  "{\"id\":\"h1\",\"address\":\"2001:db8:1::10\"}") ==
		       200 &&
	       admin_post(srv, "/v1/clients/add",
			  "{\"id\":\"h2\",\"address\":\"2001:db8:1::11\"}") ==
		       200 &&
	       admin_post(srv, "/v1/channels/add",
			  "{\"id\":1,\"group\":\"ff3e::4242\",\"port\":5000,"
			  "\"bandwidth_kbps\":2000}") == 200 &&
	       admin_post(srv, "/v1/contents/add",
			  "{\"id\":10,\"channel\":1,\"ks_period\":3600}") ==
		       200 &&
	       admin_post(srv, "/v1/entitle",
			  "{\"client\":\"h1\",\"channel\":1}") == 200 &&
	       admin_post(srv, "/v1/entitle",
			  "{\"client\":\"h2\",\"channel\":1}") == 200;
}

int main(void)
{
	struct daemon srv = { .name = "server", .log = true },
		      h1 = { .name = "h1",
			     .log = true,
			     .wait_socket = true,
			     .no_notify = true };
	char out[8192];

	tap_start();
	signal(SIGPIPE, SIG_IGN);
	if (!tap_ok(setup(), "test PKI, configurations, notify socket"))
		goto out;
	test_check_config();
	if (!tap_ok(daemon_start(&srv), "server starts"))
		goto out;
	tap_ok(notify_wait("READY=1", 1, 10000), "sd_notify: READY=1");
	if (!tap_ok(populate(&srv), "admin adds clients, channel, content, "
				    "entitlements"))
		goto out;
	test_metrics(&srv);
	tap_ok(enroll(&srv) && check_config("h1", out, sizeof(out)) == 0 &&
		       strstr(out, "configuration ok (client role, key file"),
	       "enrolled: --check-config of the client is ok");
	write_client("h1bad", "wrongpass", NULL);
	tap_ok(check_config("h1bad", out, sizeof(out)) == 1 &&
		       strstr(out, "wrong passphrase"),
	       "--check-config: a key file that does not open fails");
	if (!tap_ok(daemon_start(&h1) && client_keyed(&h1, 15000),
		    "client h1 starts and holds a key"))
		goto out;
	test_client_metrics(&h1);
	test_reload(&srv, &h1);
	test_bad_reload(&srv);
	test_client_reload(&h1);
	tap_ok(daemon_stop(&h1, SIGTERM) == 0, "client stops cleanly");
	tap_ok(daemon_stop(&srv, SIGTERM) == 0 &&
		       notify_wait("STOPPING=1", 1, 5000),
	       "server stops cleanly after STOPPING=1");
	test_detached(&srv);
out:
	daemon_stop(&h1, SIGTERM);
	daemon_stop(&srv, SIGTERM);
	if (notify_fd >= 0)
		close(notify_fd);
	curl_global_cleanup();
	test_dir_remove();
	return tap_done();
}
