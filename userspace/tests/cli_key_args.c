// SPDX-License-Identifier: GPL-2.0
/* `guise key add` arguments: the secret (argv or file), numbers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "key_args.h"
#include "tap.h"

#define HEX64 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define HEX32 "00112233445566778899aabbccddeeff"

static char dir[64], errmsg[256];

/* `key add ff3e::1 5000 id 1 dir rx salt 01020304 WORDS...` (the words
 * split on spaces, in a copy), argv in @argv. */
static int parse(const char *words, char **argv, struct guise_key *k)
{
	static char copy[1024];
	static char base[] = "ff3e::1 5000 id 1 dir rx salt 01020304";
	int argc = 0;
	char *tok;

	snprintf(copy, sizeof(copy), "%s %s", base, words);
	for (tok = strtok(copy, " "); tok && argc < 31; tok = strtok(NULL, " "))
		argv[argc++] = tok;
	errmsg[0] = '\0';
	return key_args_parse_add(argc, argv, k, 1700000000, errmsg,
				  sizeof(errmsg));
}

static void expect_error(const char *words, const char *want)
{
	struct guise_key k;
	char *argv[32];
	int ret = parse(words, argv, &k);

	if (!tap_ok(ret == -EINVAL && strstr(errmsg, want),
		    "\"%s\" refused: %s", words, want))
		tap_diag("got %d \"%s\"", ret, errmsg);
	guise_key_wipe(&k);
}

/* A secret file holding @text; its key parsed with alg @alg. */
static int parse_file(const char *text, size_t len, const char *alg)
{
	char p[128], words[256], *argv[32];
	struct guise_key k;
	FILE *fp;
	int ret;

	snprintf(p, sizeof(p), "%s/secret", dir);
	fp = fopen(p, "w");
	if (!fp || fwrite(text, 1, len, fp) != len || fclose(fp))
		abort();
	snprintf(words, sizeof(words), "alg %s secret-file %s", alg, p);
	ret = parse(words, argv, &k);
	guise_key_wipe(&k);
	return ret;
}

static void test_secret_file(void)
{
	static const struct {
		const char *text, *alg;
		int ret;
	} cases[] = {
		{ HEX64, "chacha20-poly1305", 0 },
		{ HEX64 "\n", "chacha20-poly1305", 0 },
		{ HEX64 "\r\n", "chacha20-poly1305", 0 },
		{ HEX32 "\n", "aes128-gcm", 0 },
		{ HEX64 "\ngarbage", "chacha20-poly1305", -EINVAL },
		{ HEX64 "\n\n", "chacha20-poly1305", -EINVAL },
		{ HEX64 " ", "chacha20-poly1305", -EINVAL },
		{ HEX64 "\r", "chacha20-poly1305", -EINVAL },
		{ HEX64 "00\n", "chacha20-poly1305", -EINVAL },
		{ " " HEX64, "chacha20-poly1305", -EINVAL },
		{ "", "chacha20-poly1305", -EINVAL },
		{ "\n", "chacha20-poly1305", -EINVAL },
	};
	unsigned int i;
	char big[4096];
	int ret;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ret = parse_file(cases[i].text, strlen(cases[i].text),
				 cases[i].alg);
		if (!tap_ok(ret == cases[i].ret &&
				    (!ret || strstr(errmsg, "hex digits")),
			    "secret-file %zu bytes (%s) -> %d",
			    strlen(cases[i].text), cases[i].alg, cases[i].ret))
			tap_diag("got %d \"%s\"", ret, errmsg);
	}
	memset(big, 'a', sizeof(big));
	memcpy(big, HEX64 "\n", 65);
	tap_ok(parse_file(big, sizeof(big), "chacha20-poly1305") == -EINVAL,
	       "secret-file: a key and 4 KiB more refused");
}

static void test_secret_argv(void)
{
	struct guise_key k;
	char *argv[32];
	char *val;
	size_t i;
	bool wiped = true;

	tap_ok(!parse("alg chacha20-poly1305 secret " HEX64, argv, &k) &&
		       k.secret_len == 32 && k.secret[31] == 0xff,
	       "secret HEX parsed");
	val = argv[11];
	for (i = 0; i < strlen(HEX64); i++)
		wiped = wiped && !val[i];
	tap_ok(wiped, "secret HEX: the argument is wiped in place");
	guise_key_wipe(&k);

	expect_error("alg chacha20-poly1305 " HEX64 " 1", "did you forget");
	tap_ok(!strstr(errmsg, "0011"), "a hex keyword is not echoed: \"%s\"",
	       errmsg);
	expect_error("alg chacha20-poly1305 " HEX64, "did you forget");
	tap_ok(!strstr(errmsg, "0011"),
	       "nor is one at the end, without a value: \"%s\"", errmsg);
	expect_error("alg chacha20-poly1305 colour red",
		     "unknown keyword \"colour\"");
	expect_error("alg chacha20-poly1305 deadbeef 1",
		     "unknown keyword \"deadbeef\"");
}

/* Numbers: digits only, no sign or blank. */
static void test_numbers(void)
{
	static const char *const bad[] = { "+1", " 1",	"1 ",	     "-1",
					   "",	 "0x1", "4294967296" };
	char id[] = "id", port[] = "5000", group[] = "ff3e::1", num[16];
	char *argv[32];
	struct guise_key k;
	unsigned int i;
	int ret;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *args[] = { group, port, id, num };

		snprintf(num, sizeof(num), "%s", bad[i]);
		ret = key_args_parse_add(4, args, &k, 0, errmsg,
					 sizeof(errmsg));
		if (!tap_ok(ret == -EINVAL && strstr(errmsg, "bad id"),
			    "id \"%s\" refused", bad[i]))
			tap_diag("got %d \"%s\"", ret, errmsg);
		args[1] = num;
		ret = key_args_parse_add(2, args, &k, 0, errmsg,
					 sizeof(errmsg));
		if (!tap_ok(ret == -EINVAL && strstr(errmsg, "bad port"),
			    "port \"%s\" refused", bad[i]))
			tap_diag("got %d \"%s\"", ret, errmsg);
	}
	tap_ok(!parse("alg chacha20-poly1305 secret " HEX64 " not-after +5m",
		      argv, &k) &&
		       k.not_after == 1700000300,
	       "not-after +5m");
	guise_key_wipe(&k);
	expect_error("alg chacha20-poly1305 not-after ++5m", "bad not-after");
	expect_error("alg chacha20-poly1305 not-after +-5m", "bad not-after");
	expect_error("alg chacha20-poly1305 replay-window +64",
		     "bad replay-window");
}

int main(void)
{
	tap_start();
	snprintf(dir, sizeof(dir), "/tmp/guise-keyargs.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	test_secret_file();
	test_secret_argv();
	test_numbers();
	snprintf(errmsg, sizeof(errmsg), "%s/secret", dir);
	unlink(errmsg);
	rmdir(dir);
	return tap_done();
}
