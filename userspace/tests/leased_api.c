// SPDX-License-Identifier: GPL-2.0
/*
 * guise-leased end to end on loopback: the real daemon (the ASan build,
 * [kernel] sync = off), real mutual TLS with a PKI made by
 * leased_certs.sh, libcurl as the client.
 */
#include "leased_lib.h"

static void test_main_daemon(void)
{
	struct daemon d = { .name = "main" };
	struct resp r, r2;
	char v1[64], v2[64], v3[64], body1[16384], db[512];
	struct in6_addr a1, a2;
	long expires1;
	sqlite3 *sq;
	sqlite3_stmt *st;
	int status, reveals = 0;
	unsigned int i;

	if (!tap_ok(write_config("main", POOL, 8, NULL) == 0 &&
			    daemon_start(&d),
		    "daemon starts on [::1] port %u", d.port))
		return;

	request(&d, "host1", "/v1/health", NULL, &r);
	tap_ok(r.code == 200 && !strcmp(jstr(&r, "status"), "ok"),
	       "health: 200 ok");
	resp_free(&r);

	/* Rent: a random address in the pool; two rents differ. */
	tap_ok(rent(&d, "host1", PEER, &r), "rent: 201 (%ld)", r.code);
	snprintf(v1, sizeof(v1), "%s", jstr(&r, "virtual"));
	expires1 = (long)json_integer_value(json_object_get(r.json, "expires"));
	tap_ok(in_prefix(v1, "2001:db8:ff::", 48), "rent: %s inside " POOL, v1);
	tap_ok(expires1 > time(NULL) + 3500 && expires1 <= time(NULL) + 3601,
	       "rent: expires after the default lifetime");
	resp_free(&r);
	tap_ok(rent(&d, "host1", "2001:db8:3::21", &r), "rent: second peer");
	snprintf(v2, sizeof(v2), "%s", jstr(&r, "virtual"));
	resp_free(&r);
	inet_pton(AF_INET6, v1, &a1);
	inet_pton(AF_INET6, v2, &a2);
	tap_ok(strcmp(v1, v2) && memcmp(a1.s6_addr + 6, a2.s6_addr + 6, 8),
	       "rent: %s and %s differ, not sequentially", v1, v2);
	tap_ok(rent(&d, "host2", PEER, &r), "rent: another client");
	snprintf(v3, sizeof(v3), "%s", jstr(&r, "virtual"));
	resp_free(&r);

	rent(&d, "host1", PEER, &r);
	tap_ok(r.code == 409 && !strcmp(jstr(&r, "virtual"), v1),
	       "rent: same (real, peer) again is 409 naming the lease");
	resp_free(&r);

	/* Who may talk at all. */
	request(&d, NULL, "/v1/health", NULL, &r);
	tap_ok(r.rc != CURLE_OK && r.code == 0,
	       "no client certificate: refused in TLS (%s)",
	       curl_easy_strerror(r.rc));
	resp_free(&r);
	request(&d, "rogue", "/v1/health", NULL, &r);
	tap_ok(r.rc != CURLE_OK && r.code == 0,
	       "certificate of another CA: refused in TLS (%s)",
	       curl_easy_strerror(r.rc));
	resp_free(&r);
	rent(&d, "noip", PEER, &r);
	tap_ok(r.code == 403 && *jstr(&r, "error"),
	       "certificate without an IP address: 403 JSON");
	resp_free(&r);

	/* Return and renew belong to the renter. */
	post(&d, "host2", "/v1/return", json_pack("{s:s}", "virtual", v1), &r);
	tap_ok(r.code == 404, "return by another client: 404");
	resp_free(&r);
	post(&d, "host2", "/v1/renew",
	     json_pack("{s:s, s:i}", "virtual", v1, "lifetime", 7200), &r);
	tap_ok(r.code == 404, "renew by another client: 404");
	resp_free(&r);
	post(&d, "host1", "/v1/renew",
	     json_pack("{s:s, s:i}", "virtual", v1, "lifetime", 7200), &r);
	tap_ok(r.code == 200 &&
		       json_integer_value(json_object_get(r.json, "expires")) >
			       expires1,
	       "renew by the renter: 200, later expiry");
	resp_free(&r);

	/* Reveal: the peer only; everyone else the same 404. */
	post(&d, "peer", "/v1/reveal", json_pack("{s:s}", "virtual", v1), &r);
	reveals++;
	tap_ok(r.code == 200 && !strcmp(jstr(&r, "real"), HOST1),
	       "reveal by the peer: 200 real %s", jstr(&r, "real"));
	resp_free(&r);
	post(&d, "host2", "/v1/reveal", json_pack("{s:s}", "virtual", v1), &r);
	reveals++;
	tap_ok(r.code == 404, "reveal by another client: 404");
	memcpy(body1, r.body, r.len + 1);
	resp_free(&r);
	post(&d, "peer", "/v1/reveal",
	     json_pack("{s:s}", "virtual", "2001:db8:ff::1234"), &r2);
	reveals++;
	tap_ok(r2.code == 404 && !strcmp(body1, r2.body),
	       "reveal of an unleased address: byte-identical 404 (%s)",
	       jstr(&r2, "error"));
	resp_free(&r2);
	post(&d, "host1", "/v1/reveal", json_pack("{s:s}", "virtual", v1), &r);
	reveals++;
	tap_ok(r.code == 404 && !strcmp(body1, r.body),
	       "reveal by the renter itself: the same 404");
	resp_free(&r);

	/* Malformed requests. */
	request(&d, "host1", "/v1/rent", "{\"peer\": ", &r);
	tap_ok(r.code == 400 && *jstr(&r, "error"), "bad JSON: 400 (%s)",
	       jstr(&r, "error"));
	resp_free(&r);
	post(&d, "host1", "/v1/rent", json_pack("{s:i}", "peer", 1), &r);
	tap_ok(r.code == 400, "peer not a string: 400");
	resp_free(&r);
	post(&d, "host1", "/v1/rent",
	     json_pack("{s:s, s:s}", "peer", PEER, "colour", "red"), &r);
	tap_ok(r.code == 400, "unknown field: 400 (%s)", jstr(&r, "error"));
	resp_free(&r);
	post(&d, "host1", "/v1/rent",
	     json_pack("{s:s, s:i}", "peer", "2001:db8:3::99", "lifetime",
		       2 * 86400),
	     &r);
	tap_ok(r.code == 400, "lifetime over the maximum: 400");
	resp_free(&r);
	post(&d, "host1", "/v1/rent", json_pack("{s:s}", "peer", "ff02::1"),
	     &r);
	tap_ok(r.code == 400, "multicast peer: 400");
	resp_free(&r);
	request(&d, "host1", "/v1/rent", NULL, &r);
	tap_ok(r.code == 405, "GET on a POST endpoint: 405");
	resp_free(&r);
	rent(&d, "inpool", "2001:db8:3::98", &r);
	tap_ok(r.code == 403,
	       "a certificate address inside the pool (it could be drawn as "
	       "its own virtual address): 403 (%s)",
	       jstr(&r, "error"));
	resp_free(&r);
	request(&d, "host1", "/v1/nothing", NULL, &r);
	tap_ok(r.code == 404, "unknown endpoint: 404");
	resp_free(&r);

	/* Return by the renter ends the lease. */
	post(&d, "host1", "/v1/return", json_pack("{s:s}", "virtual", v2), &r);
	tap_ok(r.code == 200, "return by the renter: 200");
	resp_free(&r);
	post(&d, "peer", "/v1/reveal", json_pack("{s:s}", "virtual", v2), &r);
	reveals++;
	tap_ok(r.code == 404 && !strcmp(body1, r.body),
	       "reveal after return: the same 404");
	resp_free(&r);

	/* Expiry: a 1 s lease is swept within a few seconds. */
	post(&d, "host2", "/v1/rent",
	     json_pack("{s:s, s:i}", "peer", "2001:db8:3::22", "lifetime", 1),
	     &r);
	tap_ok(r.code == 201, "rent for 1 s");
	resp_free(&r);
	for (i = 0; i < 50; i++) {
		request(&d, "operator", "/v1/metrics", NULL, &r);
		if (metric(&r, "guise_leased_expired_total") >= 1)
			break;
		resp_free(&r);
		usleep(100 * 1000);
	}
	tap_ok(metric(&r, "guise_leased_expired_total") == 1,
	       "sweeper expires it");
	resp_free(&r);

	request(&d, "operator", "/v1/metrics", NULL, &r);
	tap_ok(r.code == 200 && metric(&r, "guise_leased_rents_total") == 4 &&
		       metric(&r, "guise_leased_returns_total") == 1 &&
		       metric(&r, "guise_leased_renews_total") == 1 &&
		       metric(&r, "guise_leased_reveals_allowed_total") == 1 &&
		       metric(&r, "guise_leased_reveals_refused_total") == 4 &&
		       metric(&r, "guise_leased_leases") == 2 &&
		       metric(&r, "guise_leased_pool_size") > 1e24,
	       "metrics count rents, returns, renews, reveals, leases");
	resp_free(&r);

	/* kill -9 and restart: acknowledged leases survive. */
	daemon_stop(&d, SIGKILL);
	tap_ok(daemon_start(&d), "restart after SIGKILL (port %u)", d.port);
	post(&d, "peer", "/v1/reveal", json_pack("{s:s}", "virtual", v1), &r);
	reveals++;
	tap_ok(r.code == 200 && !strcmp(jstr(&r, "real"), HOST1),
	       "after restart: lease %s still there", v1);
	resp_free(&r);
	post(&d, "peer", "/v1/reveal", json_pack("{s:s}", "virtual", v3), &r);
	reveals++;
	tap_ok(r.code == 200 && !strcmp(jstr(&r, "real"), HOST2),
	       "after restart: lease %s still there", v3);
	resp_free(&r);

	status = daemon_stop(&d, SIGTERM);
	tap_ok(status == 0, "SIGTERM: clean exit, no leaks (status %d)",
	       status);

	/* Every reveal attempt is in the audit trail. */
	path(db, sizeof(db), "main", ".db");
	status = -1;
	if (sqlite3_open_v2(db, &sq, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(sq,
			       "SELECT count(*) FROM audit_log WHERE action = "
			       "'reveal';",
			       -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			status = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(sq);
	tap_ok(status == reveals, "audit: %d of %d reveal attempts recorded",
	       status, reveals);
}

static void test_small_pool(void)
{
	struct daemon d = { .name = "small" };
	struct resp r;
	bool ok;

	/* A /126 has 3 addresses to lease (the all-zero one is not). */
	if (!tap_ok(write_config("small", "2001:db8:ff::/126", 2, NULL) == 0 &&
			    daemon_start(&d),
		    "small-pool daemon starts"))
		return;
	ok = rent(&d, "host1", "2001:db8:3::30", &r);
	resp_free(&r);
	ok = ok && rent(&d, "host1", "2001:db8:3::31", &r);
	resp_free(&r);
	tap_ok(ok, "two rents in a /126");
	rent(&d, "host1", "2001:db8:3::32", &r);
	tap_ok(r.code == 503 && !strcmp(jstr(&r, "error"),
					"lease limit per client reached"),
	       "third rent of one client (limit 2): 503 JSON");
	resp_free(&r);
	tap_ok(rent(&d, "host2", "2001:db8:3::33", &r),
	       "another client takes the last address");
	resp_free(&r);
	rent(&d, "host2", "2001:db8:3::34", &r);
	tap_ok(r.code == 503 && !strcmp(jstr(&r, "error"), "pool exhausted"),
	       "pool exhausted: 503 JSON (%s)", jstr(&r, "error"));
	resp_free(&r);
	tap_ok(daemon_stop(&d, SIGTERM) == 0,
	       "small-pool daemon exits cleanly");
}

/* A configuration the daemon must refuse: it exits 1 without serving. */
static void test_bad_config(void)
{
	struct daemon d = { .name = "bad" };
	char conf[512];
	FILE *fp;

	path(conf, sizeof(conf), "bad", ".conf");
	fp = fopen(conf, "w");
	if (!fp)
		return;
	fprintf(fp,
		"[server]\nlisten = [::1]:0\ncert = %s/server.crt\n"
		"key = %s/server.key\nca = %s/ca.crt\ndb = %s/bad.db\n"
		"[pool]\nprefix = 2001:db8:ff::/127\n",
		dir, dir, dir, dir);
	fclose(fp);
	tap_ok(!daemon_start(&d) && d.pid == 0,
	       "a /127 pool is refused at start");
}

int main(void)
{
	if (leased_test_setup()) {
		test_main_daemon();
		test_small_pool();
		test_bad_config();
	}
	return leased_test_done();
}
