// SPDX-License-Identifier: GPL-2.0
/*
 * The lease table: insert, replace, remove, expire. Lookups are lock-free
 * (RCU); every change is made under guise_net.lock. Expiry is decided at
 * lookup time by the datapath (guise_lease_live()); the collector below
 * only frees what already stopped working and tells userspace. It finds
 * what is due on the expiry wheel (lease.h) without walking the table.
 */
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <net/ipv6.h>

#include "lease.h"

/* Leases looked at per lock hold, and per run of the collector. */
#define GUISE_LEASE_GC_BATCH	256
#define GUISE_LEASE_GC_BUDGET	16384

static struct kmem_cache *guise_lease_cache __read_mostly;

static const struct rhashtable_params guise_lease_rp_params = {
	.head_offset = offsetof(struct guise_lease, rp_node),
	.key_offset = offsetof(struct guise_lease, rp),
	.key_len = sizeof(struct guise_rp),
	.automatic_shrinking = true,
};

const struct rhashtable_params guise_lease_v_params = {
	.head_offset = offsetof(struct guise_lease, v_node),
	.key_offset = offsetof(struct guise_lease, virt),
	.key_len = sizeof(struct in6_addr),
	.automatic_shrinking = true,
};

struct guise_lease *guise_lease_lookup_rp(struct guise_net *gn,
					  const struct in6_addr *real,
					  const struct in6_addr *peer)
{
	struct guise_rp key = { .real = *real, .peer = *peer };

	return rhashtable_lookup(&gn->leases_rp, &key, guise_lease_rp_params);
}

struct guise_lease *guise_lease_lookup_v(struct guise_net *gn,
					 const struct in6_addr *virt)
{
	return rhashtable_lookup(&gn->leases_v, virt, guise_lease_v_params);
}

static struct guise_lease *guise_lease_alloc(void)
{
	struct guise_lease *l;
	int cpu;

	l = kmem_cache_zalloc(guise_lease_cache, GFP_KERNEL);
	if (!l)
		return NULL;
	l->stats = alloc_percpu(struct guise_lease_pcpu);
	if (!l->stats) {
		kmem_cache_free(guise_lease_cache, l);
		return NULL;
	}
	for_each_possible_cpu(cpu)
		u64_stats_init(&per_cpu_ptr(l->stats, cpu)->syncp);
	spin_lock_init(&l->rl_lock);
	atomic64_set(&l->drop_rate, 0);
	atomic64_set(&l->drop_smtp, 0);
	atomic_long_inc(&guise_live_objects);
	return l;
}

static void guise_lease_free(struct guise_lease *l)
{
	free_percpu(l->stats);
	kmem_cache_free(guise_lease_cache, l);
	atomic_long_dec(&guise_live_objects);
}

static void guise_lease_free_rcu(struct rcu_head *head)
{
	guise_lease_free(container_of(head, struct guise_lease, rcu));
}

/* Apply the mutable part of @s; readers may be looking at @l. */
static void guise_lease_set(struct guise_lease *l,
			    const struct guise_lease_spec *s)
{
	spin_lock_bh(&l->rl_lock);
	l->rl_credit_ns = 0;
	l->rl_stamp_ns = ktime_get_ns();
	WRITE_ONCE(l->rate_burst, s->rate_burst);
	WRITE_ONCE(l->rate_pps, s->rate_pps);
	spin_unlock_bh(&l->rl_lock);
	WRITE_ONCE(l->flags, s->flags);
	WRITE_ONCE(l->expires, jiffies + (unsigned long)s->lifetime * HZ);
}

/* The wheel granule of time @t (jiffies); wraps with jiffies. */
static unsigned long guise_lease_granule(unsigned long t)
{
	return t >> GUISE_GC_SHIFT;
}

/* GUISE_GC_SLOTS divides the granules' range: slots wrap with them. */
static struct hlist_head *guise_lease_slot(struct guise_net *gn,
					   unsigned long granule)
{
	return &gn->lease_wheel[granule & (GUISE_GC_SLOTS - 1)];
}

