// SPDX-License-Identifier: GPL-2.0
/*
 * guise-leased pool controls and durability: several prefixes, the
 * quarantine of ended addresses, the per-client rent rate limit, and
 * kill -9 under load (every acknowledged rent is in the store after the
 * restart).
 */
#include "leased_lib.h"

static void test_pools(void)
{
	struct daemon d = { .name = "pools" };
	unsigned int i, in_a = 0, in_b = 0, ok = 0;
	char peer[64];
	struct resp r;

	if (!tap_ok(write_config("pools", "2001:db8:ff::/126", 16,
				 "[pool]\nprefix = 2001:db8:fe::/126\n"
				 "quarantine = 0\nrent_rate = 0\n") == 0 &&
			    daemon_start(&d),
		    "daemon with two /126 pools starts"))
		return;
	for (i = 0; i < 6; i++) {
		snprintf(peer, sizeof(peer), "2001:db8:3::%x", 0x100 + i);
		if (rent(&d, "host1", peer, &r)) {
			ok++;
			in_a += in_prefix(jstr(&r, "virtual"),
					  "2001:db8:ff::", 126);
			in_b += in_prefix(jstr(&r, "virtual"),
					  "2001:db8:fe::", 126);
		}
		resp_free(&r);
	}
	tap_ok(ok == 6 && in_a == 3 && in_b == 3,
	       "6 rents fill both pools (%u + %u)", in_a, in_b);
	rent(&d, "host1", "2001:db8:3::200", &r);
	tap_ok(r.code == 503 && !strcmp(jstr(&r, "error"), "pool exhausted") &&
		       json_is_object(r.json),
	       "both exhausted: 503 JSON \"%s\"", jstr(&r, "error"));
	resp_free(&r);
	request(&d, "operator", "/v1/metrics", NULL, &r);
	tap_ok(metric(&r, "guise_leased_rents_exhausted_total") == 1 &&
		       metric(&r, "guise_leased_pools") == 2 &&
		       metric(&r, "guise_leased_pool_size") == 6,
	       "metrics: rents_exhausted 1, pools 2, pool_size 6");
	resp_free(&r);
	tap_ok(daemon_stop(&d, SIGTERM) == 0, "pools daemon exits cleanly");
}

static void test_quarantine(void)
{
	struct daemon d = { .name = "quar" };
	char v[64], peer[64];
	unsigned int i;
	struct resp r;

	if (!tap_ok(write_config("quar", "2001:db8:ff::/126", 16,
				 "[pool]\nquarantine = 2s\nrent_rate = 0\n") ==
				    0 &&
			    daemon_start(&d),
		    "daemon with a 2 s quarantine starts"))
		return;
	for (i = 0; i < 3; i++) {
		snprintf(peer, sizeof(peer), "2001:db8:3::%x", 0x300 + i);
		rent(&d, "host1", peer, &r);
		if (i == 0)
			snprintf(v, sizeof(v), "%s", jstr(&r, "virtual"));
		resp_free(&r);
	}
	post(&d, "host1", "/v1/return", json_pack("{s:s}", "virtual", v), &r);
	tap_ok(r.code == 200, "return %s", v);
	resp_free(&r);
	rent(&d, "host2", "2001:db8:3::400", &r);
	tap_ok(r.code == 503, "the returned address is quarantined: 503");
	resp_free(&r);
	sleep(3);
	rent(&d, "host2", "2001:db8:3::400", &r);
	tap_ok(r.code == 201 && !strcmp(jstr(&r, "virtual"), v),
	       "after the quarantine it is leased again (%s)",
	       jstr(&r, "virtual"));
	resp_free(&r);
	tap_ok(daemon_stop(&d, SIGTERM) == 0,
	       "quarantine daemon exits cleanly");
}

