// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "addr.h"
#include "audit.h"
#include "log.h"
#include "revalidate.h"
#include "store.h"
#include "walbuf.h"

/* Prepared statements kept across calls, found by their SQL text's
 * address (every statement is a string literal of this file). */
#define STORE_STMTS 32

struct store {
	sqlite3 *db;
	struct {
		const char *sql;
		sqlite3_stmt *stmt;
	} cache[STORE_STMTS];
};

/*
 * The schema version, in the database header (PRAGMA user_version):
 * 0  before versions (tables added by CREATE IF NOT EXISTS alone);
 * 1  the rent's certificate (issuer, serial) in its leases row, no
 *    lease_certs table: one table row and two index entries fewer per
 *    rent, and they go with the lease.
 * store_open() migrates an older store in one transaction and refuses a
 * newer one.
 */
#define STORE_VERSION 1

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS leases ("
	" virtual TEXT PRIMARY KEY,"
	" real TEXT NOT NULL,"
	" peer TEXT NOT NULL,"
	" expires INTEGER NOT NULL,"
	" created INTEGER NOT NULL,"
	" flags INTEGER NOT NULL DEFAULT 3,"
	/* The client certificate it was rented with, for revocation
	 * events; NULL without one (gateway mode, UNIX socket). */
	" issuer TEXT,"
	" serial TEXT,"
	" UNIQUE (real, peer));"
	"CREATE INDEX IF NOT EXISTS leases_expires ON leases (expires);"
	"CREATE INDEX IF NOT EXISTS leases_cert ON leases (serial, issuer)"
	" WHERE serial IS NOT NULL;"
	"CREATE TABLE IF NOT EXISTS history ("
	" virtual TEXT NOT NULL,"
	" real TEXT NOT NULL,"
	" peer TEXT NOT NULL,"
	" start INTEGER NOT NULL,"
	" end INTEGER NOT NULL,"
	" reason TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS history_virtual ON history (virtual);"
	"CREATE INDEX IF NOT EXISTS history_end ON history (end);"
	/* The chain itself (DER back to back, leaf first), to re-validate
	 * live leases with certd after its event stream was down: once per
	 * certificate, purged at the history purge once no lease names it. A
	 * store made before re-validation gains the table at open (its
	 * leases have no chain and are not re-validated). */
	"CREATE TABLE IF NOT EXISTS cert_chains ("
	" issuer TEXT NOT NULL,"
	" serial TEXT NOT NULL,"
	" chain BLOB NOT NULL,"
	" PRIMARY KEY (issuer, serial));";

/* Version 0 to 1: lease_certs (virtual PRIMARY KEY, issuer, serial), if
 * the store has it, into the leases rows; the schema above then adds the
 * index. */
static const char migrate_v1[] =
	"ALTER TABLE leases ADD COLUMN issuer TEXT;"
	"ALTER TABLE leases ADD COLUMN serial TEXT;"
	"CREATE TABLE IF NOT EXISTS lease_certs ("
	" virtual TEXT PRIMARY KEY, issuer TEXT NOT NULL,"
	" serial TEXT NOT NULL);"
	"UPDATE leases SET issuer = c.issuer, serial = c.serial"
	" FROM lease_certs c WHERE c.virtual = leases.virtual;"
	"DROP TABLE lease_certs;";

/*
 * Leases per client, for the max_per_client check of every rent: a
 * count(*) over the client's leases costs as many index entries as the
 * client holds (a host with 5,000 leases: a fifth of the daemon's CPU).
 * Kept instead by the statements that insert and delete leases (the only
 * ones: store_lease_insert(), store_lease_end(); a lease's real address
 * is never updated, renew changes expires only), in the same transaction,
 * so a rolled back batch rolls the count back too. Not by triggers: a
 * statement with a trigger keeps a copy of every page it changes in a
 * statement journal, a sixth of the daemon's CPU per request. In memory
 * (TEMP): nothing more to write per commit, no on-disk schema change;
 * rebuilt from the leases table at every open. Writers on other
 * connections would not update it: the daemon is the store's only writer.
 */
static const char client_count[] =
	"PRAGMA temp_store = MEMORY;"
	"CREATE TEMP TABLE client_leases ("
	" real TEXT PRIMARY KEY,"
	" n INTEGER NOT NULL) WITHOUT ROWID;"
	"INSERT INTO temp.client_leases"
	" SELECT real, count(*) FROM main.leases GROUP BY real;";

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

/* journal_mode answers with the mode in force: check it is WAL. */
static int store_wal(struct store *st)
{
	const unsigned char *mode;
	sqlite3_stmt *stmt;
	int err = 0;

	if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode=WAL;", -1, &stmt,
			       NULL) != SQLITE_OK)
		return store_fail(st, "journal_mode");
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		err = store_fail(st, "journal_mode");
	} else {
		mode = sqlite3_column_text(stmt, 0);
		if (!mode || strcmp((const char *)mode, "wal")) {
			guise_err("store: cannot use WAL (journal mode %s)",
				  mode ? (const char *)mode : "?");
			err = -EIO;
		}
	}
	sqlite3_finalize(stmt);
	return err;
}

