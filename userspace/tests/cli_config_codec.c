// SPDX-License-Identifier: GPL-2.0
/* CONFIG_SET encoding (attribute layout, nest flags) and reply decoding
 * (round trip, malformed input). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config_args.h"
#include "msg.h"
#include "tap.h"

/* `config set` arguments, split on spaces, parsed into a struct. */
static struct guise_config parsed(const char *line)
{
	char copy[512], err[256];
	char *argv[32], *tok;
	struct guise_config cfg;
	int argc = 0;

	snprintf(copy, sizeof(copy), "%s", line);
	for (tok = strtok(copy, " "); tok && argc < 32; tok = strtok(NULL, " "))
		argv[argc++] = tok;
	if (config_args_parse(argc, argv, &cfg, err, sizeof(err)))
		tap_diag("unexpected parse error: %s", err);
	return cfg;
}

static bool is_nested(const struct nlattr *a)
{
	return a->nla_type & NLA_F_NESTED;
}

static bool config_equal(const struct guise_config *a,
			 const struct guise_config *b)
{
	unsigned int i;

	if (a->present != b->present || a->enabled != b->enabled ||
	    a->n_vprefixes != b->n_vprefixes ||
	    a->n_miss_rules != b->n_miss_rules ||
	    a->max_leases != b->max_leases ||
	    a->upcall_qlen != b->upcall_qlen ||
	    a->upcall_timeout_ms != b->upcall_timeout_ms ||
	    a->rthdr_policy != b->rthdr_policy)
		return false;
	for (i = 0; i < a->n_vprefixes; i++)
		if (memcmp(&a->vprefixes[i].addr, &b->vprefixes[i].addr, 16) ||
		    a->vprefixes[i].len != b->vprefixes[i].len)
			return false;
	for (i = 0; i < a->n_miss_rules; i++)
		if (memcmp(&a->miss_rules[i].prefix.addr,
			   &b->miss_rules[i].prefix.addr, 16) ||
		    a->miss_rules[i].prefix.len !=
			    b->miss_rules[i].prefix.len ||
		    a->miss_rules[i].policy != b->miss_rules[i].policy)
			return false;
	return true;
}

/* Check one prefix-list nest: entries 1..n, nested, ADDR/LEN(/POLICY). */
static bool list_layout_ok(const struct nlattr *list, unsigned int n,
			   bool policy)
{
	const struct nlattr *e, *a;
	unsigned int index = 0;

	if (!is_nested(list))
		return false;
	mnl_attr_for_each_nested(e, list) {
		unsigned int want = policy ? 3 : 2, seen = 0;

		if (mnl_attr_get_type(e) != ++index || !is_nested(e))
			return false;
		mnl_attr_for_each_nested(a, e) {
			switch (mnl_attr_get_type(a)) {
			case GUISE_A_PREFIX_ADDR:
				seen += mnl_attr_get_payload_len(a) == 16;
				break;
			case GUISE_A_PREFIX_LEN:
			case GUISE_A_PREFIX_MISS_POLICY:
				seen += mnl_attr_get_payload_len(a) == 1;
				break;
			default:
				return false;
			}
		}
		if (seen != want)
			return false;
	}
	return index == n;
}

