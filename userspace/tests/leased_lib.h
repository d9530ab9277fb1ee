/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the guise-leased host tests (leased_*.c): daemon_test.h
 * (directory, processes, the daemon, requests) with guise-leased's
 * configuration, a PKI from leased_certs.sh ("host1", "operator", ...
 * certificates), rents and the store read directly.
 */
#ifndef LEASED_LIB_H
#define LEASED_LIB_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <time.h>
#include <sqlite3.h>

#ifndef DAEMON_BIN
#define DAEMON_BIN "../build/asan/guise-leased"
#endif
#include "daemon_test.h"

#ifndef TESTS_DIR
#define TESTS_DIR "tests"
#endif
#define LEASED_CERTS_SH TESTS_DIR "/leased_certs.sh"

#define HOST1 "2001:db8:1::10"
#define HOST2 "2001:db8:1::11"
#define PEER "2001:db8:3::20"
#define POOL "2001:db8:ff::/48"

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

/* The test directory, the PKI and libcurl; false if any fails. */
static inline bool leased_test_setup(void)
{
	char *cmd[] = { "sh", LEASED_CERTS_SH, dir, NULL };

	tap_start();
	if (!test_dir_make("leased-test")) {
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
	test_dir_remove();
	return tap_done();
}

#endif