/* One integer of a one-row query; -1 on failure. */
static int64_t store_int(struct store *st, const char *sql)
{
	sqlite3_stmt *stmt;
	int64_t v = -1;

	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

/* Create the tables, or bring an older store to STORE_VERSION: one
 * transaction, so a failure (or a crash) leaves the store as it was. */
static int store_schema(struct store *st)
{
	char sql[64];
	int64_t version, old;

	if (store_exec(st, "BEGIN IMMEDIATE;"))
		return -EIO;
	version = store_int(st, "PRAGMA user_version;");
	old = store_int(st, "SELECT count(*) FROM sqlite_master"
			    " WHERE type = 'table' AND name = 'leases';");
	if (version < 0 || old < 0) {
		store_fail(st, "schema version");
		goto fail;
	}
	if (version > STORE_VERSION) {
		guise_err("store: schema version %lld is newer than this "
			  "daemon's (%d)",
			  (long long)version, STORE_VERSION);
		goto fail;
	}
	if (old && version < 1) {
		if (store_exec(st, migrate_v1))
			goto fail;
		guise_info("store: schema migrated to version 1");
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d;", STORE_VERSION);
	if (store_exec(st, schema) || store_exec(st, sql) ||
	    store_exec(st, "COMMIT;"))
		goto fail;
	return 0;
fail:
	store_exec(st, "ROLLBACK;");
	return -EIO;
}

int store_open(const char *path, struct store **stp)
{
	struct store *st = calloc(1, sizeof(*st));
	int rc;

	if (!st)
		return -ENOMEM;
	/* No memory statistics (nothing reads them): each of SQLite's
	 * allocations, about forty per request, took a global mutex to
	 * count itself. Only possible before the library's first use:
	 * later it is refused (SQLITE_MISUSE), harmlessly. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	/* A commit's WAL frames in one write instead of two each
	 * (walbuf.h): relies on every commit syncing the WAL, which
	 * synchronous=FULL below guarantees. */
	rc = sqlite3_open_v2(path, &st->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_NOMUTEX,
			     walbuf_vfs());
	if (rc != SQLITE_OK) {
		guise_err("store: %s: %s", path,
			  st->db ? sqlite3_errmsg(st->db) : "cannot open");
		sqlite3_close(st->db);
		free(st);
		return -EIO;
	}
	sqlite3_busy_timeout(st->db, 5000);
	sqlite3_extended_result_codes(st->db, 1);
	if (store_wal(st) || store_exec(st, "PRAGMA synchronous=FULL;") ||
	    store_schema(st) || store_exec(st, client_count) ||
	    audit_init(st->db)) {
		store_close(st);
		return -EIO;
	}
	*stp = st;
	return 0;
}

void store_close(struct store *st)
{
	size_t i;

	if (!st)
		return;
	for (i = 0; i < STORE_STMTS && st->cache[i].sql; i++)
		sqlite3_finalize(st->cache[i].stmt);
	sqlite3_close(st->db);
	free(st);
}

/* A statement for @sql: the cached one, else newly prepared (and cached
 * while there is room). Give it back with finish(). */
static int prepare(struct store *st, const char *sql, sqlite3_stmt **stmt)
{
	size_t i;

	for (i = 0; i < STORE_STMTS && st->cache[i].sql; i++) {
		if (st->cache[i].sql == sql) {
			*stmt = st->cache[i].stmt;
			return 0;
		}
	}
	if (sqlite3_prepare_v3(st->db, sql, -1,
			       i < STORE_STMTS ? SQLITE_PREPARE_PERSISTENT : 0,
			       stmt, NULL) != SQLITE_OK)
		return store_fail(st, "prepare");
	if (i < STORE_STMTS) {
		st->cache[i].sql = sql;
		st->cache[i].stmt = *stmt;
	}
	return 0;
}

/* Done with @stmt: reset (a pending SELECT would hold its read
 * transaction open) and keep it, or finalize one that is not cached. */
static void finish(struct store *st, sqlite3_stmt *stmt)
{
	size_t i;

	for (i = 0; i < STORE_STMTS && st->cache[i].sql; i++) {
		if (st->cache[i].stmt == stmt) {
			sqlite3_reset(stmt);
			sqlite3_clear_bindings(stmt);
			return;
		}
	}
	sqlite3_finalize(stmt);
}

static int bind_addr(struct store *st, sqlite3_stmt *stmt, int idx,
		     const struct in6_addr *a)
{
	char buf[INET6_ADDRSTRLEN];

	if (sqlite3_bind_text(stmt, idx, guise_addr_format(a, buf), -1,
			      SQLITE_TRANSIENT) != SQLITE_OK)
		return store_fail(st, "bind");
	return 0;
}

static int bind_int(struct store *st, sqlite3_stmt *stmt, int idx, int64_t v)
{
	if (sqlite3_bind_int64(stmt, idx, v) != SQLITE_OK)
		return store_fail(st, "bind");
	return 0;
}

static int bind_text(struct store *st, sqlite3_stmt *stmt, int idx,
		     const char *s)
{
	int rc = s ? sqlite3_bind_text(stmt, idx, s, -1, SQLITE_TRANSIENT) :
		     sqlite3_bind_null(stmt, idx);

	if (rc != SQLITE_OK)
		return store_fail(st, "bind");
	return 0;
}

static int column_addr(sqlite3_stmt *stmt, int col, struct in6_addr *a)
{
	const unsigned char *s = sqlite3_column_text(stmt, col);

	if (!s || inet_pton(AF_INET6, (const char *)s, a) != 1) {
		guise_err("store: malformed address in column %d", col);
		return -EIO;
	}
	return 0;
}

#define LEASE_COLUMNS "virtual, real, peer, expires, created, flags"

static int column_lease(sqlite3_stmt *stmt, struct lease_rec *l)
{
	if (column_addr(stmt, 0, &l->virt) || column_addr(stmt, 1, &l->real) ||
	    column_addr(stmt, 2, &l->peer))
		return -EIO;
	l->expires = sqlite3_column_int64(stmt, 3);
	l->created = sqlite3_column_int64(stmt, 4);
	l->flags = (uint32_t)sqlite3_column_int64(stmt, 5);
	return 0;
}

/* Step a statement expected to give at most one lease row. */
static int step_lease(struct store *st, sqlite3_stmt *stmt,
		      struct lease_rec *out)
{
	int rc = sqlite3_step(stmt);

	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return store_fail(st, "select");
	return column_lease(stmt, out);
}

/* Step a statement that returns no rows. */
static int step_done(struct store *st, sqlite3_stmt *stmt, const char *what)
{
	if (sqlite3_step(stmt) != SQLITE_DONE)
		return store_fail(st, what);
	return 0;
}

/*
 * A statement without rows, from the cache, with the address @a as ?1
 * if not NULL: BEGIN and COMMIT of every group commit (sqlite3_exec()
 * compiles them anew each time), the per-client counts.
 */
static int store_run_addr(struct store *st, const char *sql,
			  const struct in6_addr *a)
{
	sqlite3_stmt *stmt;
	int err = prepare(st, sql, &stmt);

	if (err)
		return err;
	if (a)
		err = bind_addr(st, stmt, 1, a);
	if (!err)
		err = step_done(st, stmt, sql);
	finish(st, stmt);
	return err;
}

static int store_run(struct store *st, const char *sql)
{
	return store_run_addr(st, sql, NULL);
}

int store_begin(struct store *st)
{
	return store_run(st, "BEGIN IMMEDIATE;");
}

int store_commit(struct store *st)
{
	return store_run(st, "COMMIT;");
}

void store_rollback(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		store_run(st, "ROLLBACK;");
}

bool store_in_tx(struct store *st)
{
	return !sqlite3_get_autocommit(st->db);
}

unsigned long store_changes(struct store *st)
{
	return (unsigned long)sqlite3_total_changes(st->db);
}

int store_lease_by_virt(struct store *st, const struct in6_addr *virt,
			struct lease_rec *out)
{
	sqlite3_stmt *stmt;
	int err;

	err = prepare(st,
		      "SELECT " LEASE_COLUMNS
		      " FROM leases WHERE virtual = ?1;",
		      &stmt);
	if (err)
		return err;
	err = bind_addr(st, stmt, 1, virt);
	if (!err)
		err = step_lease(st, stmt, out);
	finish(st, stmt);
	return err;
}

int store_lease_by_pair(struct store *st, const struct in6_addr *real,
			const struct in6_addr *peer, struct lease_rec *out)
{
	sqlite3_stmt *stmt;
	int err;

	err = prepare(st,
		      "SELECT " LEASE_COLUMNS
		      " FROM leases WHERE real = ?1 AND peer = ?2;",
		      &stmt);
	if (err)
		return err;
	err = bind_addr(st, stmt, 1, real);
	if (!err)
		err = bind_addr(st, stmt, 2, peer);
	if (!err)
		err = step_lease(st, stmt, out);
	finish(st, stmt);
	return err;
}

int store_lease_count(struct store *st, const struct in6_addr *real,
		      uint64_t *count)
{
	sqlite3_stmt *stmt;
	int err, rc;

	err = prepare(
		st,
		real ? "SELECT n FROM temp.client_leases WHERE real = ?1;" :
		       "SELECT count(*) FROM leases;",
		&stmt);
	if (err)
		return err;
	if (real)
		err = bind_addr(st, stmt, 1, real);
	if (!err) {
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW)
			*count = (uint64_t)sqlite3_column_int64(stmt, 0);
		else if (rc == SQLITE_DONE && real)
			*count = 0; /* no lease: no row */
		else
			err = store_fail(st, "count");
	}
	finish(st, stmt);
	return err;
}

/* @real's lease count (temp.client_leases) up or down by one. */
static int client_count_add(struct store *st, const struct in6_addr *real,
			    int delta)
{
	int err;

	if (delta > 0)
		return store_run_addr(st,
				      "INSERT INTO temp.client_leases"
				      " VALUES (?1, 1) ON CONFLICT (real)"
				      " DO UPDATE SET n = n + 1;",
				      real);
	err = store_run_addr(st,
			     "UPDATE temp.client_leases SET n = n - 1"
			     " WHERE real = ?1;",
			     real);
	/* No row for a client without leases (what the rebuild makes). */
	return err ? err :
		     store_run_addr(st,
				    "DELETE FROM temp.client_leases"
				    " WHERE real = ?1 AND n <= 0;",
				    real);
}

static int lease_insert(struct store *st, const struct lease_rec *l,
			const char *issuer, const char *serial)
{
	sqlite3_stmt *stmt;
	int err;

	err = prepare(st,
		      "INSERT INTO leases (" LEASE_COLUMNS ", issuer, serial)"
		      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8);",
		      &stmt);
	if (err)
		return err;
	if (!(err = bind_addr(st, stmt, 1, &l->virt)) &&
	    !(err = bind_addr(st, stmt, 2, &l->real)) &&
	    !(err = bind_addr(st, stmt, 3, &l->peer)) &&
	    !(err = bind_int(st, stmt, 4, l->expires)) &&
	    !(err = bind_int(st, stmt, 5, l->created)) &&
	    !(err = bind_int(st, stmt, 6, l->flags)) &&
	    !(err = bind_text(st, stmt, 7, issuer)) &&
	    !(err = bind_text(st, stmt, 8, issuer ? serial : NULL)))
		err = step_done(st, stmt, "insert lease");
	finish(st, stmt);
	if (err)
		return err;
	return client_count_add(st, &l->real, 1);
}

