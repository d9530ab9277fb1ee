// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>

#include "config.h"

static const char *const miss_policy_names[] = {
	[GUISE_MISS_PASS] = "pass",
	[GUISE_MISS_DROP] = "drop",
	[GUISE_MISS_UPCALL] = "upcall",
};

_Static_assert(sizeof(miss_policy_names) / sizeof(miss_policy_names[0]) ==
		       __GUISE_MISS_MAX,
	       "a name for every miss policy");

const char *guise_miss_policy_name(unsigned int policy)
{
	return policy < __GUISE_MISS_MAX ? miss_policy_names[policy] : NULL;
}

int guise_miss_policy_parse(const char *name)
{
	int i;

	for (i = 0; i < __GUISE_MISS_MAX; i++)
		if (!strcmp(name, miss_policy_names[i]))
			return i;
	return -EINVAL;
}

static const char *const rthdr_policy_names[] = {
	[GUISE_RTHDR_PASS] = "pass",
	[GUISE_RTHDR_DROP] = "drop",
};

_Static_assert(sizeof(rthdr_policy_names) / sizeof(rthdr_policy_names[0]) ==
		       __GUISE_RTHDR_MAX,
	       "a name for every routing-header policy");

const char *guise_rthdr_policy_name(unsigned int policy)
{
	return policy < __GUISE_RTHDR_MAX ? rthdr_policy_names[policy] : NULL;
}

int guise_rthdr_policy_parse(const char *name)
{
	int i;

	for (i = 0; i < __GUISE_RTHDR_MAX; i++)
		if (!strcmp(name, rthdr_policy_names[i]))
			return i;
	return -EINVAL;
}

/* --- encoding ----------------------------------------------------------- */

static bool put_prefix(struct nlmsghdr *nlh, size_t buflen, uint16_t index,
		       const struct guise_prefix *p, int policy)
{
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, buflen, index);

	if (!nest ||
	    !mnl_attr_put_check(nlh, buflen, GUISE_A_PREFIX_ADDR,
				sizeof(p->addr), &p->addr) ||
	    !mnl_attr_put_u8_check(nlh, buflen, GUISE_A_PREFIX_LEN, p->len) ||
	    (policy >= 0 &&
	     !mnl_attr_put_u8_check(nlh, buflen, GUISE_A_PREFIX_MISS_POLICY,
				    policy)))
		return false;
	mnl_attr_nest_end(nlh, nest);
	return true;
}

static bool put_vprefixes(struct nlmsghdr *nlh, size_t buflen,
			  const struct guise_config *cfg)
{
	struct nlattr *nest;
	unsigned int i;

	nest = mnl_attr_nest_start_check(nlh, buflen, GUISE_A_CONFIG_VPREFIXES);
	if (!nest)
		return false;
	/* Indexed array: entry types count from 1, the kernel ignores them. */
	for (i = 0; i < cfg->n_vprefixes; i++)
		if (!put_prefix(nlh, buflen, i + 1, &cfg->vprefixes[i], -1))
			return false;
	mnl_attr_nest_end(nlh, nest);
	return true;
}

static bool put_miss_rules(struct nlmsghdr *nlh, size_t buflen,
			   const struct guise_config *cfg)
{
	struct nlattr *nest;
	unsigned int i;

	nest = mnl_attr_nest_start_check(nlh, buflen,
					 GUISE_A_CONFIG_MISS_RULES);
	if (!nest)
		return false;
	for (i = 0; i < cfg->n_miss_rules; i++) {
		const struct guise_miss_rule *r = &cfg->miss_rules[i];

		if (!put_prefix(nlh, buflen, i + 1, &r->prefix, r->policy))
			return false;
	}
	mnl_attr_nest_end(nlh, nest);
	return true;
}

static bool put_u32_if(struct nlmsghdr *nlh, size_t buflen,
		       const struct guise_config *cfg, uint16_t type,
		       uint32_t value)
{
	return !guise_config_has(cfg, type) ||
	       mnl_attr_put_u32_check(nlh, buflen, type, value);
}

int guise_config_put(struct nlmsghdr *nlh, size_t buflen,
		     const struct guise_config *cfg)
{
	struct nlattr *nest;

	nest = mnl_attr_nest_start_check(nlh, buflen, GUISE_A_CONFIG);
	if (!nest)
		return -EMSGSIZE;
	if (guise_config_has(cfg, GUISE_A_CONFIG_ENABLED) &&
	    !mnl_attr_put_u8_check(nlh, buflen, GUISE_A_CONFIG_ENABLED,
				   cfg->enabled))
		return -EMSGSIZE;
	if (guise_config_has(cfg, GUISE_A_CONFIG_VPREFIXES) &&
	    !put_vprefixes(nlh, buflen, cfg))
		return -EMSGSIZE;
	if (guise_config_has(cfg, GUISE_A_CONFIG_MISS_RULES) &&
	    !put_miss_rules(nlh, buflen, cfg))
		return -EMSGSIZE;
	if (!put_u32_if(nlh, buflen, cfg, GUISE_A_CONFIG_MAX_LEASES,
			cfg->max_leases) ||
	    !put_u32_if(nlh, buflen, cfg, GUISE_A_CONFIG_UPCALL_QLEN,
			cfg->upcall_qlen) ||
	    !put_u32_if(nlh, buflen, cfg, GUISE_A_CONFIG_UPCALL_TIMEOUT_MS,
			cfg->upcall_timeout_ms))
		return -EMSGSIZE;
	if (guise_config_has(cfg, GUISE_A_CONFIG_ROUTING_HEADER) &&
	    !mnl_attr_put_u8_check(nlh, buflen, GUISE_A_CONFIG_ROUTING_HEADER,
				   cfg->rthdr_policy))
		return -EMSGSIZE;
	mnl_attr_nest_end(nlh, nest);
	return 0;
}

