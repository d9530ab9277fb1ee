// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "key_args.h"
#include "lease.h"
#include "num.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_time(const char *s, time_t now, uint64_t *t)
{
	uint32_t d;

	if (*s == '+') {
		if (guise_duration_parse(s + 1, &d))
			return -EINVAL;
		*t = (uint64_t)now + d;
		return 0;
	}
	return guise_uint_parse(s, UINT64_MAX, t);
}

/* GROUP PORT: a multicast group and a UDP port 1..65535. */
static int parse_flow(char *const *argv, struct guise_key *k, char *err,
		      size_t errlen)
{
	uint64_t port;

	if (guise_addr_parse(argv[0], &k->group) ||
	    !IN6_IS_ADDR_MULTICAST(&k->group))
		return fail(err, errlen,
			    "bad group \"%s\": want an IPv6 multicast address",
			    argv[0]);
	if (guise_uint_parse(argv[1], 65535, &port) || !port)
		return fail(err, errlen, "bad port \"%s\": want 1..65535",
			    argv[1]);
	k->port = (uint16_t)port;
	guise_key_mark(k, GUISE_A_KEY_GROUP);
	guise_key_mark(k, GUISE_A_KEY_PORT);
	return 0;
}

/* @hex (@n digits, NUL-terminated) into k->secret: 32 or 64 digits. */
static int secret_hex(const char *hex, size_t n, struct guise_key *k)
{
	if (n != 2 * 16 && n != 2 * GUISE_KEY_SECRET_MAX)
		return -EINVAL;
	k->secret_len = n / 2;
	return guise_hex_parse(hex, k->secret, k->secret_len);
}

/*
 * The file holds the hex digits, then at most "\n" or "\r\n". Read with
 * read(2) into a buffer wiped here: stdio would leave a copy in its own.
 */
static int read_secret_file(const char *path, struct guise_key *k)
{
	char buf[2 * GUISE_KEY_SECRET_MAX + 4]; /* "\r\n", one too many, NUL */
	size_t n = 0;
	ssize_t got;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do {
		got = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (got > 0)
			n += (size_t)got;
	} while (got > 0 && n < sizeof(buf) - 1);
	ret = got < 0 ? -errno : 0;
	close(fd);
	/* One line end after the digits, at most. */
	if (n && buf[n - 1] == '\n') {
		n--;
		if (n && buf[n - 1] == '\r')
			n--;
	}
	buf[n] = '\0';
	if (!ret)
		ret = secret_hex(buf, n, k);
	explicit_bzero(buf, sizeof(buf));
	return ret;
}

/* `secret HEX` (wiped in @argv once read: it would stay readable in
 * /proc/PID/cmdline) or `secret-file PATH`. */
static int parse_secret(const char *kw, char *val, struct guise_key *k,
			char *err, size_t errlen)
{
	size_t n = strlen(val);
	int ret;

	if (!strcmp(kw, "secret-file")) {
		ret = read_secret_file(val, k);
		if (ret)
			return fail(err, errlen, "secret-file \"%s\": %s", val,
				    ret == -EINVAL ?
					    "want 32 or 64 hex digits, then "
					    "at most a newline" :
					    strerror(-ret));
	} else {
		ret = secret_hex(val, n, k);
		explicit_bzero(val, n);
		if (ret)
			return fail(err, errlen,
				    "bad secret: want 32 or 64 hex digits");
	}
	guise_key_mark(k, GUISE_A_KEY_SECRET);
	return 0;
}

/* A long hex word where a keyword should be: a secret without "secret". */
static bool looks_like_secret(const char *s)
{
	size_t n = strlen(s);

	return n > 16 && strspn(s, "0123456789abcdefABCDEF") == n;
}

