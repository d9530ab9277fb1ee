// SPDX-License-Identifier: GPL-2.0
/*
 * What a member revoked from a channel can still do to the others, on
 * loopback with the real daemons (keyd_lib.h): h1 runs, h2 and h3 are
 * members that never run (a dishonest one holds every Kc and Ks it was
 * sent; here the test reads them from h1's DEMMs in the relay's log).
 *
 *  - Two revocations within one switch delay: the server drops the Ks it
 *    made at the first and never sends with it; the member revoked second
 *    knows it. h1 must not keep it (it kept it for its whole hour), and
 *    must keep the key the sender still uses (it pruned that one, the
 *    lowest id, and lost content until the switch).
 *  - A member revoked holds the old Kc, which stays in the others' DEMMs
 *    for demm_lifetime: a key it announces under it (id 0xfffffff0, ten
 *    years) must not be taken. Before, h1 installed it and refused every
 *    genuine Ks after it as older, also after a restart.
 */
#include "keyd_lib.h"

/* Kc of (@channel, @epoch) from h1's DEMMs in ctl.log. */
static bool logged_kc(const uint8_t km[32], uint32_t channel, uint32_t epoch,
		      uint8_t kc[32])
{
	uint8_t buf[GUISE_KEYING_MAX_MSG + 10];
	struct guise_client_keys ck;
	struct guise_demm m;
	bool found = false;
	unsigned int i;
	char p[512];
	FILE *log;
	size_t n;

	if (guise_client_keys_init(&ck, km))
		return false;
	path(p, sizeof(p), "ctl", ".log");
	log = fopen(p, "rb");
	while (log && fread(buf, 1, 10, log) == 10) {
		n = (size_t)buf[8] << 8 | buf[9];
		if (n > GUISE_KEYING_MAX_MSG || fread(buf, 1, n, log) != n)
			break;
		if (guise_demm_open(&ck, buf, n, &m))
			continue;
		for (i = 0; i < m.count; i++)
			if (m.e[i].channel == channel &&
			    m.e[i].epoch == epoch) {
				memcpy(kc, m.e[i].key, 32);
				found = true;
			}
		explicit_bzero(&m, sizeof(m));
	}
	if (log)
		fclose(log);
	guise_client_keys_wipe(&ck);
	return found;
}

static void dump_keys(const char *when)
{
	json_t *st = status("h1"), *k;
	size_t i;

	printf("# h1's keys %s (now %lld):", when, (long long)time(NULL));
	json_array_foreach(json_object_get(st, "keys"), i, k)
		printf(" [id %lld not_after %lld]", key_field(k, "key_id"),
		       key_field(k, "not_after"));
	printf("\n");
	json_decref(st);
}

/* The newest key id h1 holds of content 10, waiting up to 5 s for one
 * above @above. */
static long long newest_above(long long above)
{
	long long v = 0;
	json_t *st, *k;
	int i;

	for (i = 0; i < 100 && v <= above; i++) {
		usleep(50 * 1000);
		st = status("h1");
		k = newest_key(st, 10);
		v = k ? key_field(k, "key_id") : 0;
		json_decref(st);
	}
	return v;
}

static bool h1_holds(long long id)
{
	json_t *st = status("h1");
	bool held = key_by_id(st, id) != NULL;

	json_decref(st);
	return held;
}

/* Two revocations within one switch delay. */
static void test_two_revocations(void)
{
	long long k1, k2, k3, tx_from;
	bool ok;

	k1 = newest_above(0);
	ok = cli("admin", "revoke", "h2", "1", NULL) == 0;
	k2 = newest_above(k1);
	tap_ok(ok && k2 > k1, "h2 revoked: h1 gets Ks %lld", k2);
	ok = cli("admin", "revoke", "h3", "1", NULL) == 0;
	k3 = newest_above(k2);
	tap_ok(ok && k3 > k2,
	       "h3 revoked within the switch delay: h1 gets Ks %lld", k3);
	dump_keys("after both revocations");
	tap_ok(h1_holds(k1) && !h1_holds(k2),
	       "h1 keeps Ks %lld, which the sender uses until the switch, and "
	       "drops Ks %lld, which the server dropped (h3 knows it)",
	       k1, k2);
	tx_from = content_field(10, "tx_from");
	while ((long long)time(NULL) <= tx_from + 9)
		sleep(1);
	dump_keys("after the switch and its grace");
	tap_ok(!h1_holds(k2) && h1_holds(k3),
	       "after the switch + grace: Ks %lld is gone, Ks %lld held", k2,
	       k3);
}