/*
 * A write of several statements (a lease and its count) runs in the
 * caller's transaction, or in one of its own: tx_own() opens it if
 * needed, tx_own_end() commits it, or rolls it back after @err.
 */
static int tx_own(struct store *st, bool *own)
{
	*own = !store_in_tx(st);
	return *own && store_begin(st) ? -EIO : 0;
}

static int tx_own_end(struct store *st, bool own, int err)
{
	if (!own)
		return err;
	if (!err)
		err = store_commit(st);
	if (err)
		store_rollback(st);
	return err;
}

int store_lease_insert(struct store *st, const struct lease_rec *l,
		       const char *issuer, const char *serial)
{
	bool own;

	if (tx_own(st, &own))
		return -EIO;
	return tx_own_end(st, own, lease_insert(st, l, issuer, serial));
}

int store_lease_set_expires(struct store *st, const struct in6_addr *virt,
			    int64_t expires)
{
	sqlite3_stmt *stmt;
	int err;

	err = prepare(st, "UPDATE leases SET expires = ?2 WHERE virtual = ?1;",
		      &stmt);
	if (err)
		return err;
	if (!(err = bind_addr(st, stmt, 1, virt)) &&
	    !(err = bind_int(st, stmt, 2, expires)))
		err = step_done(st, stmt, "update lease");
	if (!err && sqlite3_changes(st->db) != 1)
		err = -ENOENT;
	finish(st, stmt);
	return err;
}

