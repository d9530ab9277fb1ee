// SPDX-License-Identifier: GPL-2.0
/*
 * guise-keyd's sealed store: every sealed Km, Kc and Ks is bound to its
 * table, column and row. A value moved to another row or column by
 * someone who can write the database but has no secret_file (two
 * clients' Km swapped, two channels' Kc, a Kc with its previous one, a
 * content's Ks or its channel, two clients' addresses) refuses the
 * store, naming the row, and the daemon does not start: enrolment never
 * hands out another client's Km. A store of seal version 1 (the
 * constant associated data of before, made here with it) is moved to
 * version 2 at open, in one transaction, keeping every key; one that
 * does not open is left as it was.
 *
 * store_open()/store_load() are called in this process; the daemon (the
 * ASan build) runs on loopback with the PKI of keyd_certs.sh.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sqlite3.h>
#include <linux/guise.h>

#include "keyd.h"
#include "keyfile.h"
#include "keying.h"
#include "store.h"

#ifndef DAEMON_BIN
#define DAEMON_BIN "../build/asan/guise-keyd"
#endif
#include "daemon_test.h"
#ifndef TESTS_DIR
#define TESTS_DIR "tests"
#endif

#define PASS "store secret"

/* The keys put in the stores, to find them again. */
static uint8_t km1[32], km2[32];
static struct kc kc1, kc2, kc1_prev;
static struct ks ks10;

/* ---- helpers ---- */

/* @sql on DIR/@name (the daemon stopped, or the store closed). */
static bool sql(const char *name, const char *q)
{
	char p[512], *msg = NULL;
	sqlite3 *db = NULL;
	bool ok;

	path(p, sizeof(p), name, "");
	ok = sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE, NULL) ==
		     SQLITE_OK &&
	     sqlite3_exec(db, q, NULL, NULL, &msg) == SQLITE_OK;
	if (msg)
		tap_diag("sqlite: %s", msg);
	sqlite3_free(msg);
	sqlite3_close(db);
	return ok;
}

/* One integer of @q on DIR/@name; -1 if none. */
static long long sql_int(const char *name, const char *q)
{
	char p[512];
	sqlite3_stmt *s;
	sqlite3 *db = NULL;
	long long v = -1;

	path(p, sizeof(p), name, "");
	if (sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, q, -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW &&
		    sqlite3_column_type(s, 0) != SQLITE_NULL)
			v = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	return v;
}