/* Seal a key of h2's own for content 10 under Kc epoch @epoch. */
static void forge(const uint8_t kc[32], uint32_t epoch)
{
	uint8_t buf[GUISE_ANNOUNCE_LEN];
	uint64_t now = (uint64_t)time(NULL);
	struct guise_announce a;
	ssize_t len;

	memset(&a, 0, sizeof(a));
	a.channel = 1;
	a.content = 10;
	a.key_id = 0xfffffff0u;
	inet_pton(AF_INET6, "ff3e::4242", &a.group);
	a.port = 5000;
	a.alg = GUISE_ALG_CHACHA20_POLY1305;
	a.not_before = now - 5;
	a.not_after = now + 10ULL * 365 * 86400;
	memset(a.key, 0x42, sizeof(a.key));
	len = guise_announce_seal(kc, GUISE_ALG_CHACHA20_POLY1305, epoch, &a,
				  NULL, buf, sizeof(buf));
	if (len > 0)
		send_ctl(buf, (size_t)len);
	explicit_bzero(&a, sizeof(a));
}

/* A revoked member announces a key of its own under the previous Kc. */
static void test_revoked_announces(struct daemon *h1, const uint8_t km[32])
{
	long long cur, epoch;
	uint8_t kc[32];
	json_t *st;

	tap_ok(cli("admin", "entitle", "h2", "1", NULL) == 0,
	       "h2 entitled again");
	sleep(2);
	epoch = 3; /* after two revocations and this entitlement's DEMM */
	tap_ok(logged_kc(km, 1, (uint32_t)epoch, kc),
	       "Kc epoch %lld, which h2 holds", epoch);
	tap_ok(cli("admin", "revoke", "h2", "1", NULL) == 0,
	       "h2 revoked again: Kc epoch %lld", epoch + 1);
	usleep(300 * 1000);
	forge(kc, (uint32_t)epoch);
	usleep(300 * 1000);
	dump_keys("after h2's announcement");
	st = status("h1");
	tap_ok(!key_by_id(st, 0xfffffff0LL) &&
		       counter(st, "announces_old_kc") >= 1,
	       "h1 does not take a key announced under the Kc h2 still holds "
	       "(announces_old_kc %lld)",
	       counter(st, "announces_old_kc"));
	json_decref(st);
	explicit_bzero(kc, sizeof(kc));
	tap_ok(cli("admin", "entitle", "h3", "1", NULL) == 0 &&
		       cli("admin", "revoke", "h3", "1", NULL) == 0,
	       "another rotation");
	sleep(3);
	cur = content_field(10, "key_id");
	tap_ok(h1_holds(cur), "h1 holds the server's current Ks %lld", cur);
	tap_ok(daemon_stop(h1, SIGTERM) == 0 && daemon_start(h1),
	       "h1 restarts");
	tap_ok(cli("admin", "entitle", "h3", "1", NULL) == 0 &&
		       cli("admin", "revoke", "h3", "1", NULL) == 0,
	       "another rotation");
	sleep(3);
	cur = content_field(10, "key_id");
	tap_ok(h1_holds(cur), "... and after its restart the new Ks %lld", cur);
}

int main(void)
{
	struct daemon srv = { .name = "server" },
		      h1 = { .name = "h1", .wait_socket = true };
	char p[512], pass[512];
	uint8_t km[32];
	int took = 0;
	bool ok;

	tap_start();
	signal(SIGPIPE, SIG_IGN);
	if (!keyd_setup("keyd-members", &srv))
		goto out;
	tap_ok(cli("admin", "client", "add", "h1", "2001:db8:1::10", NULL) ==
			       0 &&
		       cli("admin", "client", "add", "h2", "2001:db8:1::11",
			   NULL) == 0 &&
		       cli("admin", "client", "add", "h3", "2001:db8:1::12",
			   NULL) == 0 &&
		       cli("admin", "channel", "add", "1", "ff3e::4242", "5000",
			   "bandwidth", "2000", NULL) == 0 &&
		       cli("admin", "content", "add", "10", "channel", "1",
			   "ks-period", "1h", NULL) == 0 &&
		       cli("admin", "entitle", "h1", "1", NULL) == 0 &&
		       cli("admin", "entitle", "h2", "1", NULL) == 0 &&
		       cli("admin", "entitle", "h3", "1", NULL) == 0,
	       "h1, h2 and h3 members of channel 1, content 10");
	snprintf(p, sizeof(p), "%s/h1.km", dir);
	path(pass, sizeof(pass), "pass", "");
	tap_ok(cli("host1", "enroll", "--out", p, "--pass-file", pass,
		   "--iterations", "10000", NULL) == 0 &&
		       read_km(km),
	       "h1 enrols");
	ok = daemon_start(&h1) && wait_for("h1", has_key, 10000, &took);
	if (!tap_ok(ok, "h1 holds a key (%d ms)", took))
		goto out;
	sleep(3); /* past the first key's tx_from */
	test_two_revocations();
	test_revoked_announces(&h1, km);
	tap_ok(daemon_stop(&h1, SIGTERM) == 0 &&
		       daemon_stop(&srv, SIGTERM) == 0,
	       "both daemons exit cleanly");
out:
	explicit_bzero(km, sizeof(km));
	if (h1.pid > 0)
		daemon_stop(&h1, SIGTERM);
	if (srv.pid > 0)
		daemon_stop(&srv, SIGTERM);
	if (relay_pid > 0) {
		kill(relay_pid, SIGTERM);
		waitpid(relay_pid, NULL, 0);
	}
	test_dir_remove();
	return tap_done();
}
