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

static unsigned int ctl_port;
static char server_url[64];

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

static bool has_key(json_t *st)
{
	json_t *k = json_array_get(json_object_get(st, "keys"), 0);

	return nkeys(st) >= 1 &&
	       json_integer_value(json_object_get(k, "content")) == 10 &&
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
		 dir, dir, dir, dir, dir, dir, ctl_port);
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
	if (!tap_ok(daemon_start(&srv), "server starts"))
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
			   "--iterations", "1000", NULL) == 0 &&
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
				     strstr(out, "\"epoch\":2")),
		       "over the local socket (root: admin): channel 1 at Kc "
		       "epoch 2 after one revocation");
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
	tap_ok(daemon_stop(&h1, SIGTERM) == 0, "client stops cleanly");
	tap_ok(daemon_stop(&srv, SIGTERM) == 0, "server stops cleanly again");
	write_file("server", ".secret", "not the store secret\n");
	tap_ok(!daemon_start(&srv),
	       "the sealed store refuses a wrong secret (server exits)");
out:
	explicit_bzero(km, sizeof(km));
	daemon_stop(&h1, SIGTERM);
	daemon_stop(&srv, SIGTERM);
	test_dir_remove();
	return tap_done();
}
