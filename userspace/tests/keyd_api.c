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
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <linux/guise.h>

#include "keyfile.h"
#include "keying.h"

#ifndef DAEMON_BIN
#define DAEMON_BIN "../build/asan/guise-keyd"
#endif
#include "daemon_test.h"
#ifndef GUISE_BIN
#define GUISE_BIN "../build/asan/guise"
#endif
#ifndef TESTS_DIR
#define TESTS_DIR "tests"
#endif

static unsigned int ctl_port; /* the client's; the server's is + 1 */
static char server_url[64];
static pid_t relay_pid = -1;

/* guise ARGS... --server URL --cert WHO.crt --key WHO.key --ca ca.crt */
static int cli(const char *who, ...)
{
	char cert[512], key[512], ca[512];
	char *argv[32];
	const char *a;
	va_list ap;
	int n = 0;

	argv[n++] = GUISE_BIN;
	va_start(ap, who);
	while ((a = va_arg(ap, const char *)) && n < 20)
		argv[n++] = (char *)a;
	va_end(ap);
	path(cert, sizeof(cert), who, ".crt");
	path(key, sizeof(key), who, ".key");
	path(ca, sizeof(ca), "ca", ".crt");
	argv[n++] = "--server";
	argv[n++] = server_url;
	argv[n++] = "--cert";
	argv[n++] = cert;
	argv[n++] = "--key";
	argv[n++] = key;
	argv[n++] = "--ca";
	argv[n++] = ca;
	argv[n] = NULL;
	return run(argv);
}

/* guise -j status --socket DIR/NAME.sock, parsed; NULL on failure. */
static json_t *status(const char *name)
{
	char sock[512], out[65536];
	char *argv[] = { GUISE_BIN, "-j", "status", "--socket", sock, NULL };

	path(sock, sizeof(sock), name, ".sock");
	if (run_capture(argv, out, sizeof(out), false))
		return NULL;
	return json_loads(out, 0, NULL);
}

static long long counter(json_t *st, const char *name)
{
	return (long long)json_integer_value(
		json_object_get(json_object_get(st, "counters"), name));
}

static size_t nkeys(json_t *st)
{
	return json_array_size(json_object_get(st, "keys"));
}

/* Poll the client's status until @pred holds (or @ms pass). */
static bool wait_for(const char *name, bool (*pred)(json_t *), int ms,
		     int *took)
{
	struct timespec t0, t1;
	bool ok = false;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		json_t *st = status(name);

		ok = st && pred(st);
		json_decref(st);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		*took = (int)((t1.tv_sec - t0.tv_sec) * 1000 +
			      (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (ok || *took > ms)
			return ok;
		usleep(50 * 1000);
	}
}

/* The newest key of content @content in @st (NULL: none). */
static json_t *newest_key(json_t *st, int content)
{
	json_t *k, *best = NULL;
	size_t i;

	json_array_foreach(json_object_get(st, "keys"), i, k)
		if (json_integer_value(json_object_get(k, "content")) ==
			    content &&
		    (!best || json_integer_value(json_object_get(k, "key_id")) >
				      json_integer_value(
					      json_object_get(best, "key_id"))))
			best = k;
	return best;
}

/* The key @id in @st (NULL: not held). */
static json_t *key_by_id(json_t *st, long long id)
{
	json_t *k;
	size_t i;

	json_array_foreach(json_object_get(st, "keys"), i, k)
		if (json_integer_value(json_object_get(k, "key_id")) == id)
			return k;
	return NULL;
}

static long long key_field(json_t *k, const char *name)
{
	return (long long)json_integer_value(json_object_get(k, name));
}

static bool has_key(json_t *st)
{
	return newest_key(st, 10) &&
	       json_array_size(json_object_get(st, "channels")) >= 1;
}

static bool no_key(json_t *st)
{
	return nkeys(st) == 0 &&
	       json_array_size(json_object_get(st, "channels")) == 0;
}

static bool lapsed(json_t *st)
{
	return no_key(st) && counter(st, "lapses") >= 1;
}

static int write_configs(void)
{
	char buf[2048];

	snprintf(buf, sizeof(buf),
		 "[keyd]\nrole = server\n\n[server]\nlisten = [::1]:0\n"
		 "cert = %s/server.crt\nkey = %s/server.key\nca = %s/ca.crt\n"
		 "db = %s/server.db\nsocket = %s/server.sock\n"
		 "secret_file = %s/server.secret\n\n[control]\nport = %u\n"
		 "unicast = ::1\n"
		 "refresh = 1s\ndemm_lifetime = 3s\nswitch_delay = 1s\n"
		 "max_kbps = 16\n\n[kernel]\nsync = off\n",
		 dir, dir, dir, dir, dir, dir, ctl_port + 1);
	if (write_file("server", ".conf", buf) ||
	    write_file("server", ".secret", "store secret\n"))
		return -1;
	snprintf(buf, sizeof(buf),
		 "[keyd]\nrole = client\n\n[control]\nport = %u\n"
		 "refresh = 1s\ndemm_lifetime = 3s\n\n[kernel]\nsync = off\n\n"
		 "[client]\nkey_file = %s/h1.km\npass_file = %s/pass\n"
		 "state = %s/h1.state\nsocket = %s/h1.sock\n",
		 ctl_port, dir, dir, dir, dir);
	return write_file("h1", ".conf", buf) ||
	       write_file("pass", "", "correct horse battery staple\n");
}

/* Km as enrolled, read back with the passphrase. */
static bool read_km(uint8_t km[32])
{
	uint8_t file[GUISE_KEYFILE_LEN + 1];
	char p[512], pass[128];
	ssize_t n;
	int fd, plen;

	path(p, sizeof(p), "h1", ".km");
	fd = open(p, O_RDONLY);
	if (fd < 0)
		return false;
	n = read(fd, file, sizeof(file));
	close(fd);
	path(p, sizeof(p), "pass", "");
	plen = guise_keyfile_read_pass(p, pass, sizeof(pass));
	return n > 0 && plen > 0 &&
	       !guise_keyfile_open(file, (size_t)n, pass, (size_t)plen, km);
}

/* Does DIR/NAME.EXT contain the 32 bytes @needle? */
static bool file_has(const char *name, const char *ext, const uint8_t *needle)
{
	char p[512];
	static char buf[4 << 20];
	size_t n;
	FILE *fp;

	path(p, sizeof(p), name, ext);
	fp = fopen(p, "rb");
	if (!fp)
		return false;
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	return memmem(buf, n, needle, 32) != NULL;
}

static void send_ctl(const uint8_t *buf, size_t len)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
				   .sin6_port = htons((uint16_t)ctl_port),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);

	if (fd < 0)
		return;
	if (sendto(fd, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		perror("sendto");
	close(fd);
}

/*
 * The server's control datagrams reach the client through us: a child
 * process receives them on the server's control port, appends each to
 * DIR/ctl.log (arrival in microseconds since the epoch, 8 bytes, length,
 * 2 bytes, then the datagram) and forwards it to the client's port, so
 * that old announcements can be replayed.
 */
static bool relay_start(void)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
				   .sin6_port = htons((uint16_t)(ctl_port + 1)),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	char p[512];
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return false;
	path(p, sizeof(p), "ctl", ".log");
	relay_pid = fork();
	if (relay_pid < 0)
		return false;
	if (!relay_pid) {
		uint8_t buf[GUISE_KEYING_MAX_MSG + 10];
		FILE *log = fopen(p, "ab");
		struct timespec ts;
		uint64_t us;
		ssize_t n;

		sa.sin6_port = htons((uint16_t)ctl_port);
		while (log &&
		       (n = recv(fd, buf + 10, sizeof(buf) - 10, 0)) >= 0) {
			clock_gettime(CLOCK_REALTIME, &ts);
			us = (uint64_t)ts.tv_sec * 1000000 +
			     (uint64_t)ts.tv_nsec / 1000;
			memcpy(buf, &us, 8);
			buf[8] = (uint8_t)(n >> 8);
			buf[9] = (uint8_t)n;
			fwrite(buf, 1, (size_t)n + 10, log);
			fflush(log);
			sendto(fd, buf + 10, (size_t)n, 0,
			       (struct sockaddr *)&sa, sizeof(sa));
		}
		_exit(0);
	}
	close(fd);
	return true;
}

