// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <linux/guise.h>

#include "audit.h"
#include "keying.h"
#include "log.h"
#include "revalidate.h"
#include "store.h"

struct store {
	sqlite3 *db;
	bool sealed; /* secrets sealed under @key */
	uint8_t key[32];
};

#define SEAL_ITERATIONS 200000
#define SEAL_OVERHEAD (12 + 16) /* nonce, tag */
#define SEAL_MAX 256 /* the largest secret blob, a struct ks or kc */
#define SEAL_AAD_MAX 192

/*
 * The associated data of a sealed value binds it to its place. Seal
 * version 1 (stores made before; no meta row 'seal_version') bound only
 * this constant, so a value could be moved between rows and columns
 * unnoticed. Version 2 binds
 *
 *	"guise-keyd store v2" NUL table NUL column NUL key NUL [bound NUL]
 *
 * with key the row's primary key (an integer in decimal) and bound the
 * other column the value's meaning hangs on: a client's certificate
 * address (enrolment finds Km by it) and a content's channel (its Ks is
 * announced under that channel's Kc). store_open() moves a version 1
 * store to version 2 in one transaction.
 */
#define SEAL_VERSION 2
static const uint8_t seal_aad_v1[] = "guise-keyd store v1";
static const char seal_prefix[] = "guise-keyd store v2";

/* Where a sealed value lives: its associated data. */
struct seal_at {
	const char *table, *column;
	const char *key; /* the row's primary key, as text */
	const char *bound; /* NULL: none */
};

/* Key material is kept as the structs' bytes: the file never leaves the
 * host that wrote it. */
static const char schema[] =
	"CREATE TABLE IF NOT EXISTS clients ("
	" id TEXT PRIMARY KEY, address TEXT NOT NULL UNIQUE,"
	" km BLOB NOT NULL);"
	"CREATE TABLE IF NOT EXISTS channels ("
	" id INTEGER PRIMARY KEY, grp TEXT NOT NULL, port INTEGER NOT NULL,"
	" kc_period INTEGER NOT NULL, bandwidth INTEGER NOT NULL,"
	" kc BLOB NOT NULL, kc_prev BLOB NOT NULL, next_rotation INTEGER,"
	" UNIQUE (grp, port));"
	"CREATE TABLE IF NOT EXISTS contents ("
	" id INTEGER PRIMARY KEY,"
	" channel INTEGER NOT NULL REFERENCES channels (id),"
	" alg INTEGER NOT NULL, ks_period INTEGER NOT NULL,"
	" ks BLOB NOT NULL, ks_prev BLOB NOT NULL);"
	"CREATE TABLE IF NOT EXISTS entitlements ("
	" client TEXT NOT NULL, channel INTEGER NOT NULL,"
	" PRIMARY KEY (client, channel));"
	/* The certificate each client enrolled with, for certd's revocation
	 * events (a table of its own: older stores gain it at open). */
	"CREATE TABLE IF NOT EXISTS client_certs ("
	" issuer TEXT NOT NULL, serial TEXT NOT NULL, client TEXT NOT NULL,"
	" PRIMARY KEY (issuer, serial));"
	/* Its chain (DER back to back, leaf first), to re-validate it with
	 * certd after the event stream was down (older stores gain the
	 * table at open; their enrolments are not re-validated until the
	 * client enrols again). */
	"CREATE TABLE IF NOT EXISTS cert_chains ("
	" issuer TEXT NOT NULL, serial TEXT NOT NULL, chain BLOB NOT NULL,"
	" PRIMARY KEY (issuer, serial));"
	"CREATE TABLE IF NOT EXISTS meta ("
	" name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS sealing ("
	" id INTEGER PRIMARY KEY CHECK (id = 1), salt BLOB NOT NULL,"
	" iterations INTEGER NOT NULL, probe BLOB NOT NULL);";

static int store_fail(struct store *st, const char *what)
{
	guise_err("store: %s: %s", what, sqlite3_errmsg(st->db));
	return -EIO;
}

