// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/guise.h>

#include "cli.h"
#include "config_args.h"
#include "log.h"
#include "nl.h"
#include "out.h"
#include "show.h"

static int config_parse(const struct nlmsghdr *nlh, void *cfg)
{
	return guise_config_parse(nlh, cfg);
}

static int config_show(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const char op[] = "config show";
	struct guise_config cfg = { 0 };
	struct guise_out out;
	int ret, err;

	if (argc > 1)
		return cli_usage_error(op, "unexpected argument \"%s\"",
				       argv[1]);
	ret = cli_get(ctx, op, GUISE_CMD_CONFIG_GET, config_parse, &cfg);
	if (ret)
		return ret;

	guise_out_init(&out, stdout, ctx->json, ctx->pretty);
	show_config(&out, &cfg);
	err = guise_out_flush(&out);
	return err ? cli_output_error(op, err) : CLI_EXIT_OK;
}

static int config_set(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const char op[] = "config set";
	char buf[GUISE_NL_MSG_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct guise_config cfg = { 0 };
	struct guise_nl *nl;
	struct nlmsghdr *nlh;
	char why[256];
	int ret, err;

	if (config_args_parse(argc - 1, argv + 1, &cfg, why, sizeof(why)))
		return cli_usage_error(op, "%s", why);
	ret = cli_connect(ctx, &nl);
	if (ret)
		return ret;
	nlh = guise_msg_start(buf, guise_nl_family(nl), GUISE_CMD_CONFIG_SET,
			      NLM_F_REQUEST | NLM_F_ACK);
	err = guise_config_put(nlh, sizeof(buf), &cfg);
	if (err)
		guise_err("%s: request too large: %s", op, strerror(-err));
	else
		err = guise_nl_talk(nl, nlh, NULL, NULL);
	if (err)
		ret = cli_request_error(nl, op, err);
	guise_nl_close(nl);
	return ret;
}

static const char config_set_help[] =
	"Keywords, in any order; only those given change:\n"
	"  enabled on|off              process packets in this namespace\n"
	"                              (also yes|no, 1|0)\n"
	"  vprefix PREFIX              a served virtual prefix, e.g.\n"
	"                              2001:db8:ff::/48; repeatable, the list\n"
	"                              given replaces the current one\n"
	"  novprefixes                 clear the virtual prefixes\n"
	"  miss PREFIX pass|drop|upcall\n"
	"                              what to do with packets from real\n"
	"                              addresses in PREFIX without a lease;\n"
	"                              repeatable, replaces the list\n"
	"  nomiss                      clear the miss rules\n"
	"  max-leases N                at most N leases (1..16777216)\n"
	"  upcall-qlen N               packets held per flow during an upcall\n"
	"                              (1..256)\n"
	"  upcall-timeout MS           how long they are held (1..10000 ms)\n"
	"  routing-header pass|drop    a packet with a routing header that a\n"
	"                              lease would rewrite: forward it\n"
	"                              unmodified (default; egress shows the\n"
	"                              real address) or drop it\n"
	"Host bits of a prefix are cleared.\n";

static const struct cli_cmd config_cmds[] = {
	{ "show", "", "Print the namespace's configuration",
	  "Text output is \"keyword value\" lines as accepted by \"config set\",\n"
	  "plus the read-only table sizes \"leases\" and \"keys\".\n",
	  config_show },
	{ "set", "KEYWORD VALUE...", "Change any subset of the configuration",
	  config_set_help, config_set },
	{ NULL, NULL, NULL, NULL, NULL },
};

const struct cli_object cli_object_config = {
	.name = "config",
	.summary = "Per-network-namespace configuration",
	.cmds = config_cmds,
	.default_cmd = NULL,
};
