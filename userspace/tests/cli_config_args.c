// SPDX-License-Identifier: GPL-2.0
/* `guise config set` arguments into struct guise_config: every keyword,
 * every error message. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config_args.h"
#include "tap.h"

#define MAX_ARGS 200

static char errmsg[256];

/* Split @line on spaces into argv (modifies a copy) and parse it. */
static int parse(const char *line, struct guise_config *cfg)
{
	static char copy[4096];
	char *argv[MAX_ARGS];
	int argc = 0;
	char *tok;

	snprintf(copy, sizeof(copy), "%s", line);
	for (tok = strtok(copy, " "); tok && argc < MAX_ARGS;
	     tok = strtok(NULL, " "))
		argv[argc++] = tok;
	errmsg[0] = '\0';
	return config_args_parse(argc, argv, cfg, errmsg, sizeof(errmsg));
}

static bool prefix_is(const struct guise_prefix *p, const char *want)
{
	char buf[GUISE_PREFIX_STRLEN];

	return !strcmp(guise_prefix_format(p, buf, sizeof(buf)), want);
}

static void expect_error(const char *line, const char *want)
{
	struct guise_config cfg;
	int err = parse(line, &cfg);

	if (!tap_ok(err == -EINVAL && !strcmp(errmsg, want), "\"%s\": %s", line,
		    want))
		tap_diag("got %d \"%s\"", err, errmsg);
}

static void test_enabled(void)
{
	static const char *const on[] = { "on", "yes", "1" };
	static const char *const off[] = { "off", "no", "0" };
	struct guise_config cfg;
	char line[32];
	unsigned int i;

	for (i = 0; i < 3; i++) {
		snprintf(line, sizeof(line), "enabled %s", on[i]);
		tap_ok(!parse(line, &cfg) && cfg.enabled &&
			       cfg.present == 1U << GUISE_A_CONFIG_ENABLED,
		       "%s", line);
		snprintf(line, sizeof(line), "enabled %s", off[i]);
		tap_ok(!parse(line, &cfg) && !cfg.enabled &&
			       cfg.present == 1U << GUISE_A_CONFIG_ENABLED,
		       "%s", line);
	}
}

static void test_lists(void)
{
	struct guise_config cfg;

	tap_ok(!parse("vprefix 2001:db8:ff::/48 vprefix fd00:ff::1/64", &cfg) &&
		       cfg.present == 1U << GUISE_A_CONFIG_VPREFIXES &&
		       cfg.n_vprefixes == 2 &&
		       prefix_is(&cfg.vprefixes[0], "2001:db8:ff::/48") &&
		       prefix_is(&cfg.vprefixes[1], "fd00:ff::/64"),
	       "two vprefixes, in order, host bits cleared");
	tap_ok(!parse("novprefixes", &cfg) &&
		       cfg.present == 1U << GUISE_A_CONFIG_VPREFIXES &&
		       cfg.n_vprefixes == 0,
	       "novprefixes: an empty list");
	tap_ok(!parse("miss 2001:db8:1::/64 upcall miss 2001:db8::/32 drop "
		      "miss ::/0 pass",
		      &cfg) &&
		       cfg.present == 1U << GUISE_A_CONFIG_MISS_RULES &&
		       cfg.n_miss_rules == 3 &&
		       prefix_is(&cfg.miss_rules[0].prefix,
				 "2001:db8:1::/64") &&
		       cfg.miss_rules[0].policy == GUISE_MISS_UPCALL &&
		       cfg.miss_rules[1].policy == GUISE_MISS_DROP &&
		       prefix_is(&cfg.miss_rules[2].prefix, "::/0") &&
		       cfg.miss_rules[2].policy == GUISE_MISS_PASS,
	       "three miss rules, every policy, ::/0 allowed");
	tap_ok(!parse("nomiss", &cfg) &&
		       cfg.present == 1U << GUISE_A_CONFIG_MISS_RULES &&
		       cfg.n_miss_rules == 0,
	       "nomiss: an empty list");
	tap_ok(!parse("novprefixes nomiss", &cfg) &&
		       cfg.present == ((1U << GUISE_A_CONFIG_VPREFIXES) |
				       (1U << GUISE_A_CONFIG_MISS_RULES)),
	       "novprefixes nomiss together");
}

