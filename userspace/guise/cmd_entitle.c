// SPDX-License-Identifier: GPL-2.0
/* guise entitle|revoke CLIENT CHANNEL: verbs run without a command name. */
#include <stdio.h>
#include <string.h>

#include "keyd_cli.h"

static int change(const char *op, const char *path, int argc, char **argv)
{
	struct hc_target t;
	json_int_t channel;
	int rc = keyd_cli_args(op, &argc, argv, &t);

	if (rc)
		return rc;
	if (argc != 3)
		return cli_usage_error(op, "expected CLIENT CHANNEL");
	if ((rc = keyd_cli_id(op, "channel", argv[2], &channel)))
		return rc;
	return keyd_cli_post(op, &t, path,
			     json_pack("{s:s, s:I}", "client", argv[1],
				       "channel", channel),
			     NULL);
}

static int entitle(const struct cli_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	return change("entitle", "/v1/entitle", argc, argv);
}

static int revoke(const struct cli_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	return change("revoke", "/v1/revoke", argc, argv);
}

static const struct cli_cmd entitle_cmds[] = {
	{ "entitle", "CLIENT CHANNEL [TARGET]",
	  "entitle CLIENT to CHANNEL: its next DEMM carries the channel key",
	  KEYD_CLI_OPTIONS_HELP, entitle },
	{ NULL, NULL, NULL, NULL, NULL },
};

static const struct cli_cmd revoke_cmds[] = {
	{ "revoke", "CLIENT CHANNEL [TARGET]",
	  "revoke: a DEMM without the channel goes first, then a new Kc",
	  KEYD_CLI_OPTIONS_HELP, revoke },
	{ NULL, NULL, NULL, NULL, NULL },
};

const struct cli_object cli_object_entitle = {
	.name = "entitle",
	.summary = "Entitle a guise-keyd client to a channel",
	.cmds = entitle_cmds,
};

const struct cli_object cli_object_revoke = {
	.name = "revoke",
	.summary = "Revoke a guise-keyd client's channel",
	.cmds = revoke_cmds,
};