static int store_exec(struct store *st, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		guise_err("store: %s", msg ? msg : "exec failed");
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

static int run(struct store *st, const char *sql, const char *types, ...);

static int seal_aad(int version, const struct seal_at *at, uint8_t *aad,
		    size_t *len)
{
	const char *parts[] = { seal_prefix, at->table, at->column, at->key,
				at->bound };
	size_t i, n, used = 0;

	if (version == 1) {
		memcpy(aad, seal_aad_v1, sizeof(seal_aad_v1));
		*len = sizeof(seal_aad_v1);
		return 0;
	}
	if (!at->table || !at->column || !at->key)
		return -EINVAL;
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]) && parts[i]; i++) {
		n = strlen(parts[i]) + 1;
		if (used + n > SEAL_AAD_MAX)
			return -EINVAL;
		memcpy(aad + used, parts[i], n);
		used += n;
	}
	*len = used;
	return 0;
}

/* @out gets nonce || ciphertext || tag (@len + SEAL_OVERHEAD bytes). */
static int seal_blob(struct store *st, const struct seal_at *at, const void *in,
		     size_t len, uint8_t *out)
{
	uint8_t aad[SEAL_AAD_MAX];
	size_t aadlen;

	if (seal_aad(SEAL_VERSION, at, aad, &aadlen) ||
	    RAND_bytes(out, 12) != 1)
		return -EIO;
	return guise_keying_aead(true, GUISE_ALG_CHACHA20_POLY1305, st->key,
				 out, aad, aadlen, in, len, out + 12,
				 out + 12 + len);
}

/* Open a value sealed with seal @version's associated data. */
static int open_blob(struct store *st, int version, const struct seal_at *at,
		     const uint8_t *in, size_t len, void *out)
{
	uint8_t aad[SEAL_AAD_MAX];
	size_t aadlen;

	if (len < SEAL_OVERHEAD || seal_aad(version, at, aad, &aadlen))
		return -EINVAL;
	len -= SEAL_OVERHEAD;
	return guise_keying_aead(false, GUISE_ALG_CHACHA20_POLY1305, st->key,
				 in, aad, aadlen, in + 12, len, out,
				 (uint8_t *)in + 12 + len);
}

/* A primary key or bound column as associated data: NULL if neither
 * text nor integer. */
static const char *value_text(sqlite3_value *v, char *buf, size_t size)
{
	if (sqlite3_value_type(v) == SQLITE_INTEGER) {
		snprintf(buf, size, "%lld", (long long)sqlite3_value_int64(v));
		return buf;
	}
	if (sqlite3_value_type(v) != SQLITE_TEXT)
		return NULL;
	return (const char *)sqlite3_value_text(v);
}

/*
 * guise_reseal(table, column, key, bound, value): @value sealed with seal
 * version 1 (a constant) opened and sealed again bound to its place; an
 * SQL error naming the row if it does not open.
 */
static void reseal_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct store *st = sqlite3_user_data(ctx);
	uint8_t plain[SEAL_MAX], out[SEAL_MAX + SEAL_OVERHEAD];
	char kbuf[24], bbuf[24], *msg;
	struct seal_at at;
	const uint8_t *in;
	int n;

	(void)argc;
	at.table = (const char *)sqlite3_value_text(argv[0]);
	at.column = (const char *)sqlite3_value_text(argv[1]);
	at.key = value_text(argv[2], kbuf, sizeof(kbuf));
	at.bound = sqlite3_value_type(argv[3]) == SQLITE_NULL ?
			   NULL :
			   value_text(argv[3], bbuf, sizeof(bbuf));
	in = sqlite3_value_blob(argv[4]);
	n = sqlite3_value_bytes(argv[4]);
	if (at.key && in && n >= SEAL_OVERHEAD &&
	    n <= SEAL_MAX + SEAL_OVERHEAD &&
	    (sqlite3_value_type(argv[3]) == SQLITE_NULL || at.bound) &&
	    !open_blob(st, 1, &at, in, (size_t)n, plain) &&
	    !seal_blob(st, &at, plain, (size_t)n - SEAL_OVERHEAD, out)) {
		sqlite3_result_blob(ctx, out, n, SQLITE_TRANSIENT);
	} else {
		msg = sqlite3_mprintf("%s row %s: %s does not open (damaged)",
				      at.table, at.key ? at.key : "?",
				      at.column);
		sqlite3_result_error(ctx, msg ? msg : "reseal", -1);
		sqlite3_free(msg);
	}
	explicit_bzero(plain, sizeof(plain));
}

