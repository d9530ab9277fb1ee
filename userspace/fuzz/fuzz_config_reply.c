// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the CONFIG_GET (and STATS_GET) reply decoders: the
 * input is a stream of netlink messages as the kernel would send them;
 * every decodable one is also rendered as text and JSON.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <libmnl/libmnl.h>

#include "config.h"
#include "nl.h"
#include "out.h"
#include "show.h"
#include "stats.h"

static void render(FILE *sink, const struct guise_config *cfg,
		   const struct guise_stats *st, bool json)
{
	struct guise_out out;

	guise_out_init(&out, sink, json, false);
	guise_out_open_array(&out, NULL);
	show_config(&out, cfg);
	show_stats(&out, st);
	guise_out_close_array(&out);
	guise_out_flush(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[65536] __attribute__((aligned(NLMSG_ALIGNTO)));
	static FILE *sink;
	const struct nlmsghdr *nlh;
	struct guise_config cfg;
	struct guise_stats st = { 0 };
	int len;

	if (!sink)
		sink = fopen("/dev/null", "w");
	if (!sink || size > sizeof(buf))
		return 0;
	memcpy(buf, data, size); /* netlink messages are 4-byte aligned */
	len = size;
	/* mnl_nlmsg_ok() takes an nlmsg_len of 2^31 or more as negative. */
	for (nlh = (const struct nlmsghdr *)buf;
	     mnl_nlmsg_ok(nlh, len) && nlh->nlmsg_len <= (unsigned int)len;
	     nlh = mnl_nlmsg_next(nlh, &len)) {
		if (guise_config_parse(nlh, &cfg))
			memset(&cfg, 0, sizeof(cfg));
		if (guise_stats_parse(nlh, &st))
			guise_stats_free(&st);
		render(sink, &cfg, &st, false);
		render(sink, &cfg, &st, true);
	}
	guise_stats_free(&st);
	return 0;
}
