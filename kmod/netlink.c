// SPDX-License-Identifier: GPL-2.0
/*
 * The "guise" generic netlink family: policies, the ops table and events.
 * Every command needs CAP_NET_ADMIN over the netns (GENL_UNS_ADMIN_PERM):
 * leases and keys are exactly the private data guise hides. Validation is
 * strict for every command (resv_start_op is 0, as for any new family: the
 * genl header's reserved byte is checked too), so unknown attributes, wrong
 * lengths and out-of-range values never reach a handler.
 */
#include <net/genetlink.h>

#include "guise.h"

const struct nla_policy guise_prefix_policy[GUISE_A_PREFIX_MAX + 1] = {
	[GUISE_A_PREFIX_ADDR] = NLA_POLICY_EXACT_LEN(sizeof(struct in6_addr)),
	[GUISE_A_PREFIX_LEN] = NLA_POLICY_MAX(NLA_U8, 128),
	[GUISE_A_PREFIX_MISS_POLICY] = NLA_POLICY_MAX(NLA_U8, GUISE_MISS_MAX),
};

/*
 * Beyond the 16-bit bounds of NLA_POLICY_RANGE(); not const, as 6.1's
 * nla_policy.range is not.
 */
static struct netlink_range_validation guise_max_leases_range = {
	.min = 1,
	.max = GUISE_MAX_MAX_LEASES,
};

const struct nla_policy guise_config_policy[GUISE_A_CONFIG_MAX + 1] = {
	[GUISE_A_CONFIG_ENABLED] = NLA_POLICY_MAX(NLA_U8, 1),
	[GUISE_A_CONFIG_VPREFIXES] = NLA_POLICY_NESTED_ARRAY(guise_prefix_policy),
	[GUISE_A_CONFIG_MISS_RULES] =
		NLA_POLICY_NESTED_ARRAY(guise_prefix_policy),
	[GUISE_A_CONFIG_MAX_LEASES] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &guise_max_leases_range),
	[GUISE_A_CONFIG_UPCALL_QLEN] =
		NLA_POLICY_RANGE(NLA_U32, 1, GUISE_MAX_UPCALL_QLEN),
	[GUISE_A_CONFIG_UPCALL_TIMEOUT_MS] =
		NLA_POLICY_RANGE(NLA_U32, 1, GUISE_MAX_UPCALL_TIMEOUT_MS),
	[GUISE_A_CONFIG_LEASE_COUNT] = {
		.type = NLA_REJECT,
		.reject_message = "lease count is read-only",
	},
	[GUISE_A_CONFIG_KEY_COUNT] = {
		.type = NLA_REJECT,
		.reject_message = "key count is read-only",
	},
	[GUISE_A_CONFIG_ROUTING_HEADER] =
		NLA_POLICY_MAX(NLA_U8, GUISE_RTHDR_MAX),
};

/* Not const: the 6.1 policy field is a non-const pointer. */
static struct netlink_range_validation guise_lifetime_range = {
	.min = 1,
	.max = GUISE_MAX_LEASE_LIFETIME,
};

const struct nla_policy guise_lease_policy[GUISE_A_LEASE_MAX + 1] = {
	[GUISE_A_LEASE_REAL] = NLA_POLICY_EXACT_LEN(sizeof(struct in6_addr)),
	[GUISE_A_LEASE_PEER] = NLA_POLICY_EXACT_LEN(sizeof(struct in6_addr)),
	[GUISE_A_LEASE_VIRT] = NLA_POLICY_EXACT_LEN(sizeof(struct in6_addr)),
	[GUISE_A_LEASE_FLAGS] = NLA_POLICY_MASK(NLA_U32, GUISE_LEASE_F_ALL),
	[GUISE_A_LEASE_LIFETIME] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &guise_lifetime_range),
	[GUISE_A_LEASE_EXPIRES_MS] = {
		.type = NLA_REJECT,
		.reject_message = "time left is read-only: set a lifetime",
	},
	[GUISE_A_LEASE_RATE_PPS] = { .type = NLA_U32 },
	[GUISE_A_LEASE_RATE_BURST] = { .type = NLA_U32 },
	[GUISE_A_LEASE_STATS] = {
		.type = NLA_REJECT,
		.reject_message = "lease counters are read-only",
	},
};

static struct netlink_range_validation guise_replay_range = {
	.min = GUISE_REPLAY_WINDOW_MIN,
	.max = GUISE_REPLAY_WINDOW_MAX,
};

const struct nla_policy guise_key_policy[GUISE_A_KEY_MAX + 1] = {
	[GUISE_A_KEY_GROUP] = NLA_POLICY_EXACT_LEN(sizeof(struct in6_addr)),
	[GUISE_A_KEY_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
	[GUISE_A_KEY_ID] = { .type = NLA_U32 },
	[GUISE_A_KEY_ALG] = NLA_POLICY_RANGE(NLA_U8, 1, GUISE_ALG_MAX),
	[GUISE_A_KEY_DIR] = NLA_POLICY_RANGE(NLA_U8, 1, GUISE_KEY_DIR_MAX),
	[GUISE_A_KEY_SECRET] = NLA_POLICY_RANGE(NLA_BINARY, 16, 32),
	[GUISE_A_KEY_SALT] = NLA_POLICY_EXACT_LEN(GUISE_KEY_SALT_LEN),
	[GUISE_A_KEY_NOT_BEFORE] = { .type = NLA_U64 },
	[GUISE_A_KEY_NOT_AFTER] = { .type = NLA_U64 },
	[GUISE_A_KEY_REPLAY_WINDOW] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &guise_replay_range),
	[GUISE_A_KEY_TX_SEQ] = {
		.type = NLA_REJECT,
		.reject_message = "the sequence number is read-only",
	},
	[GUISE_A_KEY_STATS] = {
		.type = NLA_REJECT,
		.reject_message = "key counters are read-only",
	},
	[GUISE_A_KEY_REPLACE] = { .type = NLA_FLAG },
};

