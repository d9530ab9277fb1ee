// SPDX-License-Identifier: GPL-2.0
/* `guise lease add|del|show` arguments, numbers, durations, flags and the
 * lease codec round trip. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>

#include "lease_args.h"
#include "num.h"
#include "tap.h"

static char errmsg[256];

static int parse_add(const char *line, struct guise_lease *l)
{
	static char copy[1024];
	char *argv[32];
	int argc = 0;
	char *tok;

	snprintf(copy, sizeof(copy), "%s", line);
	for (tok = strtok(copy, " "); tok && argc < 32; tok = strtok(NULL, " "))
		argv[argc++] = tok;
	errmsg[0] = '\0';
	return lease_args_parse_add(argc, argv, l, errmsg, sizeof(errmsg));
}

static void expect_add_error(const char *line, const char *want)
{
	struct guise_lease l;
	int ret = parse_add(line, &l);

	if (!tap_ok(ret == -EINVAL && strstr(errmsg, want),
		    "add \"%s\" refused: %s", line, want))
		tap_diag("got %d \"%s\"", ret, errmsg);
}

static bool addr_is(const struct in6_addr *a, const char *want)
{
	char buf[INET6_ADDRSTRLEN];

	return !strcmp(inet_ntop(AF_INET6, a, buf, sizeof(buf)), want);
}

static void test_durations(void)
{
	static const struct {
		const char *in;
		int ret;
		uint32_t secs;
	} cases[] = {
		{ "90", 0, 90 },
		{ "90s", 0, 90 },
		{ "15m", 0, 900 },
		{ "12h", 0, 43200 },
		{ "30d", 0, 2592000 },
		{ "", -EINVAL, 0 },
		{ "-5", -EINVAL, 0 },
		{ "5x", -EINVAL, 0 },
		{ "5hh", -EINVAL, 0 },
		{ "h", -EINVAL, 0 },
		{ "99999999d", -ERANGE, 0 },
		{ "0", -EINVAL, 0 },
		{ "0s", -EINVAL, 0 },
		{ "00h", -EINVAL, 0 },
		{ " 90", -EINVAL, 0 },
		{ "\t90", -EINVAL, 0 },
		{ "+90", -EINVAL, 0 },
		{ "90 ", -EINVAL, 0 },
		{ "0x10", -EINVAL, 0 },
		{ "99999999999999999999", -ERANGE, 0 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t s = 0;
		int ret = guise_duration_parse(cases[i].in, &s);

		tap_ok(ret == cases[i].ret && (ret || s == cases[i].secs),
		       "duration \"%s\" -> %d %u", cases[i].in, cases[i].ret,
		       cases[i].secs);
	}
}

/* The strict decimal parser every number goes through. */
static void test_uint(void)
{
	static const struct {
		const char *in;
		uint64_t max;
		int ret;
		uint64_t v;
	} cases[] = {
		{ "0", 10, 0, 0 },
		{ "007", 10, 0, 7 },
		{ "18446744073709551615", UINT64_MAX, 0, UINT64_MAX },
		{ "18446744073709551616", UINT64_MAX, -ERANGE, 0 },
		{ "11", 10, -ERANGE, 0 },
		{ "", 10, -EINVAL, 0 },
		{ "+1", 10, -EINVAL, 0 },
		{ "-1", 10, -EINVAL, 0 },
		{ " 1", 10, -EINVAL, 0 },
		{ "1 ", 10, -EINVAL, 0 },
		{ "0x1", 10, -EINVAL, 0 },
		{ "1e6", UINT64_MAX, -EINVAL, 0 },
		{ "99999999999999999999x", UINT64_MAX, -EINVAL, 0 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 12345;
		int ret = guise_uint_parse(cases[i].in, cases[i].max, &v);

		tap_ok(ret == cases[i].ret && v == (ret ? 12345 : cases[i].v),
		       "number \"%s\" -> %d", cases[i].in, cases[i].ret);
	}
}

static void test_add(void)
{
	struct guise_lease l;
	char flags[64];

	tap_ok(!parse_add("2001:db8:1::10 2001:db8:3::20 2001:db8:ff::1", &l) &&
		       addr_is(&l.real, "2001:db8:1::10") &&
		       addr_is(&l.peer, "2001:db8:3::20") &&
		       addr_is(&l.virt, "2001:db8:ff::1") &&
		       l.lifetime == LEASE_ARGS_DEFAULT_LIFETIME &&
		       l.flags ==
			       (GUISE_LEASE_F_EGRESS | GUISE_LEASE_F_INGRESS) &&
		       !guise_lease_has(&l, GUISE_A_LEASE_RATE_PPS),
	       "add with defaults: egress,ingress for 1h, no rate");
	tap_ok(!parse_add(
		       "1::1 2::2 3::3 lifetime 2h flags egress block-smtp rate 100 burst 10",
		       &l) &&
		       l.lifetime == 7200 &&
		       l.flags == (GUISE_LEASE_F_EGRESS |
				   GUISE_LEASE_F_BLOCK_SMTP) &&
		       l.rate_pps == 100 && l.rate_burst == 10,
	       "add with every keyword");
	tap_ok(!strcmp(guise_lease_flags_format(l.flags, flags, sizeof(flags)),
		       "egress,block-smtp"),
	       "flags format back: %s", flags);

	expect_add_error("1::1 2::2", "need REAL PEER VIRT");
	expect_add_error("x 2::2 3::3", "bad real address \"x\"");
	expect_add_error("1::1 2::2 3::3 lifetime", "needs a value");
	expect_add_error("1::1 2::2 3::3 lifetime 0", "bad lifetime");
	expect_add_error("1::1 2::2 3::3 lifetime 400d", "bad lifetime");
	expect_add_error("1::1 2::2 3::3 flags bogus", "bad flags");
	expect_add_error("1::1 2::2 3::3 flags block-smtp", "egress, ingress");
	expect_add_error("1::1 2::2 3::3 burst 5", "\"burst\" needs \"rate\"");
	expect_add_error("1::1 2::2 3::3 rate -1", "bad rate");
	expect_add_error("1::1 2::2 3::3 colour red", "unknown keyword");
	expect_add_error("1::1 2::2 3::3 rate +5", "bad rate");
	expect_add_error("1::1 2::2 3::3 rate 5 burst 0x5", "bad burst");
	expect_add_error("1::1 2::2 3::3 lifetime +5m", "bad lifetime");
}

/* A number with a blank before it, as one argument. */
static void test_blanks(void)
{
	char real[] = "1::1", peer[] = "2::2", virt[] = "3::3", kw[] = "rate",
	     val[] = " 5";
	char *argv[] = { real, peer, virt, kw, val };
	struct guise_lease l;

	errmsg[0] = '\0';
	tap_ok(lease_args_parse_add(5, argv, &l, errmsg, sizeof(errmsg)) ==
			       -EINVAL &&
		       strstr(errmsg, "bad rate"),
	       "rate \" 5\" refused");
}

static void test_name(void)
{
	char *virt[] = { "virt", "2001:db8:ff::1" }, *rp[] = { "1::1", "2::2" };
	char *bad[] = { "virt" };
	struct guise_lease l;

	tap_ok(!lease_args_parse_name(2, virt, &l, false, errmsg,
				      sizeof(errmsg)) &&
		       l.present == 1U << GUISE_A_LEASE_VIRT,
	       "name by virtual address");
	tap_ok(!lease_args_parse_name(2, rp, &l, false, errmsg,
				      sizeof(errmsg)) &&
		       l.present == ((1U << GUISE_A_LEASE_REAL) |
				     (1U << GUISE_A_LEASE_PEER)),
	       "name by (real, peer)");
	tap_ok(lease_args_parse_name(1, bad, &l, false, errmsg,
				     sizeof(errmsg)) == -EINVAL,
	       "half a name refused");
	tap_ok(!lease_args_parse_name(0, NULL, &l, true, errmsg,
				      sizeof(errmsg)) &&
		       !l.present,
	       "no name where optional: all leases");
}

/* Encode a lease, decode it back as if it were a reply. */
static void test_codec(void)
{
	char buf[1024] __attribute__((aligned(4)));
	struct guise_lease in, out;
	struct nlmsghdr *nlh;

	parse_add("1::1 2::2 3::3 lifetime 60 rate 5", &in);
	nlh = mnl_nlmsg_put_header(buf);
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct genlmsghdr));
	tap_ok(!guise_lease_put(nlh, sizeof(buf), &in), "encode");
	tap_ok(!guise_lease_parse(nlh, &out) && addr_is(&out.virt, "3::3") &&
		       out.flags == in.flags && out.lifetime == 60 &&
		       out.rate_pps == 5,
	       "decode what was encoded");
	tap_ok(guise_lease_put(nlh, 40, &in) == -EMSGSIZE,
	       "too small a buffer is -EMSGSIZE");
	nlh = mnl_nlmsg_put_header(buf);
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct genlmsghdr));
	tap_ok(guise_lease_parse(nlh, &out) == -EINVAL,
	       "a reply without a lease nest is malformed");
}

int main(void)
{
	tap_start();
	test_durations();
	test_uint();
	test_add();
	test_blanks();
	test_name();
	test_codec();
	return tap_done();
}