/* (Re)file @l on the wheel slot of its expiry. */
static void guise_lease_wheel_add(struct guise_net *gn, struct guise_lease *l)
{
	lockdep_assert_held(&gn->lock);
	hlist_del_init(&l->gc_node);
	hlist_add_head(&l->gc_node,
		       guise_lease_slot(gn, guise_lease_granule(l->expires)));
}

void guise_lease_unlink(struct guise_net *gn, struct guise_lease *l)
{
	lockdep_assert_held(&gn->lock);
	hlist_del_init(&l->gc_node);
	rhashtable_remove_fast(&gn->leases_rp, &l->rp_node,
			       guise_lease_rp_params);
	rhashtable_remove_fast(&gn->leases_v, &l->v_node, guise_lease_v_params);
	atomic_dec(&gn->nr_leases);
	call_rcu(&l->rcu, guise_lease_free_rcu);
}

int guise_lease_new(struct guise_net *gn, const struct guise_lease_spec *s,
		    struct netlink_ext_ack *extack)
{
	const struct guise_config *cfg;
	struct guise_lease *old, *byv, *l;
	int ret;

	lockdep_assert_held(&gn->lock);
	cfg = rcu_dereference_protected(gn->cfg, lockdep_is_held(&gn->lock));
	if (!guise_config_is_virtual(cfg, &s->virt)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "virtual address outside the served prefixes");
		return -EINVAL;
	}

	rcu_read_lock();
	old = guise_lease_lookup_rp(gn, &s->rp.real, &s->rp.peer);
	byv = guise_lease_lookup_v(gn, &s->virt);
	rcu_read_unlock();

	/* An expired lease is absent: collect it now rather than conflict. */
	if (old && !guise_lease_live(old)) {
		if (byv == old)
			byv = NULL;
		guise_lease_notify_expired(gn, old);
		guise_lease_unlink(gn, old);
		old = NULL;
	}
	if (byv && !guise_lease_live(byv)) {
		guise_lease_notify_expired(gn, byv);
		guise_lease_unlink(gn, byv);
		byv = NULL;
	}

	if (byv && byv != old) {
		NL_SET_ERR_MSG_MOD(extack,
				   "virtual address is leased to another (real, peer)");
		return -EEXIST;
	}
	if (old) {
		if (!ipv6_addr_equal(&old->virt, &s->virt)) {
			NL_SET_ERR_MSG_MOD(extack,
					   "(real, peer) has a lease on another virtual address");
			return -EEXIST;
		}
		guise_lease_set(old, s);
		guise_lease_wheel_add(gn, old);	/* the expiry moved */
		if (s->flags & GUISE_LEASE_F_EGRESS)
			guise_miss_release(gn, &s->rp);
		return 0;
	}

	if (atomic_read(&gn->nr_leases) >= cfg->max_leases) {
		NL_SET_ERR_MSG_MOD(extack, "lease table full (see max-leases)");
		return -ENOSPC;
	}

	l = guise_lease_alloc();
	if (!l)
		return -ENOMEM;
	l->rp = s->rp;
	l->virt = s->virt;
	guise_lease_set(l, s);

	ret = rhashtable_insert_fast(&gn->leases_rp, &l->rp_node,
				     guise_lease_rp_params);
	if (ret)
		goto err_free;
	ret = rhashtable_insert_fast(&gn->leases_v, &l->v_node,
				     guise_lease_v_params);
	if (ret)
		goto err_rp;

	guise_lease_wheel_add(gn, l);
	atomic_inc(&gn->nr_leases);
	if (s->flags & GUISE_LEASE_F_EGRESS)
		guise_miss_release(gn, &s->rp);
	return 0;

err_rp:
	rhashtable_remove_fast(&gn->leases_rp, &l->rp_node,
			       guise_lease_rp_params);
	/* Was visible to readers for a moment: free after a grace period. */
	call_rcu(&l->rcu, guise_lease_free_rcu);
	return ret;
err_free:
	guise_lease_free(l);
	return ret;
}