static void test_numbers(void)
{
	struct guise_config cfg;

	tap_ok(!parse("max-leases 1000", &cfg) && cfg.max_leases == 1000 &&
		       cfg.present == 1U << GUISE_A_CONFIG_MAX_LEASES,
	       "max-leases");
	tap_ok(!parse("max-leases 16777216", &cfg) &&
		       cfg.max_leases == GUISE_MAX_MAX_LEASES,
	       "max-leases at GUISE_MAX_MAX_LEASES");
	tap_ok(!parse("upcall-qlen 16", &cfg) && cfg.upcall_qlen == 16 &&
		       cfg.present == 1U << GUISE_A_CONFIG_UPCALL_QLEN,
	       "upcall-qlen");
	tap_ok(!parse("upcall-qlen 256", &cfg) && cfg.upcall_qlen == 256,
	       "upcall-qlen at its maximum");
	tap_ok(!parse("upcall-timeout 500", &cfg) &&
		       cfg.upcall_timeout_ms == 500 &&
		       cfg.present == 1U << GUISE_A_CONFIG_UPCALL_TIMEOUT_MS,
	       "upcall-timeout");
	tap_ok(!parse("upcall-timeout 10000", &cfg) &&
		       cfg.upcall_timeout_ms == 10000,
	       "upcall-timeout at its maximum");
}

static void test_routing_header(void)
{
	struct guise_config cfg;

	tap_ok(!parse("routing-header drop", &cfg) &&
		       cfg.rthdr_policy == GUISE_RTHDR_DROP &&
		       cfg.present == 1U << GUISE_A_CONFIG_ROUTING_HEADER,
	       "routing-header drop");
	tap_ok(!parse("routing-header pass", &cfg) &&
		       cfg.rthdr_policy == GUISE_RTHDR_PASS &&
		       cfg.present == 1U << GUISE_A_CONFIG_ROUTING_HEADER,
	       "routing-header pass");
}

static void test_everything(void)
{
	struct guise_config cfg;

	tap_ok(!parse("upcall-timeout 500 enabled on vprefix 2001:db8:ff::/48 "
		      "miss 2001:db8:1::/64 upcall vprefix fd00:ff::/64 "
		      "max-leases 1000 upcall-qlen 16 miss 2001:db8::/32 drop "
		      "routing-header drop",
		      &cfg) &&
		       cfg.present ==
			       ((1U << GUISE_A_CONFIG_ENABLED) |
				(1U << GUISE_A_CONFIG_VPREFIXES) |
				(1U << GUISE_A_CONFIG_MISS_RULES) |
				(1U << GUISE_A_CONFIG_MAX_LEASES) |
				(1U << GUISE_A_CONFIG_UPCALL_QLEN) |
				(1U << GUISE_A_CONFIG_UPCALL_TIMEOUT_MS) |
				(1U << GUISE_A_CONFIG_ROUTING_HEADER)) &&
		       cfg.enabled && cfg.n_vprefixes == 2 &&
		       cfg.n_miss_rules == 2 && cfg.max_leases == 1000 &&
		       cfg.upcall_qlen == 16 && cfg.upcall_timeout_ms == 500 &&
		       cfg.rthdr_policy == GUISE_RTHDR_DROP,
	       "every keyword, interleaved");
}

static void test_limits(void)
{
	char line[4096];
	size_t n = 0;
	unsigned int i;
	struct guise_config cfg;

	for (i = 0; i < GUISE_MAX_VPREFIXES; i++)
		n += snprintf(line + n, sizeof(line) - n,
			      "vprefix 2001:db8:%x::/48 ", i);
	tap_ok(!parse(line, &cfg) && cfg.n_vprefixes == GUISE_MAX_VPREFIXES,
	       "64 vprefixes");
	snprintf(line + n, sizeof(line) - n, "vprefix 2001:db8:ffff::/48");
	expect_error(line, "more than 64 vprefixes");

	n = 0;
	for (i = 0; i <= GUISE_MAX_MISS_RULES; i++)
		n += snprintf(line + n, sizeof(line) - n,
			      "miss 2001:db8:%x::/48 drop ", i);
	expect_error(line, "more than 64 miss rules");
}