static void test_layout(void)
{
	struct guise_config cfg = parsed(
		"enabled on vprefix 2001:db8:ff::/48 vprefix fd00:ff::/64 "
		"miss 2001:db8:1::/64 upcall max-leases 1000 upcall-qlen 16 "
		"upcall-timeout 500 routing-header drop");
	struct guise_config back;
	struct test_buf buf;
	struct nlmsghdr *nlh = msg_reply(&buf, GUISE_CMD_CONFIG_SET);
	const struct nlattr *top, *a;
	unsigned int n_top = 0, order = 0;
	bool ok = true;

	tap_ok(guise_config_put(nlh, sizeof(buf.b), &cfg) == 0,
	       "encode every keyword");
	mnl_attr_for_each(top, nlh, sizeof(struct genlmsghdr)) {
		n_top++;
		ok &= mnl_attr_get_type(top) == GUISE_A_CONFIG &&
		      is_nested(top);
	}
	tap_ok(ok && n_top == 1, "one GUISE_A_CONFIG nest, NLA_F_NESTED set");

	top = (const struct nlattr *)((const char *)mnl_nlmsg_get_payload(nlh) +
				      MNL_ALIGN(sizeof(struct genlmsghdr)));
	mnl_attr_for_each_nested(a, top) {
		unsigned int type = mnl_attr_get_type(a);

		ok &= type > order; /* each at most once */
		order = type;
		switch (type) {
		case GUISE_A_CONFIG_ENABLED:
			ok &= mnl_attr_get_payload_len(a) == 1 &&
			      mnl_attr_get_u8(a) == 1;
			break;
		case GUISE_A_CONFIG_VPREFIXES:
			tap_ok(list_layout_ok(a, 2, false),
			       "vprefixes: indexed array 1..2 of nests");
			break;
		case GUISE_A_CONFIG_MISS_RULES:
			tap_ok(list_layout_ok(a, 1, true),
			       "miss rules: nests with a policy");
			break;
		case GUISE_A_CONFIG_MAX_LEASES:
		case GUISE_A_CONFIG_UPCALL_QLEN:
		case GUISE_A_CONFIG_UPCALL_TIMEOUT_MS:
			ok &= mnl_attr_get_payload_len(a) == 4;
			break;
		case GUISE_A_CONFIG_ROUTING_HEADER:
			ok &= mnl_attr_get_payload_len(a) == 1 &&
			      mnl_attr_get_u8(a) == GUISE_RTHDR_DROP;
			break;
		default:
			ok = false;
		}
	}
	tap_ok(ok && order == GUISE_A_CONFIG_ROUTING_HEADER,
	       "scalars: u8 enabled, u32 numbers, u8 routing header, nothing else");
	tap_ok(guise_config_parse(nlh, &back) == 0 && config_equal(&cfg, &back),
	       "decoding the request gives the parsed struct back");
}

static void test_subset(void)
{
	struct guise_config cfg = parsed("novprefixes upcall-qlen 1"), back;
	struct test_buf buf;
	struct nlmsghdr *nlh = msg_reply(&buf, GUISE_CMD_CONFIG_SET);
	const struct nlattr *top, *a;
	unsigned int n = 0;
	bool empty_list = false;

	/* Read-only fields are never sent, even when marked. */
	guise_config_mark(&cfg, GUISE_A_CONFIG_LEASE_COUNT);
	guise_config_mark(&cfg, GUISE_A_CONFIG_KEY_COUNT);
	guise_config_put(nlh, sizeof(buf.b), &cfg);
	top = (const struct nlattr *)((const char *)mnl_nlmsg_get_payload(nlh) +
				      MNL_ALIGN(sizeof(struct genlmsghdr)));
	mnl_attr_for_each_nested(a, top) {
		n++;
		if (mnl_attr_get_type(a) == GUISE_A_CONFIG_VPREFIXES)
			empty_list = is_nested(a) &&
				     mnl_attr_get_payload_len(a) == 0;
	}
	tap_ok(n == 2 && empty_list,
	       "only what was given; novprefixes is an empty nest");
	tap_ok(guise_config_parse(nlh, &back) == 0 &&
		       back.present == ((1U << GUISE_A_CONFIG_VPREFIXES) |
					(1U << GUISE_A_CONFIG_UPCALL_QLEN)) &&
		       back.n_vprefixes == 0 && back.upcall_qlen == 1,
	       "an empty list decodes as present and empty");
}

static void test_sizes(void)
{
	struct guise_config cfg;
	struct test_buf buf;
	struct nlmsghdr *nlh;
	unsigned int i;
	int err;

	memset(&cfg, 0, sizeof(cfg));
	cfg.present = ~0U;
	cfg.n_vprefixes = GUISE_MAX_VPREFIXES;
	cfg.n_miss_rules = GUISE_MAX_MISS_RULES;
	for (i = 0; i < GUISE_MAX_VPREFIXES; i++)
		cfg.vprefixes[i].len = 64;
	nlh = msg_reply(&buf, GUISE_CMD_CONFIG_SET);
	err = guise_config_put(nlh, sizeof(buf.b), &cfg);
	tap_ok(err == 0,
	       "the largest request fits GUISE_NL_MSG_SIZE (%u bytes)",
	       nlh->nlmsg_len);
	nlh = msg_reply(&buf, GUISE_CMD_CONFIG_SET);
	tap_ok(guise_config_put(nlh, 256, &cfg) == -EMSGSIZE,
	       "a short buffer gives -EMSGSIZE");
}

