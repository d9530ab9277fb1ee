// SPDX-License-Identifier: GPL-2.0
/* guise status: what the local guise-keyd holds (client role: entitled
 * channels, live keys, last DEMM serial, counters; server: counters). */
#include <stdio.h>
#include <string.h>

#include "keyd_cli.h"

static void print_object(const char *prefix, json_t *o)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		if (json_is_integer(v))
			printf("%s%s %lld\n", prefix, k,
			       (long long)json_integer_value(v));
		else if (json_is_string(v))
			printf("%s%s %s\n", prefix, k, json_string_value(v));
	}
}

static int status(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct hc_target t;
	json_t *doc, *e;
	size_t i;
	int rc = keyd_cli_args("status", &argc, argv, &t);

	if (rc)
		return rc;
	if (argc != 1)
		return cli_usage_error("status", "no arguments expected");
	rc = keyd_cli_get("status", &t, "/v1/status", &doc);
	if (rc)
		return rc;
	if (ctx->json)
		return cli_print_json(ctx, "status", doc);
	print_object("", doc);
	json_array_foreach(json_object_get(doc, "channels"), i, e)
		printf("channel %lld epoch %lld [%s]:%lld until %lld\n",
		       (long long)json_integer_value(
			       json_object_get(e, "channel")),
		       (long long)json_integer_value(
			       json_object_get(e, "epoch")),
		       keyd_cli_str(e, "group"),
		       (long long)json_integer_value(
			       json_object_get(e, "port")),
		       (long long)json_integer_value(
			       json_object_get(e, "not_after")));
	json_array_foreach(json_object_get(doc, "keys"), i, e)
		printf("key [%s]:%lld id %lld content %lld until %lld\n",
		       keyd_cli_str(e, "group"),
		       (long long)json_integer_value(
			       json_object_get(e, "port")),
		       (long long)json_integer_value(
			       json_object_get(e, "key_id")),
		       (long long)json_integer_value(
			       json_object_get(e, "content")),
		       (long long)json_integer_value(
			       json_object_get(e, "not_after")));
	print_object("counter ", json_object_get(doc, "counters"));
	json_decref(doc);
	return cli_flush_output("status");
}

static const struct cli_cmd status_cmds[] = {
	{ "status", "[TARGET]",
	  "what the local guise-keyd holds: channels, keys, counters",
	  KEYD_CLI_OPTIONS_HELP, status },
	{ NULL, NULL, NULL, NULL, NULL },
};

const struct cli_object cli_object_status = {
	.name = "status",
	.summary = "guise-keyd status (entitlements, live keys, counters)",
	.cmds = status_cmds,
};