/* Every linked lease is on a wheel slot or on lease_gc_todo. */
void guise_lease_flush(struct guise_net *gn)
{
	struct hlist_node *tmp;
	struct guise_lease *l;
	unsigned int i;

	lockdep_assert_held(&gn->lock);
	hlist_for_each_entry_safe(l, tmp, &gn->lease_gc_todo, gc_node)
		guise_lease_unlink(gn, l);
	for (i = 0; i < GUISE_GC_SLOTS; i++) {
		hlist_for_each_entry_safe(l, tmp, &gn->lease_wheel[i], gc_node)
			guise_lease_unlink(gn, l);
		cond_resched();
	}
}

/*
 * Collect the expired leases of the granules that have passed, oldest
 * first: a slot is moved whole to lease_gc_todo, then each lease on it is
 * either expired (notified, unlinked) or, if its expiry is laps ahead,
 * filed back. Every GUISE_LEASE_GC_BATCH leases the lock is dropped and
 * the CPU offered; lease_gc_todo lives in guise_net so that LEASE_DEL and
 * LEASE_NEW may take leases off it meanwhile. Returns true when the budget
 * ran out with work left.
 */
static bool guise_lease_gc_run(struct guise_net *gn)
{
	unsigned long now = guise_lease_granule(jiffies);
	unsigned int seen = 0;
	struct guise_lease *l;

	lockdep_assert_held(&gn->lock);
	/* More than a lap behind: one visit of every slot finds everything. */
	if (now - gn->lease_gc_next > GUISE_GC_SLOTS)
		gn->lease_gc_next = now - GUISE_GC_SLOTS;

	for (;;) {
		while (!hlist_empty(&gn->lease_gc_todo)) {
			l = hlist_entry(gn->lease_gc_todo.first,
					struct guise_lease, gc_node);
			if (guise_lease_live(l)) {
				guise_lease_wheel_add(gn, l);
			} else {
				guise_lease_notify_expired(gn, l);
				guise_lease_unlink(gn, l);
			}
			if (++seen % GUISE_LEASE_GC_BATCH)
				continue;
			if (seen >= GUISE_LEASE_GC_BUDGET)
				return true;
			mutex_unlock(&gn->lock);
			cond_resched();
			mutex_lock(&gn->lock);
		}
		/* Granule g is over once now > g: all its leases are due. */
		if ((long)(now - gn->lease_gc_next) <= 0)
			return false;
		hlist_move_list(guise_lease_slot(gn, gn->lease_gc_next),
				&gn->lease_gc_todo);
		gn->lease_gc_next++;
	}
}

static void guise_lease_gc(struct work_struct *work)
{
	struct guise_net *gn = container_of(to_delayed_work(work),
					    struct guise_net, lease_gc);
	unsigned long delay;
	bool more;

	mutex_lock(&gn->lock);
	more = guise_lease_gc_run(gn);
	/* Next: right away if the budget ran out, else when a granule ends. */
	delay = (gn->lease_gc_next + 1) << GUISE_GC_SHIFT;
	mutex_unlock(&gn->lock);
	delay = more ? 1 : max_t(long, (long)(delay - jiffies), 1);
	queue_delayed_work(system_power_efficient_wq, &gn->lease_gc, delay);
}

void guise_lease_stats_read(const struct guise_lease *l,
			    struct guise_lease_stats *sum)
{
	int cpu;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		const struct guise_lease_pcpu *s = per_cpu_ptr(l->stats, cpu);
		struct guise_lease_pcpu snap;
		unsigned int start;

		do {
			start = u64_stats_fetch_begin(&s->syncp);
			snap = *s;
		} while (u64_stats_fetch_retry(&s->syncp, start));
		sum->tx_packets += snap.tx_packets;
		sum->tx_bytes += snap.tx_bytes;
		sum->rx_packets += snap.rx_packets;
		sum->rx_bytes += snap.rx_bytes;
	}
	sum->drop_rate = atomic64_read(&l->drop_rate);
	sum->drop_smtp = atomic64_read(&l->drop_smtp);
}

