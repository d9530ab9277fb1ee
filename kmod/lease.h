/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guise: the lease table. A lease maps (real R, peer P) <-> virtual V until
 * it expires. Two RCU rhashtables per netns: by (R, P) for egress, by V for
 * ingress. Writers hold guise_net.lock; readers hold rcu_read_lock().
 */
#ifndef _GUISE_LEASE_H
#define _GUISE_LEASE_H

#include <linux/bits.h>
#include <linux/jiffies.h>
#include <linux/list.h>
#include <linux/log2.h>
#include <linux/rhashtable.h>

#include "guise.h"

struct guise_rp {
	struct in6_addr real;
	struct in6_addr peer;
};

/*
 * The hot counters of one lease on one CPU: every rewritten packet adds to
 * them. They live in per-namespace chunks indexed by the lease's counter
 * slot (lease_ctr.c), not in the per-CPU allocator. 32 bytes per CPU and
 * lease (u64_stats_sync is empty on 64-bit).
 */
struct guise_lease_ctr {
	u64 tx_packets;
	u64 tx_bytes;
	u64 rx_packets;
	u64 rx_bytes;
	struct u64_stats_sync syncp;
};

/*
 * Slots per counter chunk: a chunk holds, for every possible CPU, a run of
 * GUISE_LEASE_CHUNK cells (4 KiB at 32 B a cell), CPU after CPU.
 */
#define GUISE_LEASE_CHUNK_SHIFT	7
#define GUISE_LEASE_CHUNK	BIT(GUISE_LEASE_CHUNK_SHIFT)

/* All of a lease's counters, summed over the CPUs (for dumps and events). */
struct guise_lease_stats {
	u64 tx_packets;
	u64 tx_bytes;
	u64 rx_packets;
	u64 rx_bytes;
	u64 drop_rate;
	u64 drop_smtp;
};

/*
 * Expiry: a hashed timing wheel per netns. Time is cut into granules of
 * 2^GUISE_GC_SHIFT jiffies (the power of two nearest above HZ: 1.024 s at
 * HZ=250); a lease sits on the list of slot (expires >> GUISE_GC_SHIFT) %
 * GUISE_GC_SLOTS and carries its exact expiry. The collector visits only
 * the slots of granules that have passed; a lease whose expiry lies laps
 * ahead (lifetimes beyond GUISE_GC_SLOTS granules, ~70 min at HZ=250) is
 * looked at once per lap and left in place.
 */
#define GUISE_GC_SHIFT		order_base_2(HZ)
#define GUISE_GC_SLOTS_SHIFT	12
#define GUISE_GC_SLOTS		BIT(GUISE_GC_SLOTS_SHIFT)

struct guise_lease_abuse;

/*
 * 112 bytes, in the guise_lease slab cache (no hardware cache alignment).
 * Per-CPU counters are elsewhere (ctr); rate-limit state and drop counters
 * only exist for leases with abuse controls (abuse).
 */
struct guise_lease {
	struct rhash_head rp_node;
	struct rhash_head v_node;
	/*
	 * Under gn->lock: on a wheel slot or lease_gc_todo while linked; once
	 * unlinked, on lease_limbo or lease_limbo_gp until it is freed.
	 */
	struct hlist_node gc_node;
	struct guise_rp rp;
	struct in6_addr virt;
	/* Replacing a lease rewrites these in place: READ_ONCE in readers. */
	u32 flags;
	u32 slot;			/* counter slot, lease_ctr.c */
	unsigned long expires;		/* jiffies */
	/* Fixed for the lease's life: */
	struct guise_lease_ctr *ctr;	/* CPU 0's cell, lease_ctr.c */
	/* NULL or set once (release); lease_abuse.c */
	struct guise_lease_abuse *abuse;
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
extern const struct rhashtable_params guise_lease_v_params;
int guise_lease_cache_init(void);
void guise_lease_cache_exit(void);

/* lease_ctr.c: counter slots and the per-CPU counters. */
int guise_lease_ctr_get(struct guise_net *gn, struct guise_lease *l);
void guise_lease_ctr_put(struct guise_net *gn, struct guise_lease *l);
void guise_lease_ctr_net_init(struct guise_net *gn);
void guise_lease_ctr_net_exit(struct guise_net *gn);
void guise_lease_stats_read(const struct guise_lease *l,
			    struct guise_lease_stats *sum);
void guise_lease_count_tx(struct guise_lease *l, unsigned int len);
void guise_lease_count_rx(struct guise_lease *l, unsigned int len);

/* lease_abuse.c: rate limit and drop counters, for leases that have them. */
int guise_lease_abuse_prepare(struct guise_lease *l,
			      const struct guise_lease_spec *s);
void guise_lease_abuse_set(struct guise_lease *l,
			   const struct guise_lease_spec *s);
void guise_lease_abuse_free(struct guise_lease *l);
void guise_lease_abuse_rate(const struct guise_lease *l, u32 *pps,
			    u32 *burst);
void guise_lease_abuse_drops(const struct guise_lease *l,
			     struct guise_lease_stats *sum);
bool guise_lease_rate_ok(struct guise_lease *l);
void guise_lease_count_drop(struct guise_lease *l, bool smtp);

/* lease_nl.c */
int guise_lease_put(struct sk_buff *msg, const struct guise_lease *l);
size_t guise_lease_msg_size(void);
void guise_lease_notify_expired(struct guise_net *gn,
				const struct guise_lease *l);

#endif /* _GUISE_LEASE_H */
