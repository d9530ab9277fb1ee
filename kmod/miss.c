// SPDX-License-Identifier: GPL-2.0
/*
 * The upcall miss policy: the first packets of a flow R->P without a lease
 * are held (up to upcall_qlen per flow, for upcall_timeout_ms), one
 * LEASE_MISS event asks userspace for a lease, and when LEASE_NEW installs
 * it the held packets go out again through POSTROUTING -- rewritten now,
 * and seen by conntrack and NAT like any other packet. On timeout they are
 * dropped and counted. Nothing is lost on first contact if the daemon
 * answers in time.
 *
 * Pending flows live in a small per-netns hash under a spinlock; the
 * datapath only ever takes it for packets that already missed.
 */
#include <linux/jhash.h>
#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/slab.h>
#include <linux/timer.h>
#include <net/ipv6.h>

#include "lease.h"

/*
 * Bounds on what one netns may hold, whatever the configuration says.
 * Bytes too (skb->truesize): GSO and GRO skbs can be 64 KiB each, and
 * 8192 of them would pin half a gigabyte.
 */
#define GUISE_MISS_MAX_FLOWS	1024
#define GUISE_MISS_MAX_SKBS	8192
#define GUISE_MISS_MAX_BYTES	(32U << 20)

struct guise_pending {
	struct hlist_node node;
	struct guise_rp rp;
	struct sk_buff_head q;
	unsigned int bytes;	/* truesize of q's skbs */
	struct timer_list timer;
	struct guise_net *gn;
	/* Where to resume POSTROUTING; devices are held while queued. */
	struct net_device *in, *out;
	int (*okfn)(struct net *net, struct sock *sk, struct sk_buff *skb);
	bool linked;
};

static u32 guise_miss_hash(const struct guise_net *gn,
			   const struct guise_rp *rp)
{
	return jhash2((const u32 *)rp, sizeof(*rp) / sizeof(u32),
		      gn->miss_seed) & (GUISE_MISS_BUCKETS - 1);
}

static struct guise_pending *guise_miss_find(struct guise_net *gn,
					     const struct guise_rp *rp)
{
	struct guise_pending *p;

	hlist_for_each_entry(p, &gn->miss_hash[guise_miss_hash(gn, rp)], node)
		if (!memcmp(&p->rp, rp, sizeof(*rp)))
			return p;
	return NULL;
}

/* Caller holds miss_lock. */
static void guise_miss_unlink(struct guise_net *gn, struct guise_pending *p)
{
	hlist_del(&p->node);
	p->linked = false;
	gn->miss_flows--;
	gn->miss_skbs -= skb_queue_len(&p->q);
	gn->miss_bytes -= p->bytes;
}

static void guise_miss_free(struct guise_pending *p)
{
	dev_put(p->in);
	dev_put(p->out);
	kfree(p);
	atomic_long_dec(&guise_live_objects);
}

static void guise_miss_timeout(struct timer_list *t)
{
	struct guise_pending *p = from_timer(p, t, timer);
	struct guise_net *gn = p->gn;
	u32 n;

	spin_lock_bh(&gn->miss_lock);
	if (!p->linked) {	/* being released: the releaser frees it */
		spin_unlock_bh(&gn->miss_lock);
		return;
	}
	guise_miss_unlink(gn, p);
	spin_unlock_bh(&gn->miss_lock);

	n = skb_queue_len(&p->q);
	skb_queue_purge(&p->q);
	guise_stat_add(gn, GUISE_STAT_MISS_TIMEOUT, n);
	guise_miss_free(p);
}

static void guise_miss_notify(struct guise_net *gn, const struct guise_rp *rp)
{
	struct sk_buff *msg;
	struct nlattr *nest;
	void *hdr;

	msg = genlmsg_new(nla_total_size(0) + 2 * nla_total_size(16),
			  GFP_ATOMIC);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &guise_genl_family, 0,
			  GUISE_CMD_LEASE_MISS);
	if (!hdr)
		goto err;
	nest = nla_nest_start(msg, GUISE_A_LEASE);
	if (!nest ||
	    nla_put_in6_addr(msg, GUISE_A_LEASE_REAL, &rp->real) ||
	    nla_put_in6_addr(msg, GUISE_A_LEASE_PEER, &rp->peer))
		goto err;
	nla_nest_end(msg, nest);
	genlmsg_end(msg, hdr);
	guise_genl_event(gn->net, msg);
	guise_stat_inc(gn, GUISE_STAT_MISS_EVENT);
	return;
err:
	nlmsg_free(msg);
}

/*
 * Hold @skb (R->P, no lease, policy upcall). Returns NF_STOLEN when held,
 * NF_DROP when over a bound or out of memory. Sets *@leased (else leaves
 * it alone) when a live egress lease for R->P turns out to exist: the
 * caller rewrites @skb with it instead (the return value is then void).
 *
 * That lease was installed after the caller's lookup missed, and its
 * guise_miss_release() may have run already: a new flow made now would
 * be one nobody releases, a second LEASE_MISS for a leased flow and a
 * packet dropped on timeout. LEASE_NEW inserts before it releases, and
 * the release takes miss_lock, so a lookup under miss_lock finds every
 * lease whose release already looked for pending flows. A flow that is
 * already pending is fine to join: its release is still to come.
 *
 * A held skb outlives the hook's RCU section: its dst, which forwarded
 * and local TCP skbs carry without a reference, is taken a reference to
 * first (as nf_queue does); one whose route is already going is not held.
 * The flow's devices are held once, those of its first packet: a later
 * packet of the flow routed through other devices is not held either.
 * Both count as overflow.
 */
