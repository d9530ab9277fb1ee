// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the `guise config set` argument parser: the input
 * is argv, NUL-separated. Whatever parses must also encode into one
 * request and decode back to the same lists and values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/genetlink.h>

#include "config_args.h"
#include "nl.h"

#define MAX_ARGS 512

static void check_round_trip(const struct guise_config *cfg)
{
	static char buf[GUISE_NL_MSG_SIZE]
		__attribute__((aligned(NLMSG_ALIGNTO)));
	static struct guise_config back;
	struct nlmsghdr *nlh;

	nlh = guise_msg_start(buf, 0x1d, GUISE_CMD_CONFIG_SET, 0);
	if (guise_config_put(nlh, sizeof(buf), cfg))
		abort(); /* a parsed request must always fit */
	if (guise_config_parse(nlh, &back) || back.present != cfg->present ||
	    back.n_vprefixes != cfg->n_vprefixes ||
	    back.n_miss_rules != cfg->n_miss_rules ||
	    back.max_leases != cfg->max_leases ||
	    back.upcall_qlen != cfg->upcall_qlen ||
	    back.upcall_timeout_ms != cfg->upcall_timeout_ms ||
	    back.rthdr_policy != cfg->rthdr_policy ||
	    back.enabled != cfg->enabled)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct guise_config cfg;
	char *argv[MAX_ARGS];
	char err[256];
	char *copy, *p, *end;
	int argc = 0;

	copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	end = copy + size;
	for (p = copy; p < end && argc < MAX_ARGS; p += strlen(p) + 1)
		argv[argc++] = p;
	if (!config_args_parse(argc, argv, &cfg, err, sizeof(err)))
		check_round_trip(&cfg);
	else if (!memchr(err, '\0', sizeof(err)) || !err[0])
		abort(); /* every failure has a message */
	free(copy);
	return 0;
}
