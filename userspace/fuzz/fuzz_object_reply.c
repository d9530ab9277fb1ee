// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the lease and key decoders (LEASE_GET/KEY_GET
 * replies and the events): the input is a stream of netlink messages as
 * the kernel would send them; every decodable one is rendered as text and
 * as JSON.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <libmnl/libmnl.h>

#include "key.h"
#include "lease.h"
#include "out.h"
#include "show.h"

static void render(FILE *sink, const struct guise_lease *l,
		   const struct guise_key *k, bool json)
{
	struct guise_out out;

	guise_out_init(&out, sink, json, false);
	guise_out_open_array(&out, NULL);
	if (l)
		show_lease(&out, NULL, l);
	if (k)
		show_key(&out, NULL, k);
	guise_out_close_array(&out);
	guise_out_flush(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[65536] __attribute__((aligned(NLMSG_ALIGNTO)));
	static FILE *sink;
	const struct nlmsghdr *nlh;
	struct guise_lease l;
	struct guise_key k;
	int len, lok, kok;

	if (!sink)
		sink = fopen("/dev/null", "w");
	if (!sink || size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	len = size;
	for (nlh = (const struct nlmsghdr *)buf;
	     mnl_nlmsg_ok(nlh, len) && nlh->nlmsg_len <= (unsigned int)len;
	     nlh = mnl_nlmsg_next(nlh, &len)) {
		lok = !guise_lease_parse(nlh, &l);
		kok = !guise_key_parse(nlh, &k);
		render(sink, lok ? &l : NULL, kok ? &k : NULL, false);
		render(sink, lok ? &l : NULL, kok ? &k : NULL, true);
	}
	return 0;
}