/* The lease row goes first: a lease already gone (-ENOENT) leaves the
 * transaction as it was, with no history record for it. */
static int lease_end(struct store *st, const struct lease_rec *l, int64_t end,
		     const char *reason)
{
	sqlite3_stmt *stmt;
	int err;

	err = prepare(st, "DELETE FROM leases WHERE virtual = ?1;", &stmt);
	if (err)
		return err;
	err = bind_addr(st, stmt, 1, &l->virt);
	if (!err)
		err = step_done(st, stmt, "delete lease");
	if (!err && sqlite3_changes(st->db) != 1)
		err = -ENOENT;
	finish(st, stmt);
	if (err)
		return err;

	err = prepare(st,
		      "INSERT INTO history"
		      " (virtual, real, peer, start, end, reason)"
		      " VALUES (?1, ?2, ?3, ?4, ?5, ?6);",
		      &stmt);
	if (err)
		return err;
	if (!(err = bind_addr(st, stmt, 1, &l->virt)) &&
	    !(err = bind_addr(st, stmt, 2, &l->real)) &&
	    !(err = bind_addr(st, stmt, 3, &l->peer)) &&
	    !(err = bind_int(st, stmt, 4, l->created)) &&
	    !(err = bind_int(st, stmt, 5, end)) &&
	    !(err = bind_text(st, stmt, 6, reason)))
		err = step_done(st, stmt, "insert history");
	finish(st, stmt);
	if (err)
		return err;
	return client_count_add(st, &l->real, -1);
}

