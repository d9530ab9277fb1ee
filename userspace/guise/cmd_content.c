// SPDX-License-Identifier: GPL-2.0
/* guise content add|del|show: guise-keyd's contents (one Ks at a time). */
#include <stdio.h>
#include <string.h>

#include "keyd_cli.h"
#include "lease.h"

static int content_add(const struct cli_ctx *ctx, int argc, char **argv)
{
	const char *alg = "chacha20-poly1305";
	json_int_t id, channel = 0;
	uint32_t period = 0;
	struct hc_target t;
	int rc = keyd_cli_args("content add", &argc, argv, &t), i;

	(void)ctx;
	if (rc)
		return rc;
	if (argc < 2 || argc % 2)
		return cli_usage_error("content add",
				       "expected ID channel CHANNEL [alg ALG] "
				       "[ks-period DURATION]");
	if ((rc = keyd_cli_id("content add", "id", argv[1], &id)))
		return rc;
	for (i = 2; i < argc; i += 2) {
		if (!strcmp(argv[i], "channel")) {
			if ((rc = keyd_cli_id("content add", "channel",
					      argv[i + 1], &channel)))
				return rc;
		} else if (!strcmp(argv[i], "alg")) {
			alg = argv[i + 1];
		} else if (!strcmp(argv[i], "ks-period")) {
			if (guise_duration_parse(argv[i + 1], &period))
				return cli_usage_error("content add",
						       "bad duration \"%s\"",
						       argv[i + 1]);
		} else {
			return cli_usage_error("content add",
					       "unknown argument \"%s\"",
					       argv[i]);
		}
	}
	if (!channel)
		return cli_usage_error("content add", "channel is required");
	return keyd_cli_post("content add", &t, "/v1/contents/add",
			     json_pack("{s:I, s:I, s:s, s:I}", "id", id,
				       "channel", channel, "alg", alg,
				       "ks_period", (json_int_t)period),
			     NULL);
}

static int content_del(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct hc_target t;
	json_int_t id;
	int rc = keyd_cli_args("content del", &argc, argv, &t);

	(void)ctx;
	if (rc)
		return rc;
	if (argc != 2)
		return cli_usage_error("content del", "expected ID");
	if ((rc = keyd_cli_id("content del", "id", argv[1], &id)))
		return rc;
	return keyd_cli_post("content del", &t, "/v1/contents/del",
			     json_pack("{s:I}", "id", id), NULL);
}

static long long num(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static int content_show(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct hc_target t;
	json_t *doc, *ct;
	size_t i;
	int rc = keyd_cli_args("content show", &argc, argv, &t);

	if (rc)
		return rc;
	if (argc != 1)
		return cli_usage_error("content show", "no arguments expected");
	rc = keyd_cli_get("content show", &t, "/v1/contents", &doc);
	if (rc)
		return rc;
	if (ctx->json)
		return cli_print_json(ctx, "content show", doc);
	json_array_foreach(doc, i, ct)
		printf("%lld channel %lld %s key-id %lld ks-period %llds\n",
		       num(ct, "id"), num(ct, "channel"),
		       keyd_cli_str(ct, "alg"), num(ct, "key_id"),
		       num(ct, "ks_period"));
	json_decref(doc);
	return cli_flush_output("content show");
}

static const struct cli_cmd content_cmds[] = {
	{ "add", "ID channel CHANNEL [alg ALG] [ks-period DURATION] [TARGET]",
	  "add a content; the server installs its tx key and announces it",
	  "ALG: chacha20-poly1305 (default), aes128-gcm, aes256-gcm.\n"
	  "ks-period: Ks rotation period (default: on Kc change only).\n" KEYD_CLI_OPTIONS_HELP,
	  content_add },
	{ "del", "ID [TARGET]", "delete a content and its tx keys", NULL,
	  content_del },
	{ "show", "[TARGET]", "list contents", KEYD_CLI_OPTIONS_HELP,
	  content_show },
	{ NULL, NULL, NULL, NULL, NULL },
};

const struct cli_object cli_object_content = {
	.name = "content",
	.summary = "guise-keyd contents (a content key, rotated)",
	.cmds = content_cmds,
	.default_cmd = "show",
};