static bool copy_file(const char *from, const char *to)
{
	char a[512], b[512], buf[65536];
	FILE *in, *out;
	size_t n;
	bool ok = true;

	path(a, sizeof(a), from, "");
	path(b, sizeof(b), to, "");
	in = fopen(a, "rb");
	out = fopen(b, "wb");
	if (!in || !out) {
		if (in)
			fclose(in);
		if (out)
			fclose(out);
		return false;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		ok &= fwrite(buf, 1, n, out) == n;
	fclose(in);
	return fclose(out) == 0 && ok;
}

static void keyd_free(struct keyd *d)
{
	size_t i;

	for (i = 0; i < d->nclients; i++) {
		guise_client_keys_wipe(&d->clients[i]->ck);
		free(d->clients[i]);
	}
	for (i = 0; i < d->ncontents; i++)
		free(d->contents[i]);
	free(d->clients);
	free(d->channels);
	free(d->contents);
	memset(d, 0, sizeof(*d));
}

static struct kclient *client_of(struct keyd *d, const char *id)
{
	size_t i;

	for (i = 0; i < d->nclients; i++)
		if (!strcmp(d->clients[i]->id, id))
			return d->clients[i];
	return NULL;
}

static struct kchannel *channel_of(struct keyd *d, uint32_t id)
{
	size_t i;

	for (i = 0; i < d->nchannels; i++)
		if (d->channels[i].id == id)
			return &d->channels[i];
	return NULL;
}

static struct kcontent *content_of(struct keyd *d, uint32_t id)
{
	size_t i;

	for (i = 0; i < d->ncontents; i++)
		if (d->contents[i]->id == id)
			return d->contents[i];
	return NULL;
}

/* Do the loaded keys match the ones put in? */
static bool keys_match(struct keyd *d)
{
	struct kclient *h1 = client_of(d, "h1"), *h2 = client_of(d, "h2");
	struct kchannel *c1 = channel_of(d, 1), *c2 = channel_of(d, 2);
	struct kcontent *t10 = content_of(d, 10);

	return h1 && h2 && c1 && c2 && t10 && !memcmp(h1->ck.km, km1, 32) &&
	       !memcmp(h2->ck.km, km2, 32) &&
	       !memcmp(&c1->cur, &kc1, sizeof(kc1)) &&
	       !memcmp(&c1->prev, &kc1_prev, sizeof(kc1_prev)) &&
	       !memcmp(&c2->cur, &kc2, sizeof(kc2)) &&
	       !memcmp(&t10->cur, &ks10, sizeof(ks10));
}

/*
 * store_open() and store_load() of DIR/@name with the secret, stderr
 * into @log (NUL-terminated). 0, or the first error.
 */
static int open_load(const char *name, bool *match, char *log, size_t size)
{
	char p[512], lp[512];
	struct keyd d;
	struct store *st = NULL;
	int saved, fd, err;
	ssize_t n;

	memset(&d, 0, sizeof(d));
	path(p, sizeof(p), name, "");
	path(lp, sizeof(lp), "stderr", ".log");
	fflush(stderr);
	saved = dup(2);
	fd = open(lp, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (saved < 0 || fd < 0)
		return -EIO;
	dup2(fd, 2);
	err = store_open(p, PASS, strlen(PASS), &st);
	if (!err)
		err = store_load(st, &d);
	store_close(st);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, log, size - 1, 0);
	log[n > 0 ? n : 0] = '\0';
	close(fd);
	if (match)
		*match = !err && keys_match(&d);
	keyd_free(&d);
	return err;
}

static void fill_keys(void)
{
	uint64_t now = (uint64_t)time(NULL);

	RAND_bytes(km1, sizeof(km1));
	RAND_bytes(km2, sizeof(km2));
	memset(&kc1, 0, sizeof(kc1));
	memset(&kc2, 0, sizeof(kc2));
	memset(&kc1_prev, 0, sizeof(kc1_prev));
	memset(&ks10, 0, sizeof(ks10));
	kc1.epoch = 2;
	kc1_prev.epoch = 1;
	kc2.epoch = 1;
	RAND_bytes(kc1.key, sizeof(kc1.key));
	RAND_bytes(kc1_prev.key, sizeof(kc1_prev.key));
	RAND_bytes(kc2.key, sizeof(kc2.key));
	kc1.not_before = kc2.not_before = now - 10;
	kc1.not_after = kc2.not_after = now + 86400;
	kc1_prev.not_before = now - 100;
	kc1_prev.not_after = now + 60;
	ks10.key_id = 7;
	RAND_bytes(ks10.key, sizeof(ks10.key));
	RAND_bytes(ks10.salt, sizeof(ks10.salt));
	ks10.not_before = now - 10;
	ks10.not_after = now + 3600;
}

/* ---- a store of seal version 1, as guise-keyd wrote it before ---- */

static const uint8_t v1_aad[] = "guise-keyd store v1";

/* nonce || ciphertext || tag under @key with the version 1 AAD. */
static void v1_seal(const uint8_t key[32], const void *in, size_t len,
		    uint8_t *out)
{
	RAND_bytes(out, 12);
	guise_keying_aead(true, GUISE_ALG_CHACHA20_POLY1305, key, out, v1_aad,
			  sizeof(v1_aad), in, len, out + 12, out + 12 + len);
}

static void bind_sealed(sqlite3_stmt *s, int i, const uint8_t key[32],
			const void *in, size_t len)
{
	uint8_t out[256 + 28];

	v1_seal(key, in, len, out);
	sqlite3_bind_blob(s, i, out, (int)(len + 28), SQLITE_TRANSIENT);
}

/* DIR/@name: clients h1, h2; channels 1, 2; content 10 on 1; sealed
 * with the constant associated data. */
static bool make_v1(const char *name)
{
	struct ks none = { 0 };
	uint8_t salt[16], key[32], zero[32] = { 0 };
	char p[512];
	struct store *st = NULL;
	sqlite3_stmt *s;
	sqlite3 *db = NULL;
	int iterations = 1000;
	bool ok;

	/* The schema, empty and unsealed. */
	path(p, sizeof(p), name, "");
	if (store_open(p, NULL, 0, &st))
		return false;
	store_close(st);
	RAND_bytes(salt, sizeof(salt));
	if (PKCS5_PBKDF2_HMAC(PASS, (int)strlen(PASS), salt, sizeof(salt),
			      iterations, EVP_sha256(), sizeof(key),
			      key) != 1 ||
	    sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		return false;
	ok = sqlite3_exec(db, "BEGIN;", NULL, NULL, NULL) == SQLITE_OK;
	ok = ok &&
	     sqlite3_prepare_v2(db, "INSERT INTO sealing VALUES (1, ?, ?, ?);",
				-1, &s, NULL) == SQLITE_OK;
	if (ok) {
		sqlite3_bind_blob(s, 1, salt, sizeof(salt), SQLITE_TRANSIENT);
		sqlite3_bind_int(s, 2, iterations);
		bind_sealed(s, 3, key, zero, sizeof(zero));
		ok = sqlite3_step(s) == SQLITE_DONE;
		sqlite3_finalize(s);
	}
	ok = ok &&
	     sqlite3_prepare_v2(db, "INSERT INTO clients VALUES (?, ?, ?);", -1,
				&s, NULL) == SQLITE_OK;
	if (ok) {
		sqlite3_bind_text(s, 1, "h1", -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, "2001:db8:1::10", -1, SQLITE_STATIC);
		bind_sealed(s, 3, key, km1, sizeof(km1));
		ok = sqlite3_step(s) == SQLITE_DONE;
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, "h2", -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, "2001:db8:1::11", -1, SQLITE_STATIC);
		bind_sealed(s, 3, key, km2, sizeof(km2));
		ok = ok && sqlite3_step(s) == SQLITE_DONE;
		sqlite3_finalize(s);
	}
	ok = ok && sqlite3_prepare_v2(db,
				      "INSERT INTO channels VALUES"
				      " (?, ?, 5000, 3600, 2000, ?, ?, 0);",
				      -1, &s, NULL) == SQLITE_OK;
	if (ok) {
		struct kc zkc = { 0 };

		sqlite3_bind_int(s, 1, 1);
		sqlite3_bind_text(s, 2, "ff3e::4242", -1, SQLITE_STATIC);
		bind_sealed(s, 3, key, &kc1, sizeof(kc1));
		bind_sealed(s, 4, key, &kc1_prev, sizeof(kc1_prev));
		ok = sqlite3_step(s) == SQLITE_DONE;
		sqlite3_reset(s);
		sqlite3_bind_int(s, 1, 2);
		sqlite3_bind_text(s, 2, "ff3e::4243", -1, SQLITE_STATIC);
		bind_sealed(s, 3, key, &kc2, sizeof(kc2));
		bind_sealed(s, 4, key, &zkc, sizeof(zkc));
		ok = ok && sqlite3_step(s) == SQLITE_DONE;
		sqlite3_finalize(s);
	}
	ok = ok && sqlite3_prepare_v2(db,
				      "INSERT INTO contents VALUES"
				      " (10, 1, ?, 3600, ?, ?);",
				      -1, &s, NULL) == SQLITE_OK;
	if (ok) {
		sqlite3_bind_int(s, 1, GUISE_ALG_CHACHA20_POLY1305);
		bind_sealed(s, 2, key, &ks10, sizeof(ks10));
		bind_sealed(s, 3, key, &none, sizeof(none));
		ok = sqlite3_step(s) == SQLITE_DONE;
		sqlite3_finalize(s);
	}
	ok = ok && sqlite3_exec(db,
				"INSERT INTO entitlements VALUES ('h1', 1);"
				"INSERT INTO meta VALUES ('next_key_id', 8);"
				"COMMIT;",
				NULL, NULL, NULL) == SQLITE_OK;
	sqlite3_close(db);
	explicit_bzero(key, sizeof(key));
	return ok;
}

/* ---- tampering, with the secret unknown ---- */

/* Two clients' Km swapped. */
static const char swap_km[] =
	"CREATE TEMP TABLE t AS SELECT id, km FROM clients;"
	"UPDATE clients SET km = (SELECT km FROM t WHERE t.id ="
	" CASE clients.id WHEN 'h1' THEN 'h2' ELSE 'h1' END)"
	" WHERE id IN ('h1', 'h2');";
/* Two channels' Kc swapped. */
static const char swap_kc[] =
	"CREATE TEMP TABLE t AS SELECT id, kc FROM channels;"
	"UPDATE channels SET kc = (SELECT kc FROM t WHERE t.id ="
	" CASE channels.id WHEN 1 THEN 2 ELSE 1 END) WHERE id IN (1, 2);";

static const struct {
	const char *what, *sql, *row;
} tampers[] = {
	{ "two clients' Km swapped", swap_km, "clients row h1: km" },
	{ "two clients' addresses swapped",
	  "UPDATE clients SET address = 'x' WHERE id = 'h1';"
	  "UPDATE clients SET address = '2001:db8:1::10' WHERE id = 'h2';"
	  "UPDATE clients SET address = '2001:db8:1::11' WHERE id = 'h1';",
	  "clients row h1: km" },
	{ "h1's Km copied to a client of another id",
	  "UPDATE clients SET id = 'h0' WHERE id = 'h1';",
	  "clients row h0: km" },
	{ "two channels' Kc swapped", swap_kc, "channels row 1: kc" },
	{ "a channel's Kc and previous Kc swapped",
	  "UPDATE channels SET kc = kc_prev, kc_prev = kc WHERE id = 1;",
	  "channels row 1: kc" },
	{ "a content's Ks moved to another content id",
	  "UPDATE contents SET id = 11 WHERE id = 10;", "contents row 11: ks" },
	{ "a content moved to another channel",
	  "UPDATE contents SET channel = 2 WHERE id = 10;",
	  "contents row 10: ks" },
};

static void test_tampered(const char *base)
{
	char log[4096];
	bool match;
	size_t i;
	int err;

	for (i = 0; i < sizeof(tampers) / sizeof(tampers[0]); i++) {
		if (!copy_file(base, "t.db") || !sql("t.db", tampers[i].sql)) {
			tap_ok(false, "%s: tampered copy", tampers[i].what);
			continue;
		}
		err = open_load("t.db", &match, log, sizeof(log));
		tap_ok(err && !match && strstr(log, tampers[i].row) &&
			       strstr(log, "does not open"),
		       "%s: the store is refused, naming \"%s\"",
		       tampers[i].what, tampers[i].row);
		if (!err || !strstr(log, tampers[i].row))
			tap_diag("err %d, log: %s", err, log);
	}
	unlink("t.db");
}

/* ---- the store API: a new store, then tampered copies ---- */

static void test_unit(void)
{
	struct kclient h1, h2;
	struct kchannel c1, c2;
	struct kcontent t10;
	struct store *st = NULL;
	char p[512], log[4096];
	bool match = false;

	memset(&h1, 0, sizeof(h1));
	memset(&h2, 0, sizeof(h2));
	memset(&c1, 0, sizeof(c1));
	memset(&c2, 0, sizeof(c2));
	memset(&t10, 0, sizeof(t10));
	strcpy(h1.id, "h1");
	strcpy(h2.id, "h2");
	inet_pton(AF_INET6, "2001:db8:1::10", &h1.addr);
	inet_pton(AF_INET6, "2001:db8:1::11", &h2.addr);
	guise_client_keys_init(&h1.ck, km1);
	guise_client_keys_init(&h2.ck, km2);
	c1.id = 1;
	c2.id = 2;
	inet_pton(AF_INET6, "ff3e::4242", &c1.group);
	inet_pton(AF_INET6, "ff3e::4243", &c2.group);
	c1.port = c2.port = 5000;
	c1.cur = kc1;
	c1.prev = kc1_prev;
	c2.cur = kc2;
	t10.id = 10;
	t10.channel = 1;
	t10.alg = GUISE_ALG_CHACHA20_POLY1305;
	t10.cur = ks10;

	path(p, sizeof(p), "new.db", "");
	tap_ok(!store_open(p, PASS, strlen(PASS), &st) &&
		       !store_client_put(st, &h1) &&
		       !store_client_put(st, &h2) &&
		       !store_channel_put(st, &c1) &&
		       !store_channel_put(st, &c2) &&
		       !store_content_put(st, &t10),
	       "a new sealed store with two clients, two channels, a "
	       "content");
	store_close(st);
	guise_client_keys_wipe(&h1.ck);
	guise_client_keys_wipe(&h2.ck);
	tap_ok(sql_int("new.db", "SELECT value FROM meta"
				 " WHERE name = 'seal_version';") == 2,
	       "a new store records seal version 2");
	tap_ok(!open_load("new.db", &match, log, sizeof(log)) && match,
	       "it opens again with every key as put");
	test_tampered("new.db");
	tap_ok(copy_file("new.db", "t.db") &&
		       sql("t.db", "DELETE FROM meta"
				   " WHERE name = 'seal_version';") &&
		       open_load("t.db", NULL, log, sizeof(log)) &&
		       strstr(log, "'seal_version' does not match") &&
		       !strstr(log, "seal version 1 to 2"),
	       "its seal version row deleted: refused, not moved again");
	unlink("t.db");
}

/* ---- migration of a store of seal version 1 ---- */

static void test_migration(void)
{
	char log[4096];
	bool match = false;

	if (!tap_ok(make_v1("v1.db") && copy_file("v1.db", "v1bad.db") &&
			    copy_file("v1.db", "v1d.db"),
		    "a store sealed with the constant associated data "
		    "(seal version 1)"))
		return;
	tap_ok(sql_int("v1.db", "SELECT count(*) FROM meta"
				" WHERE name = 'seal_version';") == 0,
	       "it has no seal version");
	tap_ok(!open_load("v1.db", &match, log, sizeof(log)) && match,
	       "it opens with every key as it was");
	tap_ok(strstr(log, "seal version 1 to 2") != NULL,
	       "the move to seal version 2 is logged");
	tap_ok(sql_int("v1.db", "SELECT value FROM meta"
				" WHERE name = 'seal_version';") == 2,
	       "and it is at seal version 2");
	tap_ok(!open_load("v1.db", &match, log, sizeof(log)) && match &&
		       !strstr(log, "seal version 1 to 2"),
	       "it opens again, not moved twice");
	test_tampered("v1.db");

	/* One value that does not open: nothing is moved. */
	tap_ok(sql("v1bad.db",
		   "UPDATE clients SET km = zeroblob(60) WHERE id = 'h2';") &&
		       sql("v1bad.db", "CREATE TABLE k AS SELECT * FROM"
				       " clients UNION ALL SELECT id, NULL, kc"
				       " FROM channels;"),
	       "a version 1 store with h2's Km damaged");
	tap_ok(open_load("v1bad.db", NULL, log, sizeof(log)) &&
		       strstr(log, "clients row h2: km does not open") &&
		       strstr(log, "left as it was"),
	       "it is refused, naming the row");
	tap_ok(sql_int("v1bad.db", "SELECT count(*) FROM meta"
				   " WHERE name = 'seal_version';") == 0 &&
		       sql_int("v1bad.db",
			       "SELECT count(*) FROM k JOIN clients c"
			       " USING (id) WHERE k.km = c.km;") == 2 &&
		       sql_int("v1bad.db",
			       "SELECT count(*) FROM k JOIN channels c"
			       " USING (id) WHERE k.km = c.kc;") == 2,
	       "and left as it was (one transaction)");
	unlink("v1bad.db");
}

/* ---- the daemon ---- */

static unsigned int ctl_port;

static int write_config(void)
{
	char buf[2048];

	snprintf(buf, sizeof(buf),
		 "[keyd]\nrole = server\n\n[server]\nlisten = [::1]:0\n"
		 "cert = %s/server.crt\nkey = %s/server.key\nca = %s/ca.crt\n"
		 "db = %s/v1d.db\nsocket = %s/server.sock\n"
		 "secret_file = %s/server.secret\n\n[control]\nport = %u\n"
		 "unicast = ::1\nrefresh = 1s\ndemm_lifetime = 3s\n"
		 "switch_delay = 1s\nmax_kbps = 16\n\n[kernel]\nsync = off\n",
		 dir, dir, dir, dir, dir, dir, ctl_port);
	return write_file("server", ".conf", buf) ||
	       write_file("server", ".secret", PASS "\n");
}

/* Enrol as @who: its Km into @km. */
static bool enroll(const struct daemon *srv, const char *who, uint8_t km[32])
{
	const char *hex;
	struct resp r;
	bool ok = false;
	unsigned int i, b;

	request(srv, who, "/v1/enroll", "{}", &r);
	hex = json_string_value(json_object_get(r.json, "km"));
	if (r.code == 200 && hex && strlen(hex) == 64) {
		ok = true;
		for (i = 0; i < 32; i++) {
			ok &= sscanf(hex + 2 * i, "%2x", &b) == 1;
			km[i] = (uint8_t)b;
		}
	}
	resp_free(&r);
	return ok;
}

static bool log_has(const char *needle)
{
	char p[512];
	static char buf[1 << 16];
	size_t n;
	FILE *fp;

	path(p, sizeof(p), "server", ".log");
	fp = fopen(p, "r");
	if (!fp)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return strstr(buf, needle) != NULL;
}

/*
 * @tamper on the stopped daemon's store: it must not start (the log
 * naming @row); had it started, @who's enrolment must not return @not.
 * The store is put back with @tamper again (a swap undoes itself).
 */
static void daemon_tampered(struct daemon *srv, const char *what,
			    const char *tamper, const char *row,
			    const char *who, const uint8_t * not )
{
	uint8_t km[32];
	char lp[512];
	bool started;

	path(lp, sizeof(lp), "server", ".log");
	unlink(lp);
	if (!tap_ok(sql("v1d.db", tamper), "%s in the stopped daemon's store",
		    what))
		return;
	started = daemon_start(srv);
	if (started) {
		tap_ok(!(enroll(srv, who, km) && !memcmp(km, not, 32)),
		       "%s enrols: never another client's Km", who);
		daemon_stop(srv, SIGTERM);
	} else {
		tap_ok(true, "%s cannot enrol: no daemon", who);
	}
	tap_ok(!started && log_has(row) && log_has("does not open"),
	       "the daemon refuses to start, naming \"%s\"", row);
	tap_ok(sql("v1d.db", tamper), "the swap undone");
}

static void test_daemon(void)
{
	struct daemon srv = { .name = "server", .log = true };
	char cmd[1024];
	uint8_t km[32];

	ctl_port = 20000 + (unsigned int)getpid() % 20000;
	snprintf(cmd, sizeof(cmd), "sh %s/keyd_certs.sh %s", TESTS_DIR, dir);
	if (!tap_ok(system(cmd) == 0 && !write_config(), "test PKI and config"))
		return;
	if (!tap_ok(daemon_start(&srv),
		    "the daemon starts on a seal version 1 store"))
		return;
	tap_ok(enroll(&srv, "host1", km) && !memcmp(km, km1, 32),
	       "host1 enrols: h1's Km from before the move");
	tap_ok(enroll(&srv, "host2", km) && !memcmp(km, km2, 32),
	       "host2 enrols: h2's Km");
	tap_ok(daemon_stop(&srv, SIGTERM) == 0, "the daemon stops");
	tap_ok(sql_int("v1d.db", "SELECT value FROM meta"
				 " WHERE name = 'seal_version';") == 2,
	       "the store is at seal version 2");

	daemon_tampered(&srv, "h1's and h2's Km swapped", swap_km,
			"clients row h1: km", "host2", km1);
	daemon_tampered(&srv, "channel 1's and 2's Kc swapped", swap_kc,
			"channels row 1: kc", "host1", km2);

	tap_ok(daemon_start(&srv), "put back, the daemon starts");
	tap_ok(enroll(&srv, "host1", km) && !memcmp(km, km1, 32) &&
		       enroll(&srv, "host2", km) && !memcmp(km, km2, 32),
	       "host1 and host2 enrol: each its own Km");
	tap_ok(daemon_stop(&srv, SIGTERM) == 0, "the daemon stops");
}

int main(void)
{
	tap_start();
	signal(SIGPIPE, SIG_IGN);
	if (!test_dir_make("keyd-store") || chdir(dir)) {
		tap_ok(false, "temporary directory");
		return tap_done();
	}
	fill_keys();
	test_unit();
	test_migration();
	test_daemon();
	explicit_bzero(km1, sizeof(km1));
	explicit_bzero(km2, sizeof(km2));
	if (chdir("/"))
		tap_diag("chdir /");
	test_dir_remove();
	return tap_done();
}
