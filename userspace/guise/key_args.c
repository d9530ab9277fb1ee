// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "key_args.h"
#include "lease.h"

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

static int parse_ull(const char *s, unsigned long long max,
		     unsigned long long *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return !*s || *s == '-' || *end || errno || *v > max ? -EINVAL : 0;
}

static int parse_time(const char *s, time_t now, uint64_t *t)
{
	unsigned long long v;
	uint32_t d;

	if (*s == '+') {
		if (guise_duration_parse(s + 1, &d))
			return -EINVAL;
		*t = (uint64_t)now + d;
		return 0;
	}
	if (parse_ull(s, UINT64_MAX, &v))
		return -EINVAL;
	*t = v;
	return 0;
}

/* GROUP PORT: a multicast group and a UDP port 1..65535. */
static int parse_flow(char *const *argv, struct guise_key *k, char *err,
		      size_t errlen)
{
	unsigned long long port;

	if (guise_addr_parse(argv[0], &k->group) ||
	    !IN6_IS_ADDR_MULTICAST(&k->group))
		return fail(err, errlen,
			    "bad group \"%s\": want an IPv6 multicast address",
			    argv[0]);
	if (parse_ull(argv[1], 65535, &port) || !port)
		return fail(err, errlen, "bad port \"%s\": want 1..65535",
			    argv[1]);
	k->port = (uint16_t)port;
	guise_key_mark(k, GUISE_A_KEY_GROUP);
	guise_key_mark(k, GUISE_A_KEY_PORT);
	return 0;
}

static int read_secret_file(const char *path, struct guise_key *k)
{
	char buf[2 * GUISE_KEY_SECRET_MAX + 2];
	size_t n;
	FILE *fp;
	int ret;

	fp = fopen(path, "r");
	if (!fp)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	k->secret_len = n / 2;
	ret = n % 2 || k->secret_len > GUISE_KEY_SECRET_MAX ?
		      -EINVAL :
		      guise_hex_parse(buf, k->secret, k->secret_len);
	explicit_bzero(buf, sizeof(buf));
	return ret;
}

static int parse_secret(const char *kw, const char *val, struct guise_key *k,
			char *err, size_t errlen)
{
	size_t n = strlen(val);
	int ret;

	if (!strcmp(kw, "secret-file")) {
		ret = read_secret_file(val, k);
		if (ret)
			return fail(err, errlen, "secret-file \"%s\": %s", val,
				    ret == -EINVAL ?
					    "want 32 or 64 hex digits" :
					    strerror(-ret));
	} else {
		k->secret_len = n / 2;
		if (n % 2 || k->secret_len > GUISE_KEY_SECRET_MAX ||
		    guise_hex_parse(val, k->secret, k->secret_len))
			return fail(err, errlen,
				    "bad secret: want 32 or 64 hex digits");
	}
	guise_key_mark(k, GUISE_A_KEY_SECRET);
	return 0;
}

int key_args_parse_add(int argc, char *const *argv, struct guise_key *k,
		       time_t now, char *err, size_t errlen)
{
	unsigned long long v;
	int i, ret;

	memset(k, 0, sizeof(*k));
	if (argc < 2)
		return fail(err, errlen, "need GROUP PORT");
	ret = parse_flow(argv, k, err, errlen);
	if (ret)
		return ret;
	for (i = 2; i < argc; i += 2) {
		const char *kw = argv[i], *val = argv[i + 1];

		if (i + 1 == argc)
			return fail(err, errlen, "\"%s\" needs a value", kw);
		if (!strcmp(kw, "id")) {
			if (parse_ull(val, UINT32_MAX, &v))
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
			if (parse_ull(val, GUISE_REPLAY_WINDOW_MAX, &v) ||
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
	unsigned long long v;
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
	if (parse_ull(argv[3], UINT32_MAX, &v))
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