/* Top level. */
static const struct nla_policy guise_policy[GUISE_A_MAX + 1] = {
	[GUISE_A_CONFIG] = NLA_POLICY_NESTED(guise_config_policy),
	[GUISE_A_LEASE] = NLA_POLICY_NESTED(guise_lease_policy),
	[GUISE_A_KEY] = NLA_POLICY_NESTED(guise_key_policy),
	[GUISE_A_STATS] = {
		.type = NLA_REJECT,
		.reject_message = "statistics are read-only",
	},
};

static const struct genl_small_ops guise_genl_ops[] = {
	{
		.cmd = GUISE_CMD_CONFIG_GET,
		.doit = guise_config_nl_get,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = GUISE_CMD_CONFIG_SET,
		.doit = guise_config_nl_set,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = GUISE_CMD_LEASE_NEW,
		.doit = guise_lease_nl_new,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = GUISE_CMD_LEASE_DEL,
		.doit = guise_lease_nl_del,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = GUISE_CMD_LEASE_FLUSH,
		.doit = guise_lease_nl_flush,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = GUISE_CMD_KEY_NEW,
		.doit = guise_key_nl_new,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = GUISE_CMD_KEY_DEL,
		.doit = guise_key_nl_del,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = GUISE_CMD_KEY_FLUSH,
		.doit = guise_key_nl_flush,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = GUISE_CMD_STATS_GET,
		.doit = guise_stats_nl_get,
		.flags = GENL_UNS_ADMIN_PERM,
	},
};

/* Commands with a dump need the full struct for start/done. */
static const struct genl_ops guise_genl_dump_ops[] = {
	{
		.cmd = GUISE_CMD_LEASE_GET,
		.doit = guise_lease_nl_get_doit,
		.start = guise_lease_nl_get_start,
		.dumpit = guise_lease_nl_get_dumpit,
		.done = guise_lease_nl_get_done,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = GUISE_CMD_KEY_GET,
		.doit = guise_key_nl_get_doit,
		.start = guise_key_nl_get_start,
		.dumpit = guise_key_nl_get_dumpit,
		.done = guise_key_nl_get_done,
		.flags = GENL_UNS_ADMIN_PERM,
	},
};

/*
 * Events name real addresses and their peers (LEASE_MISS, LEASE_EXPIRED):
 * as private as the lease table, so joining needs CAP_NET_ADMIN over the
 * netns too (the flag exists since 6.7 and in 6.1.y from 6.1.66).
 */
#ifndef GENL_MCAST_CAP_NET_ADMIN
#error "GENL_MCAST_CAP_NET_ADMIN missing: anyone could read lease events"
#endif
static const struct genl_multicast_group guise_genl_mcgrps[] = {
	[GUISE_MCGRP_EVENTS_ID] = {
		.name = GUISE_MCGRP_EVENTS,
		.flags = GENL_MCAST_CAP_NET_ADMIN,
	},
};

struct genl_family guise_genl_family __ro_after_init = {
	.name = GUISE_FAMILY_NAME,
	.version = GUISE_FAMILY_VERSION,
	.maxattr = GUISE_A_MAX,
	.policy = guise_policy,
	.netnsok = true,
	.module = THIS_MODULE,
	.ops = guise_genl_dump_ops,
	.n_ops = ARRAY_SIZE(guise_genl_dump_ops),
	.small_ops = guise_genl_ops,
	.n_small_ops = ARRAY_SIZE(guise_genl_ops),
	.mcgrps = guise_genl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(guise_genl_mcgrps),
};

/*
 * Set on unload before the family goes: genl_unregister_family() frees
 * its multicast group ids, which another family may take at once, while
 * the hooks and collectors of every namespace keep running until that
 * namespace's pre_exit. Senders test it under RCU, and the unload waits
 * for a grace period after setting it, so no event is sent from the
 * family's removal on. (Stopping the namespaces first instead would let
 * commands reach torn-down namespaces.)
 */
static bool guise_genl_stopping;

int guise_genl_event(struct net *net, struct sk_buff *msg)
{
	int ret;

	rcu_read_lock();
	if (READ_ONCE(guise_genl_stopping)) {
		nlmsg_free(msg);
		ret = -ESHUTDOWN;
	} else {
		ret = genlmsg_multicast_netns(&guise_genl_family, net, msg, 0,
					      GUISE_MCGRP_EVENTS_ID,
					      GFP_ATOMIC);
	}
	rcu_read_unlock();
	return ret;
}

/* Whether anyone in @net listens to events; false once unloading. */
bool guise_genl_has_listeners(struct net *net)
{
	bool ret;

	rcu_read_lock();
	ret = !READ_ONCE(guise_genl_stopping) &&
	      genl_has_listeners(&guise_genl_family, net,
				 GUISE_MCGRP_EVENTS_ID);
	rcu_read_unlock();
	return ret;
}

int __init guise_genl_init(void)
{
	return genl_register_family(&guise_genl_family);
}

void guise_genl_exit(void)
{
	WRITE_ONCE(guise_genl_stopping, true);
	synchronize_rcu();	/* every sender that saw it clear is done */
	genl_unregister_family(&guise_genl_family);
}
