// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>
#include <linux/guise.h>

#include "cli.h"
#include "log.h"
#include "nl.h"
#include "out.h"
#include "show.h"

static int stats_parse(const struct nlmsghdr *nlh, void *st)
{
	return guise_stats_parse(nlh, st);
}

static int stats_show(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const char op[] = "stats";
	struct guise_stats st = { 0 };
	struct guise_out out;
	int ret, err;

	if (argc > 1)
		return cli_usage_error(op, "unexpected argument \"%s\"",
				       argv[1]);
	ret = cli_get(ctx, op, GUISE_CMD_STATS_GET, stats_parse, &st);
	if (!ret) {
		guise_out_init(&out, stdout, ctx->json, ctx->pretty);
		show_stats(&out, &st);
		err = guise_out_flush(&out);
		if (err)
			ret = cli_output_error(op, err);
	}
	guise_stats_free(&st);
	return ret;
}

static const struct cli_cmd stats_cmds[] = {
	{ "show", "", "Print the namespace's global counters",
	  "One \"name value\" line per counter (JSON: one object). Counters\n"
	  "this guise does not know by name are shown as stat_N.\n",
	  stats_show },
	{ NULL, NULL, NULL, NULL, NULL },
};

const struct cli_object cli_object_stats = {
	.name = "stats",
	.summary = "Global per-network-namespace counters",
	.cmds = stats_cmds,
	.default_cmd = "show",
};
