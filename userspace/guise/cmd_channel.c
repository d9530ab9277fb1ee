// SPDX-License-Identifier: GPL-2.0
/* guise channel add|del|show: guise-keyd's channels (one Kc each). */
#include <stdio.h>
#include <string.h>

#include "keyd_cli.h"
#include "lease.h"

static int channel_add(const struct cli_ctx *ctx, int argc, char **argv)
{
	json_int_t id, port, bw = 0;
	uint32_t period = 0;
	struct hc_target t;
	int rc = keyd_cli_args("channel add", &argc, argv, &t), i;

	(void)ctx;
	if (rc)
		return rc;
	if (argc < 4 || argc % 2)
		return cli_usage_error("channel add",
				       "expected ID GROUP PORT [kc-period "
				       "DURATION] [bandwidth KBPS]");
	if ((rc = keyd_cli_id("channel add", "id", argv[1], &id)) ||
	    (rc = keyd_cli_id("channel add", "port", argv[3], &port)))
		return rc;
	for (i = 4; i < argc; i += 2) {
		if (!strcmp(argv[i], "kc-period")) {
			if (guise_duration_parse(argv[i + 1], &period))
				return cli_usage_error("channel add",
						       "bad duration \"%s\"",
						       argv[i + 1]);
		} else if (!strcmp(argv[i], "bandwidth")) {
			if ((rc = keyd_cli_id("channel add", "bandwidth",
					      argv[i + 1], &bw)))
				return rc;
		} else {
			return cli_usage_error("channel add",
					       "unknown argument \"%s\"",
					       argv[i]);
		}
	}
	return keyd_cli_post("channel add", &t, "/v1/channels/add",
			     json_pack("{s:I, s:s, s:I, s:I, s:I}", "id", id,
				       "group", argv[2], "port", port,
				       "kc_period", (json_int_t)period,
				       "bandwidth_kbps", bw),
			     NULL);
}

static int channel_del(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct hc_target t;
	json_int_t id;
	int rc = keyd_cli_args("channel del", &argc, argv, &t);

	(void)ctx;
	if (rc)
		return rc;
	if (argc != 2)
		return cli_usage_error("channel del", "expected ID");
	if ((rc = keyd_cli_id("channel del", "id", argv[1], &id)))
		return rc;
	return keyd_cli_post("channel del", &t, "/v1/channels/del",
			     json_pack("{s:I}", "id", id), NULL);
}

static long long num(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static int channel_show(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct hc_target t;
	json_t *doc, *ch;
	size_t i;
	int rc = keyd_cli_args("channel show", &argc, argv, &t);

	if (rc)
		return rc;
	if (argc != 1)
		return cli_usage_error("channel show", "no arguments expected");
	rc = keyd_cli_get("channel show", &t, "/v1/channels", &doc);
	if (rc)
		return rc;
	if (ctx->json)
		return cli_print_json(ctx, "channel show", doc);
	json_array_foreach(doc, i, ch)
		printf("%lld [%s]:%lld epoch %lld kc-period %llds bandwidth "
		       "%lld kbit/s\n",
		       num(ch, "id"), keyd_cli_str(ch, "group"),
		       num(ch, "port"), num(ch, "epoch"), num(ch, "kc_period"),
		       num(ch, "bandwidth_kbps"));
	json_decref(doc);
	return cli_flush_output("channel show");
}

static const struct cli_cmd channel_cmds[] = {
	{ "add", "ID GROUP PORT [kc-period DURATION] [bandwidth KBPS] [TARGET]",
	  "add a channel: its content goes to [GROUP]:PORT",
	  "kc-period: Kc rotation period (default: only on revocation);\n"
	  "bandwidth: the content's nominal bitrate, for the control cap.\n" KEYD_CLI_OPTIONS_HELP,
	  channel_add },
	{ "del", "ID [TARGET]", "delete a channel without contents", NULL,
	  channel_del },
	{ "show", "[TARGET]", "list channels", KEYD_CLI_OPTIONS_HELP,
	  channel_show },
	{ NULL, NULL, NULL, NULL, NULL },
};

const struct cli_object cli_object_channel = {
	.name = "channel",
	.summary = "guise-keyd channels (a group, a port, a channel key)",
	.cmds = channel_cmds,
	.default_cmd = "show",
};
