// SPDX-License-Identifier: GPL-2.0
/*
 * The lease table: insert, replace, remove, expire. Lookups are lock-free
 * (RCU); every change is made under guise_net.lock. Expiry is decided at
 * lookup time by the datapath (guise_lease_live()); the collector below
 * only frees what already stopped working and tells userspace. It finds
 * what is due on the expiry wheel (lease.h) without walking the table.
 *
 * Freeing. An unlinked lease goes to gn->lease_limbo. The reclaim work is
 * an rcu_work: queueing it moves the limbo list to lease_limbo_gp and
 * starts a grace period; when the work runs, every reader that could have
 * found a lease on lease_limbo_gp is gone, and the work frees those leases
 * together with their counter slots (lease_ctr.c) and abuse state. Leases
 * unlinked meanwhile wait on lease_limbo for the next round. No RCU
 * callback touches the namespace, so none can outlive it: pre_exit stops
 * the requeueing, exit flushes the work and frees what is left (the grace
 * period between pre_exit and exit covers it).
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

/* A lease for @s with its counter slot and, if @s asks, abuse state. */
static struct guise_lease *guise_lease_alloc(struct guise_net *gn,
					     const struct guise_lease_spec *s)
{
	struct guise_lease *l;
	int ret;

	l = kmem_cache_zalloc(guise_lease_cache, GFP_KERNEL_ACCOUNT);
	if (!l)
		return ERR_PTR(-ENOMEM);
	atomic_long_inc(&guise_live_objects);
	ret = guise_lease_ctr_get(gn, l);
	if (ret)
		goto err_free;
	ret = guise_lease_abuse_prepare(l, s);
	if (ret)
		goto err_ctr;
	return l;

err_ctr:
	guise_lease_ctr_put(gn, l);	/* never visible: no grace needed */
err_free:
	kmem_cache_free(guise_lease_cache, l);
	atomic_long_dec(&guise_live_objects);
	return ERR_PTR(ret);
}

/* No reader can reach @l: free it and give its slot back. */
static void guise_lease_free(struct guise_net *gn, struct guise_lease *l)
{
	guise_lease_ctr_put(gn, l);
	guise_lease_abuse_free(l);
	kmem_cache_free(guise_lease_cache, l);
	atomic_long_dec(&guise_live_objects);
}

/* @l is unreachable for new readers: free it after a grace period. */
static void guise_lease_retire(struct guise_net *gn, struct guise_lease *l)
{
	lockdep_assert_held(&gn->lock);
	hlist_add_head(&l->gc_node, &gn->lease_limbo);
	if (gn->lease_reclaim_busy || gn->lease_dying)
		return;	/* the running round requeues, or exit frees it */
	hlist_move_list(&gn->lease_limbo, &gn->lease_limbo_gp);
	gn->lease_reclaim_busy = true;
	queue_rcu_work(system_wq, &gn->lease_reclaim);
}

/* Free the leases of @head, dropping the lock now and then. */
static void guise_lease_free_list(struct guise_net *gn,
				  struct hlist_head *head)
{
	struct guise_lease *l;
	unsigned int n = 0;

	lockdep_assert_held(&gn->lock);
	while (!hlist_empty(head)) {
		l = hlist_entry(head->first, struct guise_lease, gc_node);
		hlist_del(&l->gc_node);
		guise_lease_free(gn, l);
		if (++n % GUISE_LEASE_GC_BATCH)
			continue;
		mutex_unlock(&gn->lock);
		cond_resched();
		mutex_lock(&gn->lock);
	}
}

/*
 * A grace period has passed since the leases on lease_limbo_gp were
 * unlinked. Only this work and exit (after flushing it) touch that list
 * while lease_reclaim_busy is set, so dropping the lock is safe.
 */
