// SPDX-License-Identifier: GPL-2.0
/*
 * guise: per-peer virtual IPv6 source addresses and in-kernel decryption of
 * protected multicast content. Module init and exit only.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/rcupdate.h>

#include "guise.h"
#include "lease.h"

atomic_long_t guise_live_objects = ATOMIC_LONG_INIT(0);

static int __init guise_init(void)
{
	int ret;

	ret = guise_lease_cache_init();
	if (ret)
		return ret;

	ret = guise_key_module_init();
	if (ret)
		goto err_cache;

	ret = guise_netns_init();
	if (ret)
		goto err_key;

	ret = guise_genl_init();
	if (ret)
		goto err_netns;

	pr_info("loaded, generic netlink family \"%s\" version %u\n",
		GUISE_FAMILY_NAME, GUISE_FAMILY_VERSION);
	return 0;

err_netns:
	guise_netns_exit();
err_key:
	guise_key_module_exit();
err_cache:
	guise_lease_cache_exit();
	return ret;
}

static void __exit guise_exit(void)
{
	long live;

	guise_genl_exit();
	guise_netns_exit();
	/*
	 * Objects freed through call_rcu() are only gone after a barrier.
	 * Keys are freed by works that RCU callbacks queue (queue_rcu_work()):
	 * after the barrier all of them are queued, and destroying the key
	 * workqueue runs them. Hence this order.
	 */
	rcu_barrier();
	guise_key_module_exit();
	guise_lease_cache_exit();

	live = atomic_long_read(&guise_live_objects);
	if (live)
		pr_err("leaked %ld objects\n", live);
	else
		pr_info("unloaded\n");
}

module_init(guise_init);
module_exit(guise_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("guise: per-peer virtual IPv6 addresses and protected multicast");
MODULE_AUTHOR("The guise developers");
MODULE_VERSION("0.1");
MODULE_ALIAS_GENL_FAMILY(GUISE_FAMILY_NAME);
