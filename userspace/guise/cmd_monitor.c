// SPDX-License-Identifier: GPL-2.0
/* guise monitor: print the module's events as they happen. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/guise.h>

#include "cli.h"
#include "lease.h"
#include "log.h"
#include "nl.h"
#include "num.h"
#include "out.h"
#include "show.h"

struct monitor {
	const struct cli_ctx *ctx;
	const char *only; /* "lease", "key" or NULL for all */
	unsigned long left; /* events still to print; 0 = no limit */
	bool limited;
};

static const char *event_name(uint8_t cmd)
{
	switch (cmd) {
	case GUISE_CMD_LEASE_EXPIRED:
		return "lease_expired";
	case GUISE_CMD_LEASE_MISS:
		return "lease_miss";
	case GUISE_CMD_KEY_EXPIRED:
		return "key_expired";
	}
	return NULL;
}

/* One event per line: text, or one JSON object per line (JSON Lines). */
static int monitor_event_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct genlmsghdr *genl = mnl_nlmsg_get_payload(nlh);
	struct monitor *m = data;
	const char *name = event_name(genl->cmd);
	struct guise_out out;
	struct guise_lease l;
	struct guise_key k;

	if (!name)
		return 0;
	if (m->only && strncmp(name, m->only, strlen(m->only)))
		return 0;
	guise_out_init(&out, stdout, m->ctx->json, false);
	guise_out_open_object(&out, NULL);
	guise_out_string(&out, "event", "%s ", name);
	if (genl->cmd == GUISE_CMD_KEY_EXPIRED && !guise_key_parse(nlh, &k))
		show_key(&out, "key", &k);
	else if (genl->cmd != GUISE_CMD_KEY_EXPIRED &&
		 !guise_lease_parse(nlh, &l))
		show_lease(&out, "lease", &l);
	else
		guise_out_string(&out, NULL, "%s", "\n");
	guise_out_close_object(&out);
	if (guise_out_flush(&out))
		return -EIO;
	if (m->limited && !--m->left)
		return 1;
	return 0;
}

static int monitor_run(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const char op[] = "monitor";
	struct monitor m = { .ctx = ctx };
	unsigned long lost = 0;
	struct guise_nl *nl;
	uint64_t count;
	int ret, err;

	if (strcmp(argv[0], "all"))
		m.only = argv[0];
	if (argc == 3 && !strcmp(argv[1], "count")) {
		if (guise_uint_parse(argv[2], ULONG_MAX, &count) || !count)
			return cli_usage_error(op, "bad count \"%s\"", argv[2]);
		m.left = (unsigned long)count;
		m.limited = true;
	} else if (argc > 1) {
		return cli_usage_error(op, "unexpected argument \"%s\"",
				       argv[1]);
	}
	ret = cli_connect(ctx, &nl);
	if (ret)
		return ret;
	err = guise_nl_subscribe(nl);
	if (err) {
		ret = cli_request_error(nl, op, err);
		guise_nl_close(nl);
		return ret;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	do {
		err = guise_nl_recv_events(nl, monitor_event_cb, &m);
		/* A burst overran the socket: those events are gone, the
		 * socket works on (ip monitor does the same). */
		if (err == -ENOBUFS)
			guise_warn("%s: events lost (receive buffer overrun, "
				   "%lu so far)",
				   op, ++lost);
	} while (!err || err == -ENOBUFS);
	guise_nl_close(nl);
	if (err == 1)
		return CLI_EXIT_OK;
	guise_err("%s: %s", op, strerror(-err));
	return CLI_EXIT_KERNEL;
}

static const struct cli_cmd monitor_cmds[] = {
	{ "all", "[count N]", "Print every event as it happens",
	  "Events: lease_expired and lease_miss (with the lease's addresses\n"
	  "and counters), key_expired. One line per event; with -j one JSON\n"
	  "object per line (JSON Lines). Stops after N events with\n"
	  "\"count N\". Events lost in a burst (the socket's receive buffer\n"
	  "overran) are reported on standard error; the monitor goes on.\n",
	  monitor_run },
	{ "lease", "[count N]", "Print lease events only", NULL, monitor_run },
	{ "key", "[count N]", "Print key events only", NULL, monitor_run },
	{ NULL, NULL, NULL, NULL, NULL },
};

const struct cli_object cli_object_monitor = {
	.name = "monitor",
	.summary = "Print lease and key events as they happen",
	.cmds = monitor_cmds,
	.default_cmd = "all",
};
