// SPDX-License-Identifier: GPL-2.0
/*
 * guise-leased abuse handling and audit: the abuse desk resolves a
 * virtual address at a past time from the history (with a mandatory,
 * audited reason), the history is purged after its retention, and the
 * hash-chained audit log, exported and verified with the guise CLI,
 * detects an edited, a removed and a truncated record; while the log
 * cannot be written, nothing it would audit is disclosed or done.
 */
#include "leased_lib.h"

#ifndef GUISE_BIN
#define GUISE_BIN "../build/asan/guise"
#endif

static char sock[600];

static void history(const struct daemon *d, const char *v, long long when,
		    const char *reason, struct resp *r)
{
	post(d, "abuse", "/v1/history",
	     reason ? json_pack("{s:s, s:I, s:s}", "virtual", v, "time",
				(json_int_t)when, "reason", reason) :
		      json_pack("{s:s, s:I}", "virtual", v, "time",
				(json_int_t)when),
	     r);
}

static void test_history(struct daemon *d)
{
	char v[64];
	long long t_rent, t_before;
	struct resp r;

	t_before = time(NULL) - 5;
	tap_ok(rent(d, "host1", PEER, &r), "host1 rents for " PEER);
	snprintf(v, sizeof(v), "%s", jstr(&r, "virtual"));
	t_rent = time(NULL);
	resp_free(&r);

	history(d, v, t_rent, "ticket 1: spam report", &r);
	tap_ok(r.code == 200 && !strcmp(jstr(&r, "real"), HOST1) &&
		       json_is_true(json_object_get(r.json, "live")),
	       "abuse desk: live lease %s -> %s", v, jstr(&r, "real"));
	resp_free(&r);

	sleep(1);
	post(d, "host1", "/v1/return", json_pack("{s:s}", "virtual", v), &r);
	tap_ok(r.code == 200, "host1 returns it");
	resp_free(&r);

	post(d, "peer", "/v1/reveal", json_pack("{s:s}", "virtual", v), &r);
	tap_ok(r.code == 404, "the peer can no longer reveal it");
	resp_free(&r);

	history(d, v, t_rent, "ticket 2: abuse at that hour", &r);
	tap_ok(r.code == 200 && !strcmp(jstr(&r, "real"), HOST1) &&
		       !strcmp(jstr(&r, "peer"), PEER) &&
		       json_is_false(json_object_get(r.json, "live")),
	       "abuse desk: ended lease at that time -> %s", jstr(&r, "real"));
	resp_free(&r);
	history(d, v, t_before, "ticket 3: before the lease", &r);
	tap_ok(r.code == 404, "abuse desk: before the lease: 404");
	resp_free(&r);
	history(d, v, t_rent, NULL, &r);
	tap_ok(r.code == 400, "abuse desk: no reason: 400 (%s)",
	       jstr(&r, "error"));
	resp_free(&r);
	history(d, v, t_rent, "x", &r);
	tap_ok(r.code == 400, "abuse desk: a one-letter reason: 400");
	resp_free(&r);
	history(d, v, t_rent, "bad\nreason", &r);
	tap_ok(r.code == 400, "abuse desk: control characters: 400");
	resp_free(&r);
	history(d, v, t_rent, "next\xc2\x85line", &r);
	tap_ok(r.code == 400, "abuse desk: a C1 control (U+0085): 400");
	resp_free(&r);
	history(d, v, t_rent,
		"ticket \xe2\x80\xae"
		"9 report",
		&r);
	tap_ok(r.code == 400, "abuse desk: a bidi override (U+202E): 400");
	resp_free(&r);
	history(d, v, t_rent, "ticket \xe2\x80\xa8 two lines", &r);
	tap_ok(r.code == 400, "abuse desk: a line separator (U+2028): 400");
	resp_free(&r);
	history(d, v, t_rent,
		"ticket 4: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7", &r);
	tap_ok(r.code == 200, "abuse desk: other non-ASCII text is fine: %ld",
	       r.code);
	resp_free(&r);
	post(d, "operator", "/v1/history",
	     json_pack("{s:s, s:I, s:s}", "virtual", v, "time",
		       (json_int_t)t_rent, "reason", "curious operator"),
	     &r);
	tap_ok(r.code == 403, "operator cannot use history: 403");
	resp_free(&r);
	tap_ok(db_int("audit",
		      "SELECT count(*) FROM audit_log WHERE action = "
		      "'history' AND actor = 'CN=abuse' AND detail "
		      "LIKE '%reason=ticket 2: abuse at that hour';") == 1,
	       "the lookup and its reason are in the audit log");
	tap_ok(db_int("audit", "SELECT count(*) FROM audit_log WHERE action = "
			       "'history' AND outcome = 'not-found';") == 1,
	       "unsuccessful lookups are audited too");
}

