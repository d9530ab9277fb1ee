// SPDX-License-Identifier: GPL-2.0
/* IPv6 address and prefix parsing and formatting. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "addr.h"
#include "tap.h"

static void good(const char *in, const char *want)
{
	char buf[GUISE_PREFIX_STRLEN];
	struct guise_prefix p;
	const char *why = NULL;
	int err = guise_prefix_parse(in, &p, &why);

	if (err) {
		tap_ok(false, "parse \"%s\"", in);
		tap_diag("error: %s", why);
		return;
	}
	guise_prefix_format(&p, buf, sizeof(buf));
	if (!tap_ok(!strcmp(buf, want), "parse \"%s\" -> %s", in, want))
		tap_diag("got %s", buf);
}

static void bad(const char *in, const char *want_why)
{
	struct guise_prefix p;
	const char *why = "";
	int err = guise_prefix_parse(in, &p, &why);

	if (!tap_ok(err == -EINVAL && !strcmp(why, want_why),
		    "reject \"%s\": %s", in, want_why))
		tap_diag("got %d \"%s\"", err, why);
}

/* guise_addr_format() against inet_ntop(), which wrote every address
 * already in a store: each pattern of zero and non-zero groups (the
 * compression and the IPv4 forms depend on it) with values of every
 * width, 0xffff in group 5, and pseudo-random addresses. */
static void format_like_inet_ntop(void)
{
	static const unsigned int vals[] = { 1,	    0xf,    0x10,   0xff, 0x100,
					     0xfff, 0x1000, 0xffff, 0xabc };
	char want[INET6_ADDRSTRLEN], got[INET6_ADDRSTRLEN];
	unsigned int mask, v, i, k, seed = 1, bad = 0, n = 0;
	struct in6_addr a;

	for (mask = 0; mask < 256; mask++) {
		for (v = 0; v < 2 * sizeof(vals) / sizeof(vals[0]); v++) {
			for (i = 0; i < 8; i++) {
				k = mask >> i & 1 ? vals[(v + i) % 9] : 0;
				if (i == 5 && v >= 9 && k)
					k = 0xffff;
				a.s6_addr[2 * i] = (uint8_t)(k >> 8);
				a.s6_addr[2 * i + 1] = (uint8_t)k;
			}
			inet_ntop(AF_INET6, &a, want, sizeof(want));
			guise_addr_format(&a, got);
			if (strcmp(want, got) && bad++ < 5)
				tap_diag("%s formatted as %s", want, got);
			n++;
		}
	}
	for (i = 0; i < 100000; i++) {
		for (k = 0; k < 16; k++) {
			seed = seed * 1103515245 + 12345;
			/* Zero bytes often, for runs of zero groups. */
			a.s6_addr[k] = seed >> 16 & 3 ? 0 :
							(uint8_t)(seed >> 20);
		}
		inet_ntop(AF_INET6, &a, want, sizeof(want));
		guise_addr_format(&a, got);
		if (strcmp(want, got) && bad++ < 5)
			tap_diag("%s formatted as %s", want, got);
		n++;
	}
	tap_ok(!bad,
	       "guise_addr_format() writes what inet_ntop() does (%u "
	       "addresses)",
	       n);
}

int main(void)
{
	char buf[GUISE_PREFIX_STRLEN];
	struct guise_prefix p;
	struct in6_addr a;
	char longer[300];

	tap_start();

	good("2001:db8::/32", "2001:db8::/32");
	good("2001:db8:ff::/48", "2001:db8:ff::/48");
	good("2001:db8:ff::1234/48", "2001:db8:ff::/48");
	good("2001:db8:ff:ffff::/49", "2001:db8:ff:8000::/49");
	good("fe80:1234::/10", "fe80::/10");
	good("2001:db8::7/127", "2001:db8::6/127");
	good("2001:db8::7/128", "2001:db8::7/128");
	good("::1/128", "::1/128");
	good("ffff:ffff::/0", "::/0");
	good("2001:DB8:0:0:0:0:0:0/64", "2001:db8::/64");
	good("::ffff:192.0.2.1/128", "::ffff:192.0.2.1/128");
	good("2001:db8::/064", "2001:db8::/64");

	bad("2001:db8::", "missing \"/LENGTH\"");
	bad("", "missing \"/LENGTH\"");
	bad("2001:db8::/", "missing length after '/'");
	bad("2001:db8::/129", "length over 128");
	bad("2001:db8::/4294967297", "length over 128");
	bad("2001:db8::/-1", "length is not a number");
	bad("2001:db8::/+32", "length is not a number");
	bad("2001:db8::/ 32", "length is not a number");
	bad("2001:db8::/32x", "length is not a number");
	bad("2001:db8::/32/1", "length is not a number");
	bad("192.0.2.0/24", "not an IPv6 address");
	bad("garbage/8", "not an IPv6 address");
	bad("/64", "not an IPv6 address");
	bad(" 2001:db8::/32", "not an IPv6 address");
	bad("2001:db8:::1/64", "not an IPv6 address");
	memset(longer, '1', sizeof(longer) - 4);
	strcpy(longer + sizeof(longer) - 4, "/64");
	bad(longer, "not an IPv6 address");

	tap_ok(guise_prefix_parse("x", &p, NULL) == -EINVAL, "why may be NULL");
	tap_ok(guise_addr_parse("2001:db8::1", &a) == 0 && a.s6_addr[15] == 1,
	       "plain address");
	tap_ok(guise_addr_parse("2001:db8::1/64", &a) == -EINVAL,
	       "plain address rejects a length");

	format_like_inet_ntop();

	memset(&p, 0xff, sizeof(p.addr));
	p.len = 128;
	guise_prefix_format(&p, buf, sizeof(buf));
	tap_ok(strlen(buf) < GUISE_PREFIX_STRLEN &&
		       !strcmp(buf,
			       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"),
	       "the longest prefix fits GUISE_PREFIX_STRLEN");

	return tap_done();
}
