// SPDX-License-Identifier: GPL-2.0
/* STATS_GET: counter names, decoding, text and JSON output. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "show.h"
#include "tap.h"

static void test_names(void)
{
	unsigned int i, j;
	bool ok = true;

	for (i = 0; i < __GUISE_STAT_MAX; i++) {
		const char *name = guise_stat_name(i);

		if (!name || !*name ||
		    strspn(name, "abcdefghijklmnopqrstuvwxyz_") !=
			    strlen(name)) {
			tap_diag("bad name for %u", i);
			ok = false;
			continue;
		}
		for (j = 0; j < i; j++)
			if (guise_stat_name(j) &&
			    !strcmp(name, guise_stat_name(j)))
				ok = false;
	}
	tap_ok(ok, "every counter has a unique lower-case name");
	tap_ok(!strcmp(guise_stat_name(GUISE_STAT_LEASE_TX), "lease_tx") &&
		       !strcmp(guise_stat_name(GUISE_STAT_DROP_NOT_PEER),
			       "drop_not_peer") &&
		       !strcmp(guise_stat_name(GUISE_STAT_DROP_SEQ_EXHAUSTED),
			       "drop_seq_exhausted") &&
		       !strcmp(guise_stat_name(GUISE_STAT_DROP_NOMEM),
			       "drop_nomem"),
	       "names are the enum names after GUISE_STAT_");
	tap_ok(!guise_stat_name(__GUISE_STAT_MAX), "no name past the end");
}

static char *render(const struct guise_stats *st, bool json)
{
	struct guise_out out;
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	if (!fp)
		abort();
	guise_out_init(&out, fp, json, false);
	show_stats(&out, st);
	if (guise_out_flush(&out))
		tap_diag("flush failed");
	fclose(fp);
	return text;
}

static void test_reply(void)
{
	struct test_buf buf;
	struct nlmsghdr *nlh = msg_reply(&buf, GUISE_CMD_STATS_GET);
	struct guise_stats st = { 0 };
	struct nlattr *nest;
	char *got;

	nest = mnl_attr_nest_start(nlh, GUISE_A_STATS);
	mnl_attr_put_u64(nlh, GUISE_STAT_LEASE_TX + 1, 5);
	mnl_attr_put(nlh, 0, 0, NULL); /* padding */
	mnl_attr_put_u64(nlh, GUISE_STAT_DROP_NOT_PEER + 1, 1ULL << 40);
	mnl_attr_put_u64(nlh, 41, 7); /* a counter newer than this build */
	mnl_attr_nest_end(nlh, nest);

	tap_ok(guise_stats_parse(nlh, &st) == 0 && st.count == 3 &&
		       st.v[0].id == GUISE_STAT_LEASE_TX &&
		       st.v[0].value == 5 && st.v[2].id == 40,
	       "decode: type = id + 1, padding skipped");

	got = render(&st, false);
	tap_ok(!strcmp(got, "lease_tx 5\ndrop_not_peer 1099511627776\n"
			    "stat_40 7\n"),
	       "text: name value lines, unknown as stat_N");
	free(got);
	got = render(&st, true);
	tap_ok(!strcmp(got, "{\"lease_tx\": 5, \"drop_not_peer\": "
			    "1099511627776, \"stat_40\": 7}\n"),
	       "JSON: one object of numbers");
	free(got);
	guise_stats_free(&st);
	tap_ok(st.count == 0 && !st.v, "free resets");

	got = render(&st, true);
	tap_ok(!strcmp(got, "{}\n"), "JSON: no counters, empty object");
	free(got);
}

static void test_malformed(void)
{
	struct test_buf buf;
	struct nlmsghdr *nlh = msg_reply(&buf, GUISE_CMD_STATS_GET);
	struct guise_stats st = { 0 };
	struct nlattr *nest;

	nest = mnl_attr_nest_start(nlh, GUISE_A_STATS);
	mnl_attr_put_u64(nlh, 1, 5);
	mnl_attr_put_u32(nlh, 2, 5);
	mnl_attr_nest_end(nlh, nest);
	tap_ok(guise_stats_parse(nlh, &st) == -EINVAL, "a u32 counter");
	guise_stats_free(&st);

	nlh = mnl_nlmsg_put_header(buf.b);
	tap_ok(guise_stats_parse(nlh, &st) == -EINVAL && st.count == 0,
	       "no genl header");
}

int main(void)
{
	tap_start();
	test_names();
	test_reply();
	test_malformed();
	return tap_done();
}