int store_lease_end(struct store *st, const struct lease_rec *l, int64_t end,
		    const char *reason)
{
	bool own;

	if (tx_own(st, &own))
		return -EIO;
	return tx_own_end(st, own, lease_end(st, l, end, reason));
}

int store_lease_list(struct store *st, int64_t before, size_t max,
		     struct lease_rec **out, size_t *n)
{
	struct lease_rec *v = NULL, *nv;
	size_t count = 0, cap = 0;
	sqlite3_stmt *stmt;
	int err, rc;

	*out = NULL;
	*n = 0;
	err = prepare(st,
		      "SELECT " LEASE_COLUMNS " FROM leases"
		      " WHERE expires <= ?1 ORDER BY expires LIMIT ?2;",
		      &stmt);
	if (err)
		return err;
	if ((err = bind_int(st, stmt, 1, before)) ||
	    (err = bind_int(st, stmt, 2,
			    max > INT64_MAX ? INT64_MAX : (int64_t)max))) {
		finish(st, stmt);
		return err;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			nv = reallocarray(v, cap, sizeof(*v));
			if (!nv) {
				err = -ENOMEM;
				break;
			}
			v = nv;
		}
		err = column_lease(stmt, &v[count]);
		if (err)
			break;
		count++;
	}
	if (!err && rc != SQLITE_DONE)
		err = store_fail(st, "list leases");
	finish(st, stmt);
	if (err) {
		free(v);
		return err;
	}
	*out = v;
	*n = count;
	return 0;
}