/*
 * Seal version 1 to 2: every sealed value opened with the constant and
 * sealed again bound to its row and column, and the version recorded,
 * in one transaction. A value that does not open leaves the store as it
 * was.
 */
static int store_migrate(struct store *st)
{
	static const char sql[] =
		"BEGIN IMMEDIATE;"
		"UPDATE clients SET"
		" km = guise_reseal('clients', 'km', id, address, km);"
		"UPDATE channels SET"
		" kc = guise_reseal('channels', 'kc', id, NULL, kc),"
		" kc_prev = guise_reseal('channels', 'kc_prev', id, NULL,"
		" kc_prev);"
		"UPDATE contents SET"
		" ks = guise_reseal('contents', 'ks', id, channel, ks),"
		" ks_prev = guise_reseal('contents', 'ks_prev', id, channel,"
		" ks_prev);"
		"UPDATE sealing SET"
		" probe = guise_reseal('sealing', 'probe', id, NULL, probe);"
		"INSERT OR REPLACE INTO meta (name, value)"
		" VALUES ('seal_version', 2);"
		"COMMIT;";
	int err;

	/* Direct only: never from a trigger or view someone put in the
	 * file. */
	if (sqlite3_create_function_v2(
		    st->db, "guise_reseal", 5, SQLITE_UTF8 | SQLITE_DIRECTONLY,
		    st, reseal_fn, NULL, NULL, NULL) != SQLITE_OK)
		return store_fail(st, "reseal");
	err = store_exec(st, sql);
	if (err) {
		sqlite3_exec(st->db, "ROLLBACK;", NULL, NULL, NULL);
		guise_err("store: cannot bind the sealed values to their rows "
			  "(seal version 1 to 2); the store is left as it "
			  "was");
	} else {
		guise_warn("store: sealed values bound to their rows (seal "
			   "version 1 to 2)");
	}
	sqlite3_create_function_v2(st->db, "guise_reseal", 5, SQLITE_UTF8, NULL,
				   NULL, NULL, NULL, NULL);
	return err;
}

