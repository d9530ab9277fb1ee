// SPDX-License-Identifier: GPL-2.0
/*
 * GUISE_CMD_CONFIG_GET and GUISE_CMD_CONFIG_SET. The policies in netlink.c
 * have already rejected bad lengths, ranges and unknown attributes; what is
 * checked here needs more than one attribute to decide.
 */
#include <net/ipv6.h>

#include "guise.h"

static int guise_prefix_parse(const struct nlattr *entry, bool miss,
			      struct guise_prefix *p,
			      struct netlink_ext_ack *extack)
{
	struct nlattr *tb[GUISE_A_PREFIX_MAX + 1];
	int ret;

	ret = nla_parse_nested(tb, GUISE_A_PREFIX_MAX, entry,
			       guise_prefix_policy, extack);
	if (ret)
		return ret;
	if (NL_REQ_ATTR_CHECK(extack, entry, tb, GUISE_A_PREFIX_ADDR) ||
	    NL_REQ_ATTR_CHECK(extack, entry, tb, GUISE_A_PREFIX_LEN))
		return -EINVAL;

	p->len = nla_get_u8(tb[GUISE_A_PREFIX_LEN]);
	ipv6_addr_prefix(&p->addr, nla_data(tb[GUISE_A_PREFIX_ADDR]), p->len);

	if (miss) {
		if (NL_REQ_ATTR_CHECK(extack, entry, tb,
				      GUISE_A_PREFIX_MISS_POLICY))
			return -EINVAL;
		p->miss_policy = nla_get_u8(tb[GUISE_A_PREFIX_MISS_POLICY]);
		return 0;
	}

	if (tb[GUISE_A_PREFIX_MISS_POLICY]) {
		NL_SET_ERR_MSG_ATTR(extack, tb[GUISE_A_PREFIX_MISS_POLICY],
				    "a virtual prefix has no miss policy");
		return -EINVAL;
	}
	if (!p->len) {
		NL_SET_ERR_MSG_ATTR(extack, tb[GUISE_A_PREFIX_LEN],
				    "a virtual prefix cannot be ::/0");
		return -EINVAL;
	}
	if (ipv6_addr_is_multicast(&p->addr) || ipv6_addr_loopback(&p->addr)) {
		NL_SET_ERR_MSG_ATTR(extack, tb[GUISE_A_PREFIX_ADDR],
				    "a virtual prefix must be unicast");
		return -EINVAL;
	}
	return 0;
}

/* Replace @out[0..*n) by the list in @list, all or nothing. */
static int guise_prefixes_parse(const struct nlattr *list, bool miss,
				struct guise_prefix *out, u32 *n, u32 max,
				struct netlink_ext_ack *extack)
{
	const struct nlattr *entry;
	u32 i = 0, j;
	int rem, ret;

	nla_for_each_nested(entry, list, rem) {
		struct guise_prefix p = {};

		if (i == max) {
			NL_SET_ERR_MSG_ATTR(extack, entry, "too many prefixes");
			return -EINVAL;
		}
		ret = guise_prefix_parse(entry, miss, &p, extack);
		if (ret)
			return ret;
		for (j = 0; j < i; j++) {
			if (out[j].len == p.len &&
			    ipv6_addr_equal(&out[j].addr, &p.addr)) {
				NL_SET_ERR_MSG_ATTR(extack, entry,
						    "duplicate prefix");
				return -EINVAL;
			}
		}
		out[i++] = p;
	}
	*n = i;
	return 0;
}

static int guise_config_apply(struct guise_config *cfg, struct nlattr **tb,
			      struct netlink_ext_ack *extack)
{
	int ret;

	if (tb[GUISE_A_CONFIG_VPREFIXES]) {
		ret = guise_prefixes_parse(tb[GUISE_A_CONFIG_VPREFIXES], false,
					   cfg->vprefixes, &cfg->nr_vprefixes,
					   GUISE_MAX_VPREFIXES, extack);
		if (ret)
			return ret;
	}
	if (tb[GUISE_A_CONFIG_MISS_RULES]) {
		ret = guise_prefixes_parse(tb[GUISE_A_CONFIG_MISS_RULES], true,
					   cfg->miss_rules, &cfg->nr_miss_rules,
					   GUISE_MAX_MISS_RULES, extack);
		if (ret)
			return ret;
	}
	if (tb[GUISE_A_CONFIG_ENABLED])
		cfg->enabled = nla_get_u8(tb[GUISE_A_CONFIG_ENABLED]);
	if (tb[GUISE_A_CONFIG_MAX_LEASES])
		cfg->max_leases = nla_get_u32(tb[GUISE_A_CONFIG_MAX_LEASES]);
	if (tb[GUISE_A_CONFIG_UPCALL_QLEN])
		cfg->upcall_qlen = nla_get_u32(tb[GUISE_A_CONFIG_UPCALL_QLEN]);
	if (tb[GUISE_A_CONFIG_UPCALL_TIMEOUT_MS])
		cfg->upcall_timeout_ms =
			nla_get_u32(tb[GUISE_A_CONFIG_UPCALL_TIMEOUT_MS]);
	if (tb[GUISE_A_CONFIG_ROUTING_HEADER])
		cfg->rthdr_policy =
			nla_get_u8(tb[GUISE_A_CONFIG_ROUTING_HEADER]);
	return 0;
}

