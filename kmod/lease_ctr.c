// SPDX-License-Identifier: GPL-2.0
/*
 * Per-lease packet and byte counters, per CPU, without the per-CPU
 * allocator (whose chunk metadata costs 2 bytes of vmalloc per byte of
 * per-CPU unit on a kernel with memcg kmem accounting).
 *
 * Every lease takes a counter slot: a number unique in its namespace while
 * the lease exists, the lowest free one first (an IDA). Slot s lives in
 * chunk s / GUISE_LEASE_CHUNK; a chunk is one allocation holding, CPU after
 * CPU, a run of GUISE_LEASE_CHUNK cells per possible CPU (a page each at
 * 32 B a cell), so two CPUs never write the same cache line. The lease
 * keeps a pointer to its CPU 0 cell; CPU c's cell is GUISE_LEASE_CHUNK
 * cells further per CPU: one pointer load and one multiply-add in the
 * datapath, like this_cpu_ptr() on a per-CPU pointer. Chunks are allocated
 * when their first slot is taken and freed when their last slot is given
 * back; the chunk directory (an array, grown by doubling) is used only
 * under guise_net.lock, never by the datapath.
 *
 * Reuse. A slot is given back only by the reclaim work (lease.c), after an
 * RCU grace period that follows the unlinking of its lease, together with
 * the lease itself: a datapath reader that found the old lease may add to
 * its cells until then, never after. The cells are zeroed when the slot is
 * taken again, before the new lease is published (the rhashtable insert
 * orders them), so a new lease starts from zero and is never credited with
 * an old lease's packets. What readers add to a lease after its expiry
 * event or its removal was decided is lost, as with freed per-CPU memory.
 *
 * Readers sum the cells of all possible CPUs; on 32-bit each cell has its
 * u64_stats_sync, as the per-CPU structure had.
 */
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>

#include "lease.h"

struct guise_lease_chunk {
	struct guise_lease_ctr *cells;	/* nr_cpu_ids * GUISE_LEASE_CHUNK */
	u32 used;			/* slots of this chunk taken */
};

static struct guise_lease_ctr *guise_lease_ctr_cpu(const struct guise_lease *l,
						   unsigned int cpu)
{
	return l->ctr + (size_t)cpu * GUISE_LEASE_CHUNK;
}

static size_t guise_lease_chunk_size(void)
{
	return array3_size(nr_cpu_ids, GUISE_LEASE_CHUNK,
			   sizeof(struct guise_lease_ctr));
}

/* Make the chunk directory long enough for chunk @idx. */
static int guise_lease_dir_grow(struct guise_net *gn, u32 idx)
{
	struct guise_lease_chunk *dir;
	u32 n = max_t(u32, gn->lease_nr_chunks, 16);

	while (n <= idx)
		n *= 2;	/* idx < 2^24 (slots are ints): no overflow */
	dir = kvcalloc(n, sizeof(*dir), GFP_KERNEL_ACCOUNT);
	if (!dir)
		return -ENOMEM;
	if (gn->lease_nr_chunks)
		memcpy(dir, gn->lease_chunks,
		       gn->lease_nr_chunks * sizeof(*dir));
	kvfree(gn->lease_chunks);
	gn->lease_chunks = dir;
	gn->lease_nr_chunks = n;
	return 0;
}

