// SPDX-License-Identifier: GPL-2.0
/*
 * guise-keyd end to end on loopback: the real daemons (ASan builds) in
 * both roles with [kernel] sync = off and [control] unicast = ::1 (this
 * host has no multicast route on lo; the VM test selftests/keyd_e2e.sh
 * covers multicast and the kernel), real mutual TLS with a PKI made by
 * keyd_certs.sh, and the real CLI for administration, enrolment and
 * status. Forged, replayed and expired DEMMs are made here with libguise
 * from the enrolled Km and sent to the client's control port.
 */
#include "keyd_lib.h"

static int replay_announcements(uint32_t channel)
{
	return logged_announcements(channel, 0, true, NULL);
}

/*
 * The switch delay covers what is queued in wire bytes: two members
 * entitled to 7 channels each (a DEMM of 14 entries to 7 groups, 8,386
 * bytes on the wire, more than the 2,000 B/s cap), one revoked from
 * one of them: the new Ks must be announced before the sender uses it.
 */
static void test_switch_delay(void)
{
	char ch[8], grp[32];
	uint64_t first = 0;
	long long tx_from;
	bool ok;
	int i;

	ok = cli("admin", "client", "add", "h3", "2001:db8:1::12", NULL) == 0;
	for (i = 21; i <= 27; i++) {
		snprintf(ch, sizeof(ch), "%d", i);
		snprintf(grp, sizeof(grp), "ff3e::43%d", i);
		ok = ok &&
		     cli("admin", "channel", "add", ch, grp, "5000", NULL) ==
			     0 &&
		     cli("admin", "entitle", "h2", ch, NULL) == 0 &&
		     cli("admin", "entitle", "h3", ch, NULL) == 0;
	}
	ok = ok && cli("admin", "content", "add", "30", "channel", "21",
		       "ks-period", "1h", NULL) == 0;
	tap_ok(ok, "h2 and h3 entitled to channels 21..27, content 30 on 21");
	sleep(3); /* the queue drains */
	tap_ok(cli("admin", "revoke", "h2", "21", NULL) == 0,
	       "admin revokes h2 from channel 21");
	for (i = 0; i < 300 && !logged_announcements(21, 2, false, &first); i++)
		usleep(100 * 1000);
	tx_from = content_field(30, "tx_from");
	tap_ok(first && tx_from > 0 && first <= (uint64_t)tx_from * 1000000,
	       "the new Ks (Kc epoch 2) went out at %.2f, before the sender "
	       "switches at %lld",
	       first / 1e6, tx_from);
}

/*
 * A member revoked from the channel knows its Ks: after the revocation
 * the other members must keep it only until the sender has switched (the
 * new Ks's tx_from + 8 s of grace), and no replay of an older
 * announcement may lengthen it or bring it back.
 */
