// SPDX-License-Identifier: GPL-2.0
/*
 * guise enroll --server URL --cert F [--key F] [--ca F] [--out FILE]
 *              [--pass-file FILE] [--iterations N]
 * Fetch this client's Km from guise-keyd over mutual TLS and store it
 * sealed (PBKDF2 + ChaCha20-Poly1305), readable by root only.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "key.h"
#include "keyd_cli.h"
#include "keyfile.h"
#include "log.h"
#include "num.h"

#define DEFAULT_OUT "/var/lib/guise/keyd.km"

enum { OPT_OUT = 0x200, OPT_PASS, OPT_ITER };

static int write_sealed(const char *path, const uint8_t *file, size_t len)
{
	char tmp[4096];
	ssize_t n;
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	n = write(fd, file, len);
	if (n != (ssize_t)len || fsync(fd)) {
		close(fd);
		unlink(tmp);
		return -EIO;
	}
	if (close(fd) || rename(tmp, path)) {
		unlink(tmp);
		return -errno;
	}
	return 0;
}

static int read_pass(const char *path, char *buf, size_t size)
{
	int n = guise_keyfile_read_pass(path ? path : "/etc/machine-id", buf,
					size);

	if (n < 0)
		guise_err("enroll: passphrase %s: %s",
			  path ? path : "/etc/machine-id", strerror(-n));
	return n;
}

/*
 * jansson's allocator while enroll holds Km (the answer's text, the
 * parser's buffers, the "km" string): every block is wiped when freed.
 * jansson frees without a size, so each block carries it in front.
 */
union wipe_hdr {
	size_t size;
	max_align_t align;
};

static void *wipe_malloc(size_t size)
{
	union wipe_hdr *h;

	if (size > SIZE_MAX - sizeof(*h))
		return NULL;
	h = malloc(sizeof(*h) + size);
	if (!h)
		return NULL;
	h->size = size;
	return h + 1;
}

static void wipe_free(void *p)
{
	union wipe_hdr *h = p;

	if (!p)
		return;
	h--;
	explicit_bzero(p, h->size);
	free(h);
}

/* Fetch Km, seal it with @pass into @out, print what was done. */
static int fetch_and_seal(const struct cli_ctx *ctx, const struct hc_target *t,
			  const char *out, const char *pass, size_t passlen,
			  uint32_t iterations)
{
	uint8_t km[32], file[GUISE_KEYFILE_LEN];
	const char *hex, *client;
	json_t *reply;
	int rc, err;

	rc = keyd_cli_post("enroll", t, "/v1/enroll", json_object(), &reply);
	if (rc)
		return rc;
	hex = json_string_value(json_object_get(reply, "km"));
	client = json_string_value(json_object_get(reply, "client"));
	rc = CLI_EXIT_KERNEL;
	if (!hex || !client || guise_hex_parse(hex, km, sizeof(km))) {
		guise_err("enroll: the server's answer carries no key");
		goto out;
	}
	if (guise_keyfile_seal(km, pass, passlen, iterations, file)) {
		guise_err("enroll: cannot seal the key");
		goto out;
	}
	err = write_sealed(out, file, sizeof(file));
	if (err) {
		guise_err("enroll: %s: %s", out, strerror(-err));
		goto out;
	}
	if (ctx->json) {
		rc = cli_print_json(ctx, "enroll",
				    json_pack("{s:s, s:s}", "client", client,
					      "key_file", out));
	} else {
		printf("enrolled as client %s; master key sealed in %s\n",
		       client, out);
		rc = cli_flush_output("enroll");
	}
out:
	explicit_bzero(km, sizeof(km));
	explicit_bzero(file, sizeof(file));
	json_decref(reply);
	return rc;
}

static int enroll(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		HC_LONGOPTS,
		{ "out", required_argument, NULL, OPT_OUT },
		{ "pass-file", required_argument, NULL, OPT_PASS },
		{ "iterations", required_argument, NULL, OPT_ITER },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = DEFAULT_OUT, *pass_file = NULL;
	uint64_t iterations = GUISE_KEYFILE_ITERATIONS;
	json_malloc_t saved_malloc;
	json_free_t saved_free;
	struct hc_target t;
	char pass[512];
	int c, rc, n;

	memset(&t, 0, sizeof(t));
	optind = 0; /* glibc: a full re-initialisation */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (hc_option(c, optarg, &t))
			continue;
		if (c == OPT_OUT)
			out = optarg;
		else if (c == OPT_PASS)
			pass_file = optarg;
		else if (c == OPT_ITER) {
			if (guise_uint_parse(optarg,
					     GUISE_KEYFILE_MAX_ITERATIONS,
					     &iterations) ||
			    iterations < GUISE_KEYFILE_MIN_ITERATIONS)
				return cli_usage_error(
					"enroll", "--iterations: want %d..%d",
					GUISE_KEYFILE_MIN_ITERATIONS,
					GUISE_KEYFILE_MAX_ITERATIONS);
		} else
			return cli_usage_error("enroll",
					       "unknown option \"%s\"",
					       argv[optind - 1]);
	}
	if (optind != argc)
		return cli_usage_error("enroll", "unexpected argument \"%s\"",
				       argv[optind]);
	if (!t.server)
		return cli_usage_error("enroll", "--server URL is required");
	if (hc_target_check(&t, "enroll"))
		return CLI_EXIT_USAGE;
	n = read_pass(pass_file, pass, sizeof(pass));
	if (n < 0)
		return CLI_EXIT_KERNEL;
	json_get_alloc_funcs(&saved_malloc, &saved_free);
	json_set_alloc_funcs(wipe_malloc, wipe_free);
	rc = fetch_and_seal(ctx, &t, out, pass, (size_t)n,
			    (uint32_t)iterations);
	json_set_alloc_funcs(saved_malloc, saved_free);
	explicit_bzero(pass, sizeof(pass));
	return rc;
}

static const struct cli_cmd enroll_cmds[] = {
	{ "enroll",
	  "--server URL --cert FILE [--key FILE] [--ca FILE] [--out FILE] "
	  "[--pass-file FILE] [--iterations N]",
	  "fetch this client's master key Km from guise-keyd and seal it",
	  "The server finds the client by the IPv6 address of --cert.\n"
	  "Km is sealed with a key derived (PBKDF2-SHA256, N iterations,\n"
	  "10000 to 10000000, default 200000) from --pass-file or\n"
	  "/etc/machine-id, written mode 0600 to --out (default\n" DEFAULT_OUT
	  ").\n",
	  enroll },
	{ NULL, NULL, NULL, NULL, NULL },
};

const struct cli_object cli_object_enroll = {
	.name = "enroll",
	.summary = "Enrol this host as a guise-keyd client",
	.cmds = enroll_cmds,
};
