// SPDX-License-Identifier: GPL-2.0
/*
 * Anti-replay window for received content: a bitmap of the last @size
 * sequence numbers below the highest seen (RFC 4303's sliding window, in
 * the shape WireGuard's counter_validate() uses). check() is a cheap
 * pre-test before decrypting; update() records a sequence only once its
 * tag verified, so forged packets cannot move the window.
 *
 * U64_MAX is never a valid sequence (a sender's key is exhausted before
 * it, guise_content_seq_reserve()): both refuse it as a replay, so that
 * top = seq + 1 cannot wrap to 0, which would reopen the whole window.
 * Any holder of the key could otherwise send it.
 *
 * The lock stays a _bh one although receive normally runs in softirq: a
 * datagram an NFQUEUE at an earlier PREROUTING priority reinjects passes
 * this hook from the verdict's process context (nf_reinject()), where a
 * softirq on the same CPU could otherwise spin on the lock it holds.
 */
#include <linux/bitmap.h>
#include <linux/math64.h>
#include <linux/slab.h>

#include "key.h"

int guise_replay_init(struct guise_replay *r, u32 size)
{
	spin_lock_init(&r->lock);
	r->top = 0;
	r->size = size;
	r->bits = bitmap_zalloc(size, GFP_KERNEL_ACCOUNT);
	return r->bits ? 0 : -ENOMEM;
}

void guise_replay_free(struct guise_replay *r)
{
	bitmap_free(r->bits);
	r->bits = NULL;
}

/* @seq's bit: div_u64_rem(), as a 32-bit kernel has no u64 % u32. */
static u32 guise_replay_bit(const struct guise_replay *r, u64 seq)
{
	u32 rem;

	div_u64_rem(seq, r->size, &rem);
	return rem;
}

static bool guise_replay_seen(const struct guise_replay *r, u64 seq)
{
	if (seq == U64_MAX)
		return true;	/* never sent: top would wrap */
	if (seq >= r->top)
		return false;
	if (r->top - seq > r->size)
		return true;	/* older than the window: treat as replay */
	return test_bit(guise_replay_bit(r, seq), r->bits);
}

bool guise_replay_check(struct guise_replay *r, u64 seq)
{
	bool ok;

	spin_lock_bh(&r->lock);
	ok = !guise_replay_seen(r, seq);
	spin_unlock_bh(&r->lock);
	return ok;
}

bool guise_replay_update(struct guise_replay *r, u64 seq)
{
	bool ok;

	spin_lock_bh(&r->lock);
	ok = !guise_replay_seen(r, seq);
	if (ok) {
		if (seq >= r->top) {
			/* seq < U64_MAX (seen()): neither sum below wraps. */
			u64 gap = seq - r->top, i;

			/* Slide: forget the bits the window moves past. */
			if (gap >= r->size - 1)
				bitmap_zero(r->bits, r->size);
			else
				for (i = 0; i <= gap; i++)
					clear_bit(guise_replay_bit(r, r->top + i),
						  r->bits);
			r->top = seq + 1;
		}
		set_bit(guise_replay_bit(r, seq), r->bits);
	}
	spin_unlock_bh(&r->lock);
	return ok;
}
