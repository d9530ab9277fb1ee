// SPDX-License-Identifier: GPL-2.0
/*
 * guise audit export|verify: a daemon's hash-chained audit log, read
 * through the daemon's API (GET /v1/audit, /v1/audit/verify) as an
 * auditor or admin: over the local socket as root, or over mutual TLS
 * with an auditor certificate. The daemon holds the database open and
 * checks the caller's role; the CLI needs no access to its files.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "cli.h"
#include "http_client.h"
#include "log.h"
#include "num.h"

/* Parse "[--format F] [--since T] target options". */
static int audit_opts(int argc, char **argv, const char *op, bool export,
		      struct hc_target *t, const char **format,
		      long long *since)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "since", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		HC_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	optind = 0; /* glibc: a full re-initialisation */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		if (hc_option(c, optarg, t))
			continue;
		if (c == 'f' && export) {
			*format = optarg;
		} else if (c == 's' && export) {
			if (guise_uint_parse(optarg, INT64_MAX, &v))
				return cli_usage_error(
					op,
					"--since wants seconds since the epoch");
			*since = (long long)v;
		} else {
			return cli_usage_error(op, "unknown option \"%s\"",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error(op, "unexpected argument \"%s\"",
				       argv[optind]);
	if (*format && strcmp(*format, "csv") && strcmp(*format, "json") &&
	    strcmp(*format, "xml"))
		return cli_usage_error(op, "--format is csv, json or xml");
	return hc_target_check(t, op) ? CLI_EXIT_USAGE : CLI_EXIT_OK;
}

static int audit_export(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const char op[] = "audit export";
	struct hc_target t = { 0 };
	const char *format = NULL;
	long long since = 0;
	struct hc_resp r;
	char path[128], err[256];
	int ret;

	ret = audit_opts(argc, argv, op, true, &t, &format, &since);
	if (ret)
		return ret;
	if (!format)
		format = ctx->json ? "json" : "csv";
	snprintf(path, sizeof(path), "/v1/audit?format=%s&since=%lld", format,
		 since);
	if (hc_get(&t, op, path, &r))
		return CLI_EXIT_KERNEL;
	if (r.code != 200) {
		guise_err("%s: %s", op, hc_error_text(&r, err, sizeof(err)));
		hc_resp_free(&r);
		return r.code == 403 ? CLI_EXIT_PERM : CLI_EXIT_KERNEL;
	}
	ret = fwrite(r.body, 1, r.len, stdout) == r.len && !fflush(stdout) ?
		      CLI_EXIT_OK :
		      cli_output_error(op, -EIO);
	hc_resp_free(&r);
	return ret;
}

static int audit_verify(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const char op[] = "audit verify";
	struct hc_target t = { 0 };
	const char *format = NULL;
	long long since = 0;
	struct hc_resp r;
	char err[256];
	json_t *doc;
	int ret, out;

	ret = audit_opts(argc, argv, op, false, &t, &format, &since);
	if (ret)
		return ret;
	if (hc_get(&t, op, "/v1/audit/verify", &r))
		return CLI_EXIT_KERNEL;
	if (r.code != 200) {
		guise_err("%s: %s", op, hc_error_text(&r, err, sizeof(err)));
		hc_resp_free(&r);
		return r.code == 403 ? CLI_EXIT_PERM : CLI_EXIT_KERNEL;
	}
	doc = json_loadb(r.body, r.len, 0, NULL);
	hc_resp_free(&r);
	if (!json_is_boolean(json_object_get(doc, "intact"))) {
		json_decref(doc);
		guise_err("%s: malformed answer", op);
		return CLI_EXIT_KERNEL;
	}
	ret = json_is_true(json_object_get(doc, "intact")) ? CLI_EXIT_OK :
							     CLI_EXIT_KERNEL;
	if (ctx->json) {
		out = cli_print_json(ctx, op, json_incref(doc));
	} else {
		if (ret == CLI_EXIT_OK)
			printf("intact: %lld records, head %s\n",
			       (long long)json_integer_value(
				       json_object_get(doc, "records")),
			       json_string_value(json_object_get(doc, "head")) ?:
				       "");
		else
			printf("BROKEN at seq %lld: %s (%lld records intact "
			       "before)\n",
			       (long long)json_integer_value(
				       json_object_get(doc, "seq")),
			       json_string_value(json_object_get(doc, "problem")) ?:
				       "?",
			       (long long)json_integer_value(
				       json_object_get(doc, "records")));
		out = cli_flush_output(op);
	}
	json_decref(doc);
	return out ? out : ret;
}

static const struct cli_cmd audit_cmds[] = {
	{ "export", "[--format csv|json|xml] [--since T] [TARGET]",
	  "print the daemon's audit log",
	  "Every record with its seq, time, actor, roles, action, object,\n"
	  "outcome, detail, prev and hash (SHA-256 chain). Default format:\n"
	  "csv (json with -j). --since T: records at or after T (epoch s).\n"
	  "TARGET:\n" HC_OPTIONS_HELP "Needs the auditor or admin role.\n",
	  audit_export },
	{ "verify", "[TARGET]", "check the audit log's hash chain",
	  "Exit 0 if every record is intact, 1 if one was edited, inserted\n"
	  "or removed (the first broken seq is printed). Prints the chain's\n"
	  "head: keep it elsewhere to detect a rewrite of the whole log.\n"
	  "TARGET:\n" HC_OPTIONS_HELP "Needs the auditor or admin role.\n",
	  audit_verify },
	{ NULL, NULL, NULL, NULL, NULL },
};

const struct cli_object cli_object_audit = {
	.name = "audit",
	.summary = "Export and verify a daemon's audit log",
	.cmds = audit_cmds,
	.default_cmd = "verify",
};
