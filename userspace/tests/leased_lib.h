/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the guise-leased host tests (leased_*.c): a test directory
 * with a PKI from leased_certs.sh, the daemon (the ASan build) started
 * and stopped, and libcurl requests as one of the test certificates
 * ("host1", "operator", ...) or over the UNIX socket ("unix:PATH").
 */
#ifndef LEASED_LIB_H
#define LEASED_LIB_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <jansson.h>
#include <sqlite3.h>

#include "tap.h"

#ifndef DAEMON_BIN
#define DAEMON_BIN "../build/asan/guise-leased"
#endif
#ifndef TESTS_DIR
#define TESTS_DIR "tests"
#endif
#define LEASED_CERTS_SH TESTS_DIR "/leased_certs.sh"

#define HOST1 "2001:db8:1::10"
#define HOST2 "2001:db8:1::11"
#define PEER "2001:db8:3::20"
#define POOL "2001:db8:ff::/48"

static char dir[] = "/tmp/guise-leased-test.XXXXXX";

struct daemon {
	const char *name; /* config and files: DIR/NAME.* */
	pid_t pid;
	unsigned int port;
	rlim_t fsize; /* >0: RLIMIT_FSIZE of the daemon (a disk that fills) */
};

struct resp {
	CURLcode rc;
	long code;
	char body[16384];
	size_t len;
	json_t *json; /* the body parsed, NULL if it is not JSON */
};

static inline void path(char *buf, size_t size, const char *name,
			const char *ext)
{
	snprintf(buf, size, "%s/%s%s", dir, name, ext);
}

static inline int run(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static inline int write_config(const char *name, const char *pool,
			       unsigned int max_per_client, const char *extra)
{
	char conf[512], db[512];
	FILE *fp;

	path(conf, sizeof(conf), name, ".conf");
	path(db, sizeof(db), name, ".db");
	fp = fopen(conf, "w");
	if (!fp)
		return -1;
	fprintf(fp,
		"# guise-leased test configuration\n"
		"[server]\nlisten = [::1]:0\ncert = %s/server.crt\n"
		"key = %s/server.key\nca = %s/ca.crt\ndb = %s\n\n"
		"[pool]\nprefix = %s\ndefault_lifetime = 1h\n"
		"max_lifetime = 1d\nmax_per_client = %u\n\n"
		"[kernel]\nsync = off\n\n[gateway]\nenabled = off\n",
		dir, dir, dir, db, pool, max_per_client);
	if (extra)
		fprintf(fp, "\n%s\n", extra);
	return fclose(fp);
}

static inline bool daemon_start(struct daemon *d)
{
	char conf[512], portf[512], buf[32];
	unsigned int i;
	FILE *fp;

	path(conf, sizeof(conf), d->name, ".conf");
	path(portf, sizeof(portf), d->name, ".port");
	unlink(portf);
	d->pid = fork();
	if (d->pid < 0)
		return false;
	if (d->pid == 0) {
		/* Writes past the limit fail with EFBIG instead of a
		 * signal: SQLite sees a full disk. */
		struct rlimit rl = { d->fsize, d->fsize };

		if (d->fsize && (signal(SIGXFSZ, SIG_IGN) == SIG_ERR ||
				 setrlimit(RLIMIT_FSIZE, &rl)))
			_exit(126);
		execl(DAEMON_BIN, DAEMON_BIN, "--foreground", "--config", conf,
		      "--port-file", portf, (char *)NULL);
		_exit(127);
	}
	/* Up to 20 s: the ASan build starts slowly on a loaded machine. */
	for (i = 0; i < 200; i++) {
		fp = fopen(portf, "r");
		if (fp) {
			bool ok = fgets(buf, sizeof(buf), fp) &&
				  sscanf(buf, "%u", &d->port) == 1;

			fclose(fp);
			return ok;
		}
		if (waitpid(d->pid, NULL, WNOHANG) == d->pid) {
			d->pid = 0;
			return false;
		}
		usleep(100 * 1000);
	}
	return false;
}

/* SIGTERM (or SIGKILL) and reap; the exit status, -1 if killed. */
static inline int daemon_stop(struct daemon *d, int sig)
{
	unsigned int i;
	int status;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, sig);
	for (i = 0; i < 200; i++) {
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		}
		usleep(50 * 1000);
	}
	kill(d->pid, SIGKILL);
	waitpid(d->pid, &status, 0);
	d->pid = 0;
	return -1;
}

