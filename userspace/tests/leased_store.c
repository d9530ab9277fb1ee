// SPDX-License-Identifier: GPL-2.0
/*
 * guise-leased's store schema: a store made before schema versions (with
 * the lease_certs table) is migrated to version 1 at open, its leases and
 * their certificates kept; the per-client lease count (kept in memory by
 * the insert and delete of leases) starts from the store's leases and
 * follows rents and returns;
 * a store of a newer version is refused.
 */
#include "leased_lib.h"

/* The tables as the daemon made them before version 1. */
static const char v0_schema[] =
	"PRAGMA journal_mode=WAL;"
	"CREATE TABLE leases (virtual TEXT PRIMARY KEY, real TEXT NOT NULL,"
	" peer TEXT NOT NULL, expires INTEGER NOT NULL,"
	" created INTEGER NOT NULL, flags INTEGER NOT NULL DEFAULT 3,"
	" UNIQUE (real, peer));"
	"CREATE INDEX leases_expires ON leases (expires);"
	"CREATE TABLE history (virtual TEXT NOT NULL, real TEXT NOT NULL,"
	" peer TEXT NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,"
	" reason TEXT NOT NULL);"
	"CREATE INDEX history_virtual ON history (virtual);"
	"CREATE INDEX history_end ON history (end);"
	"CREATE TABLE lease_certs (virtual TEXT PRIMARY KEY,"
	" issuer TEXT NOT NULL, serial TEXT NOT NULL);"
	"CREATE INDEX lease_certs_cert ON lease_certs (issuer, serial);"
	"CREATE TABLE cert_chains (issuer TEXT NOT NULL, serial TEXT NOT NULL,"
	" chain BLOB NOT NULL, PRIMARY KEY (issuer, serial));";

/* A new database DIR/@name.db from @sql. 0 or -1. */
static int db_make(const char *name, const char *sql)
{
	char db[512];
	sqlite3 *sq;
	int rc;

	path(db, sizeof(db), name, ".db");
	if (sqlite3_open(db, &sq) != SQLITE_OK) {
		sqlite3_close(sq);
		return -1;
	}
	rc = sqlite3_exec(sq, sql, NULL, NULL, NULL);
	sqlite3_close(sq);
	return rc == SQLITE_OK ? 0 : -1;
}

static void test_migrate(void)
{
	struct daemon d = { .name = "v0" };
	char sql[2048], v[64];
	long long now = (long long)time(NULL);
	struct resp r;

	/* host1 holds two leases (one with its certificate recorded),
	 * host2 one; max_per_client is 3. */
	snprintf(sql, sizeof(sql),
		 "%s"
		 "INSERT INTO leases VALUES ('2001:db8:ff::71', '" HOST1 "',"
		 " '2001:db8:3::71', %lld, %lld, 2);"
		 "INSERT INTO leases VALUES ('2001:db8:ff::72', '" HOST1 "',"
		 " '2001:db8:3::72', %lld, %lld, 2);"
		 "INSERT INTO leases VALUES ('2001:db8:ff::73', '" HOST2 "',"
		 " '2001:db8:3::73', %lld, %lld, 2);"
		 "INSERT INTO lease_certs VALUES ('2001:db8:ff::71', 'MAA=',"
		 " 'AB12');"
		 "INSERT INTO history VALUES ('2001:db8:ff::70', '" HOST1 "',"
		 " '2001:db8:3::70', %lld, %lld, 'returned');",
		 v0_schema, now + 3600, now, now + 3600, now, now + 3600, now,
		 now - 60, now - 30);
	if (!tap_ok(db_make("v0", sql) == 0 &&
			    write_config("v0", POOL, 3,
					 "[pool]\nrent_rate = 0\n") == 0,
		    "a store of schema version 0 with lease_certs"))
		return;
	if (!tap_ok(daemon_start(&d), "the daemon opens it"))
		return;
	tap_ok(db_int("v0", "PRAGMA user_version;") == 1 &&
		       db_int("v0", "SELECT count(*) FROM sqlite_master"
				    " WHERE name = 'lease_certs';") == 0,
	       "migrated to version 1: lease_certs is gone");
	tap_ok(db_int("v0", "SELECT count(*) FROM leases;") == 3 &&
		       db_int("v0", "SELECT count(*) FROM history;") == 1,
	       "its leases and history are kept");
	tap_ok(db_int("v0", "SELECT count(*) FROM leases WHERE serial ="
			    " 'AB12' AND issuer = 'MAA=' AND virtual ="
			    " '2001:db8:ff::71';") == 1 &&
		       db_int("v0", "SELECT count(*) FROM leases"
				    " WHERE serial IS NULL;") == 2,
	       "the recorded certificate moved into its lease's row");

	tap_ok(rent(&d, "host1", "2001:db8:3::80", &r),
	       "host1 (2 leases in the old store) rents a third");
	snprintf(v, sizeof(v), "%s", jstr(&r, "virtual"));
	resp_free(&r);
	rent(&d, "host1", "2001:db8:3::81", &r);
	tap_ok(r.code == 503 && !strcmp(jstr(&r, "error"),
					"lease limit per client reached"),
	       "a fourth is refused: 503 \"%s\"", jstr(&r, "error"));
	resp_free(&r);
	tap_ok(rent(&d, "host2", "2001:db8:3::82", &r),
	       "host2 (1 lease) is counted apart");
	resp_free(&r);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM leases WHERE virtual = '%s' AND"
		 " serial IS NOT NULL AND issuer IS NOT NULL;",
		 v);
	tap_ok(db_int("v0", sql) == 1,
	       "a rent over TLS records its certificate in its row");
	post(&d, "host1", "/v1/return", json_pack("{s:s}", "virtual", v), &r);
	tap_ok(r.code == 200, "host1 returns %s", v);
	resp_free(&r);
	tap_ok(rent(&d, "host1", "2001:db8:3::83", &r),
	       "the return counts: host1 rents again");
	resp_free(&r);
	tap_ok(daemon_stop(&d, SIGTERM) == 0, "the daemon exits cleanly");

	/* Version 1 opens as is; the count is rebuilt from the store. */
	if (!tap_ok(daemon_start(&d), "restarted on the version 1 store"))
		return;
	rent(&d, "host1", "2001:db8:3::84", &r);
	tap_ok(r.code == 503, "host1 still holds 3 leases: 503");
	resp_free(&r);
	tap_ok(db_int("v0", "PRAGMA user_version;") == 1 &&
		       db_int("v0", "SELECT count(*) FROM leases;") == 5,
	       "version 1, 5 leases");
	tap_ok(daemon_stop(&d, SIGTERM) == 0, "the daemon exits cleanly");
}

static void test_newer(void)
{
	struct daemon d = { .name = "v99" };

	if (!tap_ok(db_make("v99", "CREATE TABLE leases (virtual TEXT);"
				   "PRAGMA user_version = 99;") == 0 &&
			    write_config("v99", POOL, 16, NULL) == 0,
		    "a store of schema version 99"))
		return;
	tap_ok(!daemon_start(&d), "is refused: the daemon does not start");
	daemon_stop(&d, SIGTERM);
	tap_ok(db_int("v99", "PRAGMA user_version;") == 99,
	       "and is left as it was");
}

int main(void)
{
	if (leased_test_setup()) {
		test_migrate();
		test_newer();
	}
	return leased_test_done();
}
