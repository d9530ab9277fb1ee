// SPDX-License-Identifier: GPL-2.0
/*
 * guise-leased without --foreground: the command returns 0 once the
 * detached daemon serves, or the daemon's exit status when its start
 * fails; and rents stay durable while another process opens and closes
 * the live database (as `sqlite3 leased.db` would), through kill -9.
 * The daemon forks before it opens the store (detach.h): with the store
 * opened before the fork, SQLite's locks left with the parent, the other
 * process's close deleted the -wal file and the later rents, although
 * answered 201, were lost. And a detached daemon, which serves from /,
 * started with a relative --config naming relative files, reloads them
 * at SIGHUP from the directory it was started in.
 */
#include "leased_lib.h"

#define RENTS_BEFORE 5
#define RENTS_AFTER 5

static unsigned int rent_n(const struct daemon *d, unsigned int first,
			   unsigned int n)
{
	unsigned int i, ok = 0;
	struct resp r;
	char peer[64];

	for (i = first; i < first + n; i++) {
		snprintf(peer, sizeof(peer), "2001:db8:3::1:%x", i);
		ok += rent(d, "host1", peer, &r);
		resp_free(&r);
	}
	return ok;
}

static void test_durable(void)
{
	struct daemon d = { .name = "det" };
	char wal[512];
	struct resp r;
	bool attached;
	int st;

	if (!tap_ok(write_config("det", POOL, 64, NULL) == 0,
		    "configuration written"))
		return;
	attached = daemon_start_detached(&d, &st);
	tap_ok(st == 0, "detached start: the command exits 0 (%d)", st);
	if (!tap_ok(attached, "the detached daemon runs (pid %d, port %u)",
		    (int)d.pid, d.port))
		return;
	/* Exited only once serving: answered at once, no waiting. */
	request(&d, "host1", "/v1/health", NULL, &r);
	tap_ok(r.code == 200, "it serves when the command returns: %ld",
	       r.code);
	resp_free(&r);

	tap_ok(rent_n(&d, 0, RENTS_BEFORE) == RENTS_BEFORE, "%u rents: 201",
	       RENTS_BEFORE);
	tap_ok(db_int("det", "SELECT count(*) FROM leases;") == RENTS_BEFORE,
	       "another process reads them from the live database");
	/* Read-write, then closed: the close of what SQLite believes is
	 * the last connection checkpoints and deletes the WAL. */
	tap_ok(db_exec("det", "SELECT count(*) FROM leases;") == 0,
	       "another process opens and closes the database read-write");
	path(wal, sizeof(wal), "det", ".db-wal");
	tap_ok(!access(wal, F_OK),
	       "the daemon's WAL is still there (its locks held)");
	tap_ok(rent_n(&d, RENTS_BEFORE, RENTS_AFTER) == RENTS_AFTER,
	       "%u more rents: 201", RENTS_AFTER);

	daemon_stop(&d, SIGKILL);
	tap_ok(db_int("det", "SELECT count(*) FROM leases;") ==
		       RENTS_BEFORE + RENTS_AFTER,
	       "after kill -9: all %u acknowledged rents are in the store",
	       RENTS_BEFORE + RENTS_AFTER);

	attached = daemon_start_detached(&d, &st);
	tap_ok(attached, "restarted detached (%d, pid %d)", st, (int)d.pid);
	request(&d, "host1", "/v1/health", NULL, &r);
	tap_ok(r.code == 200 &&
		       json_integer_value(json_object_get(r.json, "leases")) ==
			       RENTS_BEFORE + RENTS_AFTER,
	       "it serves the %u leases", RENTS_BEFORE + RENTS_AFTER);
	resp_free(&r);
	st = daemon_stop(&d, SIGTERM);
	tap_ok(st == 0, "SIGTERM: clean exit, no leaks (status %d)", st);
}

/* DIR/NAME.conf with paths relative to DIR; at most @max leases each. */
static int write_relative_config(const char *name, unsigned int max)
{
	char conf[512];
	FILE *fp;

	path(conf, sizeof(conf), name, ".conf");
	fp = fopen(conf, "w");
	if (!fp)
		return -1;
	fprintf(fp,
		"[server]\nlisten = [::1]:0\ncert = server.crt\n"
		"key = ./server.key\nca = ca.crt\ndb = %s.db\n\n"
		"[pool]\nprefix = %s\nmax_per_client = %u\n\n"
		"[kernel]\nsync = off\n\n[gateway]\nenabled = off\n",
		name, POOL, max);
	return fclose(fp);
}

static bool log_has(const char *name, const char *s)
{
	char logf[512], line[1024];
	bool found = false;
	FILE *fp;

	path(logf, sizeof(logf), name, ".log");
	fp = fopen(logf, "r");
	while (fp && !found && fgets(line, sizeof(line), fp))
		found = strstr(line, s) != NULL;
	if (fp)
		fclose(fp);
	return found;
}

/* Started in DIR with --config rel.conf (relative files in it), the
 * detached daemon serves from /: SIGHUP must still read them. */
static void test_reload_relative(void)
{
	struct daemon d = { .name = "rel", .in_dir = true };
	unsigned int i;
	int st;

	if (!tap_ok(write_relative_config("rel", 1) == 0,
		    "relative: configuration with relative paths"))
		return;
	if (!tap_ok(daemon_start_detached(&d, &st),
		    "relative: started detached with --config rel.conf (%d)",
		    st))
		return;
	tap_ok(rent_n(&d, 0, 3) == 1, "relative: max_per_client 1: 1 rent");
	write_relative_config("rel", 3);
	kill(d.pid, SIGHUP);
	for (i = 0; i < 100 && !log_has("rel", "reload"); i++)
		usleep(100 * 1000);
	tap_ok(log_has("rel", "reloaded") && !log_has("rel", "reload failed"),
	       "relative: SIGHUP reloads the configuration");
	tap_ok(rent_n(&d, 3, 3) == 2,
	       "relative: max_per_client 3 applied: 2 more rents");
	st = daemon_stop(&d, SIGTERM);
	tap_ok(st == 0, "relative: SIGTERM: clean exit (status %d)", st);
}

/* A start that fails after the fork still fails the command. */
static void test_start_failure(void)
{
	struct daemon bad = { .name = "bad" };
	char extra[600], portf[512];
	bool clean = true;
	unsigned int i;
	pid_t left = 0;
	int st;

	/* The store cannot open: after the fork now (the store is the
	 * child's), reported to the waiting parent. */
	snprintf(extra, sizeof(extra), "[server]\ndb = %s/none/bad.db\n", dir);
	if (!tap_ok(write_config("bad", POOL, 64, extra) == 0,
		    "configuration with an unusable db path"))
		return;
	daemon_start_detached(&bad, &st);
	tap_ok(st == 1, "a failed start: the command exits 1 (%d)", st);
	path(portf, sizeof(portf), "bad", ".port");
	tap_ok(access(portf, F_OK), "no port file");
	/* The detached child reported, then ends: reap it (10 s). */
	for (i = 0; i < 100; i++) {
		left = waitpid(-1, &st, WNOHANG);
		if (left < 0)
			break; /* no child left */
		if (left > 0)
			clean = clean && WIFEXITED(st) && WEXITSTATUS(st) == 1;
		else
			usleep(100 * 1000);
	}
	tap_ok(left < 0 && clean, "nothing left running, every exit status 1");
}

int main(void)
{
	if (leased_test_setup()) {
		test_durable();
		test_reload_relative();
		test_start_failure();
	}
	return leased_test_done();
}
