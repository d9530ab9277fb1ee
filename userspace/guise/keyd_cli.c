// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keyd_cli.h"
#include "log.h"

int keyd_cli_args(const char *op, int *argc, char **argv, struct hc_target *t)
{
	static const struct option longopts[] = { HC_LONGOPTS,
						  { NULL, 0, NULL, 0 } };
	int c, n = 1, i;
	char *pos[64];

	memset(t, 0, sizeof(*t));
	optind = 0; /* glibc: a full re-initialisation */
	opterr = 0;
	/* Positionals are collected as getopt meets them ("-" prefix). */
	while ((c = getopt_long(*argc, argv, "-", longopts, NULL)) != -1) {
		if (c == 1) {
			if (n == (int)(sizeof(pos) / sizeof(pos[0])))
				return cli_usage_error(op,
						       "too many arguments");
			pos[n++] = optarg;
			continue;
		}
		if (!hc_option(c, optarg, t))
			return cli_usage_error(op, "unknown option \"%s\"",
					       argv[optind - 1]);
	}
	for (i = 1; i < n; i++)
		argv[i] = pos[i];
	*argc = n;
	if (!t->server && !t->socket)
		t->socket = KEYD_DEFAULT_SOCKET;
	return hc_target_check(t, op) ? CLI_EXIT_USAGE : CLI_EXIT_OK;
}

int keyd_cli_call(const char *op, const struct hc_target *t, const char *path,
		  json_t *body, json_t **reply)
{
	char *text = NULL, err[256];
	struct hc_resp r;
	int rc;

	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		if (!text) {
			guise_err("%s: out of memory", op);
			return CLI_EXIT_KERNEL;
		}
	}
	rc = hc_request(t, op, path, text, &r);
	free(text);
	if (rc)
		return CLI_EXIT_KERNEL;
	if (r.code < 200 || r.code > 299) {
		guise_err("%s: %s", op, hc_error_text(&r, err, sizeof(err)));
		rc = r.code == 403 ? CLI_EXIT_PERM : CLI_EXIT_KERNEL;
		hc_resp_free(&r);
		return rc;
	}
	if (reply) {
		*reply = json_loadb(r.body, r.len, 0, NULL);
		if (!*reply) {
			guise_err("%s: the daemon's answer is not JSON", op);
			hc_resp_free(&r);
			return CLI_EXIT_KERNEL;
		}
	}
	hc_resp_free(&r);
	return CLI_EXIT_OK;
}

int keyd_cli_print_json(const struct cli_ctx *ctx, json_t *doc)
{
	int rc = json_dumpf(doc, stdout,
			    ctx->pretty ? JSON_INDENT(2) : JSON_COMPACT);

	json_decref(doc);
	putchar('\n');
	return rc || fflush(stdout) ? cli_output_error("output", -EIO) :
				      CLI_EXIT_OK;
}

int keyd_cli_id(const char *op, const char *what, const char *s,
		json_int_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || !v || v > UINT32_MAX)
		return cli_usage_error(op, "%s \"%s\": expected 1..4294967295",
				       what, s);
	*out = (json_int_t)v;
	return CLI_EXIT_OK;
}
