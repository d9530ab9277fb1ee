// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <linux/guise.h>

#include "cli.h"
#include "log.h"
#include "netns.h"
#include "nl.h"

static bool is_help(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

void cli_cmd_usage(const struct cli_object *obj, const struct cli_cmd *cmd,
		   FILE *fp)
{
	/* A verb (guise entitle) is named once. */
	bool verb = !strcmp(obj->name, cmd->name);

	fprintf(fp, "Usage: guise %s%s%s%s%s\n%s.\n", obj->name,
		verb ? "" : " ", verb ? "" : cmd->name, *cmd->args ? " " : "",
		cmd->args, cmd->summary);
	if (cmd->help)
		fprintf(fp, "\n%s", cmd->help);
}

void cli_object_usage(const struct cli_object *obj, FILE *fp)
{
	const struct cli_cmd *cmd;
	char synopsis[256];

	fprintf(fp, "Usage: guise [OPTIONS] %s COMMAND [ARGS]\n%s.\n\n",
		obj->name, obj->summary);
	fprintf(fp, "Commands:\n");
	for (cmd = obj->cmds; cmd->name; cmd++) {
		snprintf(synopsis, sizeof(synopsis), "%s %s", cmd->name,
			 cmd->args);
		/* A long synopsis gets its own line, the summary below it. */
		if (strlen(synopsis) > 28)
			fprintf(fp, "  %s\n  %-28s %s\n", synopsis, "",
				cmd->summary);
		else
			fprintf(fp, "  %-28s %s\n", synopsis, cmd->summary);
	}
	fprintf(fp, "  %-28s %s\n", "help", "Show this text");
	if (obj->default_cmd)
		fprintf(fp, "Without a command: %s.\n", obj->default_cmd);
	fprintf(fp, "Run \"guise %s COMMAND --help\" for details.\n",
		obj->name);
}

int cli_object_run(const struct cli_object *obj, const struct cli_ctx *ctx,
		   int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : obj->default_cmd;
	const struct cli_cmd *cmd;
	int i;

	if (!name) {
		cli_object_usage(obj, stderr);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(name, "help") || is_help(name)) {
		cli_object_usage(obj, stdout);
		return CLI_EXIT_OK;
	}
	for (cmd = obj->cmds; cmd->name; cmd++)
		if (!strcmp(name, cmd->name))
			break;
	if (!cmd->name) {
		guise_err("%s: unknown command \"%s\"; try \"guise %s help\"",
			  obj->name, name, obj->name);
		return CLI_EXIT_USAGE;
	}
	if (argc < 2) {
		/* The default command, without arguments. */
		char *args[] = { (char *)cmd->name, NULL };

		return cmd->run(ctx, 1, args);
	}
	for (i = 2; i < argc; i++) {
		if (is_help(argv[i])) {
			cli_cmd_usage(obj, cmd, stdout);
			return CLI_EXIT_OK;
		}
	}
	return cmd->run(ctx, argc - 1, argv + 1);
}

int cli_usage_error(const char *op, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	guise_err("%s: %s", op, msg);
	guise_err("try \"guise %s --help\"", op);
	return CLI_EXIT_USAGE;
}

int cli_connect(const struct cli_ctx *ctx, struct guise_nl **nlp)
{
	int err;

	if (ctx->netns) {
		err = guise_netns_enter(ctx->netns);
		if (err == -EINVAL) {
			guise_err("netns \"%s\": not a namespace name",
				  ctx->netns);
			return CLI_EXIT_NETNS;
		}
		if (err) {
			guise_err("netns \"%s\": %s", ctx->netns,
				  strerror(-err));
			return CLI_EXIT_NETNS;
		}
	}
	err = guise_nl_open(nlp);
	if (err == -ENOENT) {
		guise_err(
			"the guise module is not loaded (no netlink family \"%s\")",
			GUISE_FAMILY_NAME);
		guise_err("try: modprobe guise");
		return CLI_EXIT_NO_MODULE;
	}
	if (err) {
		guise_err("netlink: %s", strerror(-err));
		return CLI_EXIT_KERNEL;
	}
	return CLI_EXIT_OK;
}

struct get_reply {
	cli_parse_fn parse;
	void *obj;
	int decode_err;
};

static int get_reply_cb(const struct nlmsghdr *nlh, void *data)
{
	struct get_reply *r = data;

	r->decode_err = r->parse(nlh, r->obj);
	return r->decode_err;
}

int cli_get(const struct cli_ctx *ctx, const char *op, int cmd,
	    cli_parse_fn parse, void *obj)
{
	char buf[GUISE_NL_MSG_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct get_reply reply = { .parse = parse, .obj = obj };
	struct guise_nl *nl;
	struct nlmsghdr *nlh;
	int ret, err;

	ret = cli_connect(ctx, &nl);
	if (ret)
		return ret;
	nlh = guise_msg_start(buf, guise_nl_family(nl), cmd,
			      NLM_F_REQUEST | NLM_F_ACK);
	err = guise_nl_talk(nl, nlh, get_reply_cb, &reply);
	/* A reply we could not decode is not the kernel's refusal. */
	if (err && err == reply.decode_err) {
		guise_err("%s: malformed reply from the kernel: %s", op,
			  strerror(-err));
		ret = CLI_EXIT_KERNEL;
	} else if (err) {
		ret = cli_request_error(nl, op, err);
	}
	guise_nl_close(nl);
	return ret;
}

int cli_request_error(const struct guise_nl *nl, const char *op, int err)
{
	return cli_report_error(op, err, guise_nl_extack(nl));
}

int cli_report_error(const char *op, int err, const char *extack)
{
	const char *sep = *extack ? ": " : "";

	guise_err("%s: %s%s%s", op, strerror(-err), sep, extack);
	if (err == -EPERM || err == -EACCES) {
		guise_err(
			"CAP_NET_ADMIN over the network namespace is required");
		return CLI_EXIT_PERM;
	}
	return CLI_EXIT_KERNEL;
}

void cli_dump_interrupted(const char *op)
{
	guise_err("%s: the table kept changing: %d dumps in a row were "
		  "interrupted (NLM_F_DUMP_INTR); try again",
		  op, GUISE_NL_DUMP_TRIES);
}

int cli_output_error(const char *op, int err)
{
	guise_err("%s: cannot write the output: %s", op, strerror(-err));
	return CLI_EXIT_KERNEL;
}

int cli_flush_output(const char *op)
{
	if (fflush(stdout) || ferror(stdout))
		return cli_output_error(op, -EIO);
	return CLI_EXIT_OK;
}

int cli_print_json(const struct cli_ctx *ctx, const char *op, json_t *doc)
{
	int err;

	if (!doc) {
		guise_err("%s: cannot encode the output as JSON", op);
		return CLI_EXIT_KERNEL;
	}
	err = json_dumpf(doc, stdout,
			 ctx->pretty ? JSON_INDENT(2) : JSON_COMPACT);
	json_decref(doc);
	if (err || putchar('\n') == EOF)
		return cli_output_error(op, -EIO);
	return cli_flush_output(op);
}
