/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the guise-keyd tests on loopback share (keyd_api, keyd_members):
 * the real daemons (ASan builds) in both roles with [kernel] sync = off
 * and [control] unicast = ::1, a relay that logs every control datagram
 * the server sends (DIR/ctl.log) and forwards it to the client, the CLI,
 * and the client's status.
 */
#ifndef GUISE_TESTS_KEYD_LIB_H
#define GUISE_TESTS_KEYD_LIB_H

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
static inline int cli(const char *who, ...)
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
static inline json_t *status(const char *name)
{
	char sock[512], out[65536];
	char *argv[] = { GUISE_BIN, "-j", "status", "--socket", sock, NULL };

	path(sock, sizeof(sock), name, ".sock");
	if (run_capture(argv, out, sizeof(out), false))
		return NULL;
	return json_loads(out, 0, NULL);
}

static inline long long counter(json_t *st, const char *name)
{
	return (long long)json_integer_value(
		json_object_get(json_object_get(st, "counters"), name));
}

static inline size_t nkeys(json_t *st)
{
	return json_array_size(json_object_get(st, "keys"));
}

/* Poll the client's status until @pred holds (or @ms pass). */
static inline bool wait_for(const char *name, bool (*pred)(json_t *), int ms,
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
static inline json_t *newest_key(json_t *st, int content)
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
static inline json_t *key_by_id(json_t *st, long long id)
{
	json_t *k;
	size_t i;

	json_array_foreach(json_object_get(st, "keys"), i, k)
		if (json_integer_value(json_object_get(k, "key_id")) == id)
			return k;
	return NULL;
}

static inline long long key_field(json_t *k, const char *name)
{
	return (long long)json_integer_value(json_object_get(k, name));
}

static inline bool has_key(json_t *st)
{
	return newest_key(st, 10) &&
	       json_array_size(json_object_get(st, "channels")) >= 1;
}

static inline bool no_key(json_t *st)
{
	return nkeys(st) == 0 &&
	       json_array_size(json_object_get(st, "channels")) == 0;
}

static inline bool lapsed(json_t *st)
{
	return no_key(st) && counter(st, "lapses") >= 1;
}

static inline int write_configs(void)
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
static inline bool read_km(uint8_t km[32])
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
static inline bool file_has(const char *name, const char *ext,
			    const uint8_t *needle)
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

static inline void send_ctl(const uint8_t *buf, size_t len)
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
static inline bool relay_start(void)
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

/*
 * Every announcement of @channel the server sent so far (of Kc @epoch,
 * or any if 0): sent again if @replay, else the arrival of the first in
 * *@first_us. How many.
 */
static inline int logged_announcements(uint32_t channel, uint32_t epoch,
				       bool replay, uint64_t *first_us)
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

/* content show over the local socket: a field of the content (tx_from,
 * key_id ...), -1 if none. */
static inline long long content_field(int content, const char *field)
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
				json_object_get(c, field));
	json_decref(arr);
	return v;
}

/*
 * The test directory (named after @name), the PKI, the configurations,
 * the relay and the server daemon @srv; its URL in server_url. False
 * (said) if any fails.
 */
static inline bool keyd_setup(const char *name, struct daemon *srv)
{
	char cmd[1024];

	if (!test_dir_make(name)) {
		tap_ok(false, "temporary directory");
		return false;
	}
	ctl_port = 20000 + (unsigned int)getpid() % 20000;
	snprintf(cmd, sizeof(cmd), "sh %s/keyd_certs.sh %s", TESTS_DIR, dir);
	if (!tap_ok(system(cmd) == 0 && !write_configs(),
		    "test PKI and configs") ||
	    !tap_ok(relay_start() && daemon_start(srv), "server starts"))
		return false;
	snprintf(server_url, sizeof(server_url), "https://[::1]:%u", srv->port);
	return true;
}

#endif
