// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>
#include <linux/guise.h>

#include "cli.h"
#include "log.h"
#include "nl.h"
#include "out.h"
#include "show.h"

struct stats_reply {
	struct guise_stats st;
	int decode_err;
};

static int stats_reply_cb(const struct nlmsghdr *nlh, void *data)
{
	struct stats_reply *r = data;

	r->decode_err = guise_stats_parse(nlh, &r->st);
	return r->decode_err;
}

static int stats_show(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const char op[] = "stats";
	char buf[GUISE_NL_MSG_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct stats_reply reply = { .decode_err = 0 };
	struct guise_out out;
	struct guise_nl *nl;
	struct nlmsghdr *nlh;
	int ret, err;

	if (argc > 1)
		return cli_usage_error(op, "unexpected argument \"%s\"",
				       argv[1]);
	ret = cli_connect(ctx, &nl);
	if (ret)
		return ret;
	nlh = guise_msg_start(buf, guise_nl_family(nl), GUISE_CMD_STATS_GET,
			      NLM_F_REQUEST | NLM_F_ACK);
	err = guise_nl_talk(nl, nlh, stats_reply_cb, &reply);
	if (err && err == reply.decode_err) {
		guise_err("%s: malformed reply from the kernel: %s", op,
			  strerror(-err));
		ret = CLI_EXIT_KERNEL;
	} else if (err) {
		ret = cli_request_error(nl, op, err);
	}
	guise_nl_close(nl);

	if (!ret) {
		guise_out_init(&out, stdout, ctx->json, ctx->pretty);
		show_stats(&out, &reply.st);
		err = guise_out_flush(&out);
		if (err)
			ret = cli_output_error(op, err);
	}
	guise_stats_free(&reply.st);
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
