// SPDX-License-Identifier: GPL-2.0
/*
 * Per-network-namespace state. Every table and the configuration live in
 * struct guise_net; features hook their init/pre_exit/exit in here, in the
 * order they depend on each other.
 */
#include <linux/module.h>
#include <net/net_namespace.h>

#include "guise.h"

unsigned int guise_net_id __read_mostly;

static int __net_init guise_net_init(struct net *net)
{
	struct guise_net *gn = guise_net(net);
	int ret;

	gn->net = net;
	mutex_init(&gn->lock);

	ret = guise_stats_alloc(gn);
	if (ret)
		return ret;

	ret = guise_config_init(gn);
	if (ret)
		goto err_stats;

	ret = guise_lease_net_init(gn);
	if (ret)
		goto err_config;
	guise_miss_net_init(gn);

	ret = guise_key_net_init(gn);
	if (ret)
		goto err_lease;

	return 0;

err_lease:
	guise_lease_net_pre_exit(gn);
	guise_lease_net_exit(gn);
err_config:
	guise_config_exit(gn);
err_stats:
	guise_stats_free(gn);
	return ret;
}

/* Runs before the RCU grace period that precedes guise_net_exit(). */
static void __net_exit guise_net_pre_exit(struct net *net)
{
	struct guise_net *gn = guise_net(net);

	guise_hooks_disable(gn);
	guise_miss_net_pre_exit(gn);
	guise_lease_net_pre_exit(gn);
	guise_key_net_pre_exit(gn);
}

static void __net_exit guise_net_exit(struct net *net)
{
	struct guise_net *gn = guise_net(net);

	guise_key_net_exit(gn);
	guise_lease_net_exit(gn);
	guise_config_exit(gn);
	guise_stats_free(gn);
	mutex_destroy(&gn->lock);
}

static struct pernet_operations guise_net_ops = {
	.init = guise_net_init,
	.pre_exit = guise_net_pre_exit,
	.exit = guise_net_exit,
	.id = &guise_net_id,
	.size = sizeof(struct guise_net),
};

int guise_netns_init(void)
{
	return register_pernet_subsys(&guise_net_ops);
}

void guise_netns_exit(void)
{
	unregister_pernet_subsys(&guise_net_ops);
}