static bool store_empty(struct store *st)
{
	sqlite3_stmt *s;
	bool empty = false;

	if (sqlite3_prepare_v2(st->db,
			       "SELECT (SELECT count(*) FROM clients) +"
			       " (SELECT count(*) FROM channels);",
			       -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		empty = sqlite3_column_int64(s, 0) == 0;
	sqlite3_finalize(s);
	return empty;
}

/* The seal version of a sealed store: 1 without a meta row. */
static int64_t seal_version(struct store *st)
{
	sqlite3_stmt *s;
	int64_t v = -1;

	if (sqlite3_prepare_v2(st->db,
			       "SELECT value FROM meta"
			       " WHERE name = 'seal_version';",
			       -1, &s, NULL) != SQLITE_OK)
		return -1;
	switch (sqlite3_step(s)) {
	case SQLITE_ROW:
		v = sqlite3_column_int64(s, 0);
		break;
	case SQLITE_DONE:
		v = 1;
		break;
	}
	sqlite3_finalize(s);
	return v;
}

/*
 * With a passphrase, every secret column is sealed under
 * PBKDF2-SHA256(passphrase, salt): a new store records salt and a probe
 * (32 sealed zero bytes) that tells a wrong passphrase at the next start.
 * A store of seal version 1 is moved to the current one.
 */
static int store_unlock(struct store *st, const char *pass, size_t passlen)
{
	static const struct seal_at probe_at = { "sealing", "probe", "1",
						 NULL };
	uint8_t salt[16], probe[32 + SEAL_OVERHEAD], zero[32] = { 0 };
	uint8_t check[32];
	sqlite3_stmt *s;
	int64_t iterations = SEAL_ITERATIONS, version = SEAL_VERSION;
	bool have = false;

	if (sqlite3_prepare_v2(st->db,
			       "SELECT salt, iterations, probe FROM sealing;",
			       -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, "sealing");
	if (sqlite3_step(s) == SQLITE_ROW &&
	    sqlite3_column_bytes(s, 0) == sizeof(salt) &&
	    sqlite3_column_bytes(s, 2) == sizeof(probe)) {
		memcpy(salt, sqlite3_column_blob(s, 0), sizeof(salt));
		iterations = sqlite3_column_int64(s, 1);
		memcpy(probe, sqlite3_column_blob(s, 2), sizeof(probe));
		have = true;
	}
	sqlite3_finalize(s);
	if (!pass) {
		if (have)
			guise_err("store: sealed; [server] secret_file is "
				  "needed");
		return have ? -EACCES : 0;
	}
	if (!have && !store_empty(st)) {
		guise_err("store: holds unsealed secrets; start from a new "
			  "database to seal them");
		return -EACCES;
	}
	if (have) {
		version = seal_version(st);
		if (version != 1 && version != SEAL_VERSION) {
			guise_err("store: unknown seal version %lld",
				  (long long)version);
			return -EACCES;
		}
	}
	if (!have && RAND_bytes(salt, sizeof(salt)) != 1)
		return -EIO;
	if (iterations < 1 || iterations > 10000000 ||
	    PKCS5_PBKDF2_HMAC(pass, (int)passlen, salt, sizeof(salt),
			      (int)iterations, EVP_sha256(), sizeof(st->key),
			      st->key) != 1)
		return -EIO;
	st->sealed = true;
	if (have) {
		if (open_blob(st, (int)version, &probe_at, probe, sizeof(probe),
			      check)) {
			/* The version row changed, not the secret? */
			if (!open_blob(st, version == 1 ? SEAL_VERSION : 1,
				       &probe_at, probe, sizeof(probe), check))
				guise_err("store: meta 'seal_version' does not "
					  "match the sealed probe: altered; "
					  "refusing the store");
			else
				guise_err("store: wrong secret for the sealed "
					  "store");
			return -EACCES;
		}
		return version == 1 ? store_migrate(st) : 0;
	}
	if (seal_blob(st, &probe_at, zero, sizeof(zero), probe) ||
	    store_exec(st, "BEGIN IMMEDIATE;"))
		return -EIO;
	if (run(st,
		"INSERT INTO sealing (id, salt, iterations, probe)"
		" VALUES (1, ?, ?, ?);",
		"bib", salt, sizeof(salt), iterations, probe, sizeof(probe)) ||
	    run(st,
		"INSERT OR REPLACE INTO meta (name, value)"
		" VALUES ('seal_version', ?);",
		"i", (int64_t)SEAL_VERSION) ||
	    store_exec(st, "COMMIT;")) {
		sqlite3_exec(st->db, "ROLLBACK;", NULL, NULL, NULL);
		return -EIO;
	}
	return 0;
}

int store_open(const char *path, const char *pass, size_t passlen,
	       struct store **stp)
{
	struct store *st = calloc(1, sizeof(*st));
	int fd;

	if (!st)
		return -ENOMEM;
	/* Km and Kc live here: create it private. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	if (sqlite3_open_v2(path, &st->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				    SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		guise_err("store: %s: %s", path,
			  st->db ? sqlite3_errmsg(st->db) : "cannot open");
		sqlite3_close(st->db);
		free(st);
		return -EIO;
	}
	sqlite3_busy_timeout(st->db, 5000);
	if (store_exec(st, "PRAGMA journal_mode=WAL;") ||
	    store_exec(st, "PRAGMA synchronous=FULL;") ||
	    store_exec(st, schema) || audit_init(st->db) ||
	    store_unlock(st, pass, passlen)) {
		store_close(st);
		return -EIO;
	}
	*stp = st;
	return 0;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	sqlite3_close(st->db);
	explicit_bzero(st, sizeof(*st));
	free(st);
}

sqlite3 *store_db(struct store *st)
{
	return st->db;
}

/*
 * Run @sql with arguments described by @types: 'i' int64, 't' text,
 * 'b' blob (pointer, size_t length), 's' secret blob (pointer, size_t
 * length, const struct seal_at *: sealed there when the store is). 0 or
 * -EIO.
 */
static int run(struct store *st, const char *sql, const char *types, ...)
{
	uint8_t sealed[SEAL_MAX + SEAL_OVERHEAD];
	sqlite3_stmt *stmt;
	va_list ap;
	int i, rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return store_fail(st, "prepare");
	va_start(ap, types);
	for (i = 0; types[i]; i++) {
		if (types[i] == 'i') {
			sqlite3_bind_int64(stmt, i + 1, va_arg(ap, int64_t));
		} else if (types[i] == 't') {
			sqlite3_bind_text(stmt, i + 1, va_arg(ap, const char *),
					  -1, SQLITE_TRANSIENT);
		} else {
			const void *p = va_arg(ap, const void *);
			size_t len = va_arg(ap, size_t);
			const struct seal_at *at =
				types[i] == 's' ?
					va_arg(ap, const struct seal_at *) :
					NULL;

			if (at && st->sealed) {
				if (len > SEAL_MAX ||
				    seal_blob(st, at, p, len, sealed)) {
					va_end(ap);
					sqlite3_finalize(stmt);
					return -EIO;
				}
				p = sealed;
				len += SEAL_OVERHEAD;
			}
			sqlite3_bind_blob(stmt, i + 1, p, (int)len,
					  SQLITE_TRANSIENT);
		}
	}
	va_end(ap);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	explicit_bzero(sealed, sizeof(sealed));
	return rc == SQLITE_DONE ? 0 : store_fail(st, "step");
}

int store_client_put(struct store *st, const struct kclient *c)
{
	char a[INET6_ADDRSTRLEN];
	struct seal_at km = { "clients", "km", c->id, a };

	inet_ntop(AF_INET6, &c->addr, a, sizeof(a));
	return run(st,
		   "INSERT OR REPLACE INTO clients (id, address, km) "
		   "VALUES (?, ?, ?);",
		   "tts", c->id, a, c->ck.km, sizeof(c->ck.km), &km);
}

int store_client_del(struct store *st, const char *id)
{
	return run(st, "DELETE FROM entitlements WHERE client = ?;", "t", id) ?:
		       run(st, "DELETE FROM client_certs WHERE client = ?;", "t", id) ?:
		       run(st,
			   "DELETE FROM cert_chains WHERE NOT EXISTS"
			   " (SELECT 1 FROM client_certs c WHERE"
			   " c.issuer = cert_chains.issuer AND"
			   " c.serial = cert_chains.serial);",
			   "") ?:
		       run(st, "DELETE FROM clients WHERE id = ?;", "t", id);
}

int store_client_cert_set(struct store *st, const char *client,
			  const char *issuer, const char *serial,
			  const unsigned char *chain, size_t len)
{
	int err = run(
		st,
		"INSERT OR REPLACE INTO client_certs (issuer, serial, client)"
		" VALUES (?, ?, ?);",
		"ttt", issuer, serial, client);

	if (err || !chain)
		return err;
	return run(st,
		   "INSERT INTO cert_chains (issuer, serial, chain)"
		   " VALUES (?, ?, ?) ON CONFLICT (issuer, serial)"
		   " DO UPDATE SET chain = excluded.chain"
		   " WHERE chain <> excluded.chain;",
		   "ttb", issuer, serial, (const void *)chain, len);
}

int store_entitled_cert_chains(struct store *st, struct revalidate_cert **out,
			       size_t *n)
{
	sqlite3_stmt *stmt;
	int err;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(
		    st->db,
		    "SELECT k.issuer, k.serial, k.chain FROM cert_chains k"
		    " JOIN client_certs c"
		    " ON c.issuer = k.issuer AND c.serial = k.serial"
		    " WHERE EXISTS (SELECT 1 FROM entitlements e"
		    " WHERE e.client = c.client);",
		    -1, &stmt, NULL) != SQLITE_OK)
		return store_fail(st, "prepare");
	err = revalidate_certs_read(stmt, out, n);
	if (err == -EIO)
		store_fail(st, "cert chains");
	sqlite3_finalize(stmt);
	return err;
}

int store_client_by_cert(struct store *st, const char *issuer,
			 const char *serial, char *id, size_t idlen)
{
	sqlite3_stmt *stmt;
	const unsigned char *v;
	int rc, err = -ENOENT;

	if (sqlite3_prepare_v2(st->db,
			       "SELECT client FROM client_certs"
			       " WHERE issuer = ? AND serial = ?;",
			       -1, &stmt, NULL) != SQLITE_OK)
		return store_fail(st, "prepare");
	sqlite3_bind_text(stmt, 1, issuer, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(stmt, 2, serial, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		v = sqlite3_column_text(stmt, 0);
		if (v && strlen((const char *)v) < idlen) {
			strcpy(id, (const char *)v);
			err = 0;
		}
	} else if (rc != SQLITE_DONE) {
		err = store_fail(st, "select");
	}
	sqlite3_finalize(stmt);
	return err;
}

int store_channel_put(struct store *st, const struct kchannel *ch)
{
	char g[INET6_ADDRSTRLEN], k[24];
	struct seal_at kc = { "channels", "kc", k, NULL },
		       kc_prev = { "channels", "kc_prev", k, NULL };

	inet_ntop(AF_INET6, &ch->group, g, sizeof(g));
	snprintf(k, sizeof(k), "%u", ch->id);
	return run(st,
		   "INSERT OR REPLACE INTO channels (id, grp, port, kc_period,"
		   " bandwidth, kc, kc_prev, next_rotation)"
		   " VALUES (?, ?, ?, ?, ?, ?, ?, ?);",
		   "itiiissi", (int64_t)ch->id, g, (int64_t)ch->port,
		   (int64_t)ch->kc_period, (int64_t)ch->bandwidth_kbps,
		   &ch->cur, sizeof(ch->cur), &kc, &ch->prev, sizeof(ch->prev),
		   &kc_prev, (int64_t)ch->next_rotation);
}

int store_channel_del(struct store *st, uint32_t id)
{
	return run(st, "DELETE FROM entitlements WHERE channel = ?;", "i", (int64_t)id) ?:
		       run(st, "DELETE FROM channels WHERE id = ?;", "i",
			   (int64_t)id);
}

int store_content_put(struct store *st, const struct kcontent *ct)
{
	char k[24], c[24];
	struct seal_at ks = { "contents", "ks", k, c },
		       ks_prev = { "contents", "ks_prev", k, c };

	snprintf(k, sizeof(k), "%u", ct->id);
	snprintf(c, sizeof(c), "%u", ct->channel);
	return run(st,
		   "INSERT OR REPLACE INTO contents (id, channel, alg,"
		   " ks_period, ks, ks_prev) VALUES (?, ?, ?, ?, ?, ?);",
		   "iiiiss", (int64_t)ct->id, (int64_t)ct->channel,
		   (int64_t)ct->alg, (int64_t)ct->ks_period, &ct->cur,
		   sizeof(ct->cur), &ks, &ct->prev, sizeof(ct->prev), &ks_prev);
}

int store_content_del(struct store *st, uint32_t id)
{
	return run(st, "DELETE FROM contents WHERE id = ?;", "i", (int64_t)id);
}

int store_entitle(struct store *st, const char *client, uint32_t channel,
		  bool on)
{
	return run(st,
		   on ? "INSERT OR IGNORE INTO entitlements (client, channel)"
			" VALUES (?, ?);" :
			"DELETE FROM entitlements WHERE client = ? AND"
			" channel = ?;",
		   "ti", client, (int64_t)channel);
}

int store_next_key_id(struct store *st, uint32_t next)
{
	return run(st,
		   "INSERT OR REPLACE INTO meta (name, value)"
		   " VALUES ('next_key_id', ?);",
		   "i", (int64_t)next);
}

/*
 * A secret column into @dst (@len bytes), unsealed if need be: a value
 * that does not open where it is (moved from another row or column, or
 * damaged) is named and refuses the store.
 */
static bool blob(struct store *st, sqlite3_stmt *s, int col,
		 const struct seal_at *at, void *dst, size_t len)
{
	size_t have = (size_t)sqlite3_column_bytes(s, col);

	if (st->sealed) {
		if (have == len + SEAL_OVERHEAD &&
		    !open_blob(st, SEAL_VERSION, at,
			       sqlite3_column_blob(s, col), have, dst))
			return true;
		guise_err("store: %s row %s: %s does not open there (sealed "
			  "for another row or column, or damaged); refusing "
			  "the store",
			  at->table, at->key, at->column);
		return false;
	}
	if (have != len)
		return false;
	memcpy(dst, sqlite3_column_blob(s, col), len);
	return true;
}

static struct kclient *find_client(struct keyd *d, const char *id)
{
	size_t i;

	for (i = 0; i < d->nclients; i++)
		if (!strcmp(d->clients[i]->id, id))
			return d->clients[i];
	return NULL;
}

static int load_clients(struct store *st, struct keyd *d, sqlite3_stmt *s)
{
	while (sqlite3_step(s) == SQLITE_ROW) {
		struct kclient *c = calloc(1, sizeof(*c)), **nv;
		uint8_t km[GUISE_KEYING_KEY_LEN];
		const char *id = (const char *)sqlite3_column_text(s, 0);
		const char *a = (const char *)sqlite3_column_text(s, 1);
		struct seal_at at = { "clients", "km", id, a };

		if (!c)
			return -ENOMEM;
		c->q.prio = PRIO_NONE;
		c->q.is_demm = true;
		if (!id || strlen(id) >= sizeof(c->id) || !a ||
		    inet_pton(AF_INET6, a, &c->addr) != 1) {
			free(c);
			return store_fail(st, "bad client row");
		}
		if (!blob(st, s, 2, &at, km, sizeof(km))) {
			free(c);
			return -EIO;
		}
		if (guise_client_keys_init(&c->ck, km)) {
			explicit_bzero(km, sizeof(km));
			free(c);
			return store_fail(st, "bad client row");
		}
		explicit_bzero(km, sizeof(km));
		strcpy(c->id, id);
		if (d->nclients == d->capclients) {
			d->capclients = d->capclients ? 2 * d->capclients : 64;
			nv = reallocarray(d->clients, d->capclients,
					  sizeof(*nv));
			if (!nv) {
				free(c);
				return -ENOMEM;
			}
			d->clients = nv;
		}
		d->clients[d->nclients++] = c;
	}
	return 0;
}

static int load_channels(struct store *st, struct keyd *d, sqlite3_stmt *s)
{
	while (sqlite3_step(s) == SQLITE_ROW) {
		struct kchannel ch, *nv;
		const char *g = (const char *)sqlite3_column_text(s, 1);
		char k[24];
		struct seal_at kc = { "channels", "kc", k, NULL },
			       kc_prev = { "channels", "kc_prev", k, NULL };

		snprintf(k, sizeof(k), "%lld",
			 (long long)sqlite3_column_int64(s, 0));
		memset(&ch, 0, sizeof(ch));
		ch.id = (uint32_t)sqlite3_column_int64(s, 0);
		ch.port = (uint16_t)sqlite3_column_int64(s, 2);
		ch.kc_period = (uint32_t)sqlite3_column_int64(s, 3);
		ch.bandwidth_kbps = (uint32_t)sqlite3_column_int64(s, 4);
		ch.next_rotation = (uint64_t)sqlite3_column_int64(s, 7);
		if (!g || inet_pton(AF_INET6, g, &ch.group) != 1)
			return store_fail(st, "bad channel row");
		if (!blob(st, s, 5, &kc, &ch.cur, sizeof(ch.cur)) ||
		    !blob(st, s, 6, &kc_prev, &ch.prev, sizeof(ch.prev))) {
			explicit_bzero(&ch, sizeof(ch));
			return -EIO;
		}
		nv = reallocarray(d->channels, d->nchannels + 1, sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		d->channels = nv;
		d->channels[d->nchannels++] = ch;
	}
	return 0;
}

static int load_contents(struct store *st, struct keyd *d, sqlite3_stmt *s)
{
	while (sqlite3_step(s) == SQLITE_ROW) {
		struct kcontent *ct = calloc(1, sizeof(*ct)), **nv;
		char k[24], c[24];
		struct seal_at ks = { "contents", "ks", k, c },
			       ks_prev = { "contents", "ks_prev", k, c };

		if (!ct)
			return -ENOMEM;
		snprintf(k, sizeof(k), "%lld",
			 (long long)sqlite3_column_int64(s, 0));
		snprintf(c, sizeof(c), "%lld",
			 (long long)sqlite3_column_int64(s, 1));
		ct->q.prio = PRIO_NONE;
		ct->id = (uint32_t)sqlite3_column_int64(s, 0);
		ct->channel = (uint32_t)sqlite3_column_int64(s, 1);
		ct->alg = (uint8_t)sqlite3_column_int64(s, 2);
		ct->ks_period = (uint32_t)sqlite3_column_int64(s, 3);
		if (!blob(st, s, 4, &ks, &ct->cur, sizeof(ct->cur)) ||
		    !blob(st, s, 5, &ks_prev, &ct->prev, sizeof(ct->prev))) {
			explicit_bzero(ct, sizeof(*ct));
			free(ct);
			return -EIO;
		}
		nv = reallocarray(d->contents, d->ncontents + 1, sizeof(*nv));
		if (!nv) {
			free(ct);
			return -ENOMEM;
		}
		d->contents = nv;
		d->contents[d->ncontents++] = ct;
	}
	return 0;
}

static int load_entitlements(struct store *st, struct keyd *d, sqlite3_stmt *s)
{
	(void)st;
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(s, 0);
		struct kclient *c = id ? find_client(d, id) : NULL;

		if (c && c->nchannels < KEYD_MAX_ENTITLED)
			c->channels[c->nchannels++] =
				(uint32_t)sqlite3_column_int64(s, 1);
	}
	return 0;
}

int store_load(struct store *st, struct keyd *d)
{
	static const struct {
		const char *sql;
		int (*fn)(struct store *, struct keyd *, sqlite3_stmt *);
	} steps[] = {
		{ "SELECT id, address, km FROM clients ORDER BY id;",
		  load_clients },
		{ "SELECT id, grp, port, kc_period, bandwidth, kc, kc_prev,"
		  " next_rotation FROM channels ORDER BY id;",
		  load_channels },
		{ "SELECT id, channel, alg, ks_period, ks, ks_prev FROM"
		  " contents ORDER BY id;",
		  load_contents },
		{ "SELECT client, channel FROM entitlements;",
		  load_entitlements },
		{ "SELECT value FROM meta WHERE name = 'next_key_id';", NULL },
	};
	sqlite3_stmt *s;
	size_t i;
	int err;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (sqlite3_prepare_v2(st->db, steps[i].sql, -1, &s, NULL) !=
		    SQLITE_OK)
			return store_fail(st, "load");
		if (steps[i].fn) {
			err = steps[i].fn(st, d, s);
		} else {
			if (sqlite3_step(s) == SQLITE_ROW)
				d->next_key_id =
					(uint32_t)sqlite3_column_int64(s, 0);
			err = 0;
		}
		sqlite3_finalize(s);
		if (err)
			return err;
	}
	if (!d->next_key_id)
		d->next_key_id = 1;
	return 0;
}
