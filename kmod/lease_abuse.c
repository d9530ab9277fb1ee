// SPDX-License-Identifier: GPL-2.0
/*
 * Abuse controls of a lease: the rate limit (a token bucket) and the
 * counters of packets dropped by it and by the SMTP block. Few leases have
 * them, so their state is a separate object that only such leases carry
 * (l->abuse). It is allocated when a lease first asks for a rate limit, a
 * burst or the SMTP block, before anything of the lease changes (so that a
 * failed allocation leaves a replaced lease as it was), published with a
 * release store and kept, even if a later replacement drops the controls,
 * until the lease is freed. Readers follow l->abuse with READ_ONCE(); NULL
 * means no rate limit and no drops.
 */
#include <linux/ktime.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "lease.h"

struct guise_lease_abuse {
	/* Token bucket in ns of credit: a packet costs NSEC_PER_SEC/pps. */
	spinlock_t lock;	/* protects credit_ns, stamp_ns */
	/* Replacing a lease rewrites these in place: READ_ONCE in readers. */
	u32 rate_pps;
	u32 rate_burst;
	u64 credit_ns;
	u64 stamp_ns;
	/* Only leases with abuse controls drop: shared counters suffice. */
	atomic64_t drop_rate;
	atomic64_t drop_smtp;
};

static bool guise_lease_abuse_wanted(const struct guise_lease_spec *s)
{
	return s->rate_pps || s->rate_burst ||
	       (s->flags & GUISE_LEASE_F_BLOCK_SMTP);
}

/* Allocate @l's abuse state if @s needs it; @l may be visible already. */
int guise_lease_abuse_prepare(struct guise_lease *l,
			      const struct guise_lease_spec *s)
{
	struct guise_lease_abuse *a;

	if (l->abuse || !guise_lease_abuse_wanted(s))
		return 0;
	a = kzalloc(sizeof(*a), GFP_KERNEL_ACCOUNT);
	if (!a)
		return -ENOMEM;
	spin_lock_init(&a->lock);
	a->stamp_ns = ktime_get_ns();
	atomic64_set(&a->drop_rate, 0);
	atomic64_set(&a->drop_smtp, 0);
	atomic_long_inc(&guise_live_objects);
	/* No rate yet: readers that see it early let packets pass. */
	smp_store_release(&l->abuse, a);
	return 0;
}

/* Apply the rate limit of @s; readers may be looking at @l. */
void guise_lease_abuse_set(struct guise_lease *l,
			   const struct guise_lease_spec *s)
{
	struct guise_lease_abuse *a = l->abuse;

	if (!a)
		return;
	spin_lock_bh(&a->lock);
	a->credit_ns = 0;
	/* Under the lock, as in guise_lease_rate_ok(): never backwards. */
	a->stamp_ns = ktime_get_ns();
	WRITE_ONCE(a->rate_burst, s->rate_burst);
	WRITE_ONCE(a->rate_pps, s->rate_pps);
	spin_unlock_bh(&a->lock);
}

/* With @l: no reader is left. */
void guise_lease_abuse_free(struct guise_lease *l)
{
	if (!l->abuse)
		return;
	kfree(l->abuse);
	l->abuse = NULL;
	atomic_long_dec(&guise_live_objects);
}

void guise_lease_abuse_rate(const struct guise_lease *l, u32 *pps, u32 *burst)
{
	const struct guise_lease_abuse *a = READ_ONCE(l->abuse);

	*pps = a ? READ_ONCE(a->rate_pps) : 0;
	*burst = a ? READ_ONCE(a->rate_burst) : 0;
}

void guise_lease_abuse_drops(const struct guise_lease *l,
			     struct guise_lease_stats *sum)
{
	const struct guise_lease_abuse *a = READ_ONCE(l->abuse);

	sum->drop_rate = a ? atomic64_read(&a->drop_rate) : 0;
	sum->drop_smtp = a ? atomic64_read(&a->drop_smtp) : 0;
}

/*
 * A lease with GUISE_LEASE_F_BLOCK_SMTP or a rate has its state, published
 * before the flag or rate was set; NULL here could only come from a reader
 * whose loads were reordered around that: the drop is then not counted.
 */
void guise_lease_count_drop(struct guise_lease *l, bool smtp)
{
	struct guise_lease_abuse *a = READ_ONCE(l->abuse);

	if (a)
		atomic64_inc(smtp ? &a->drop_smtp : &a->drop_rate);
}

/* Token bucket; true if the packet may pass. */
bool guise_lease_rate_ok(struct guise_lease *l)
{
	struct guise_lease_abuse *a = READ_ONCE(l->abuse);
	u64 now, cost, cap;
	u32 pps;
	bool ok;

	if (!a)
		return true;
	pps = READ_ONCE(a->rate_pps);
	if (!pps)
		return true;
	cost = NSEC_PER_SEC / pps;
	cap = cost * max_t(u32, READ_ONCE(a->rate_burst), 1);

	spin_lock_bh(&a->lock);
	/*
	 * The clock is read under the lock: read before it, a CPU could
	 * find a stamp set by another CPU that read the clock later, and
	 * the negative difference, as u64, would refill a whole burst and
	 * move the stamp back. The monotonic clock is the same on every
	 * CPU, so under the lock it never goes back; stay safe anyway.
	 */
	now = ktime_get_ns();
	if ((s64)(now - a->stamp_ns) > 0) {
		a->credit_ns += now - a->stamp_ns;
		a->stamp_ns = now;
	}
	a->credit_ns = min(cap, a->credit_ns);
	ok = a->credit_ns >= cost;
	if (ok)
		a->credit_ns -= cost;
	spin_unlock_bh(&a->lock);
	return ok;
}
