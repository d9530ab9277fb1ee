/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guise: internal interfaces between the module's files.
 *
 * Ownership: main.c (module init/exit), netns.c (pernet state), config.c
 * and config_nl.c (per-netns configuration and its commands), stats.c
 * (per-CPU counters), netlink.c (family, policies, ops table, events),
 * lease.c + lease_nl.c (the lease table and its commands), lease_ctr.c
 * (per-lease counters), lease_abuse.c (per-lease rate limit), rewrite.c (the
 * address rewrite), miss.c (held-packet upcalls), key.c + key_nl.c +
 * replay.c (content keys), content.c (decrypt/encrypt), hooks.c
 * (netfilter hook registration).
 * Features add their files and hook into netns.c and netlink.c.
 */
#ifndef _GUISE_H
#define _GUISE_H

#include <linux/types.h>
#include <linux/idr.h>
#include <linux/in6.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/rhashtable-types.h>
#include <linux/workqueue.h>
#include <linux/rcupdate.h>
#include <linux/u64_stats_sync.h>
#include <linux/netfilter.h>
#include <net/genetlink.h>
#include <net/netns/generic.h>
#include <uapi/linux/guise.h>

struct guise_prefix {
	struct in6_addr addr;	/* host bits are zero */
	u8 len;
	u8 miss_policy;		/* enum guise_miss_policy, miss rules only */
};

/*
 * Per-netns configuration. Readers use rcu_dereference(gn->cfg); writers
 * build a new copy under gn->lock and publish it with rcu_assign_pointer(),
 * freeing the old one with kfree_rcu(). The datapath never sees a half
 * updated configuration.
 */
struct guise_config {
	struct rcu_head rcu;
	bool enabled;
	u8 rthdr_policy;	/* enum guise_rthdr_policy */
	u32 max_leases;
	u32 upcall_qlen;
	u32 upcall_timeout_ms;
	u32 nr_vprefixes;
	u32 nr_miss_rules;
	struct guise_prefix vprefixes[GUISE_MAX_VPREFIXES];
	struct guise_prefix miss_rules[GUISE_MAX_MISS_RULES];
};

#define GUISE_MISS_BUCKETS	64

struct guise_pcpu_stats {
	u64 cnt[__GUISE_STAT_MAX];
	struct u64_stats_sync syncp;
};

struct guise_lease_chunk;

struct guise_net {
	struct net *net;
	struct mutex lock;	/* serialises every update in this netns */
	struct guise_config __rcu *cfg;
	struct guise_pcpu_stats __percpu *stats;
	struct rhashtable leases_rp;	/* by (real, peer), lease.c */
	struct rhashtable leases_v;	/* by virtual address */
	atomic_t nr_leases;
	/* lease.c: expiry wheel (see lease.h), all under lock */
	struct hlist_head *lease_wheel;	/* GUISE_GC_SLOTS lists */
	struct hlist_head lease_gc_todo; /* a slot being collected */
	unsigned long lease_gc_next;	/* next granule to collect */
	struct delayed_work lease_gc;
	/*
	 * lease.c: unlinked leases wait here for a grace period, then are
	 * freed with their counter slot by lease_reclaim. Under lock.
	 */
	struct hlist_head lease_limbo;	/* unlinked since lease_reclaim queued */
	struct hlist_head lease_limbo_gp; /* unlinked before it was queued */
	struct rcu_work lease_reclaim;
	bool lease_reclaim_busy;	/* queued or running */
	bool lease_dying;		/* pre_exit ran: no more queueing */
	/* lease_ctr.c: counter slots and chunks (see there), under lock */
	struct ida lease_slots;
	struct guise_lease_chunk *lease_chunks;
	u32 lease_nr_chunks;		/* entries in lease_chunks */
	bool hooks_registered;		/* hooks.c, under lock */
	bool content_hooks_registered;
	struct rhashtable flows;	/* content keys by (group, port), key.c */
	struct rhashtable rx_groups;	/* groups with rx keys, key.c */
	atomic_t nr_keys;
	/*
	 * key.c: bumped under lock by every change to the key table, never
	 * 0; a dump that sees it change is marked NLM_F_DUMP_INTR.
	 */
	u32 key_gen;
	struct delayed_work key_gc;
	/* miss.c: flows held for an upcall */
	spinlock_t miss_lock;		/* protects the fields below */
	struct hlist_head miss_hash[GUISE_MISS_BUCKETS];
	u32 miss_seed;
	u32 miss_flows;
	u32 miss_skbs;
	u32 miss_bytes;		/* their truesize */
};

extern unsigned int guise_net_id;

static inline struct guise_net *guise_net(const struct net *net)
{
	return net_generic(net, guise_net_id);
}

/* stats.c: safe in any context, including hard and soft IRQ. */
void guise_stat_add(struct guise_net *gn, enum guise_stat s, u64 n);
static inline void guise_stat_inc(struct guise_net *gn, enum guise_stat s)
{
	guise_stat_add(gn, s, 1);
}

void guise_stats_read(struct guise_net *gn, u64 out[__GUISE_STAT_MAX]);
int guise_stats_alloc(struct guise_net *gn);
void guise_stats_free(struct guise_net *gn);

/* config.c */
int guise_config_init(struct guise_net *gn);
void guise_config_exit(struct guise_net *gn);
bool guise_prefix_match(const struct guise_prefix *p,
			const struct in6_addr *a);
