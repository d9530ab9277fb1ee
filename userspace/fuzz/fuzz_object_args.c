// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the `lease add|del|show` and `key add|del|show`
 * argument parsers: the input is split on NUL bytes into argv. Whatever
 * parses must also encode into a request.
 */
#include <stdint.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>

#include "key_args.h"
#include "lease_args.h"

#define MAX_ARGS 24

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char copy[4096];
	static char msg[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	char *argv[MAX_ARGS], err[256];
	struct guise_lease l;
	struct guise_key k;
	struct nlmsghdr *nlh;
	int argc = 0;
	size_t i;

	if (size >= sizeof(copy))
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	argv[argc++] = copy;
	for (i = 0; i < size && argc < MAX_ARGS; i++)
		if (!copy[i])
			argv[argc++] = &copy[i + 1];

	nlh = mnl_nlmsg_put_header(msg);
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct genlmsghdr));
	if (!lease_args_parse_add(argc, argv, &l, err, sizeof(err)) &&
	    guise_lease_put(nlh, sizeof(msg), &l))
		__builtin_trap();
	lease_args_parse_name(argc, argv, &l, true, err, sizeof(err));
	if (!key_args_parse_add(argc, argv, &k, 1700000000, err, sizeof(err)) &&
	    guise_key_put(nlh, sizeof(msg), &k))
		__builtin_trap();
	guise_key_wipe(&k);
	key_args_parse_name(argc, argv, &k, true, true, err, sizeof(err));
	return 0;
}
