// SPDX-License-Identifier: GPL-2.0
#include <getopt.h>
#include <stdint.h>
#include <string.h>

#include "keyd_cli.h"
#include "log.h"
#include "num.h"

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

/* The answer @r (released here) to @op: on 2xx, parsed into *@reply. */
static int keyd_cli_answer(const char *op, struct hc_resp *r, json_t **reply)
{
	char err[256];
	int rc = CLI_EXIT_OK;

	if (r->code < 200 || r->code > 299) {
		guise_err("%s: %s", op, hc_error_text(r, err, sizeof(err)));
		rc = r->code == 403 ? CLI_EXIT_PERM : CLI_EXIT_KERNEL;
	} else if (reply) {
		*reply = json_loadb(r->body, r->len, 0, NULL);
		if (!*reply) {
			guise_err("%s: the daemon's answer is not JSON", op);
			rc = CLI_EXIT_KERNEL;
		}
	}
	hc_resp_free(r);
	return rc;
}

int keyd_cli_get(const char *op, const struct hc_target *t, const char *path,
		 json_t **reply)
{
	struct hc_resp r;

	if (hc_get(t, op, path, &r))
		return CLI_EXIT_KERNEL;
	return keyd_cli_answer(op, &r, reply);
}

int keyd_cli_post(const char *op, const struct hc_target *t, const char *path,
		  json_t *body, json_t **reply)
{
	struct hc_resp r;

	/* json_pack() refuses strings that are not UTF-8. */
	if (!body)
		return cli_usage_error(op, "an argument is not valid UTF-8");
	if (hc_post(t, op, path, body, &r))
		return CLI_EXIT_KERNEL;
	return keyd_cli_answer(op, &r, reply);
}

const char *keyd_cli_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "?";
}

int keyd_cli_id(const char *op, const char *what, const char *s,
		json_int_t *out)
{
	uint64_t v;

	if (guise_uint_parse(s, UINT32_MAX, &v) || !v)
		return cli_usage_error(op, "%s \"%s\": expected 1..4294967295",
				       what, s);
	*out = (json_int_t)v;
	return CLI_EXIT_OK;
}