/* A reply whose GUISE_A_CONFIG holds one vprefix entry built by @fill. */
static int decode_prefix(void (*fill)(struct nlmsghdr *nlh))
{
	struct test_buf buf;
	struct nlmsghdr *nlh = msg_reply(&buf, GUISE_CMD_CONFIG_GET);
	struct nlattr *cfg, *list, *entry;
	struct guise_config out;

	cfg = mnl_attr_nest_start(nlh, GUISE_A_CONFIG);
	list = mnl_attr_nest_start(nlh, GUISE_A_CONFIG_MISS_RULES);
	entry = mnl_attr_nest_start(nlh, 1);
	fill(nlh);
	mnl_attr_nest_end(nlh, entry);
	mnl_attr_nest_end(nlh, list);
	mnl_attr_nest_end(nlh, cfg);
	return guise_config_parse(nlh, &out);
}

static const uint8_t addr16[16] = { 0x20, 0x01, 0x0d, 0xb8 };

static void fill_ok(struct nlmsghdr *nlh)
{
	mnl_attr_put(nlh, GUISE_A_PREFIX_ADDR, 16, addr16);
	mnl_attr_put_u8(nlh, GUISE_A_PREFIX_LEN, 32);
	mnl_attr_put_u8(nlh, GUISE_A_PREFIX_MISS_POLICY, GUISE_MISS_DROP);
}

static void fill_addr15(struct nlmsghdr *nlh)
{
	mnl_attr_put(nlh, GUISE_A_PREFIX_ADDR, 15, addr16);
	mnl_attr_put_u8(nlh, GUISE_A_PREFIX_LEN, 32);
	mnl_attr_put_u8(nlh, GUISE_A_PREFIX_MISS_POLICY, GUISE_MISS_DROP);
}

static void fill_len129(struct nlmsghdr *nlh)
{
	mnl_attr_put(nlh, GUISE_A_PREFIX_ADDR, 16, addr16);
	mnl_attr_put_u8(nlh, GUISE_A_PREFIX_LEN, 129);
	mnl_attr_put_u8(nlh, GUISE_A_PREFIX_MISS_POLICY, GUISE_MISS_DROP);
}

static void fill_no_len(struct nlmsghdr *nlh)
{
	mnl_attr_put(nlh, GUISE_A_PREFIX_ADDR, 16, addr16);
	mnl_attr_put_u8(nlh, GUISE_A_PREFIX_MISS_POLICY, GUISE_MISS_DROP);
}

static void fill_no_policy(struct nlmsghdr *nlh)
{
	mnl_attr_put(nlh, GUISE_A_PREFIX_ADDR, 16, addr16);
	mnl_attr_put_u8(nlh, GUISE_A_PREFIX_LEN, 32);
}

static void fill_len_u32(struct nlmsghdr *nlh)
{
	mnl_attr_put(nlh, GUISE_A_PREFIX_ADDR, 16, addr16);
	mnl_attr_put_u32(nlh, GUISE_A_PREFIX_LEN, 32);
	mnl_attr_put_u8(nlh, GUISE_A_PREFIX_MISS_POLICY, GUISE_MISS_DROP);
}