void guise_lease_count_tx(struct guise_lease *l, unsigned int len)
{
	struct guise_lease_pcpu *s = get_cpu_ptr(l->stats);
	unsigned long flags;

	flags = u64_stats_update_begin_irqsave(&s->syncp);
	s->tx_packets++;
	s->tx_bytes += len;
	u64_stats_update_end_irqrestore(&s->syncp, flags);
	put_cpu_ptr(l->stats);
}

void guise_lease_count_rx(struct guise_lease *l, unsigned int len)
{
	struct guise_lease_pcpu *s = get_cpu_ptr(l->stats);
	unsigned long flags;

	flags = u64_stats_update_begin_irqsave(&s->syncp);
	s->rx_packets++;
	s->rx_bytes += len;
	u64_stats_update_end_irqrestore(&s->syncp, flags);
	put_cpu_ptr(l->stats);
}

/* Only leases with abuse controls drop: a shared counter is enough. */
void guise_lease_count_drop(struct guise_lease *l, bool smtp)
{
	atomic64_inc(smtp ? &l->drop_smtp : &l->drop_rate);
}

/* Token bucket; true if the packet may pass. */
bool guise_lease_rate_ok(struct guise_lease *l)
{
	u32 pps = READ_ONCE(l->rate_pps);
	u64 now, cost, cap;
	bool ok;

	if (!pps)
		return true;
	cost = NSEC_PER_SEC / pps;
	cap = cost * max_t(u32, READ_ONCE(l->rate_burst), 1);
	now = ktime_get_ns();

	spin_lock_bh(&l->rl_lock);
	l->rl_credit_ns = min(cap, l->rl_credit_ns + (now - l->rl_stamp_ns));
	l->rl_stamp_ns = now;
	ok = l->rl_credit_ns >= cost;
	if (ok)
		l->rl_credit_ns -= cost;
	spin_unlock_bh(&l->rl_lock);
	return ok;
}

u32 guise_lease_count(struct guise_net *gn)
{
	return atomic_read(&gn->nr_leases);
}

int guise_lease_net_init(struct guise_net *gn)
{
	int ret;

	gn->lease_wheel = kvcalloc(GUISE_GC_SLOTS, sizeof(*gn->lease_wheel),
				   GFP_KERNEL);
	if (!gn->lease_wheel)
		return -ENOMEM;
	ret = rhashtable_init(&gn->leases_rp, &guise_lease_rp_params);
	if (ret)
		goto err_wheel;
	ret = rhashtable_init(&gn->leases_v, &guise_lease_v_params);
	if (ret)
		goto err_rp;
	atomic_set(&gn->nr_leases, 0);
	INIT_HLIST_HEAD(&gn->lease_gc_todo);
	gn->lease_gc_next = guise_lease_granule(jiffies);
	INIT_DELAYED_WORK(&gn->lease_gc, guise_lease_gc);
	queue_delayed_work(system_power_efficient_wq, &gn->lease_gc, HZ);
	return 0;

err_rp:
	rhashtable_destroy(&gn->leases_rp);
err_wheel:
	kvfree(gn->lease_wheel);
	return ret;
}

void guise_lease_net_pre_exit(struct guise_net *gn)
{
	cancel_delayed_work_sync(&gn->lease_gc);
}

static void guise_lease_destroy_one(void *ptr, void *arg)
{
	guise_lease_free(ptr);
}

/* After pre_exit and a grace period: no hook and no reader is left. */
void guise_lease_net_exit(struct guise_net *gn)
{
	rhashtable_destroy(&gn->leases_rp);
	rhashtable_free_and_destroy(&gn->leases_v, guise_lease_destroy_one,
				    NULL);
	kvfree(gn->lease_wheel);
}

int guise_lease_cache_init(void)
{
	guise_lease_cache = KMEM_CACHE(guise_lease, 0);
	return guise_lease_cache ? 0 : -ENOMEM;
}

/* After rcu_barrier(): every lease is freed. */
void guise_lease_cache_exit(void)
{
	kmem_cache_destroy(guise_lease_cache);
}