static void guise_lease_reclaim(struct work_struct *work)
{
	struct guise_net *gn = container_of(to_rcu_work(work),
					    struct guise_net, lease_reclaim);

	mutex_lock(&gn->lock);
	guise_lease_free_list(gn, &gn->lease_limbo_gp);
	if (!hlist_empty(&gn->lease_limbo) && !gn->lease_dying) {
		hlist_move_list(&gn->lease_limbo, &gn->lease_limbo_gp);
		queue_rcu_work(system_wq, &gn->lease_reclaim);
	} else {
		gn->lease_reclaim_busy = false;
	}
	mutex_unlock(&gn->lock);
}

/* Apply the mutable part of @s; readers may be looking at @l. */
static void guise_lease_set(struct guise_lease *l,
			    const struct guise_lease_spec *s)
{
	guise_lease_abuse_set(l, s);
	WRITE_ONCE(l->flags, s->flags);
	/* In u64: guise_lease_nl_new() refused what jiffies cannot hold. */
	WRITE_ONCE(l->expires,
		   jiffies + (unsigned long)((u64)s->lifetime * HZ));
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

/*
 * A namespace that never leases pays for neither the wheel nor the
 * collector: the wheel comes with the first lease, and the collector runs
 * only while there are leases.
 */
static int guise_lease_wheel_alloc(struct guise_net *gn)
{
	lockdep_assert_held(&gn->lock);
	if (gn->lease_wheel)
		return 0;
	gn->lease_wheel = kvcalloc(GUISE_GC_SLOTS, sizeof(*gn->lease_wheel),
				   GFP_KERNEL_ACCOUNT);
	return gn->lease_wheel ? 0 : -ENOMEM;
}

/* The first lease of an empty table: the wheel is empty, start it now. */
static void guise_lease_gc_arm(struct guise_net *gn)
{
	unsigned long end;

	lockdep_assert_held(&gn->lock);
	gn->lease_gc_next = guise_lease_granule(jiffies);
	end = (gn->lease_gc_next + 1) << GUISE_GC_SHIFT;
	/* A no-op while the collector is queued; it runs under lock. */
	queue_delayed_work(system_power_efficient_wq, &gn->lease_gc,
			   max_t(long, (long)(end - jiffies), 1));
}

void guise_lease_unlink(struct guise_net *gn, struct guise_lease *l)
{
	lockdep_assert_held(&gn->lock);
	hlist_del_init(&l->gc_node);
	rhashtable_remove_fast(&gn->leases_rp, &l->rp_node,
			       guise_lease_rp_params);
	rhashtable_remove_fast(&gn->leases_v, &l->v_node, guise_lease_v_params);
	atomic_dec(&gn->nr_leases);
	guise_lease_retire(gn, l);
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
		/* Allocate first: on failure the lease stays as it was. */
		ret = guise_lease_abuse_prepare(old, s);
		if (ret)
			return ret;
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
	ret = guise_lease_wheel_alloc(gn);
	if (ret)
		return ret;

	l = guise_lease_alloc(gn, s);
	if (IS_ERR(l))
		return PTR_ERR(l);
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
	if (atomic_inc_return(&gn->nr_leases) == 1)
		guise_lease_gc_arm(gn);
	if (s->flags & GUISE_LEASE_F_EGRESS)
		guise_miss_release(gn, &s->rp);
	return 0;

err_rp:
	rhashtable_remove_fast(&gn->leases_rp, &l->rp_node,
			       guise_lease_rp_params);
	/* Was visible to readers for a moment: free after a grace period. */
	guise_lease_retire(gn, l);
	return ret;
err_free:
	guise_lease_free(gn, l);
	return ret;
}

/*
 * Flushing takes an expired lease that the collector has not reached yet
 * (up to about two granules after its expiry) off its hands: it gets its
 * LEASE_EXPIRED here, as it would from the collector or from LEASE_NEW.
 */
static void guise_lease_flush_one(struct guise_net *gn, struct guise_lease *l)
{
	if (!guise_lease_live(l))
		guise_lease_notify_expired(gn, l);
	guise_lease_unlink(gn, l);
}

/* Every linked lease is on a wheel slot or on lease_gc_todo. */
void guise_lease_flush(struct guise_net *gn)
{
	struct hlist_node *tmp;
	struct guise_lease *l;
	unsigned int i;

	lockdep_assert_held(&gn->lock);
	if (!gn->lease_wheel)
		return;		/* never had a lease */
	hlist_for_each_entry_safe(l, tmp, &gn->lease_gc_todo, gc_node)
		guise_lease_flush_one(gn, l);
	for (i = 0; i < GUISE_GC_SLOTS; i++) {
		hlist_for_each_entry_safe(l, tmp, &gn->lease_wheel[i], gc_node)
			guise_lease_flush_one(gn, l);
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
	bool more, idle;

	mutex_lock(&gn->lock);
	more = guise_lease_gc_run(gn);
	/* Next: right away if the budget ran out, else when a granule ends. */
	delay = (gn->lease_gc_next + 1) << GUISE_GC_SHIFT;
	/* Idle without leases; the next one re-arms (guise_lease_gc_arm). */
	idle = !atomic_read(&gn->nr_leases);
	mutex_unlock(&gn->lock);
	if (idle)
		return;
	delay = more ? 1 : max_t(long, (long)(delay - jiffies), 1);
	queue_delayed_work(system_power_efficient_wq, &gn->lease_gc, delay);
}

u32 guise_lease_count(struct guise_net *gn)
{
	return atomic_read(&gn->nr_leases);
}

int guise_lease_net_init(struct guise_net *gn)
{
	int ret;

	gn->lease_wheel = NULL;		/* guise_lease_wheel_alloc() */
	ret = rhashtable_init(&gn->leases_rp, &guise_lease_rp_params);
	if (ret)
		return ret;
	ret = rhashtable_init(&gn->leases_v, &guise_lease_v_params);
	if (ret)
		goto err_rp;
	atomic_set(&gn->nr_leases, 0);
	guise_lease_ctr_net_init(gn);
	INIT_HLIST_HEAD(&gn->lease_limbo);
	INIT_HLIST_HEAD(&gn->lease_limbo_gp);
	INIT_RCU_WORK(&gn->lease_reclaim, guise_lease_reclaim);
	gn->lease_reclaim_busy = false;
	gn->lease_dying = false;
	INIT_HLIST_HEAD(&gn->lease_gc_todo);
	gn->lease_gc_next = guise_lease_granule(jiffies);
	INIT_DELAYED_WORK(&gn->lease_gc, guise_lease_gc);
	return 0;

err_rp:
	rhashtable_destroy(&gn->leases_rp);
	return ret;
}

void guise_lease_net_pre_exit(struct guise_net *gn)
{
	cancel_delayed_work_sync(&gn->lease_gc);
	mutex_lock(&gn->lock);
	gn->lease_dying = true;
	mutex_unlock(&gn->lock);
}

static void guise_lease_destroy_one(void *ptr, void *arg)
{
	guise_lease_free(arg, ptr);
}

/* After pre_exit and a grace period: no hook and no reader is left. */
void guise_lease_net_exit(struct guise_net *gn)
{
	flush_rcu_work(&gn->lease_reclaim);
	mutex_lock(&gn->lock);
	guise_lease_free_list(gn, &gn->lease_limbo_gp);
	guise_lease_free_list(gn, &gn->lease_limbo);
	rhashtable_destroy(&gn->leases_rp);
	rhashtable_free_and_destroy(&gn->leases_v, guise_lease_destroy_one,
				    gn);
	mutex_unlock(&gn->lock);
	guise_lease_ctr_net_exit(gn);
	kvfree(gn->lease_wheel);
}

int guise_lease_cache_init(void)
{
	guise_lease_cache = KMEM_CACHE(guise_lease, 0);
	return guise_lease_cache ? 0 : -ENOMEM;
}

/* After every namespace's exit: every lease is freed. */
void guise_lease_cache_exit(void)
{
	kmem_cache_destroy(guise_lease_cache);
}
