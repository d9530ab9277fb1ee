// SPDX-License-Identifier: GPL-2.0
/* guise lease add|del|show|flush */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/guise.h>

#include "cli.h"
#include "lease_args.h"
#include "lease_remote.h"
#include "log.h"
#include "nl.h"
#include "nl_batch.h"
#include "out.h"
#include "show.h"

/*
 * Send one lease request; @cb handles replies. Returns an enum cli_exit. A
 * dump the kernel marks interrupted is done again, after @restart(@data).
 */
static int lease_request(const struct cli_ctx *ctx, const char *op, uint8_t cmd,
			 uint16_t flags, const struct guise_lease *l,
			 guise_nl_reply_cb cb, void (*restart)(void *data),
			 void *data)
{
	char buf[GUISE_NL_MSG_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct guise_nl *nl;
	struct nlmsghdr *nlh;
	int ret, err;

	ret = cli_connect(ctx, &nl);
	if (ret)
		return ret;
	nlh = guise_msg_start(buf, guise_nl_family(nl), cmd,
			      NLM_F_REQUEST | NLM_F_ACK | flags);
	if (l && guise_lease_put(nlh, sizeof(buf), l)) {
		guise_nl_close(nl);
		guise_err("%s: request too large", op);
		return CLI_EXIT_KERNEL;
	}
	if (flags & NLM_F_DUMP)
		err = guise_nl_dump(nl, nlh, cb, restart, data);
	else
		err = guise_nl_talk(nl, nlh, cb, data);
	if (err == -EPROTO) {
		guise_err("%s: malformed reply from the kernel", op);
		ret = CLI_EXIT_KERNEL;
	} else if (err == -EINTR && (flags & NLM_F_DUMP)) {
		cli_dump_interrupted(op);
		ret = CLI_EXIT_KERNEL;
	} else if (err) {
		ret = cli_request_error(nl, op, err);
	}
	guise_nl_close(nl);
	return ret;
}

static int lease_add(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const char op[] = "lease add";
	struct guise_lease l;
	char why[256];

	if (lease_args_parse_add(argc - 1, argv + 1, &l, why, sizeof(why)))
		return cli_usage_error(op, "%s", why);
	return lease_request(ctx, op, GUISE_CMD_LEASE_NEW, 0, &l, NULL, NULL,
			     NULL);
}

static int lease_del(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const char op[] = "lease del";
	struct guise_lease l;
	char why[256];

	if (lease_args_parse_name(argc - 1, argv + 1, &l, false, why,
				  sizeof(why)))
		return cli_usage_error(op, "%s", why);
	return lease_request(ctx, op, GUISE_CMD_LEASE_DEL, 0, &l, NULL, NULL,
			     NULL);
}

static int lease_show_cb(const struct nlmsghdr *nlh, void *data)
{
	struct guise_lease l;

	if (guise_lease_parse(nlh, &l))
		return -EPROTO;
	show_lease(data, NULL, &l);
	return 0;
}

static int lease_show(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const char op[] = "lease show";
	struct guise_out out;
	struct guise_lease l;
	char why[256];
	int ret, err;

	if (lease_args_parse_name(argc - 1, argv + 1, &l, true, why,
				  sizeof(why)))
		return cli_usage_error(op, "%s", why);

	guise_out_init(&out, stdout, ctx->json, ctx->pretty);
	if (guise_out_hold(&out))
		return cli_output_error(op, -ENOMEM);
	guise_out_open_array(&out, NULL);
	ret = lease_request(ctx, op, GUISE_CMD_LEASE_GET,
			    l.present ? 0 : NLM_F_DUMP, l.present ? &l : NULL,
			    lease_show_cb, show_list_restart, &out);
	guise_out_close_array(&out);
	if (ret) {
		guise_out_exit(&out);
		return ret;
	}
	err = guise_out_flush(&out);
	return err ? cli_output_error(op, err) : CLI_EXIT_OK;
}

/* Split @line on blanks into at most @max words; returns the count or -1. */
static int split_words(char *line, char **words, int max)
{
	char *save, *w;
	int n = 0;

	for (w = strtok_r(line, " \t\r\n", &save); w;
	     w = strtok_r(NULL, " \t\r\n", &save)) {
		if (*w == '#')
			break;
		if (n == max)
			return -1;
		words[n++] = w;
	}
	return n;
}

/* What lease_load() knows of the requests it sent. */
struct load {
	const char *op;
	unsigned long from, to; /* lines of the first and last queued lease */
	unsigned long loaded;
	unsigned long refused; /* in the last flush */
	unsigned long first_refused; /* line, 0 if none */
	int ret; /* enum cli_exit of the first refusal or failure */
};

static void load_refused(unsigned long line, int err, const char *extack,
			 void *data)
{
	struct load *ld = data;
	int ret;

	guise_err("%s: line %lu", ld->op, line);
	ret = cli_report_error(ld->op, err, extack);
	if (!ld->first_refused) {
		ld->first_refused = line;
		ld->ret = ret;
	}
	ld->refused++;
}

/*
 * Send the queued leases and name each line the kernel refused. Returns
 * false when loading must stop: a refusal, or answers lost.
 */
static bool load_flush(struct guise_nl_batch *b, struct load *ld)
{
	unsigned long queued = guise_nl_batch_count(b);
	int err;

	ld->refused = 0;
	err = guise_nl_batch_flush(b, load_refused, ld);
	if (err) {
		guise_err(
			"%s: lines %lu-%lu: %s: whether they are loaded is unknown",
			ld->op, ld->from, ld->to, strerror(-err));
		if (!ld->ret)
			ld->ret = CLI_EXIT_KERNEL;
		return false;
	}
	ld->loaded += queued - ld->refused;
	if (ld->refused && ld->to > ld->first_refused)
		guise_err(
			"%s: lines %lu-%lu went with line %lu, before its refusal was known: those not named above are loaded",
			ld->op, ld->first_refused + 1, ld->to,
			ld->first_refused);
	return !ld->refused;
}

/*
 * A lease per line, as `lease add` takes, pipelined over one socket (see
 * nl_batch.c). Loading stops at the first line that does not parse
 * (nothing after it is sent) or that the kernel refuses; leases sent with
 * a refused one, after it, stay loaded (they are named).
 */
static int lease_load(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const char op[] = "lease load";
	struct load ld = { .op = op };
	char *line = NULL, *words[32], why[256] = "";
	struct guise_nl_batch *b = NULL;
	struct guise_nl *nl = NULL;
	unsigned long lineno = 0;
	struct guise_out out;
	struct guise_lease l;
	struct nlmsghdr *nlh;
	size_t cap = 0;
	int ret, err, n;
	FILE *fp;

	if (argc != 2)
		return cli_usage_error(op, "need one FILE (- for stdin)");
	fp = strcmp(argv[1], "-") ? fopen(argv[1], "r") : stdin;
	if (!fp) {
		guise_err("%s: %s: %s", op, argv[1], strerror(errno));
		return CLI_EXIT_USAGE;
	}
	ret = cli_connect(ctx, &nl);
	if (!ret && guise_nl_batch_open(nl, &b)) {
		guise_err("%s: %s", op, strerror(ENOMEM));
		ret = CLI_EXIT_KERNEL;
	}
	while (!ret && getline(&line, &cap, fp) > 0) {
		lineno++;
		n = split_words(line, words, 32);
		if (n == 0)
			continue;
		if (n < 0)
			snprintf(why, sizeof(why), "too many words");
		if (n < 0 ||
		    lease_args_parse_add(n, words, &l, why, sizeof(why))) {
			ret = CLI_EXIT_USAGE; /* reported after the flush */
			break;
		}
		if (guise_nl_batch_full(b) && !load_flush(b, &ld))
			break;
		nlh = guise_nl_batch_msg(b, GUISE_CMD_LEASE_NEW, lineno);
		err = guise_lease_put(nlh, GUISE_NL_MSG_SIZE, &l);
		if (err) {
			guise_err("%s: line %lu: %s", op, lineno,
				  strerror(-err));
			ret = CLI_EXIT_KERNEL;
			break;
		}
		if (!guise_nl_batch_count(b))
			ld.from = lineno;
		ld.to = lineno;
		guise_nl_batch_add(b);
	}
	/* What came before a bad line goes in first, and is reported first. */
	if (b)
		load_flush(b, &ld);
	if (ret == CLI_EXIT_USAGE)
		cli_usage_error(op, "line %lu: %s", lineno, why);
	if (!ret && !ld.ret && ferror(fp)) {
		guise_err("%s: %s: read error", op, argv[1]);
		ret = CLI_EXIT_KERNEL;
	}
	if (ld.ret)
		ret = ld.ret;
	free(line);
	if (fp != stdin)
		fclose(fp);
	guise_nl_batch_free(b);
	if (nl)
		guise_nl_close(nl);

	guise_out_init(&out, stdout, ctx->json, ctx->pretty);
	guise_out_open_object(&out, NULL);
	guise_out_uint(&out, "loaded", "loaded %" PRIu64 " leases\n",
		       ld.loaded);
	guise_out_close_object(&out);
	err = guise_out_flush(&out);
	return ret ? ret : err ? cli_output_error(op, err) : CLI_EXIT_OK;
}

static int lease_flush(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const char op[] = "lease flush";

	if (argc > 1)
		return cli_usage_error(op, "unexpected argument \"%s\"",
				       argv[1]);
	return lease_request(ctx, op, GUISE_CMD_LEASE_FLUSH, 0, NULL, NULL,
			     NULL, NULL);
}

static const struct cli_cmd lease_cmds[] = {
	{ "add",
	  "REAL PEER VIRT [lifetime DUR] [flags LIST] [block-smtp] [rate PPS [burst N]]",
	  "Create a lease, or replace the lease of (REAL, PEER)",
	  "Packets from REAL to PEER leave with source VIRT (egress) and\n"
	  "packets from PEER to VIRT arrive for REAL (ingress); anyone else\n"
	  "sending to VIRT is dropped. VIRT must lie in a served vprefix.\n"
	  "  lifetime DUR   seconds, or with a unit: 90s, 15m, 12h, 30d\n"
	  "                 (default 1h, at most 366d); the lease stops\n"
	  "                 working in the kernel when it runs out\n"
	  "  flags LIST     comma-separated: egress, ingress, block-smtp\n"
	  "                 (default egress,ingress)\n"
	  "  block-smtp     drop outbound TCP to port 25\n"
	  "  rate PPS       at most PPS egress packets per second\n"
	  "  burst N        token bucket depth in packets (default PPS)\n"
	  "Replacing keeps VIRT and the counters and restarts the lifetime.\n",
	  lease_add },
	{ "del", "REAL PEER | virt VIRT", "Remove a lease", NULL, lease_del },
	{ "show", "[REAL PEER | virt VIRT]",
	  "List live leases with counters and time left",
	  "Without arguments every live lease; expired ones are gone from\n"
	  "the datapath at once and from the table within a second.\n",
	  lease_show },
	{ "flush", "", "Remove every lease in the namespace", NULL,
	  lease_flush },
	{ "load", "FILE",
	  "Add many leases over one socket, one per line of FILE",
	  "Each line holds what \"lease add\" takes: REAL PEER VIRT [options].\n"
	  "Blank lines and text after # are ignored; - reads standard input.\n"
	  "Requests go out in batches of up to 256 (one ack per batch), so\n"
	  "from a pipe a lease goes in when its batch fills or input ends.\n"
	  "Stops at the first line that does not parse (exit 2: the lines\n"
	  "before it are loaded, nothing after it is sent) or that the kernel\n"
	  "refuses (exit 1, or 4 without permission), naming the line and the\n"
	  "kernel's reason. Leases before a refused line stay; lines after it\n"
	  "that went in its batch are loaded too, except any named as refused\n"
	  "(the message gives their range). Prints how many were loaded.\n",
	  lease_load },
	{ "acquire",
	  "--server URL --peer PEER [--lifetime DUR] --cert F [--key F] [--ca F]",
	  "Rent a virtual address from guise-leased (host mode)",
	  "Asks the daemon over mutual TLS (the certificate's IPv6 address\n"
	  "is the real address), then installs the egress lease here; the\n"
	  "daemon's gateway installs the ingress half. Prints the lease\n"
	  "(-j: an object with real, peer, virtual, expires). If the lease\n"
	  "cannot be installed here, the address is returned; a failed\n"
	  "return is reported (it stays rented until it expires).\n",
	  lease_acquire },
	{ "release", "--server URL --virtual VIRT --cert F [--key F] [--ca F]",
	  "Remove a rented lease here and return it to guise-leased",
	  "The lease of VIRT is deleted here first, then VIRT is returned.\n"
	  "If this host has no such lease VIRT is returned all the same (a\n"
	  "warning); any other failure keeps it rented, the daemon is not\n"
	  "asked. Prints \"released VIRT\" (-j: an object with virtual).\n",
	  lease_release },
	{ NULL, NULL, NULL, NULL, NULL },
};

const struct cli_object cli_object_lease = {
	.name = "lease",
	.summary = "Virtual source address leases (real, peer) <-> virtual",
	.cmds = lease_cmds,
	.default_cmd = "show",
};
