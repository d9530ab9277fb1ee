// SPDX-License-Identifier: GPL-2.0
/*
 * Per-CPU, per-netns global counters, summed on read. Writers may run in
 * any context, so the u64_stats section is entered with the irqsave
 * variant (a no-op on 64-bit).
 */
#include <linux/percpu.h>
#include <linux/u64_stats_sync.h>

#include "guise.h"

int guise_stats_alloc(struct guise_net *gn)
{
	int cpu;

	gn->stats = alloc_percpu_gfp(struct guise_pcpu_stats,
				     GFP_KERNEL_ACCOUNT);
	if (!gn->stats)
		return -ENOMEM;
	for_each_possible_cpu(cpu)
		u64_stats_init(&per_cpu_ptr(gn->stats, cpu)->syncp);
	return 0;
}

void guise_stats_free(struct guise_net *gn)
{
	free_percpu(gn->stats);
	gn->stats = NULL;
}

void guise_stat_add(struct guise_net *gn, enum guise_stat s, u64 n)
{
	struct guise_pcpu_stats *st;
	unsigned long flags;

	st = get_cpu_ptr(gn->stats);
	flags = u64_stats_update_begin_irqsave(&st->syncp);
	st->cnt[s] += n;
	u64_stats_update_end_irqrestore(&st->syncp, flags);
	put_cpu_ptr(gn->stats);
}

void guise_stats_read(struct guise_net *gn, u64 out[__GUISE_STAT_MAX])
{
	int cpu, i;

	memset(out, 0, sizeof(u64) * __GUISE_STAT_MAX);
	for_each_possible_cpu(cpu) {
		const struct guise_pcpu_stats *st = per_cpu_ptr(gn->stats, cpu);
		u64 snap[__GUISE_STAT_MAX];
		unsigned int start;

		do {
			start = u64_stats_fetch_begin(&st->syncp);
			memcpy(snap, st->cnt, sizeof(snap));
		} while (u64_stats_fetch_retry(&st->syncp, start));

		for (i = 0; i < __GUISE_STAT_MAX; i++)
			out[i] += snap[i];
	}
}

/* GUISE_CMD_STATS_GET: one u64 per counter, attribute type = index + 1. */
int guise_stats_nl_get(struct sk_buff *skb, struct genl_info *info)
{
	struct guise_net *gn = guise_net(genl_info_net(info));
	u64 cnt[__GUISE_STAT_MAX];
	struct sk_buff *msg;
	struct nlattr *nest;
	void *hdr;
	int i;

	guise_stats_read(gn, cnt);

	msg = genlmsg_new(nla_total_size(0) +
			  __GUISE_STAT_MAX * nla_total_size_64bit(8),
			  GFP_KERNEL);
	if (!msg)
		return -ENOMEM;

	hdr = genlmsg_put_reply(msg, info, &guise_genl_family, 0,
				GUISE_CMD_STATS_GET);
	if (!hdr)
		goto err;

	nest = nla_nest_start(msg, GUISE_A_STATS);
	if (!nest)
		goto err;
	/* Type 0 is reserved in this nest; it doubles as the pad type. */
	for (i = 0; i < __GUISE_STAT_MAX; i++)
		if (nla_put_u64_64bit(msg, i + 1, cnt[i], 0))
			goto err;
	nla_nest_end(msg, nest);
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

err:
	nlmsg_free(msg);
	return -EMSGSIZE;
}