int guise_config_nl_set(struct sk_buff *skb, struct genl_info *info)
{
	struct guise_net *gn = guise_net(genl_info_net(info));
	struct nlattr *tb[GUISE_A_CONFIG_MAX + 1];
	struct guise_config *cfg, *old;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, GUISE_A_CONFIG))
		return -EINVAL;
	ret = nla_parse_nested(tb, GUISE_A_CONFIG_MAX,
			       info->attrs[GUISE_A_CONFIG], guise_config_policy,
			       info->extack);
	if (ret)
		return ret;

	mutex_lock(&gn->lock);
	old = rcu_dereference_protected(gn->cfg, lockdep_is_held(&gn->lock));
	cfg = guise_config_alloc(old);
	if (!cfg) {
		ret = -ENOMEM;
		goto out;
	}
	ret = guise_config_apply(cfg, tb, info->extack);
	if (!ret && cfg->enabled)
		ret = guise_hooks_enable(gn);
	if (ret) {
		guise_config_free(cfg);
		goto out;
	}
	guise_config_publish(gn, cfg);
out:
	mutex_unlock(&gn->lock);
	return ret;
}

static int guise_prefixes_put(struct sk_buff *msg, int type,
			      const struct guise_prefix *p, u32 n, bool miss)
{
	struct nlattr *list, *entry;
	u32 i;

	list = nla_nest_start(msg, type);
	if (!list)
		return -EMSGSIZE;
	for (i = 0; i < n; i++) {
		entry = nla_nest_start(msg, i + 1);
		if (!entry ||
		    nla_put_in6_addr(msg, GUISE_A_PREFIX_ADDR, &p[i].addr) ||
		    nla_put_u8(msg, GUISE_A_PREFIX_LEN, p[i].len) ||
		    (miss && nla_put_u8(msg, GUISE_A_PREFIX_MISS_POLICY,
					p[i].miss_policy)))
			return -EMSGSIZE;
		nla_nest_end(msg, entry);
	}
	nla_nest_end(msg, list);
	return 0;
}

static int guise_config_put(struct sk_buff *msg, struct guise_net *gn,
			    const struct guise_config *cfg)
{
	struct nlattr *nest = nla_nest_start(msg, GUISE_A_CONFIG);

	if (!nest ||
	    nla_put_u32(msg, GUISE_A_CONFIG_LEASE_COUNT,
			guise_lease_count(gn)) ||
	    nla_put_u32(msg, GUISE_A_CONFIG_KEY_COUNT,
			guise_key_count_all(gn)) ||
	    nla_put_u8(msg, GUISE_A_CONFIG_ENABLED, cfg->enabled) ||
	    nla_put_u8(msg, GUISE_A_CONFIG_ROUTING_HEADER, cfg->rthdr_policy) ||
	    nla_put_u32(msg, GUISE_A_CONFIG_MAX_LEASES, cfg->max_leases) ||
	    nla_put_u32(msg, GUISE_A_CONFIG_UPCALL_QLEN, cfg->upcall_qlen) ||
	    nla_put_u32(msg, GUISE_A_CONFIG_UPCALL_TIMEOUT_MS,
			cfg->upcall_timeout_ms) ||
	    guise_prefixes_put(msg, GUISE_A_CONFIG_VPREFIXES, cfg->vprefixes,
			       cfg->nr_vprefixes, false) ||
	    guise_prefixes_put(msg, GUISE_A_CONFIG_MISS_RULES, cfg->miss_rules,
			       cfg->nr_miss_rules, true))
		return -EMSGSIZE;
	nla_nest_end(msg, nest);
	return 0;
}

/* Upper bound of a CONFIG_GET reply, with every list full. */
static size_t guise_config_msg_size(void)
{
	size_t prefix = nla_total_size(0) + nla_total_size(16) +
			2 * nla_total_size(1);

	return nla_total_size(0) + 2 * nla_total_size(1) +
	       5 * nla_total_size(4) +
	       2 * nla_total_size(0) +
	       (GUISE_MAX_VPREFIXES + GUISE_MAX_MISS_RULES) * prefix;
}

int guise_config_nl_get(struct sk_buff *skb, struct genl_info *info)
{
	struct guise_net *gn = guise_net(genl_info_net(info));
	struct sk_buff *msg;
	void *hdr;
	int ret;

	msg = genlmsg_new(guise_config_msg_size(), GFP_KERNEL);
	if (!msg)
		return -ENOMEM;

	hdr = genlmsg_put_reply(msg, info, &guise_genl_family, 0,
				GUISE_CMD_CONFIG_GET);
	if (!hdr) {
		ret = -EMSGSIZE;
		goto err;
	}
	rcu_read_lock();
	ret = guise_config_put(msg, gn, rcu_dereference(gn->cfg));
	rcu_read_unlock();
	if (ret)
		goto err;

	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
err:
	nlmsg_free(msg);
	return ret;
}
