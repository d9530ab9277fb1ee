/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guise: content keys for protected multicast. A flow is a (group, UDP
 * port) with at least one key; its keys (several during a rollover) hang
 * off it in an RCU list. Flows are found with an RCU rhashtable; writers
 * hold guise_net.lock.
 */
#ifndef _GUISE_KEY_H
#define _GUISE_KEY_H

#include <crypto/aead.h>
#include <linux/rculist.h>
#include <linux/rhashtable.h>
#include <linux/spinlock.h>

#include "guise.h"

struct guise_flow_key {
	struct in6_addr group;
	__be16 port;
	u16 pad;	/* zero: part of the hash key */
};

struct guise_flow {
	struct rhash_head node;
	struct guise_flow_key key;
	struct list_head keys;	/* struct guise_key, RCU */
	u32 nr_keys;
	struct rcu_head rcu;
};

/*
 * A group for which the namespace holds rx keys, of any port: fragments
 * to it, which carry no port or are not yet reassembled, are refused.
 */
struct guise_rx_group {
	struct rhash_head node;
	struct in6_addr group;
	u32 nr_rx;		/* rx keys of the group's flows */
	struct rcu_head rcu;
};

struct guise_key_pcpu {
	u64 packets;
	u64 bytes;
	u64 drop_auth;
	u64 drop_replay;
	struct u64_stats_sync syncp;
};

/* Anti-replay: a sliding bitmap of @size bits ending at @top (replay.c). */
struct guise_replay {
	spinlock_t lock;	/* protects top and bits */
	u64 top;		/* highest sequence accepted + 1, 0 = none */
	u32 size;		/* bits, a multiple of BITS_PER_LONG */
	unsigned long *bits;
};

struct guise_key {
	struct list_head node;	/* in guise_flow.keys */
	struct guise_flow *flow;
	u32 id;
	u8 alg;
	u8 dir;
	u64 not_before;		/* realtime seconds */
	u64 not_after;
	u64 installed;		/* ktime_get_ns(): newest tx key wins */
	/*
	 * Past not_after and told (KEY_EXPIRED), but kept: its flow's last
	 * tx key, so the flow's datagrams are dropped, not sent in clear,
	 * until a new tx key comes or it is deleted (guise_key_gc()). Under
	 * gn->lock.
	 */
	bool expired;
	u8 salt[GUISE_KEY_SALT_LEN];
	struct crypto_aead *tfm;	/* portable, synchronous */
	struct crypto_aead *simd_tfm;	/* SIMD-only, synchronous, or NULL */
	void __percpu *req;	/* an aead_request for either, per CPU */
	unsigned int reqsize;	/* of *req, bytes */
	atomic64_t tx_seq;	/* next sequence number to send */
	struct guise_replay replay;
	struct guise_key_pcpu __percpu *stats;
	/*
	 * Unlinked keys are freed by this work on guise_key_wq, a grace
	 * period after queue_rcu_work(): in process context, as freeing
	 * the AEAD transforms may sleep (key.c).
	 */
	struct rcu_work free_work;
};

struct guise_key_spec {
	struct guise_flow_key fk;
	u32 id;
	u8 alg;
	u8 dir;
	const u8 *secret;
	u32 secret_len;
	const u8 *salt;
	u64 not_before, not_after;
	u32 replay_window;
};

/* The validity may change under readers (guise_key_retime()). */
static inline bool guise_key_valid(const struct guise_key *k, u64 now)
{
	return now >= READ_ONCE(k->not_before) && now < READ_ONCE(k->not_after);
}

/* key.c */
struct guise_flow *guise_flow_lookup(struct guise_net *gn,
				     const struct in6_addr *group,
				     __be16 port);
bool guise_rx_group_has(struct guise_net *gn, const struct in6_addr *group);
struct guise_key *guise_key_find_rx(struct guise_flow *f, u32 id, u64 now);
struct guise_key *guise_key_find_tx(struct guise_flow *f, u64 now);
int guise_key_new(struct guise_net *gn, const struct guise_key_spec *s,
		  struct netlink_ext_ack *extack);
int guise_key_retime(struct guise_net *gn, const struct guise_key_spec *s,
		     struct netlink_ext_ack *extack);
struct guise_key *guise_key_find(struct guise_net *gn,
				 const struct guise_flow_key *fk, u32 id,
				 u8 dir);
void guise_key_unlink(struct guise_net *gn, struct guise_key *k);
void guise_key_flush(struct guise_net *gn, const struct guise_flow_key *fk);
void guise_key_stats_read(const struct guise_key *k,
			  struct guise_key_pcpu *sum);
void guise_key_count(struct guise_key *k, unsigned int len);
void guise_key_count_drop(struct guise_key *k, bool replay);
int guise_key_walk(struct guise_net *gn, struct rhashtable_iter *iter,
		   unsigned long *idx,
		   int (*fn)(const struct guise_key *k, void *arg), void *arg);

/* key_nl.c */
int guise_key_put(struct sk_buff *msg, const struct guise_key *k);
size_t guise_key_msg_size(void);
void guise_key_notify_expired(struct guise_net *gn, const struct guise_key *k);

/* replay.c */
int guise_replay_init(struct guise_replay *r, u32 size);
void guise_replay_free(struct guise_replay *r);
/* Would @seq be accepted? Does not record it. */
bool guise_replay_check(struct guise_replay *r, u64 seq);
/* Record @seq (after its tag verified); false if it is a replay. */
bool guise_replay_update(struct guise_replay *r, u64 seq);

#endif /* _GUISE_KEY_H */