/* Give @l, not yet visible to readers, a slot and zeroed counters. */
int guise_lease_ctr_get(struct guise_net *gn, struct guise_lease *l)
{
	struct guise_lease_chunk *ch;
	unsigned int cpu;
	int slot, ret;
	u32 idx;

	lockdep_assert_held(&gn->lock);
	slot = ida_alloc(&gn->lease_slots, GFP_KERNEL);
	if (slot < 0)
		return slot;
	idx = (u32)slot >> GUISE_LEASE_CHUNK_SHIFT;
	if (idx >= gn->lease_nr_chunks) {
		ret = guise_lease_dir_grow(gn, idx);
		if (ret)
			goto err_slot;
	}
	ch = &gn->lease_chunks[idx];
	if (!ch->cells) {
		ch->cells = kvzalloc(guise_lease_chunk_size(),
				     GFP_KERNEL_ACCOUNT);
		if (!ch->cells) {
			ret = -ENOMEM;
			goto err_slot;
		}
		atomic_long_inc(&guise_live_objects);
	}
	ch->used++;
	l->slot = slot;
	l->ctr = ch->cells + (slot & (GUISE_LEASE_CHUNK - 1));
	/* A reused slot: its last lease's readers are gone (see above). */
	for_each_possible_cpu(cpu) {
		struct guise_lease_ctr *c = guise_lease_ctr_cpu(l, cpu);

		memset(c, 0, sizeof(*c));
		u64_stats_init(&c->syncp);
	}
	return 0;

err_slot:
	ida_free(&gn->lease_slots, slot);
	return ret;
}

/* Give back @l's slot: no reader can reach @l any more. */
void guise_lease_ctr_put(struct guise_net *gn, struct guise_lease *l)
{
	struct guise_lease_chunk *ch;

	lockdep_assert_held(&gn->lock);
	ch = &gn->lease_chunks[l->slot >> GUISE_LEASE_CHUNK_SHIFT];
	if (!--ch->used) {
		kvfree(ch->cells);
		ch->cells = NULL;
		atomic_long_dec(&guise_live_objects);
	}
	ida_free(&gn->lease_slots, l->slot);
	l->ctr = NULL;
}

void guise_lease_ctr_net_init(struct guise_net *gn)
{
	ida_init(&gn->lease_slots);
	gn->lease_chunks = NULL;
	gn->lease_nr_chunks = 0;
}

/* After every lease was freed: every chunk is gone with its last slot. */
void guise_lease_ctr_net_exit(struct guise_net *gn)
{
	u32 i;

	for (i = 0; i < gn->lease_nr_chunks; i++) {
		if (WARN_ON_ONCE(gn->lease_chunks[i].cells)) {
			kvfree(gn->lease_chunks[i].cells);
			atomic_long_dec(&guise_live_objects);
		}
	}
	kvfree(gn->lease_chunks);
	gn->lease_chunks = NULL;
	gn->lease_nr_chunks = 0;
	ida_destroy(&gn->lease_slots);
}

void guise_lease_stats_read(const struct guise_lease *l,
			    struct guise_lease_stats *sum)
{
	unsigned int cpu;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		const struct guise_lease_ctr *c = guise_lease_ctr_cpu(l, cpu);
		struct guise_lease_ctr snap;
		unsigned int start;

		do {
			start = u64_stats_fetch_begin(&c->syncp);
			snap = *c;
		} while (u64_stats_fetch_retry(&c->syncp, start));
		sum->tx_packets += snap.tx_packets;
		sum->tx_bytes += snap.tx_bytes;
		sum->rx_packets += snap.rx_packets;
		sum->rx_bytes += snap.rx_bytes;
	}
	guise_lease_abuse_drops(l, sum);
}

/* Any context: the hooks run in softirq and in process context. */
void guise_lease_count_tx(struct guise_lease *l, unsigned int len)
{
	struct guise_lease_ctr *c = guise_lease_ctr_cpu(l, get_cpu());
	unsigned long flags;

	flags = u64_stats_update_begin_irqsave(&c->syncp);
	c->tx_packets++;
	c->tx_bytes += len;
	u64_stats_update_end_irqrestore(&c->syncp, flags);
	put_cpu();
}

void guise_lease_count_rx(struct guise_lease *l, unsigned int len)
{
	struct guise_lease_ctr *c = guise_lease_ctr_cpu(l, get_cpu());
	unsigned long flags;

	flags = u64_stats_update_begin_irqsave(&c->syncp);
	c->rx_packets++;
	c->rx_bytes += len;
	u64_stats_update_end_irqrestore(&c->syncp, flags);
	put_cpu();
}
