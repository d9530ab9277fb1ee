// SPDX-License-Identifier: GPL-2.0
/* guise key add|del|show|flush: content keys for protected multicast. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <linux/guise.h>

#include "cli.h"
#include "key_args.h"
#include "log.h"
#include "nl.h"
#include "out.h"
#include "show.h"

/*
 * Send one key request; returns an enum cli_exit. Wipes the buffer. A dump
 * the kernel marks interrupted is done again, after @restart(@data).
 */
static int key_request(const struct cli_ctx *ctx, const char *op, uint8_t cmd,
		       uint16_t flags, const struct guise_key *k,
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
	err = k && k->present ? guise_key_put(nlh, sizeof(buf), k) : 0;
	if (!err && (flags & NLM_F_DUMP))
		err = guise_nl_dump(nl, nlh, cb, restart, data);
	else if (!err)
		err = guise_nl_talk(nl, nlh, cb, data);
	explicit_bzero(buf, sizeof(buf));
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

static int key_add(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const char op[] = "key add";
	bool replace = false;
	struct guise_key k;
	char why[256];
	int ret;

	/* A trailing "replace": the validity of an installed key changes. */
	if (argc > 1 && !strcmp(argv[argc - 1], "replace")) {
		replace = true;
		argc--;
	}
	if (key_args_parse_add(argc - 1, argv + 1, &k, time(NULL), why,
			       sizeof(why))) {
		guise_key_wipe(&k);
		return cli_usage_error(op, "%s", why);
	}
	if (replace)
		guise_key_mark(&k, GUISE_A_KEY_REPLACE);
	ret = key_request(ctx, op, GUISE_CMD_KEY_NEW, 0, &k, NULL, NULL, NULL);
	guise_key_wipe(&k);
	return ret;
}

static int key_del(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const char op[] = "key del";
	struct guise_key k;
	char why[256];

	if (key_args_parse_name(argc - 1, argv + 1, &k, true, false, why,
				sizeof(why)))
		return cli_usage_error(op, "%s", why);
	return key_request(ctx, op, GUISE_CMD_KEY_DEL, 0, &k, NULL, NULL, NULL);
}

static int key_show_cb(const struct nlmsghdr *nlh, void *data)
{
	struct guise_key k;

	if (guise_key_parse(nlh, &k))
		return -EPROTO;
	show_key(data, NULL, &k);
	return 0;
}

static int key_show(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const char op[] = "key show";
	struct guise_out out;
	struct guise_key k;
	char why[256];
	int ret, err;

	if (key_args_parse_name(argc - 1, argv + 1, &k, true, true, why,
				sizeof(why)))
		return cli_usage_error(op, "%s", why);
	guise_out_init(&out, stdout, ctx->json, ctx->pretty);
	if (guise_out_hold(&out))
		return cli_output_error(op, -ENOMEM);
	guise_out_open_array(&out, NULL);
	ret = key_request(ctx, op, GUISE_CMD_KEY_GET,
			  k.present ? 0 : NLM_F_DUMP, &k, key_show_cb,
			  show_list_restart, &out);
	guise_out_close_array(&out);
	if (ret) {
		guise_out_exit(&out);
		return ret;
	}
	err = guise_out_flush(&out);
	return err ? cli_output_error(op, err) : CLI_EXIT_OK;
}

static int key_flush(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const char op[] = "key flush";
	struct guise_key k;
	char why[256];

	if (key_args_parse_name(argc - 1, argv + 1, &k, false, true, why,
				sizeof(why)))
		return cli_usage_error(op, "%s", why);
	return key_request(ctx, op, GUISE_CMD_KEY_FLUSH, 0, &k, NULL, NULL,
			   NULL);
}

static const struct cli_cmd key_cmds[] = {
	{ "add",
	  "GROUP PORT id ID alg ALG dir rx|tx (secret HEX | secret-file PATH) salt HEX [not-before T] [not-after T] [replay-window N] [replace]",
	  "Install a content key for a protected (group, port)",
	  "Datagrams to GROUP, UDP PORT are decrypted on receipt (dir rx) or\n"
	  "encrypted when a local socket sends them (dir tx), so ordinary\n"
	  "multicast applications send and receive plaintext while the wire\n"
	  "carries only ciphertext.\n"
	  "  id ID          key id (= content id), carried in every datagram\n"
	  "  alg ALG        chacha20-poly1305, aes128-gcm or aes256-gcm\n"
	  "  secret-file PATH\n"
	  "                 the secret: a file of 64 hex digits (32 for\n"
	  "                 aes128-gcm) and at most a newline; preferred\n"
	  "  secret HEX     the same on the command line: overwritten in\n"
	  "                 the process's arguments once read, but visible\n"
	  "                 in the process list until then (and in shell\n"
	  "                 history)\n"
	  "  salt HEX       4 bytes, the nonce prefix\n"
	  "  not-before T, not-after T\n"
	  "                 validity, seconds since the epoch or +DURATION\n"
	  "                 (+90s, +15m, +12h); an expired key is unusable at\n"
	  "                 once and removed within a second\n"
	  "  replay-window N\n"
	  "                 sequence numbers remembered, 64..8192 (1024)\n"
	  "  replace        if the key is installed, change only its\n"
	  "                 not-before and not-after, in place (same alg\n"
	  "                 and salt; its replay state is kept); else add it\n"
	  "Several keys per flow may be live: receivers try the key id the\n"
	  "datagram names; senders use the newest valid tx key. Secrets can\n"
	  "be written, never read back.\n",
	  key_add },
	{ "del", "GROUP PORT id ID dir rx|tx", "Remove one key", NULL,
	  key_del },
	{ "show", "[GROUP PORT id ID dir rx|tx]",
	  "List keys with counters, never their secrets", NULL, key_show },
	{ "flush", "[GROUP PORT]", "Remove every key, or those of one flow",
	  NULL, key_flush },
	{ NULL, NULL, NULL, NULL, NULL },
};

const struct cli_object cli_object_key = {
	.name = "key",
	.summary = "Content keys for protected multicast (group, port)",
	.cmds = key_cmds,
	.default_cmd = "show",
};