unsigned int guise_miss_hold(struct guise_net *gn,
			     const struct guise_config *cfg,
			     struct sk_buff *skb,
			     const struct nf_hook_state *state,
			     struct guise_lease **leased)
{
	const struct ipv6hdr *ip6 = ipv6_hdr(skb);
	struct guise_rp rp = { .real = ip6->saddr, .peer = ip6->daddr };
	enum guise_stat why = GUISE_STAT_MISS_OVERFLOW;
	struct guise_pending *p;
	bool notify = false;

	if (!skb_dst_force(skb)) {
		guise_stat_inc(gn, why);
		return NF_DROP;
	}
	spin_lock_bh(&gn->miss_lock);
	if (gn->miss_skbs >= GUISE_MISS_MAX_SKBS ||
	    skb->truesize > GUISE_MISS_MAX_BYTES - gn->miss_bytes)
		goto drop;
	p = guise_miss_find(gn, &rp);
	if (p && (p->in != state->in || p->out != state->out))
		goto drop;
	if (!p) {
		struct guise_lease *l;

		l = guise_lease_lookup_rp(gn, &rp.real, &rp.peer);
		if (l && (READ_ONCE(l->flags) & GUISE_LEASE_F_EGRESS) &&
		    guise_lease_live(l)) {
			spin_unlock_bh(&gn->miss_lock);
			*leased = l;
			return NF_ACCEPT;
		}
		if (gn->miss_flows >= GUISE_MISS_MAX_FLOWS)
			goto drop;
		p = kzalloc(sizeof(*p), GFP_ATOMIC);
		if (!p) {
			why = GUISE_STAT_DROP_NOMEM;
			goto drop;
		}
		atomic_long_inc(&guise_live_objects);
		p->rp = rp;
		p->gn = gn;
		p->in = state->in;
		p->out = state->out;
		dev_hold(p->in);
		dev_hold(p->out);
		p->okfn = state->okfn;
		skb_queue_head_init(&p->q);
		timer_setup(&p->timer, guise_miss_timeout, 0);
		hlist_add_head(&p->node,
			       &gn->miss_hash[guise_miss_hash(gn, &rp)]);
		p->linked = true;
		gn->miss_flows++;
		mod_timer(&p->timer, jiffies +
			  msecs_to_jiffies(cfg->upcall_timeout_ms));
		notify = true;
	}
	if (skb_queue_len(&p->q) >= cfg->upcall_qlen)
		goto drop;
	__skb_queue_tail(&p->q, skb);
	p->bytes += skb->truesize;
	gn->miss_skbs++;
	gn->miss_bytes += skb->truesize;
	spin_unlock_bh(&gn->miss_lock);

	guise_stat_inc(gn, GUISE_STAT_MISS_QUEUED);
	if (notify)
		guise_miss_notify(gn, &rp);
	return NF_STOLEN;
drop:
	spin_unlock_bh(&gn->miss_lock);
	guise_stat_inc(gn, why);
	return NF_DROP;
}

/* Send the held packets of @p through POSTROUTING again. */
static void guise_miss_reinject(struct guise_net *gn, struct guise_pending *p)
{
	struct sk_buff *skb;
	u32 n = 0;

	while ((skb = __skb_dequeue(&p->q))) {
		local_bh_disable();
		rcu_read_lock();
		if (nf_hook(NFPROTO_IPV6, NF_INET_POST_ROUTING, gn->net,
			    skb->sk, skb, p->in, p->out, p->okfn) == 1)
			p->okfn(gn->net, skb->sk, skb);
		rcu_read_unlock();
		local_bh_enable();
		n++;
	}
	guise_stat_add(gn, GUISE_STAT_MISS_RELEASED, n);
}

/* A lease for @rp exists now: release what was held for it. */
void guise_miss_release(struct guise_net *gn, const struct guise_rp *rp)
{
	struct guise_pending *p;

	spin_lock_bh(&gn->miss_lock);
	p = gn->miss_flows ? guise_miss_find(gn, rp) : NULL;
	if (p)
		guise_miss_unlink(gn, p);
	spin_unlock_bh(&gn->miss_lock);
	if (!p)
		return;

	del_timer_sync(&p->timer);
	guise_miss_reinject(gn, p);
	guise_miss_free(p);
}

void guise_miss_net_init(struct guise_net *gn)
{
	int i;

	spin_lock_init(&gn->miss_lock);
	for (i = 0; i < GUISE_MISS_BUCKETS; i++)
		INIT_HLIST_HEAD(&gn->miss_hash[i]);
	get_random_bytes(&gn->miss_seed, sizeof(gn->miss_seed));
}

/* The hooks are gone: drop whatever is still held. */
void guise_miss_net_pre_exit(struct guise_net *gn)
{
	struct guise_pending *p;
	int i;

	for (i = 0; i < GUISE_MISS_BUCKETS; i++) {
		for (;;) {
			/* Timers may unlink entries meanwhile: look again. */
			spin_lock_bh(&gn->miss_lock);
			p = hlist_empty(&gn->miss_hash[i]) ? NULL :
			    hlist_entry(gn->miss_hash[i].first,
					struct guise_pending, node);
			if (p)
				guise_miss_unlink(gn, p);
			spin_unlock_bh(&gn->miss_lock);
			if (!p)
				break;
			del_timer_sync(&p->timer);
			guise_stat_add(gn, GUISE_STAT_MISS_TIMEOUT,
				       skb_queue_len(&p->q));
			skb_queue_purge(&p->q);
			guise_miss_free(p);
		}
	}
}