sqlite3 *store_db(struct store *st)
{
	return st->db;
}

int store_virt_quarantined(struct store *st, const struct in6_addr *virt,
			   int64_t since, bool *yes)
{
	sqlite3_stmt *stmt;
	int err, rc;

	err = prepare(st,
		      "SELECT 1 FROM history WHERE virtual = ?1 AND end > ?2"
		      " LIMIT 1;",
		      &stmt);
	if (err)
		return err;
	if (!(err = bind_addr(st, stmt, 1, virt)) &&
	    !(err = bind_int(st, stmt, 2, since))) {
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW || rc == SQLITE_DONE)
			*yes = rc == SQLITE_ROW;
		else
			err = store_fail(st, "quarantine");
	}
	finish(st, stmt);
	return err;
}

int store_lease_at(struct store *st, const struct in6_addr *virt, int64_t when,
		   struct lease_rec *out, int64_t *end, bool *live)
{
	sqlite3_stmt *stmt;
	int err;

	err = prepare(st,
		      "SELECT " LEASE_COLUMNS " FROM leases"
		      " WHERE virtual = ?1 AND created <= ?2;",
		      &stmt);
	if (err)
		return err;
	if (!(err = bind_addr(st, stmt, 1, virt)) &&
	    !(err = bind_int(st, stmt, 2, when)))
		err = step_lease(st, stmt, out);
	finish(st, stmt);
	if (!err) {
		*end = out->expires;
		*live = true;
		return 0;
	}
	if (err != -ENOENT)
		return err;
	/* History rows have no flags; "start" stands in for created. */
	err = prepare(st,
		      "SELECT virtual, real, peer, end, start, 0 FROM history"
		      " WHERE virtual = ?1 AND start <= ?2 AND end > ?2"
		      " ORDER BY start DESC LIMIT 1;",
		      &stmt);
	if (err)
		return err;
	if (!(err = bind_addr(st, stmt, 1, virt)) &&
	    !(err = bind_int(st, stmt, 2, when)))
		err = step_lease(st, stmt, out);
	finish(st, stmt);
	if (!err) {
		*end = out->expires;
		*live = false;
	}
	return err;
}

