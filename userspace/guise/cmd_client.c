// SPDX-License-Identifier: GPL-2.0
/* guise client add|del|show: guise-keyd's clients (each holds a Km). */
#include <stdio.h>
#include <string.h>

#include "keyd_cli.h"

static int client_add(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct hc_target t;
	int rc = keyd_cli_args("client add", &argc, argv, &t);

	if (rc)
		return rc;
	if (argc != 3)
		return cli_usage_error("client add", "expected ID ADDRESS");
	(void)ctx;
	return keyd_cli_post("client add", &t, "/v1/clients/add",
			     json_pack("{s:s, s:s}", "id", argv[1], "address",
				       argv[2]),
			     NULL);
}

static int client_del(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct hc_target t;
	int rc = keyd_cli_args("client del", &argc, argv, &t);

	if (rc)
		return rc;
	if (argc != 2)
		return cli_usage_error("client del", "expected ID");
	(void)ctx;
	return keyd_cli_post("client del", &t, "/v1/clients/del",
			     json_pack("{s:s}", "id", argv[1]), NULL);
}

static int client_show(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct hc_target t;
	json_t *doc, *cl, *ch;
	size_t i, j;
	int rc = keyd_cli_args("client show", &argc, argv, &t);

	if (rc)
		return rc;
	if (argc != 1)
		return cli_usage_error("client show", "no arguments expected");
	rc = keyd_cli_get("client show", &t, "/v1/clients", &doc);
	if (rc)
		return rc;
	if (ctx->json)
		return cli_print_json(ctx, "client show", doc);
	json_array_foreach(doc, i, cl) {
		printf("%s %s channels", keyd_cli_str(cl, "id"),
		       keyd_cli_str(cl, "address"));
		json_array_foreach(json_object_get(cl, "channels"), j, ch)
			printf("%s%lld", j ? "," : " ",
			       (long long)json_integer_value(ch));
		printf("%s\n",
		       json_array_size(json_object_get(cl, "channels")) ?
			       "" :
			       " none");
	}
	json_decref(doc);
	return cli_flush_output("client show");
}

static const struct cli_cmd client_cmds[] = {
	{ "add", "ID ADDRESS [TARGET]",
	  "add a client; ADDRESS is the IPv6 address of its certificate",
	  "A fresh master key Km is made for it; the client fetches it with\n"
	  "guise enroll (mutual TLS, certificate address ADDRESS).\n" KEYD_CLI_OPTIONS_HELP,
	  client_add },
	{ "del", "ID [TARGET]", "revoke everything, then forget the client",
	  NULL, client_del },
	{ "show", "[TARGET]", "list clients and their channels",
	  KEYD_CLI_OPTIONS_HELP, client_show },
	{ NULL, NULL, NULL, NULL, NULL },
};

const struct cli_object cli_object_client = {
	.name = "client",
	.summary = "guise-keyd clients (entitled receivers)",
	.cmds = client_cmds,
	.default_cmd = "show",
};