static void test_rate(void)
{
	struct daemon d = { .name = "rate" };
	unsigned int i, ok = 0, limited = 0;
	char peer[64];
	struct resp r;

	if (!tap_ok(write_config("rate", POOL, 64,
				 "[pool]\nrent_rate = 1\nrent_burst = 3\n") ==
				    0 &&
			    daemon_start(&d),
		    "daemon with rent_rate 1/s, burst 3 starts"))
		return;
	for (i = 0; i < 6; i++) {
		snprintf(peer, sizeof(peer), "2001:db8:3::%x", 0x500 + i);
		rent(&d, "host1", peer, &r);
		ok += r.code == 201;
		limited += r.code == 429 && !strcmp(jstr(&r, "error"),
						    "rent rate limit reached");
		resp_free(&r);
	}
	tap_ok(ok >= 3 && ok <= 4 && ok + limited == 6,
	       "6 quick rents: %u served, %u refused with 429", ok, limited);
	tap_ok(rent(&d, "host2", "2001:db8:3::600", &r),
	       "another client is not limited");
	resp_free(&r);
	sleep(2);
	tap_ok(rent(&d, "host1", "2001:db8:3::601", &r),
	       "the bucket refills: host1 rents again");
	resp_free(&r);
	request(&d, "operator", "/v1/metrics", NULL, &r);
	tap_ok(metric(&r, "guise_leased_rents_rate_limited_total") == limited,
	       "metric rents_rate_limited_total %u", limited);
	resp_free(&r);
	tap_ok(daemon_stop(&d, SIGTERM) == 0, "rate daemon exits cleanly");
}

/* A client renting as fast as it can, one acknowledged virtual address a
 * line into DIR/ack-WHO, until the daemon goes away. */
static pid_t load_client(const struct daemon *d, const char *who,
			 unsigned int base)
{
	char file[512], peer[64];
	struct resp r;
	unsigned int i;
	FILE *fp;
	pid_t pid;

	path(file, sizeof(file), "ack-", who);
	fflush(stdout);
	pid = fork();
	if (pid)
		return pid;
	fp = fopen(file, "w");
	for (i = 0; fp && i < 100000; i++) {
		snprintf(peer, sizeof(peer), "2001:db8:5::%x:%x", base, i);
		rent(d, who, peer, &r);
		if (r.code == 201) {
			fprintf(fp, "%s\n", jstr(&r, "virtual"));
			fflush(fp);
		}
		resp_free(&r);
		if (r.rc != CURLE_OK)
			break;
	}
	if (fp)
		fclose(fp);
	_exit(0);
}

/* Every line of DIR/ack-WHO is a lease in the store; the count. */
static long check_acks(const char *who, long *missing)
{
	char file[512], line[128], sql[256];
	long n = 0;
	FILE *fp;

	*missing = 0;
	path(file, sizeof(file), "ack-", who);
	fp = fopen(file, "r");
	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\n")] = '\0';
		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM leases WHERE virtual = '%s';",
			 line);
		n++;
		if (db_int("load", sql) != 1)
			(*missing)++;
	}
	fclose(fp);
	return n;
}

static void test_kill9(void)
{
	struct daemon d = { .name = "load" };
	long n1, n2, miss1, miss2;
	pid_t c1, c2;

	if (!tap_ok(write_config("load", POOL, 100000,
				 "[pool]\nrent_rate = 0\n") == 0 &&
			    daemon_start(&d),
		    "load daemon starts"))
		return;
	c1 = load_client(&d, "host1", 1);
	c2 = load_client(&d, "host2", 2);
	sleep(3);
	daemon_stop(&d, SIGKILL);
	waitpid(c1, NULL, 0);
	waitpid(c2, NULL, 0);
	tap_ok(daemon_start(&d), "restart after SIGKILL under load");
	n1 = check_acks("host1", &miss1);
	n2 = check_acks("host2", &miss2);
	tap_ok(n1 > 0 && n2 > 0 && !miss1 && !miss2,
	       "kill -9: %ld + %ld acknowledged rents, %ld lost", n1, n2,
	       miss1 + miss2);
	tap_ok(db_int("load", "SELECT count(*) FROM leases;") >= n1 + n2,
	       "the store holds at least every acknowledged rent");
	tap_ok(daemon_stop(&d, SIGTERM) == 0, "load daemon exits cleanly");
}

int main(void)
{
	if (leased_test_setup()) {
		test_pools();
		test_quarantine();
		test_rate();
		test_kill9();
	}
	return leased_test_done();
}