int store_history_purge(struct store *st, int64_t before, uint64_t *n)
{
	sqlite3_stmt *stmt;
	int err;

	err = prepare(st, "DELETE FROM history WHERE end < ?1;", &stmt);
	if (err)
		return err;
	err = bind_int(st, stmt, 1, before);
	if (!err)
		err = step_done(st, stmt, "purge history");
	if (!err)
		*n = (uint64_t)sqlite3_changes(st->db);
	finish(st, stmt);
	return err;
}

int store_cert_chain_set(struct store *st, const char *issuer,
			 const char *serial, const unsigned char *chain,
			 size_t len)
{
	sqlite3_stmt *stmt;
	int err;

	err = prepare(st,
		      "INSERT INTO cert_chains (issuer, serial, chain)"
		      " VALUES (?1, ?2, ?3) ON CONFLICT (issuer, serial)"
		      " DO UPDATE SET chain = excluded.chain"
		      " WHERE chain <> excluded.chain;",
		      &stmt);
	if (err)
		return err;
	if (!(err = bind_text(st, stmt, 1, issuer)) &&
	    !(err = bind_text(st, stmt, 2, serial))) {
		if (sqlite3_bind_blob(stmt, 3, chain, (int)len,
				      SQLITE_TRANSIENT) != SQLITE_OK)
			err = store_fail(st, "bind");
		else
			err = step_done(st, stmt, "insert cert chain");
	}
	finish(st, stmt);
	return err;
}

int store_live_cert_chains(struct store *st, int64_t now,
			   struct revalidate_cert **out, size_t *n)
{
	sqlite3_stmt *stmt;
	int err;

	*out = NULL;
	*n = 0;
	err = prepare(st,
		      "SELECT k.issuer, k.serial, k.chain FROM cert_chains k"
		      " WHERE EXISTS (SELECT 1 FROM leases l"
		      " WHERE l.serial = k.serial AND l.issuer = k.issuer"
		      " AND l.expires > ?1);",
		      &stmt);
	if (err)
		return err;
	err = bind_int(st, stmt, 1, now);
	if (!err) {
		err = revalidate_certs_read(stmt, out, n);
		if (err == -EIO)
			store_fail(st, "cert chains");
	}
	finish(st, stmt);
	return err;
}

int store_leases_by_cert(struct store *st, const char *issuer,
			 const char *serial, struct lease_rec **out, size_t *n)
{
	struct lease_rec *v = NULL, *nv;
	size_t count = 0, cap = 0;
	sqlite3_stmt *stmt;
	int err, rc;

	*out = NULL;
	*n = 0;
	err = prepare(st,
		      "SELECT " LEASE_COLUMNS " FROM leases"
		      " WHERE serial = ?2 AND issuer = ?1;",
		      &stmt);
	if (err)
		return err;
	if ((err = bind_text(st, stmt, 1, issuer)) ||
	    (err = bind_text(st, stmt, 2, serial))) {
		finish(st, stmt);
		return err;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			nv = reallocarray(v, cap, sizeof(*v));
			if (!nv) {
				err = -ENOMEM;
				break;
			}
			v = nv;
		}
		err = column_lease(stmt, &v[count]);
		if (err)
			break;
		count++;
	}
	if (!err && rc != SQLITE_DONE)
		err = store_fail(st, "leases by cert");
	finish(st, stmt);
	if (err) {
		free(v);
		return err;
	}
	*out = v;
	*n = count;
	return 0;
}

int store_cert_chains_purge(struct store *st)
{
	return store_exec(st, "DELETE FROM cert_chains WHERE NOT EXISTS"
			      " (SELECT 1 FROM leases l"
			      " WHERE l.serial = cert_chains.serial"
			      " AND l.issuer = cert_chains.issuer);");
}
