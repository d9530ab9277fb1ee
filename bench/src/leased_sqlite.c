// SPDX-License-Identifier: GPL-2.0
/*
 * leased_sqlite: the baseline of bench/leased_bench.sh: a raw SQLite loop
 * inserting leases into a table like guise-leased's (same indexes), one
 * transaction per insert, with the daemon's pragmas (journal_mode=WAL,
 * synchronous=FULL: every COMMIT fsyncs the WAL). Prints
 *
 *   sqlite N SECONDS INSERTS_PER_S P50_MS P99_MS
 *
 * Usage: leased_sqlite DB N MAX_SECONDS   (stops at N inserts or the time)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sqlite3.h>

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=FULL;"
	"CREATE TABLE IF NOT EXISTS leases (virtual TEXT PRIMARY KEY,"
	" real TEXT NOT NULL, peer TEXT NOT NULL, expires INTEGER NOT NULL,"
	" created INTEGER NOT NULL, flags INTEGER NOT NULL DEFAULT 3,"
	" UNIQUE (real, peer));"
	"CREATE INDEX IF NOT EXISTS leases_expires ON leases (expires);";

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	fprintf(stderr, "leased_sqlite: %s\n", msg ? msg : "?");
	sqlite3_free(msg);
	return -1;
}

/* One lease in its own transaction, as an unbatched daemon would. */
static int insert_one(sqlite3 *db, sqlite3_stmt *st, unsigned int i)
{
	char virt[64], peer[64];

	snprintf(virt, sizeof(virt), "2001:db8:ff::%x:%x", i >> 16, i & 0xffff);
	snprintf(peer, sizeof(peer), "2001:db8:3::%x:%x", i >> 16, i & 0xffff);
	if (exec(db, "BEGIN IMMEDIATE;"))
		return -1;
	sqlite3_reset(st);
	if (sqlite3_bind_text(st, 1, virt, -1, SQLITE_TRANSIENT) ||
	    sqlite3_bind_text(st, 2, "2001:db8:1::10", -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(st, 3, peer, -1, SQLITE_TRANSIENT) ||
	    sqlite3_bind_int64(st, 4, time(NULL) + 3600) ||
	    sqlite3_bind_int64(st, 5, time(NULL)) ||
	    sqlite3_step(st) != SQLITE_DONE) {
		fprintf(stderr, "leased_sqlite: insert: %s\n",
			sqlite3_errmsg(db));
		exec(db, "ROLLBACK;");
		return -1;
	}
	return exec(db, "COMMIT;");
}

int main(int argc, char **argv)
{
	unsigned int n, max_secs, i;
	double t0, t, *lat;
	sqlite3_stmt *st;
	sqlite3 *db;

	if (argc != 4 || !(n = (unsigned int)atoi(argv[2])) ||
	    !(max_secs = (unsigned int)atoi(argv[3]))) {
		fprintf(stderr, "usage: leased_sqlite DB N MAX_SECONDS\n");
		return 2;
	}
	lat = calloc(n, sizeof(*lat));
	if (!lat || sqlite3_open(argv[1], &db) != SQLITE_OK ||
	    exec(db, schema) ||
	    sqlite3_prepare_v2(db,
			       "INSERT INTO leases (virtual, real, peer,"
			       " expires, created) VALUES (?1, ?2, ?3, ?4,"
			       " ?5);",
			       -1, &st, NULL) != SQLITE_OK)
		return 1;
	t0 = now_s();
	for (i = 0; i < n && now_s() - t0 < max_secs; i++) {
		t = now_s();
		if (insert_one(db, st, i))
			return 1;
		lat[i] = (now_s() - t) * 1e3;
	}
	t = now_s() - t0;
	qsort(lat, i, sizeof(*lat), cmp_double);
	printf("sqlite %u %.3f %.0f %.2f %.2f\n", i, t, i / t,
	       i ? lat[i / 2] : 0, i ? lat[(size_t)(i * 0.99)] : 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(lat);
	return 0;
}