static void test_revoke_old_ks(struct daemon *srv)
{
	json_t *st, *k;
	long long k1, k1_after, k2, tx_from;
	uint64_t t0;
	int took, i;
	bool ok;

	st = status("h1");
	k = newest_key(st, 10);
	k1 = key_field(k, "key_id");
	k1_after = key_field(k, "not_after");
	json_decref(st);
	t0 = (uint64_t)time(NULL);
	tap_ok(k && k1_after > (long long)t0 + 600,
	       "h1 holds Ks %lld of content 10 for the whole ks period", k1);
	tap_ok(cli("admin", "entitle", "h2", "1", NULL) == 0 &&
		       cli("admin", "revoke", "h2", "1", NULL) == 0,
	       "admin entitles h2 to channel 1, then revokes it");
	k2 = 0;
	for (i = 0; i < 100 && !k2; i++) {
		usleep(100 * 1000);
		st = status("h1");
		k = newest_key(st, 10);
		if (k && key_field(k, "key_id") > k1)
			k2 = key_field(k, "key_id");
		json_decref(st);
	}
	tx_from = content_field(10, "tx_from");
	st = status("h1");
	k = key_by_id(st, k1);
	tap_ok(k2 && k && tx_from > 0 &&
		       key_field(k, "not_after") == tx_from + 8,
	       "h1: new Ks %lld, old Ks %lld shortened to the switch "
	       "(tx_from %lld) + 8 s: not after %lld",
	       k2, k1, tx_from, k ? key_field(k, "not_after") : 0LL);
	tap_ok(counter(st, "keys_shortened") >= 1,
	       "... counted in keys_shortened");
	json_decref(st);
	ok = replay_announcements(1) > 0;
	st = status("h1");
	k = key_by_id(st, k1);
	tap_ok(ok && k && key_field(k, "not_after") == tx_from + 8,
	       "replaying every announcement sent so far never lengthens "
	       "it again");
	json_decref(st);
	for (i = 0; i < 300; i++) {
		st = status("h1");
		k = key_by_id(st, k1);
		json_decref(st);
		if (!k)
			break;
		usleep(100 * 1000);
	}
	tap_ok(!k && (uint64_t)time(NULL) <= (uint64_t)tx_from + 10,
	       "h1 removes the old Ks once it expires (%lld s after the "
	       "revocation)",
	       (long long)((uint64_t)time(NULL) - t0));
	st = status("h1");
	tap_ok(st && key_by_id(st, k2), "... and keeps the new one");
	json_decref(st);

	/* A server restart rotates Ks under the same Kc: the long
	 * announcement of k2 stays openable once k2 has expired. */
	tap_ok(daemon_stop(srv, SIGTERM) == 0 && daemon_start(srv) &&
		       wait_for("h1", has_key, 8000, &took),
	       "server restart: a fresh Ks under the same Kc (%d ms)", took);
	snprintf(server_url, sizeof(server_url), "https://[::1]:%u", srv->port);
	for (i = 0; i < 300; i++) {
		st = status("h1");
		k = key_by_id(st, k2);
		json_decref(st);
		if (!k)
			break;
		usleep(100 * 1000);
	}
	tap_ok(!k, "h1 removes Ks %lld after the switch and its grace", k2);
	st = status("h1");
	i = (int)counter(st, "announces_stale");
	json_decref(st);
	ok = replay_announcements(1) > 0;
	st = status("h1");
	tap_ok(ok && st && !key_by_id(st, k1) && !key_by_id(st, k2) &&
		       counter(st, "announces_stale") > i,
	       "replayed announcements of expired keys are refused as "
	       "stale (%lld)",
	       st ? counter(st, "announces_stale") - i : 0LL);
	json_decref(st);
}

/* Entitled to two channels, h1 gets each DEMM twice (once per group):
 * duplicates, not replays. */
static void test_duplicate_demms(void)
{
	json_t *st = status("h1");
	long long replayed = counter(st, "demms_replayed");
	long long demms = counter(st, "demms");

	json_decref(st);
	tap_ok(cli("admin", "channel", "add", "2", "ff3e::4243", "5002",
		   NULL) == 0 &&
		       cli("admin", "entitle", "h1", "2", NULL) == 0,
	       "h1 entitled to a second channel");
	sleep(3);
	st = status("h1");
	tap_ok(st && counter(st, "demms") >= demms + 2 &&
		       counter(st, "demms_duplicate") >=
			       counter(st, "demms") - demms - 1 &&
		       counter(st, "demms_replayed") == replayed,
	       "each DEMM's second copy counts as a duplicate (%lld), none "
	       "as a replay (%lld more)",
	       counter(st, "demms_duplicate"),
	       counter(st, "demms_replayed") - replayed);
	json_decref(st);
	tap_ok(cli("admin", "revoke", "h1", "2", NULL) == 0 &&
		       cli("admin", "channel", "del", "2", NULL) == 0,
	       "h1 revoked from it, channel 2 deleted");
}

/* Hand-made DEMMs: replayed, expired, forged, garbage. */
static void test_bad_demms(const uint8_t km[32])
{
	struct guise_client_keys ck;
	uint8_t buf[GUISE_KEYING_MAX_MSG];
	struct guise_demm d;
	json_t *before, *after;
	uint64_t now = (uint64_t)time(NULL);
	ssize_t len;

	guise_client_keys_init(&ck, km);
	before = status("h1");
	memset(&d, 0, sizeof(d));
	d.serial = 1; /* far below the last one: a replay */
	d.not_before = now - 5;
	d.not_after = now + 60;
	len = guise_demm_seal(&ck, GUISE_ALG_CHACHA20_POLY1305,
			      guise_demm_epoch(now), &d, NULL, buf,
			      sizeof(buf));
	send_ctl(buf, (size_t)len);
	d.serial = UINT64_MAX - 1; /* new, but long expired */
	d.not_before = now - 100;
	d.not_after = now - 50;
	len = guise_demm_seal(&ck, GUISE_ALG_CHACHA20_POLY1305,
			      guise_demm_epoch(now), &d, NULL, buf,
			      sizeof(buf));
	send_ctl(buf, (size_t)len);
	buf[len - 1] ^= 1; /* forged */
	send_ctl(buf, (size_t)len);
	send_ctl((const uint8_t *)"garbage, not a control message", 30);
	usleep(500 * 1000);
	after = status("h1");
	tap_ok(before && after &&
		       counter(after, "demms_replayed") ==
			       counter(before, "demms_replayed") + 1,
	       "an old DEMM (serial 1) is rejected as replayed");
	tap_ok(after && counter(after, "demms_expired") ==
				counter(before, "demms_expired") + 1,
	       "a DEMM outside its validity is rejected");
	tap_ok(after && counter(after, "forged") ==
				counter(before, "forged") + 1,
	       "a forged DEMM (bad tag) is rejected and counted");
	tap_ok(after && counter(after, "malformed") ==
				counter(before, "malformed") + 1,
	       "garbage on the control port is counted as malformed");
	tap_ok(after && nkeys(after) >= 1, "none of them touched the live key");
	json_decref(before);
	json_decref(after);
	guise_client_keys_wipe(&ck);
}