static inline size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t len = size * n;

	if (len > sizeof(r->body) - 1 - r->len)
		return 0;
	memcpy(r->body + r->len, data, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

/*
 * One request as client @who (a certificate name, NULL for none): POST
 * @body, or GET when @body is NULL.
 */
static inline void request(const struct daemon *d, const char *who,
			   const char *api, const char *body, struct resp *r)
{
	char url[256], ca[512], cert[512], key[512];
	struct curl_slist *hdr = NULL;
	CURL *c;

	memset(r, 0, sizeof(*r));
	r->rc = CURLE_FAILED_INIT;
	c = curl_easy_init();
	if (!c)
		return;
	if (who && !strncmp(who, "unix:", 5)) {
		/* The local socket: plain HTTP, the caller is our uid. */
		snprintf(url, sizeof(url), "http://localhost%s", api);
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, who + 5);
		who = NULL;
	} else {
		snprintf(url, sizeof(url), "https://[::1]:%u%s", d->port, api);
	}
	path(ca, sizeof(ca), "ca", ".crt");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	if (who) {
		path(cert, sizeof(cert), who, ".crt");
		path(key, sizeof(key), who, ".key");
		curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, key);
	}
	if (body) {
		hdr = curl_slist_append(NULL, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	r->rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->code);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	r->json = json_loadb(r->body, r->len, 0, NULL);
}

static inline void resp_free(struct resp *r)
{
	json_decref(r->json);
	r->json = NULL;
}

static inline const char *jstr(const struct resp *r, const char *key)
{
	const char *s = json_string_value(json_object_get(r->json, key));

	return s ? s : "";
}

/* POST a JSON document built by json_pack. */
static inline void post(const struct daemon *d, const char *who,
			const char *api, json_t *doc, struct resp *r)
{
	char *text = json_dumps(doc, JSON_COMPACT);

	json_decref(doc);
	request(d, who, api, text ? text : "", r);
	free(text);
}

static inline bool rent(const struct daemon *d, const char *who,
			const char *peer, struct resp *r)
{
	post(d, who, "/v1/rent", json_pack("{s:s}", "peer", peer), r);
	return r->code == 201;
}

static inline bool in_prefix(const char *addr, const char *prefix, int len)
{
	struct in6_addr a, p;
	int i;

	if (inet_pton(AF_INET6, addr, &a) != 1 ||
	    inet_pton(AF_INET6, prefix, &p) != 1)
		return false;
	for (i = 0; i < len; i++) {
		int bit = 7 - i % 8;

		if (((a.s6_addr[i / 8] ^ p.s6_addr[i / 8]) >> bit) & 1)
			return false;
	}
	return true;
}

/* The value of a Prometheus sample line "NAME VALUE", or -1. */
static inline double metric(const struct resp *r, const char *name)
{
	const char *p = r->body;
	size_t n = strlen(name);

	while ((p = strstr(p, name))) {
		if ((p == r->body || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	return -1;
}

static inline int rm_entry(const char *fpath, const struct stat *sb, int flag,
			   struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(fpath);
}

/* One integer from @sql on DIR/@name.db (read-only); -1 on failure. */
static inline long long db_int(const char *name, const char *sql)
{
	char db[512];
	sqlite3_stmt *st;
	long long v = -1;
	sqlite3 *sq;

	path(db, sizeof(db), name, ".db");
	if (sqlite3_open_v2(db, &sq, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(sq, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(sq);
	return v;
}

/* Run @sql (several statements) on DIR/@name.db as another writer would:
 * the tampering of the tests. 0 or -1. */
static inline int db_exec(const char *name, const char *sql)
{
	char db[512];
	sqlite3 *sq;
	int rc;

	path(db, sizeof(db), name, ".db");
	if (sqlite3_open_v2(db, &sq, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		sqlite3_close(sq);
		return -1;
	}
	sqlite3_busy_timeout(sq, 5000);
	rc = sqlite3_exec(sq, sql, NULL, NULL, NULL);
	sqlite3_close(sq);
	return rc == SQLITE_OK ? 0 : -1;
}

/* Run @argv with stdout into @out (NUL-terminated, truncated); the exit
 * status or -1. */
static inline int run_capture(char *const argv[], char *out, size_t size)
{
	int fds[2], status;
	size_t used = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(fds))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	while (size && (n = read(fds[0], out + used, size - 1 - used)) > 0)
		used += (size_t)n;
	/* Drain what did not fit, so the child never blocks. */
	while (read(fds[0], &status, sizeof(status)) > 0)
		;
	close(fds[0]);
	if (size)
		out[used] = '\0';
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Write DIR/@name with @text. 0 or -1. */
static inline int write_file(const char *name, const char *text)
{
	char p[512];
	FILE *fp;

	path(p, sizeof(p), name, "");
	fp = fopen(p, "w");
	if (!fp)
		return -1;
	fputs(text, fp);
	return fclose(fp);
}

/* The test directory, the PKI and libcurl; false if any fails. */
static inline bool leased_test_setup(void)
{
	char *cmd[] = { "sh", LEASED_CERTS_SH, dir, NULL };

	tap_start();
	if (!mkdtemp(dir)) {
		tap_ok(false, "mkdtemp: %s", strerror(errno));
		return false;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		tap_ok(false, "curl_global_init");
		return false;
	}
	return tap_ok(run(cmd) == 0, "test PKI made with openssl");
}

static inline int leased_test_done(void)
{
	curl_global_cleanup();
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}

#endif