/* guise audit ...; the exit status, the output in @out. */
static int cli(char *out, size_t size, const char *a1, const char *a2,
	       const char *a3, const char *a4)
{
	char target[620];
	char *argv[12] = { GUISE_BIN, "audit" };
	int n = 2;

	snprintf(target, sizeof(target), "%s", sock);
	argv[n++] = (char *)a1;
	if (a2)
		argv[n++] = (char *)a2;
	if (a3)
		argv[n++] = (char *)a3;
	if (a4)
		argv[n++] = (char *)a4;
	argv[n++] = "--socket";
	argv[n++] = target;
	argv[n] = NULL;
	return run_capture(argv, out, size, false);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	while ((hay = strstr(hay, needle))) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

static void test_export(const struct daemon *d)
{
	static char out[1 << 16];
	char url[64], cert[512], key[512], ca[512];
	size_t records;
	json_t *doc;
	int st;

	st = cli(out, sizeof(out), "export", "--format", "json", NULL);
	doc = json_loads(out, 0, NULL);
	records = json_array_size(json_object_get(doc, "records"));
	tap_ok(st == 0 && records >= 5 &&
		       json_is_string(json_object_get(
			       json_array_get(json_object_get(doc, "records"),
					      0),
			       "hash")),
	       "guise audit export --format json: %zu records", records);
	json_decref(doc);
	st = cli(out, sizeof(out), "export", "--format", "csv", NULL);
	tap_ok(st == 0 &&
		       !strncmp(out,
				"seq,time,actor,roles,action,object,outcome,"
				"detail,prev,hash\r\n",
				55) &&
		       count(out, "\r\n") >= records + 1,
	       "guise audit export --format csv: header and %zu lines",
	       count(out, "\r\n"));
	st = cli(out, sizeof(out), "export", "--format", "xml", NULL);
	tap_ok(st == 0 && !strncmp(out, "<?xml", 5) &&
		       strstr(out, "</audit>") &&
		       count(out, "<record seq=") >= records + 1,
	       "guise audit export --format xml: %zu records",
	       count(out, "<record seq="));
	st = cli(out, sizeof(out), "export", "--format", "yaml", NULL);
	tap_ok(st == 2, "--format yaml: usage error (%d)", st);

	/* Over mutual TLS with the auditor's certificate, and refused to a
	 * subscriber. */
	snprintf(url, sizeof(url), "https://[::1]:%u", d->port);
	path(ca, sizeof(ca), "ca", ".crt");
	path(cert, sizeof(cert), "auditor", ".crt");
	path(key, sizeof(key), "auditor", ".key");
	{
		char *argv[] = { GUISE_BIN, "audit",  "verify", "--server",
				 url,	    "--cert", cert,	"--key",
				 key,	    "--ca",   ca,	NULL };

		st = run_capture(argv, out, sizeof(out), false);
		tap_ok(st == 0 && !strncmp(out, "intact:", 7),
		       "guise audit verify over TLS as auditor: %s",
		       strtok(out, "\n") ?: "");
		path(cert, sizeof(cert), "host1", ".crt");
		path(key, sizeof(key), "host1", ".key");
		st = run_capture(argv, out, sizeof(out), false);
		tap_ok(st == 4, "as a subscriber: permission denied (%d)", st);
	}
}

static void test_tamper(void)
{
	static char out[4096];
	int st;

	st = cli(out, sizeof(out), "verify", NULL, NULL, NULL);
	tap_ok(st == 0 && !strncmp(out, "intact:", 7), "verify: %s",
	       strtok(out, "\n") ?: "");

	/* The daemon itself cannot rewrite its log. */
	tap_ok(db_exec("audit", "UPDATE audit_log SET outcome = 'x' WHERE "
				"seq = 2;") != 0 &&
		       db_exec("audit",
			       "DELETE FROM audit_log WHERE seq = 2;") != 0,
	       "UPDATE and DELETE on audit_log are refused by triggers");

	/* Someone with the file drops them and edits a record. */
	db_exec("audit", "DROP TRIGGER audit_log_no_update;"
			 "DROP TRIGGER audit_log_no_delete;"
			 "CREATE TABLE saved AS SELECT * FROM audit_log;"
			 "UPDATE audit_log SET actor = 'someone-else' WHERE "
			 "seq = 2;");
	st = cli(out, sizeof(out), "verify", NULL, NULL, NULL);
	tap_ok(st == 1 && strstr(out, "BROKEN at seq 2") &&
		       strstr(out, "edited"),
	       "an edited record: %s", strtok(out, "\n") ?: "");
	db_exec("audit", "UPDATE audit_log SET actor = (SELECT actor FROM "
			 "saved WHERE seq = 2) WHERE seq = 2;");
	st = cli(out, sizeof(out), "verify", NULL, NULL, NULL);
	tap_ok(st == 0, "restored: intact again");

	db_exec("audit", "DELETE FROM audit_log WHERE seq = 3;");
	st = cli(out, sizeof(out), "verify", NULL, NULL, NULL);
	tap_ok(st == 1 && strstr(out, "BROKEN at seq 3") &&
		       strstr(out, "missing"),
	       "a removed record: %s", strtok(out, "\n") ?: "");
	db_exec("audit", "INSERT INTO audit_log SELECT * FROM saved WHERE "
			 "seq = 3;");

	db_exec("audit", "DROP TABLE saved;"
			 "CREATE TABLE saved AS SELECT * FROM audit_log;"
			 "DELETE FROM audit_log WHERE seq = (SELECT max(seq) "
			 "FROM audit_log);");
	st = cli(out, sizeof(out), "verify", NULL, NULL, NULL);
	tap_ok(st == 1 && strstr(out, "newest records were removed"),
	       "a removed last record: %s", strtok(out, "\n") ?: "");
	db_exec("audit", "INSERT INTO audit_log SELECT * FROM saved WHERE seq "
			 "= (SELECT max(seq) FROM saved);"
			 "DROP TABLE saved;");
	st = cli(out, sizeof(out), "verify", NULL, NULL, NULL);
	tap_ok(st == 0, "restored: intact again (%s)", strtok(out, "\n") ?: "");
}

/* The answer to @who's POST of {"virtual": @v} to @api, in @r. */
static void post_virtual(const struct daemon *d, const char *who,
			 const char *api, const char *v, struct resp *r)
{
	post(d, who, api, json_pack("{s:s}", "virtual", v), r);
}

static bool unaudited(const struct resp *r)
{
	return r->code == 503 &&
	       !strcmp(jstr(r, "error"), "audit log unavailable") &&
	       !strstr(r->body, HOST2);
}

/*
 * The audit log cannot be written (a trigger refuses its rows, as a full
 * disk would): nothing that discloses addresses is answered, and a reveal
 * fails alike whatever it names; an admin's end-lease fails and the lease
 * stays. Once the log can be written again, all is answered.
 */
static void test_unaudited(const struct daemon *d)
{
	static char body[sizeof(((struct resp *)0)->body)];
	char v[64], sql[160], out[4096];
	struct resp r;
	int st;

	tap_ok(rent(d, "host2", PEER, &r), "host2 rents for " PEER);
	snprintf(v, sizeof(v), "%s", jstr(&r, "virtual"));
	resp_free(&r);
	tap_ok(db_exec("audit",
		       "CREATE TRIGGER audit_log_full BEFORE INSERT"
		       " ON audit_log BEGIN SELECT RAISE(ABORT, "
		       "'test: no room for the audit log'); END;") == 0,
	       "the audit log can no longer be written");

	post_virtual(d, "peer", "/v1/reveal", v, &r);
	snprintf(body, sizeof(body), "%s", r.body);
	tap_ok(unaudited(&r), "reveal by the peer: %ld \"%s\", R not disclosed",
	       r.code, jstr(&r, "error"));
	resp_free(&r);
	post_virtual(d, "peer", "/v1/reveal", "2001:db8:ff::dead", &r);
	tap_ok(r.code == 503 && !strcmp(r.body, body),
	       "reveal of an address nobody holds: the same answer, no "
	       "oracle");
	resp_free(&r);
	history(d, v, time(NULL), "ticket 5: while the disk is full", &r);
	tap_ok(unaudited(&r), "history: %ld, nothing disclosed", r.code);
	resp_free(&r);
	request(d, "operator", "/v1/list", NULL, &r);
	tap_ok(unaudited(&r), "list: %ld, nothing disclosed", r.code);
	resp_free(&r);
	request(d, "auditor", "/v1/audit?format=json", NULL, &r);
	tap_ok(unaudited(&r), "audit export: %ld", r.code);
	resp_free(&r);
	post_virtual(d, "admin", "/v1/return", v, &r);
	tap_ok(r.code == 500 && !strcmp(jstr(&r, "error"), "store failure"),
	       "an admin's end-lease fails: %ld \"%s\"", r.code,
	       jstr(&r, "error"));
	resp_free(&r);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM leases WHERE virtual = '%s';", v);
	tap_ok(db_int("audit", sql) == 1, "the lease stays");
	request(d, "operator", "/v1/metrics", NULL, &r);
	tap_ok(metric(&r, "guise_leased_audit_errors_total") >= 6,
	       "guise_leased_audit_errors_total counts them (%.0f)",
	       metric(&r, "guise_leased_audit_errors_total"));
	resp_free(&r);

	db_exec("audit", "DROP TRIGGER audit_log_full;");
	post_virtual(d, "peer", "/v1/reveal", v, &r);
	tap_ok(r.code == 200 && !strcmp(jstr(&r, "real"), HOST2),
	       "writable again: the reveal is answered");
	resp_free(&r);
	post_virtual(d, "admin", "/v1/return", v, &r);
	tap_ok(r.code == 200, "and the admin's end-lease done");
	resp_free(&r);
	st = cli(out, sizeof(out), "verify", NULL, NULL, NULL);
	tap_ok(st == 0 && !strncmp(out, "intact:", 7), "verify: %s",
	       strtok(out, "\n") ?: "");
}

/* [history] retention = 2s: a returned lease's record is purged. Not
 * shorter than the quarantine, which is looked up in the history. */
static void test_retention(void)
{
	struct daemon d = { .name = "purge" };
	char conf[512], out[1024];
	char *argv[] = { DAEMON_BIN, "--check-config", "--config", conf, NULL };
	struct resp r;
	unsigned int i;
	char v[64];
	int st;

	path(conf, sizeof(conf), "short", ".conf");
	out[0] = '\0';
	st = write_config("short", POOL, 8, "[history]\nretention = 2s\n");
	if (!st)
		st = run_capture(argv, out, sizeof(out), true);
	tap_ok(st == 1 && strstr(out, "retention must be at least [pool] "
				      "quarantine"),
	       "a retention (2 s) shorter than the quarantine (1 h): refused, "
	       "said: %.*s",
	       (int)strcspn(out, "\n"), out);
	if (!tap_ok(write_config("purge", POOL, 8,
				 "[history]\nretention = 2s\n"
				 "[pool]\nquarantine = 2s\n") == 0 &&
			    daemon_start(&d),
		    "daemon with a 2 s retention and quarantine starts"))
		return;
	rent(&d, "host1", PEER, &r);
	snprintf(v, sizeof(v), "%s", jstr(&r, "virtual"));
	resp_free(&r);
	post(&d, "host1", "/v1/return", json_pack("{s:s}", "virtual", v), &r);
	resp_free(&r);
	tap_ok(db_int("purge", "SELECT count(*) FROM history;") == 1,
	       "the returned lease is in the history");
	for (i = 0; i < 100; i++) {
		if (db_int("purge", "SELECT count(*) FROM history;") == 0)
			break;
		usleep(100 * 1000);
	}
	tap_ok(i < 100, "purged after the retention (%.1f s)", i / 10.0);
	history(&d, v, time(NULL) - 3, "ticket 4: too late", &r);
	tap_ok(r.code == 404, "abuse desk: purged history answers 404");
	resp_free(&r);
	request(&d, "operator", "/v1/metrics", NULL, &r);
	tap_ok(metric(&r, "guise_leased_history_purged_total") == 1,
	       "metric guise_leased_history_purged_total 1");
	resp_free(&r);
	tap_ok(daemon_stop(&d, SIGTERM) == 0, "retention daemon exits cleanly");
}

/* Audited calls per caller: [audit] rate 1, burst 3. Six reveals in a
 * row by one subscriber: three answered (and audited), the rest 429 with
 * nothing written; the same for refused calls; another caller unaffected. */
static void test_audit_rate(void)
{
	struct daemon d = { .name = "arate" };
	unsigned int i, found = 0, limited = 0;
	struct resp r;

	if (!tap_ok(write_config("arate", POOL, 8,
				 "[audit]\nrate = 1\nburst = 3\n") == 0 &&
			    daemon_start(&d),
		    "daemon with [audit] rate 1, burst 3 starts"))
		return;
	for (i = 0; i < 6; i++) {
		post_virtual(&d, "peer", "/v1/reveal", "2001:db8:ff::dead", &r);
		found += r.code == 404;
		limited += r.code == 429;
		resp_free(&r);
	}
	tap_ok(found >= 3 && found <= 4 && limited == 6 - found,
	       "six reveals in a row: %u answered, %u refused with 429", found,
	       limited);
	tap_ok(db_int("arate", "SELECT count(*) FROM audit_log WHERE action = "
			       "'reveal';") == found,
	       "only the answered ones are in the audit log");
	for (i = 0, limited = 0; i < 6; i++) {
		request(&d, "host1", "/v1/list", NULL, &r);
		limited += r.code == 429;
		resp_free(&r);
	}
	tap_ok(limited >= 2, "refused calls are limited too (%u of 6: 429)",
	       limited);
	post_virtual(&d, "host2", "/v1/reveal", "2001:db8:ff::dead", &r);
	tap_ok(r.code == 404, "another caller is still answered: %ld", r.code);
	resp_free(&r);
	request(&d, "operator", "/v1/metrics", NULL, &r);
	tap_ok(metric(&r, "guise_leased_audit_rate_limited_total") >= 4,
	       "guise_leased_audit_rate_limited_total counts them (%.0f)",
	       metric(&r, "guise_leased_audit_rate_limited_total"));
	resp_free(&r);
	tap_ok(daemon_stop(&d, SIGTERM) == 0, "exits cleanly");
}

int main(void)
{
	struct daemon d = { .name = "audit" };
	char extra[700];

	if (!leased_test_setup())
		return leased_test_done();
	path(sock, sizeof(sock), "audit", ".sock");
	snprintf(extra, sizeof(extra), "[server]\nsocket = %s\n", sock);
	if (tap_ok(write_config("audit", POOL, 8, extra) == 0 &&
			   daemon_start(&d),
		   "daemon starts")) {
		test_history(&d);
		test_export(&d);
		test_tamper();
		test_unaudited(&d);
		tap_ok(daemon_stop(&d, SIGTERM) == 0,
		       "SIGTERM: clean exit, no leaks");
	}
	test_retention();
	test_audit_rate();
	return leased_test_done();
}