static void test_malformed(void)
{
	struct test_buf buf;
	struct nlmsghdr *nlh;
	struct nlattr *cfg, *list;
	struct guise_config out;
	unsigned int i;

	tap_ok(decode_prefix(fill_ok) == 0, "well-formed miss rule decodes");
	tap_ok(decode_prefix(fill_addr15) == -EINVAL, "15-byte address");
	tap_ok(decode_prefix(fill_len129) == -EINVAL, "prefix length 129");
	tap_ok(decode_prefix(fill_no_len) == -EINVAL, "prefix without length");
	tap_ok(decode_prefix(fill_no_policy) == -EINVAL,
	       "miss rule without policy");
	tap_ok(decode_prefix(fill_len_u32) == -EINVAL, "length as a u32");

	nlh = mnl_nlmsg_put_header(buf.b);
	tap_ok(guise_config_parse(nlh, &out) == -EINVAL,
	       "no room for the genl header");

	nlh = msg_reply(&buf, GUISE_CMD_CONFIG_GET);
	cfg = mnl_attr_nest_start(nlh, GUISE_A_CONFIG);
	mnl_attr_put_u16(nlh, GUISE_A_CONFIG_MAX_LEASES, 5);
	mnl_attr_nest_end(nlh, cfg);
	tap_ok(guise_config_parse(nlh, &out) == -EINVAL, "u32 sent as u16");

	nlh = msg_reply(&buf, GUISE_CMD_CONFIG_GET);
	cfg = mnl_attr_nest_start(nlh, GUISE_A_CONFIG);
	mnl_attr_put_u32(nlh, GUISE_A_CONFIG_ENABLED, 1);
	mnl_attr_nest_end(nlh, cfg);
	tap_ok(guise_config_parse(nlh, &out) == -EINVAL, "u8 sent as u32");

	nlh = msg_reply(&buf, GUISE_CMD_CONFIG_GET);
	cfg = mnl_attr_nest_start(nlh, GUISE_A_CONFIG);
	mnl_attr_put_u32(nlh, GUISE_A_CONFIG_ROUTING_HEADER, GUISE_RTHDR_DROP);
	mnl_attr_nest_end(nlh, cfg);
	tap_ok(guise_config_parse(nlh, &out) == -EINVAL,
	       "routing header policy sent as u32");

	nlh = msg_reply(&buf, GUISE_CMD_CONFIG_GET);
	cfg = mnl_attr_nest_start(nlh, GUISE_A_CONFIG);
	list = mnl_attr_nest_start(nlh, GUISE_A_CONFIG_VPREFIXES);
	for (i = 0; i <= GUISE_MAX_VPREFIXES; i++)
		msg_prefix(nlh, i + 1, "2001:db8::/32", -1);
	mnl_attr_nest_end(nlh, list);
	mnl_attr_nest_end(nlh, cfg);
	tap_ok(guise_config_parse(nlh, &out) == -E2BIG, "65 vprefixes");
}

static void test_policy_names(void)
{
	tap_ok(!strcmp(guise_miss_policy_name(GUISE_MISS_PASS), "pass") &&
		       !strcmp(guise_miss_policy_name(GUISE_MISS_DROP),
			       "drop") &&
		       !strcmp(guise_miss_policy_name(GUISE_MISS_UPCALL),
			       "upcall") &&
		       !guise_miss_policy_name(__GUISE_MISS_MAX),
	       "miss policy names");
	tap_ok(guise_miss_policy_parse("upcall") == GUISE_MISS_UPCALL &&
		       guise_miss_policy_parse("Upcall") == -EINVAL &&
		       guise_miss_policy_parse("") == -EINVAL,
	       "miss policy parsing");
	tap_ok(!strcmp(guise_rthdr_policy_name(GUISE_RTHDR_PASS), "pass") &&
		       !strcmp(guise_rthdr_policy_name(GUISE_RTHDR_DROP),
			       "drop") &&
		       !guise_rthdr_policy_name(__GUISE_RTHDR_MAX),
	       "routing header policy names");
	tap_ok(guise_rthdr_policy_parse("drop") == GUISE_RTHDR_DROP &&
		       guise_rthdr_policy_parse("pass") == GUISE_RTHDR_PASS &&
		       guise_rthdr_policy_parse("upcall") == -EINVAL &&
		       guise_rthdr_policy_parse("") == -EINVAL,
	       "routing header policy parsing");
}

int main(void)
{
	tap_start();
	test_layout();
	test_subset();
	test_sizes();
	test_malformed();
	test_policy_names();
	return tap_done();
}