static void send_ctl(const uint8_t *buf, size_t len);

/*
 * Every announcement of @channel the server sent so far (of Kc @epoch,
 * or any if 0): sent again if @replay, else the arrival of the first in
 * *@first_us. How many.
 */
static int logged_announcements(uint32_t channel, uint32_t epoch, bool replay,
				uint64_t *first_us)
{
	uint8_t buf[GUISE_KEYING_MAX_MSG + 10];
	struct guise_keying_hdr h;
	char p[512];
	uint64_t us;
	FILE *log;
	size_t n;
	int sent = 0;

	path(p, sizeof(p), "ctl", ".log");
	log = fopen(p, "rb");
	while (log && fread(buf, 1, 10, log) == 10) {
		memcpy(&us, buf, 8);
		n = (size_t)buf[8] << 8 | buf[9];
		if (n > GUISE_KEYING_MAX_MSG || fread(buf, 1, n, log) != n)
			break;
		if (guise_keying_peek(buf, n, &h) ||
		    h.type != GUISE_KEYING_TYPE_ANNOUNCE ||
		    h.channel != channel || (epoch && h.key_epoch != epoch))
			continue;
		if (replay)
			send_ctl(buf, n);
		else if (!sent && first_us)
			*first_us = us;
		sent++;
	}
	if (log)
		fclose(log);
	if (replay)
		usleep(300 * 1000);
	return sent;
}

static long long content_tx_from(int content);

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
	tx_from = content_tx_from(30);
	tap_ok(first && tx_from > 0 && first <= (uint64_t)tx_from * 1000000,
	       "the new Ks (Kc epoch 2) went out at %.2f, before the sender "
	       "switches at %lld",
	       first / 1e6, tx_from);
}

/* content show over the local socket: the content's tx_from. */
static long long content_tx_from(int content)
{
	char p[512], out[8192];
	char *argv[] = {
		GUISE_BIN, "-j", "content", "show", "--socket", p, NULL
	};
	long long v = -1;
	json_t *arr, *c;
	size_t i;

	path(p, sizeof(p), "server", ".sock");
	if (run_capture(argv, out, sizeof(out), false))
		return -1;
	arr = json_loads(out, 0, NULL);
	json_array_foreach(arr, i, c)
		if (json_integer_value(json_object_get(c, "id")) == content)
			v = (long long)json_integer_value(
				json_object_get(c, "tx_from"));
	json_decref(arr);
	return v;
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
	tx_from = content_tx_from(10);
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
	if (!test_dir_make("keyd-test")) {
		tap_ok(false, "temporary directory");
		return tap_done();
	}
	ctl_port = 20000 + (unsigned int)getpid() % 20000;
	snprintf(cmd, sizeof(cmd), "sh %s/keyd_certs.sh %s", TESTS_DIR, dir);
	if (!tap_ok(system(cmd) == 0 && !write_configs(),
		    "test PKI and configs"))
		goto out;
	if (!tap_ok(relay_start() && daemon_start(&srv), "server starts"))
		goto out;
	snprintf(server_url, sizeof(server_url), "https://[::1]:%u", srv.port);

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
