// SPDX-License-Identifier: GPL-2.0
/*
 * Per-netns configuration: an immutable snapshot published with RCU.
 * Readers (the datapath, CONFIG_GET) see either the old or the new
 * snapshot, never a half-applied CONFIG_SET.
 */
#include <linux/slab.h>
#include <net/ipv6.h>

#include "guise.h"

struct guise_config *guise_config_alloc(const struct guise_config *from)
{
	struct guise_config *cfg;

	/* Process context (netns creation, CONFIG_SET): charged to its memcg. */
	if (from)
		cfg = kmemdup(from, sizeof(*cfg), GFP_KERNEL_ACCOUNT);
	else
		cfg = kzalloc(sizeof(*cfg), GFP_KERNEL_ACCOUNT);
	if (!cfg)
		return NULL;

	atomic_long_inc(&guise_live_objects);
	return cfg;
}

void guise_config_free(struct guise_config *cfg)
{
	if (!cfg)
		return;
	kfree(cfg);
	atomic_long_dec(&guise_live_objects);
}

static void guise_config_free_rcu(struct rcu_head *head)
{
	guise_config_free(container_of(head, struct guise_config, rcu));
}

/* Publish @cfg in @gn and retire the previous snapshot. Caller holds lock. */
void guise_config_publish(struct guise_net *gn, struct guise_config *cfg)
{
	struct guise_config *old;

	old = rcu_replace_pointer(gn->cfg, cfg, lockdep_is_held(&gn->lock));
	if (old)
		call_rcu(&old->rcu, guise_config_free_rcu);
}

int guise_config_init(struct guise_net *gn)
{
	struct guise_config *cfg = guise_config_alloc(NULL);

	if (!cfg)
		return -ENOMEM;

	cfg->enabled = false;
	cfg->rthdr_policy = GUISE_RTHDR_PASS;
	cfg->max_leases = GUISE_DEFAULT_MAX_LEASES;
	cfg->upcall_qlen = GUISE_DEFAULT_UPCALL_QLEN;
	cfg->upcall_timeout_ms = GUISE_DEFAULT_UPCALL_TIMEOUT_MS;
	RCU_INIT_POINTER(gn->cfg, cfg);
	return 0;
}

/* The netns is gone and its hooks with it: no reader can remain. */
void guise_config_exit(struct guise_net *gn)
{
	guise_config_free(rcu_dereference_protected(gn->cfg, true));
	RCU_INIT_POINTER(gn->cfg, NULL);
}

bool guise_prefix_match(const struct guise_prefix *p, const struct in6_addr *a)
{
	return ipv6_prefix_equal(&p->addr, a, p->len);
}

bool guise_config_is_virtual(const struct guise_config *cfg,
			     const struct in6_addr *a)
{
	u32 i;

	for (i = 0; i < cfg->nr_vprefixes; i++)
		if (guise_prefix_match(&cfg->vprefixes[i], a))
			return true;
	return false;
}

const struct guise_prefix *guise_config_miss_rule(const struct guise_config *cfg,
						  const struct in6_addr *a)
{
	const struct guise_prefix *best = NULL;
	u32 i;

	for (i = 0; i < cfg->nr_miss_rules; i++) {
		const struct guise_prefix *p = &cfg->miss_rules[i];

		if (guise_prefix_match(p, a) && (!best || p->len > best->len))
			best = p;
	}
	return best;
}