int key_args_parse_add(int argc, char *const *argv, struct guise_key *k,
		       time_t now, char *err, size_t errlen)
{
	uint64_t v;
	int i, ret;

	memset(k, 0, sizeof(*k));
	if (argc < 2)
		return fail(err, errlen, "need GROUP PORT");
	ret = parse_flow(argv, k, err, errlen);
	if (ret)
		return ret;
	for (i = 2; i < argc; i += 2) {
		const char *kw = argv[i];
		char *val = argv[i + 1];

		/* Not echoed: it may well be the secret. */
		if (looks_like_secret(kw))
			return fail(err, errlen,
				    "unknown keyword (a hex string: did you "
				    "forget \"secret\"?)");
		if (i + 1 == argc)
			return fail(err, errlen, "\"%s\" needs a value", kw);
		if (!strcmp(kw, "id")) {
			if (guise_uint_parse(val, UINT32_MAX, &v))
				return fail(err, errlen, "bad id \"%s\"", val);
			k->id = (uint32_t)v;
			guise_key_mark(k, GUISE_A_KEY_ID);
		} else if (!strcmp(kw, "alg")) {
			ret = guise_alg_parse(val);
			if (ret < 0)
				return fail(
					err, errlen,
					"bad alg \"%s\": want chacha20-poly1305, aes128-gcm or aes256-gcm",
					val);
			k->alg = (uint8_t)ret;
			guise_key_mark(k, GUISE_A_KEY_ALG);
		} else if (!strcmp(kw, "dir")) {
			ret = guise_key_dir_parse(val);
			if (ret < 0)
				return fail(err, errlen,
					    "bad dir \"%s\": want rx or tx",
					    val);
			k->dir = (uint8_t)ret;
			guise_key_mark(k, GUISE_A_KEY_DIR);
		} else if (!strcmp(kw, "secret") ||
			   !strcmp(kw, "secret-file")) {
			ret = parse_secret(kw, val, k, err, errlen);
			if (ret)
				return ret;
		} else if (!strcmp(kw, "salt")) {
			if (guise_hex_parse(val, k->salt, sizeof(k->salt)))
				return fail(err, errlen,
					    "bad salt: want 8 hex digits");
			guise_key_mark(k, GUISE_A_KEY_SALT);
		} else if (!strcmp(kw, "not-before") ||
			   !strcmp(kw, "not-after")) {
			bool nb = !strcmp(kw, "not-before");

			if (parse_time(val, now,
				       nb ? &k->not_before : &k->not_after))
				return fail(
					err, errlen,
					"bad %s \"%s\": want seconds since the epoch or +DURATION",
					kw, val);
			guise_key_mark(k, nb ? GUISE_A_KEY_NOT_BEFORE :
					       GUISE_A_KEY_NOT_AFTER);
		} else if (!strcmp(kw, "replay-window")) {
			if (guise_uint_parse(val, GUISE_REPLAY_WINDOW_MAX,
					     &v) ||
			    v < GUISE_REPLAY_WINDOW_MIN)
				return fail(
					err, errlen,
					"bad replay-window \"%s\": want %u..%u",
					val, GUISE_REPLAY_WINDOW_MIN,
					GUISE_REPLAY_WINDOW_MAX);
			k->replay_window = (uint32_t)v;
			guise_key_mark(k, GUISE_A_KEY_REPLAY_WINDOW);
		} else {
			return fail(err, errlen, "unknown keyword \"%s\"", kw);
		}
	}
	if (!guise_key_has(k, GUISE_A_KEY_ID) ||
	    !guise_key_has(k, GUISE_A_KEY_ALG) ||
	    !guise_key_has(k, GUISE_A_KEY_DIR) ||
	    !guise_key_has(k, GUISE_A_KEY_SECRET) ||
	    !guise_key_has(k, GUISE_A_KEY_SALT))
		return fail(err, errlen, "need id, alg, dir, secret and salt");
	if (k->secret_len != guise_alg_key_len(k->alg))
		return fail(err, errlen, "%s needs a %zu-byte secret",
			    guise_alg_name(k->alg), guise_alg_key_len(k->alg));
	return 0;
}

int key_args_parse_name(int argc, char *const *argv, struct guise_key *k,
			bool need_id, bool optional, char *err, size_t errlen)
{
	uint64_t v;
	int ret;

	memset(k, 0, sizeof(*k));
	if (argc == 0 && optional)
		return 0;
	if (argc != (need_id ? 6 : 2) ||
	    (need_id && (strcmp(argv[2], "id") || strcmp(argv[4], "dir"))))
		return fail(err, errlen,
			    need_id ?
				    "name the key: GROUP PORT id ID dir rx|tx" :
				    "name the flow: GROUP PORT");
	ret = parse_flow(argv, k, err, errlen);
	if (ret || !need_id)
		return ret;
	if (guise_uint_parse(argv[3], UINT32_MAX, &v))
		return fail(err, errlen, "bad id \"%s\"", argv[3]);
	k->id = (uint32_t)v;
	ret = guise_key_dir_parse(argv[5]);
	if (ret < 0)
		return fail(err, errlen, "bad dir \"%s\": want rx or tx",
			    argv[5]);
	k->dir = (uint8_t)ret;
	guise_key_mark(k, GUISE_A_KEY_ID);
	guise_key_mark(k, GUISE_A_KEY_DIR);
	return 0;
}