int main(void)
{
	struct daemon srv = { .name = "server" },
		      h1 = { .name = "h1", .wait_socket = true };
	char cmd[1024], p[512], out[4096];
	uint8_t km[32];
	struct stat sb;
	json_t *st;
	int took;

	tap_start();
	signal(SIGPIPE, SIG_IGN);
	if (!keyd_setup("keyd-test", &srv))
		goto out;

	tap_ok(cli("admin", "client", "add", "h1", "2001:db8:1::10", NULL) ==
			       0 &&
		       cli("admin", "client", "add", "h2", "2001:db8:1::11",
			   NULL) == 0,
	       "admin adds clients h1 and h2");
	tap_ok(cli("admin", "client", "add", "h3", "2001:db8:1::10", NULL) == 1,
	       "a second client with the same address is refused");
	tap_ok(cli("host1", "client", "add", "x", "2001:db8:1::77", NULL) == 4,
	       "a subscriber cannot administer (exit 4, forbidden)");
	tap_ok(cli("admin", "channel", "add", "1", "ff3e::4242", "5000",
		   "bandwidth", "2000", NULL) == 0,
	       "admin adds channel 1 [ff3e::4242]:5000");
	tap_ok(cli("admin", "channel", "add", "2", "2001:db8::1", "5000",
		   NULL) == 1,
	       "a unicast group is refused");
	tap_ok(cli("admin", "content", "add", "10", "channel", "1", "ks-period",
		   "1h", NULL) == 0,
	       "admin adds content 10 on channel 1");
	tap_ok(cli("admin", "content", "add", "11", "channel", "9", NULL) == 1,
	       "a content on an unknown channel is refused");
	tap_ok(cli("admin", "entitle", "h1", "1", NULL) == 0,
	       "admin entitles h1 to channel 1");

	snprintf(p, sizeof(p), "%s/h1.km", dir);
	{
		char pass[512];

		path(pass, sizeof(pass), "pass", "");
		tap_ok(cli("host1", "enroll", "--out", p, "--pass-file", pass,
			   "--iterations", "10000", NULL) == 0 &&
			       !stat(p, &sb) && (sb.st_mode & 0777) == 0600 &&
			       sb.st_size == GUISE_KEYFILE_LEN,
		       "h1 enrols: Km sealed at rest, mode 0600");
		snprintf(cmd, sizeof(cmd), "%s/x.km", dir);
		tap_ok(cli("stranger", "enroll", "--out", cmd, "--pass-file",
			   pass, NULL) == 1 &&
			       access(cmd, F_OK),
		       "an unknown certificate gets no key");
	}
	tap_ok(read_km(km), "the sealed Km opens with the passphrase");
	tap_ok(!file_has("server", ".db", km) &&
		       !file_has("server", ".db-wal", km),
	       "the server's store never holds Km in clear");

	if (!tap_ok(daemon_start(&h1), "client h1 starts"))
		goto out;
	tap_ok(wait_for("h1", has_key, 10000, &took),
	       "h1 opens DEMM -> Kc -> announcement -> Ks (%d ms)", took);
	st = status("h1");
	tap_ok(st && counter(st, "demms") >= 1 &&
		       counter(st, "announces") >= 1 &&
		       json_integer_value(json_object_get(st, "last_serial")) >
			       0,
	       "status: DEMM serial and counters");
	json_decref(st);
	{
		char *argv[] = { GUISE_BIN, "status", "--socket", p, NULL };

		path(p, sizeof(p), "h1", ".sock");
		tap_ok(run_capture(argv, out, sizeof(out), false) == 0 &&
			       strstr(out, "key [ff3e::4242]:5000 id") &&
			       strstr(out, "content 10"),
		       "guise status (text) lists the live key");
	}
	test_bad_demms(km);
	test_duplicate_demms();
	test_revoke_old_ks(&srv);

	tap_ok(cli("admin", "revoke", "h1", "1", NULL) == 0,
	       "admin revokes h1");
	tap_ok(wait_for("h1", no_key, 1000, &took),
	       "h1's key and channel are gone within 1 s (%d ms)", took);
	st = status("h1");
	tap_ok(st && counter(st, "flushes") >= 1,
	       "the empty DEMM flushed everything");
	json_decref(st);
	tap_ok(cli("admin", "revoke", "h1", "1", NULL) == 1,
	       "revoking again: not found");
	tap_ok(cli("admin", "entitle", "h1", "1", NULL) == 0 &&
		       wait_for("h1", has_key, 5000, &took),
	       "entitled again, h1 holds a key again (%d ms)", took);

	{
		char *argv[] = { GUISE_BIN,  "-j", "channel", "show",
				 "--socket", p,	   NULL };

		path(p, sizeof(p), "server", ".sock");
		tap_ok(geteuid() || (run_capture(argv, out, sizeof(out),
						 false) == 0 &&
				     strstr(out, "\"epoch\":3")),
		       "over the local socket (root: admin): channel 1 at Kc "
		       "epoch 3 after two revocations");
	}
	{
		json_t *ss;
		bool within = true;
		int i;

		path(p, sizeof(p), "server", ".sock");
		for (i = 0; i < 10; i++) {
			char *argv[] = { GUISE_BIN,  "-j", "status",
					 "--socket", p,	   NULL };

			if (geteuid())
				break; /* the local socket is root's */
			if (run_capture(argv, out, sizeof(out), false)) {
				within = false;
				break;
			}
			ss = json_loads(out, 0, NULL);
			if (json_integer_value(
				    json_object_get(ss, "window_bytes")) >
			    json_integer_value(
				    json_object_get(ss, "cap_bytes_per_s")))
				within = false;
			json_decref(ss);
			usleep(200 * 1000);
		}
		tap_ok(within, "control bytes in the last second never exceed "
			       "the cap (min(16 kbit/s, 5%% of 2000 kbit/s))");
	}

	tap_ok(daemon_stop(&h1, SIGTERM) == 0 && daemon_start(&h1) &&
		       wait_for("h1", has_key, 5000, &took),
	       "client restart: keys back without re-enrolment (%d ms)", took);
	tap_ok(daemon_stop(&srv, SIGTERM) == 0, "server stops cleanly");
	tap_ok(wait_for("h1", lapsed, 6000, &took),
	       "no refresh: h1's entitlements lapse (%d ms)", took);
	tap_ok(daemon_start(&srv) && wait_for("h1", has_key, 8000, &took),
	       "server restart: h1 entitled again from the stored state "
	       "(%d ms)",
	       took);
	snprintf(server_url, sizeof(server_url), "https://[::1]:%u", srv.port);
	tap_ok(cli("admin", "client", "del", "h1", NULL) == 0 &&
		       wait_for("h1", no_key, 2000, &took),
	       "deleting the client revokes it first (%d ms)", took);
	tap_ok(cli("admin", "channel", "del", "1", NULL) == 1,
	       "a channel with a content cannot be deleted");
	tap_ok(cli("admin", "entitle", "h2", "1", NULL) == 0 &&
		       cli("admin", "content", "del", "10", NULL) == 0 &&
		       cli("admin", "channel", "del", "1", NULL) == 0,
	       "content, then channel (with a member) deleted");
	{
		char *argv[] = { GUISE_BIN,  "-j", "client", "show",
				 "--socket", p,	   NULL };

		path(p, sizeof(p), "server", ".sock");
		tap_ok(geteuid() || (run_capture(argv, out, sizeof(out),
						 false) == 0 &&
				     strstr(out, "\"id\":\"h2\"") &&
				     strstr(out, "\"channels\":[]")),
		       "h2 is left without channels");
	}
	test_switch_delay();
	tap_ok(daemon_stop(&h1, SIGTERM) == 0, "client stops cleanly");
	tap_ok(daemon_stop(&srv, SIGTERM) == 0, "server stops cleanly again");
	write_file("server", ".secret", "not the store secret\n");
	tap_ok(!daemon_start(&srv),
	       "the sealed store refuses a wrong secret (server exits)");
out:
	explicit_bzero(km, sizeof(km));
	daemon_stop(&h1, SIGTERM);
	daemon_stop(&srv, SIGTERM);
	if (relay_pid > 0) {
		kill(relay_pid, SIGTERM);
		waitpid(relay_pid, NULL, 0);
	}
	test_dir_remove();
	return tap_done();
}