/* --- decoding ----------------------------------------------------------- */

/* Collect the attributes of a nest by type, the last of a type winning. */
static void attr_table(const struct nlattr *nest, const struct nlattr **tb,
		       unsigned int max)
{
	const struct nlattr *a;

	memset(tb, 0, (max + 1) * sizeof(*tb));
	mnl_attr_for_each_nested(a, nest) {
		if (mnl_attr_get_type(a) <= max)
			tb[mnl_attr_get_type(a)] = a;
	}
}

static bool attr_len_is(const struct nlattr *a, size_t len)
{
	return mnl_attr_get_payload_len(a) == len;
}

static int parse_prefix(const struct nlattr *nest, struct guise_prefix *p,
			uint8_t *policy)
{
	const struct nlattr *tb[GUISE_A_PREFIX_MAX + 1];
	const struct nlattr *addr, *len, *pol;

	attr_table(nest, tb, GUISE_A_PREFIX_MAX);
	addr = tb[GUISE_A_PREFIX_ADDR];
	len = tb[GUISE_A_PREFIX_LEN];
	pol = tb[GUISE_A_PREFIX_MISS_POLICY];
	if (!addr || !attr_len_is(addr, sizeof(p->addr)) || !len ||
	    !attr_len_is(len, 1) || mnl_attr_get_u8(len) > 128)
		return -EINVAL;
	memcpy(&p->addr, mnl_attr_get_payload(addr), sizeof(p->addr));
	p->len = mnl_attr_get_u8(len);
	if (policy) {
		if (!pol || !attr_len_is(pol, 1))
			return -EINVAL;
		*policy = mnl_attr_get_u8(pol);
	}
	return 0;
}

static int parse_vprefixes(const struct nlattr *nest, struct guise_config *cfg)
{
	const struct nlattr *a;
	int err;

	cfg->n_vprefixes = 0;
	mnl_attr_for_each_nested(a, nest) {
		if (cfg->n_vprefixes == GUISE_MAX_VPREFIXES)
			return -E2BIG;
		err = parse_prefix(a, &cfg->vprefixes[cfg->n_vprefixes], NULL);
		if (err)
			return err;
		cfg->n_vprefixes++;
	}
	return 0;
}

static int parse_miss_rules(const struct nlattr *nest, struct guise_config *cfg)
{
	const struct nlattr *a;
	int err;

	cfg->n_miss_rules = 0;
	mnl_attr_for_each_nested(a, nest) {
		struct guise_miss_rule *r;

		if (cfg->n_miss_rules == GUISE_MAX_MISS_RULES)
			return -E2BIG;
		r = &cfg->miss_rules[cfg->n_miss_rules];
		err = parse_prefix(a, &r->prefix, &r->policy);
		if (err)
			return err;
		cfg->n_miss_rules++;
	}
	return 0;
}

static int parse_u32(const struct nlattr *a, uint32_t *value)
{
	if (!attr_len_is(a, sizeof(uint32_t)))
		return -EINVAL;
	*value = mnl_attr_get_u32(a);
	return 0;
}

static int parse_config_attr(const struct nlattr *a, struct guise_config *cfg)
{
	unsigned int type = mnl_attr_get_type(a);
	int err;

	switch (type) {
	case GUISE_A_CONFIG_ENABLED:
		if (!attr_len_is(a, 1))
			return -EINVAL;
		cfg->enabled = mnl_attr_get_u8(a);
		err = 0;
		break;
	case GUISE_A_CONFIG_VPREFIXES:
		err = parse_vprefixes(a, cfg);
		break;
	case GUISE_A_CONFIG_MISS_RULES:
		err = parse_miss_rules(a, cfg);
		break;
	case GUISE_A_CONFIG_MAX_LEASES:
		err = parse_u32(a, &cfg->max_leases);
		break;
	case GUISE_A_CONFIG_UPCALL_QLEN:
		err = parse_u32(a, &cfg->upcall_qlen);
		break;
	case GUISE_A_CONFIG_UPCALL_TIMEOUT_MS:
		err = parse_u32(a, &cfg->upcall_timeout_ms);
		break;
	case GUISE_A_CONFIG_LEASE_COUNT:
		err = parse_u32(a, &cfg->lease_count);
		break;
	case GUISE_A_CONFIG_KEY_COUNT:
		err = parse_u32(a, &cfg->key_count);
		break;
	case GUISE_A_CONFIG_ROUTING_HEADER:
		if (!attr_len_is(a, 1))
			return -EINVAL;
		cfg->rthdr_policy = mnl_attr_get_u8(a);
		err = 0;
		break;
	default:
		return 0; /* from a newer kernel */
	}
	if (!err)
		guise_config_mark(cfg, type);
	return err;
}

int guise_config_parse(const struct nlmsghdr *nlh, struct guise_config *cfg)
{
	const struct nlattr *top, *a;
	int err;

	memset(cfg, 0, sizeof(*cfg));
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct genlmsghdr))
		return -EINVAL;
	mnl_attr_for_each(top, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(top) != GUISE_A_CONFIG)
			continue;
		mnl_attr_for_each_nested(a, top) {
			err = parse_config_attr(a, cfg);
			if (err)
				return err;
		}
	}
	return 0;
}