/* Is @a inside one of the served virtual prefixes? Caller holds RCU. */
bool guise_config_is_virtual(const struct guise_config *cfg,
			     const struct in6_addr *a);
/* The miss rule for real address @a (longest match) or NULL. RCU. */
const struct guise_prefix *guise_config_miss_rule(const struct guise_config *cfg,
						  const struct in6_addr *a);

/* config.c, config_nl.c */
struct guise_config *guise_config_alloc(const struct guise_config *from);
void guise_config_free(struct guise_config *cfg);
void guise_config_publish(struct guise_net *gn, struct guise_config *cfg);
int guise_config_nl_get(struct sk_buff *skb, struct genl_info *info);
int guise_config_nl_set(struct sk_buff *skb, struct genl_info *info);

/* stats.c */
int guise_stats_nl_get(struct sk_buff *skb, struct genl_info *info);

/* lease.c, lease_nl.c (see lease.h) */
int guise_lease_net_init(struct guise_net *gn);
void guise_lease_net_pre_exit(struct guise_net *gn);
void guise_lease_net_exit(struct guise_net *gn);
u32 guise_lease_count(struct guise_net *gn);
int guise_lease_nl_new(struct sk_buff *skb, struct genl_info *info);
int guise_lease_nl_del(struct sk_buff *skb, struct genl_info *info);
int guise_lease_nl_get_doit(struct sk_buff *skb, struct genl_info *info);
int guise_lease_nl_get_start(struct netlink_callback *cb);
int guise_lease_nl_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb);
int guise_lease_nl_get_done(struct netlink_callback *cb);
int guise_lease_nl_flush(struct sk_buff *skb, struct genl_info *info);

/* rewrite.c: the datapath, called from the hooks under RCU. */
unsigned int guise_egress(struct guise_net *gn, const struct guise_config *cfg,
			  struct sk_buff *skb, const struct nf_hook_state *state);
unsigned int guise_ingress(struct guise_net *gn, const struct guise_config *cfg,
			   struct sk_buff *skb);

/* miss.c: packets held while userspace is asked for a lease. */
struct guise_rp;
struct guise_lease;
unsigned int guise_miss_hold(struct guise_net *gn,
			     const struct guise_config *cfg,
			     struct sk_buff *skb,
			     const struct nf_hook_state *state,
			     struct guise_lease **leased);
void guise_miss_release(struct guise_net *gn, const struct guise_rp *rp);
void guise_miss_net_init(struct guise_net *gn);
void guise_miss_net_pre_exit(struct guise_net *gn);

/* key.c, key_nl.c, content.c (see key.h) */
#define GUISE_MAX_KEYS	65536
int guise_key_module_init(void);
void guise_key_module_exit(void);
int guise_key_net_init(struct guise_net *gn);
void guise_key_net_pre_exit(struct guise_net *gn);
void guise_key_net_exit(struct guise_net *gn);
u32 guise_key_count_all(struct guise_net *gn);
int guise_key_nl_new(struct sk_buff *skb, struct genl_info *info);
int guise_key_nl_del(struct sk_buff *skb, struct genl_info *info);
int guise_key_nl_get_doit(struct sk_buff *skb, struct genl_info *info);
int guise_key_nl_get_start(struct netlink_callback *cb);
int guise_key_nl_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb);
int guise_key_nl_get_done(struct netlink_callback *cb);
int guise_key_nl_flush(struct sk_buff *skb, struct genl_info *info);
unsigned int guise_content_rx(struct guise_net *gn, struct sk_buff *skb);
unsigned int guise_content_tx(struct guise_net *gn, struct sk_buff *skb);
unsigned int guise_content_rx_late(struct guise_net *gn, struct sk_buff *skb);

/* hooks.c: netfilter hooks, registered on first enable / first key. */
int guise_hooks_enable(struct guise_net *gn);
int guise_content_hooks_enable(struct guise_net *gn);
void guise_hooks_disable(struct guise_net *gn);

/* netns.c */
int guise_netns_init(void);
void guise_netns_exit(void);

/* netlink.c */
enum guise_mcgrp_id {
	GUISE_MCGRP_EVENTS_ID,
};

extern struct genl_family guise_genl_family;
extern const struct nla_policy guise_prefix_policy[GUISE_A_PREFIX_MAX + 1];
extern const struct nla_policy guise_config_policy[GUISE_A_CONFIG_MAX + 1];
extern const struct nla_policy guise_lease_policy[GUISE_A_LEASE_MAX + 1];
extern const struct nla_policy guise_key_policy[GUISE_A_KEY_MAX + 1];
int guise_genl_init(void);
void guise_genl_exit(void);
/* Multicast an event to GUISE_MCGRP_EVENTS in @net; may be called from
 * any context (allocates with GFP_ATOMIC). Both drop everything once the
 * module is unloading (guise_genl_exit()).
 */
int guise_genl_event(struct net *net, struct sk_buff *msg);
bool guise_genl_has_listeners(struct net *net);

/*
 * Objects allocated by the module and not yet freed; main.c reports a
 * non-zero count on unload ("guise: leaked N objects"), which fails the
 * VM test run.
 */
extern atomic_long_t guise_live_objects;

#endif /* _GUISE_H */
