/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guise: the lease table. A lease maps (real R, peer P) <-> virtual V until
 * it expires. Two RCU rhashtables per netns: by (R, P) for egress, by V for
 * ingress. Writers hold guise_net.lock; readers hold rcu_read_lock().
 */
#ifndef _GUISE_LEASE_H
#define _GUISE_LEASE_H

#include <linux/jiffies.h>
#include <linux/rhashtable.h>
#include <linux/spinlock.h>

#include "guise.h"

struct guise_rp {
	struct in6_addr real;
	struct in6_addr peer;
};

struct guise_lease_pcpu {
	u64 tx_packets;
	u64 tx_bytes;
	u64 rx_packets;
	u64 rx_bytes;
	u64 drop_rate;
	u64 drop_smtp;
	struct u64_stats_sync syncp;
};

/* Token bucket in nanoseconds of credit: a packet costs NSEC_PER_SEC/pps. */
struct guise_ratelimit {
	spinlock_t lock;	/* protects credit_ns and stamp_ns */
	u64 credit_ns;
	u64 stamp_ns;
};

struct guise_lease {
	struct rhash_head rp_node;
	struct rhash_head v_node;
	struct guise_rp rp;
	struct in6_addr virt;
	/* Replacing a lease rewrites these in place: READ_ONCE in readers. */
	u32 flags;
	u32 rate_pps;
	u32 rate_burst;
	unsigned long expires;	/* jiffies */
	struct guise_ratelimit rl;
	struct guise_lease_pcpu __percpu *stats;
	struct rcu_head rcu;
};

/* What LEASE_NEW asks for. */
struct guise_lease_spec {
	struct guise_rp rp;
	struct in6_addr virt;
	u32 flags;
	u32 lifetime;		/* seconds */
	u32 rate_pps;
	u32 rate_burst;
};

static inline bool guise_lease_live(const struct guise_lease *l)
{
	return time_before(jiffies, READ_ONCE(l->expires));
}

/* lease.c. Lookups: caller holds RCU; expired leases are returned too. */
struct guise_lease *guise_lease_lookup_rp(struct guise_net *gn,
					  const struct in6_addr *real,
					  const struct in6_addr *peer);
struct guise_lease *guise_lease_lookup_v(struct guise_net *gn,
					 const struct in6_addr *virt);
int guise_lease_new(struct guise_net *gn, const struct guise_lease_spec *s,
		    struct netlink_ext_ack *extack);
void guise_lease_unlink(struct guise_net *gn, struct guise_lease *l);
void guise_lease_flush(struct guise_net *gn);
void guise_lease_stats_read(const struct guise_lease *l,
			    struct guise_lease_pcpu *sum);
void guise_lease_count_tx(struct guise_lease *l, unsigned int len);
void guise_lease_count_rx(struct guise_lease *l, unsigned int len);
bool guise_lease_rate_ok(struct guise_lease *l);
void guise_lease_count_drop(struct guise_lease *l, bool smtp);
extern const struct rhashtable_params guise_lease_v_params;

/* lease_nl.c */
int guise_lease_put(struct sk_buff *msg, const struct guise_lease *l);
size_t guise_lease_msg_size(void);
void guise_lease_notify_expired(struct guise_net *gn,
				const struct guise_lease *l);

#endif /* _GUISE_LEASE_H */