/* Arguments (split on spaces) and the one message each must give. */
static const struct {
	const char *args;
	const char *msg;
} errors[] = {
	{ "frobnicate 1", "unknown keyword \"frobnicate\"" },
	{ "enabled on Enabled off", "unknown keyword \"Enabled\"" },
	{ "enabled", "missing value for \"enabled\" (expected on|off)" },
	{ "vprefix", "missing value for \"vprefix\" (expected PREFIX)" },
	{ "miss",
	  "missing value for \"miss\" (expected PREFIX pass|drop|upcall)" },
	{ "miss 2001:db8::/32",
	  "missing value for \"miss\" (expected PREFIX pass|drop|upcall)" },
	{ "max-leases", "missing value for \"max-leases\" (expected N)" },
	{ "upcall-qlen", "missing value for \"upcall-qlen\" (expected N)" },
	{ "upcall-timeout",
	  "missing value for \"upcall-timeout\" (expected MS)" },
	{ "routing-header",
	  "missing value for \"routing-header\" (expected pass|drop)" },
	{ "routing-header upcall",
	  "bad value \"upcall\" for \"routing-header\" (expected pass or drop)" },
	{ "routing-header DROP",
	  "bad value \"DROP\" for \"routing-header\" (expected pass or drop)" },
	{ "routing-header pass routing-header drop",
	  "\"routing-header\" given twice" },
	{ "enabled maybe",
	  "bad value \"maybe\" for \"enabled\" (expected on or off)" },
	{ "enabled ON",
	  "bad value \"ON\" for \"enabled\" (expected on or off)" },
	{ "vprefix 2001:db8::",
	  "bad prefix \"2001:db8::\": missing \"/LENGTH\"" },
	{ "vprefix 2001:db8::/129",
	  "bad prefix \"2001:db8::/129\": length over 128" },
	{ "vprefix x/48", "bad prefix \"x/48\": not an IPv6 address" },
	{ "vprefix ::/0", "bad prefix \"::/0\": length must be 1..128" },
	{ "miss 10.0.0.0/8 drop",
	  "bad prefix \"10.0.0.0/8\": not an IPv6 address" },
	{ "miss 2001:db8::/32 reject",
	  "bad policy \"reject\" (expected pass, drop or upcall)" },
	{ "max-leases abc", "bad number \"abc\" for \"max-leases\"" },
	{ "max-leases -1", "bad number \"-1\" for \"max-leases\"" },
	{ "max-leases +5", "bad number \"+5\" for \"max-leases\"" },
	{ "max-leases 0x10", "bad number \"0x10\" for \"max-leases\"" },
	{ "max-leases 0", "max-leases 0 out of range (1..16777216)" },
	{ "max-leases 16777217",
	  "max-leases 16777217 out of range (1..16777216)" },
	{ "max-leases 99999999999999999999999",
	  "max-leases 99999999999999999999999 out of range (1..16777216)" },
	{ "upcall-qlen 257", "upcall-qlen 257 out of range (1..256)" },
	{ "upcall-qlen 100000", "upcall-qlen 100000 out of range (1..256)" },
	{ "upcall-qlen 0", "upcall-qlen 0 out of range (1..256)" },
	{ "upcall-timeout 0", "upcall-timeout 0 out of range (1..10000)" },
	{ "upcall-timeout 10001",
	  "upcall-timeout 10001 out of range (1..10000)" },
	{ "enabled on enabled off", "\"enabled\" given twice" },
	{ "max-leases 1 max-leases 2", "\"max-leases\" given twice" },
	{ "upcall-qlen 1 upcall-qlen 2", "\"upcall-qlen\" given twice" },
	{ "upcall-timeout 1 upcall-timeout 2",
	  "\"upcall-timeout\" given twice" },
	{ "novprefixes novprefixes", "\"novprefixes\" given twice" },
	{ "nomiss nomiss", "\"nomiss\" given twice" },
	{ "vprefix 2001:db8::/32 novprefixes",
	  "\"vprefix\" and \"novprefixes\" conflict" },
	{ "novprefixes vprefix 2001:db8::/32",
	  "\"vprefix\" and \"novprefixes\" conflict" },
	{ "nomiss miss 2001:db8::/32 drop",
	  "\"miss\" and \"nomiss\" conflict" },
};

static void test_errors(void)
{
	char *empty_number[] = { "max-leases", "" };
	struct guise_config cfg;
	unsigned int i;

	tap_ok(config_args_parse(0, NULL, &cfg, errmsg, sizeof(errmsg)) ==
			       -EINVAL &&
		       !strcmp(errmsg, "nothing to set"),
	       "no arguments: nothing to set");
	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		expect_error(errors[i].args, errors[i].msg);
	/* The empty string is a value, not a missing one. */
	tap_ok(config_args_parse(2, empty_number, &cfg, errmsg,
				 sizeof(errmsg)) == -EINVAL &&
		       !strcmp(errmsg, "bad number \"\" for \"max-leases\""),
	       "an empty number");
}

int main(void)
{
	tap_start();
	test_enabled();
	test_lists();
	test_numbers();
	test_routing_header();
	test_everything();
	test_limits();
	test_errors();
	return tap_done();
}
