// SPDX-License-Identifier: GPL-2.0
/*
 * Netfilter hooks, registered per netns the first time guise is enabled
 * there (a namespace that never uses guise pays nothing) and removed in
 * pre_exit.
 *
 * Ingress runs in PREROUTING just after defragmentation and before the raw
 * table and conntrack, so the gateway's firewall and conntrack see real
 * addresses only. Egress runs in POSTROUTING right after SNAT, for
 * forwarded and locally generated packets alike.
 *
 * Content hooks are registered with the first content key: receive in
 * PREROUTING right after IPv6 defragmentation (enabled for the netns then,
 * so datagrams larger than the MTU decrypt whole), send in LOCAL_OUT after
 * the filter table, before the packet is routed out and fragmented; and a
 * check in LOCAL_IN and FORWARD for datagrams whose destination became a
 * protected group after PREROUTING (a routing header: content.c).
 */
#include <linux/netfilter.h>
#include <linux/netfilter_ipv6.h>
#include <net/netfilter/ipv6/nf_defrag_ipv6.h>

#include "guise.h"

static unsigned int guise_nf_pre_routing(void *priv, struct sk_buff *skb,
					 const struct nf_hook_state *state)
{
	struct guise_net *gn = guise_net(state->net);
	const struct guise_config *cfg = rcu_dereference(gn->cfg);

	if (!cfg->enabled)
		return NF_ACCEPT;
	return guise_ingress(gn, cfg, skb);
}

static unsigned int guise_nf_post_routing(void *priv, struct sk_buff *skb,
					  const struct nf_hook_state *state)
{
	struct guise_net *gn = guise_net(state->net);
	const struct guise_config *cfg = rcu_dereference(gn->cfg);

	if (!cfg->enabled)
		return NF_ACCEPT;
	return guise_egress(gn, cfg, skb, state);
}

static const struct nf_hook_ops guise_nf_ops[] = {
	{
		.hook = guise_nf_pre_routing,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = NF_IP6_PRI_RAW - 1,
	},
	{
		.hook = guise_nf_post_routing,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_POST_ROUTING,
		.priority = NF_IP6_PRI_NAT_SRC + 1,
	},
};

static unsigned int guise_nf_content_rx(void *priv, struct sk_buff *skb,
					const struct nf_hook_state *state)
{
	struct guise_net *gn = guise_net(state->net);

	if (!rcu_dereference(gn->cfg)->enabled)
		return NF_ACCEPT;
	return guise_content_rx(gn, skb);
}

static unsigned int guise_nf_content_tx(void *priv, struct sk_buff *skb,
					const struct nf_hook_state *state)
{
	struct guise_net *gn = guise_net(state->net);

	if (!rcu_dereference(gn->cfg)->enabled)
		return NF_ACCEPT;
	return guise_content_tx(gn, skb);
}

static unsigned int guise_nf_content_late(void *priv, struct sk_buff *skb,
					  const struct nf_hook_state *state)
{
	struct guise_net *gn = guise_net(state->net);

	if (!rcu_dereference(gn->cfg)->enabled)
		return NF_ACCEPT;
	return guise_content_rx_late(gn, skb);
}

static const struct nf_hook_ops guise_nf_content_ops[] = {
	{
		.hook = guise_nf_content_rx,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = NF_IP6_PRI_CONNTRACK_DEFRAG + 1,
	},
	{
		.hook = guise_nf_content_tx,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_LOCAL_OUT,
		.priority = NF_IP6_PRI_FILTER + 1,
	},
	{
		.hook = guise_nf_content_late,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_LOCAL_IN,
		.priority = NF_IP6_PRI_FIRST,
	},
	{
		.hook = guise_nf_content_late,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_FORWARD,
		.priority = NF_IP6_PRI_FIRST,
	},
};

int guise_content_hooks_enable(struct guise_net *gn)
{
	int ret;

	lockdep_assert_held(&gn->lock);
	if (gn->content_hooks_registered)
		return 0;
	ret = nf_defrag_ipv6_enable(gn->net);
	if (ret)
		return ret;
	ret = nf_register_net_hooks(gn->net, guise_nf_content_ops,
				    ARRAY_SIZE(guise_nf_content_ops));
	if (ret) {
		nf_defrag_ipv6_disable(gn->net);
		return ret;
	}
	gn->content_hooks_registered = true;
	return 0;
}

int guise_hooks_enable(struct guise_net *gn)
{
	int ret;

	lockdep_assert_held(&gn->lock);
	if (gn->hooks_registered)
		return 0;
	ret = nf_register_net_hooks(gn->net, guise_nf_ops,
				    ARRAY_SIZE(guise_nf_ops));
	if (!ret)
		gn->hooks_registered = true;
	return ret;
}

void guise_hooks_disable(struct guise_net *gn)
{
	if (gn->content_hooks_registered) {
		nf_unregister_net_hooks(gn->net, guise_nf_content_ops,
					ARRAY_SIZE(guise_nf_content_ops));
		nf_defrag_ipv6_disable(gn->net);
		gn->content_hooks_registered = false;
	}
	if (!gn->hooks_registered)
		return;
	nf_unregister_net_hooks(gn->net, guise_nf_ops,
				ARRAY_SIZE(guise_nf_ops));
	gn->hooks_registered = false;
}
