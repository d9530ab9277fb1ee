// SPDX-License-Identifier: GPL-2.0
/*
 * GUISE_CMD_LEASE_NEW, _DEL, _GET (do and dump), _FLUSH and the
 * LEASE_EXPIRED event.
 */
#include <linux/slab.h>
#include <net/ipv6.h>

#include "lease.h"

size_t guise_lease_msg_size(void)
{
	return nla_total_size(0) +		/* GUISE_A_LEASE */
	       3 * nla_total_size(16) +		/* REAL, PEER, VIRT */
	       3 * nla_total_size(4) +		/* FLAGS, RATE_PPS, RATE_BURST */
	       nla_total_size_64bit(8) +	/* EXPIRES_MS */
	       nla_total_size(0) +		/* STATS */
	       6 * nla_total_size_64bit(8);
}

static int guise_lease_put_stats(struct sk_buff *msg,
				 const struct guise_lease *l)
{
	struct guise_lease_stats s;
	struct nlattr *nest;

	guise_lease_stats_read(l, &s);
	nest = nla_nest_start(msg, GUISE_A_LEASE_STATS);
	if (!nest ||
	    nla_put_u64_64bit(msg, GUISE_A_LEASE_STATS_TX_PACKETS, s.tx_packets,
			      GUISE_A_LEASE_STATS_PAD) ||
	    nla_put_u64_64bit(msg, GUISE_A_LEASE_STATS_TX_BYTES, s.tx_bytes,
			      GUISE_A_LEASE_STATS_PAD) ||
	    nla_put_u64_64bit(msg, GUISE_A_LEASE_STATS_RX_PACKETS, s.rx_packets,
			      GUISE_A_LEASE_STATS_PAD) ||
	    nla_put_u64_64bit(msg, GUISE_A_LEASE_STATS_RX_BYTES, s.rx_bytes,
			      GUISE_A_LEASE_STATS_PAD) ||
	    nla_put_u64_64bit(msg, GUISE_A_LEASE_STATS_DROP_RATE, s.drop_rate,
			      GUISE_A_LEASE_STATS_PAD) ||
	    nla_put_u64_64bit(msg, GUISE_A_LEASE_STATS_DROP_SMTP, s.drop_smtp,
			      GUISE_A_LEASE_STATS_PAD))
		return -EMSGSIZE;
	nla_nest_end(msg, nest);
	return 0;
}

int guise_lease_put(struct sk_buff *msg, const struct guise_lease *l)
{
	unsigned long expires = READ_ONCE(l->expires), now = jiffies;
	/* Up to 366 days: more than jiffies_to_msecs()'s u32 can hold. */
	u64 left_ms = time_before(now, expires) ?
		      jiffies64_to_msecs(expires - now) : 0;
	struct nlattr *nest;
	u32 pps, burst;

	guise_lease_abuse_rate(l, &pps, &burst);
	nest = nla_nest_start(msg, GUISE_A_LEASE);
	if (!nest ||
	    nla_put_in6_addr(msg, GUISE_A_LEASE_REAL, &l->rp.real) ||
	    nla_put_in6_addr(msg, GUISE_A_LEASE_PEER, &l->rp.peer) ||
	    nla_put_in6_addr(msg, GUISE_A_LEASE_VIRT, &l->virt) ||
	    nla_put_u32(msg, GUISE_A_LEASE_FLAGS, READ_ONCE(l->flags)) ||
	    nla_put_u64_64bit(msg, GUISE_A_LEASE_EXPIRES_MS, left_ms,
			      GUISE_A_LEASE_PAD) ||
	    nla_put_u32(msg, GUISE_A_LEASE_RATE_PPS, pps) ||
	    nla_put_u32(msg, GUISE_A_LEASE_RATE_BURST, burst) ||
	    guise_lease_put_stats(msg, l))
		return -EMSGSIZE;
	nla_nest_end(msg, nest);
	return 0;
}

/*
 * Tell the events group that @l expired. Best effort. Every caller (the
 * collector's work, LEASE_NEW, LEASE_FLUSH) runs in process context under
 * gn->lock and outside RCU: the allocation may sleep.
 */
void guise_lease_notify_expired(struct guise_net *gn,
				const struct guise_lease *l)
{
	struct sk_buff *msg;
	void *hdr;

	if (!guise_genl_has_listeners(gn->net))
		return;
	msg = genlmsg_new(guise_lease_msg_size(), GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &guise_genl_family, 0,
			  GUISE_CMD_LEASE_EXPIRED);
	if (!hdr || guise_lease_put(msg, l)) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	guise_genl_event(gn->net, msg);
}

static u32 guise_nla_u32_or(const struct nlattr *a, u32 dflt)
{
	return a ? nla_get_u32(a) : dflt;
}

static bool guise_addr_usable(const struct in6_addr *a)
{
	int type = ipv6_addr_type(a);

	return !(type & (IPV6_ADDR_MULTICAST | IPV6_ADDR_LOOPBACK |
			 IPV6_ADDR_MAPPED)) &&
	       type != IPV6_ADDR_ANY;
}

/* Parse the GUISE_A_LEASE nest into @tb, checking the addresses given. */
static int guise_lease_parse(struct genl_info *info, struct nlattr **tb)
{
	static const int addrs[] = {
		GUISE_A_LEASE_REAL, GUISE_A_LEASE_PEER, GUISE_A_LEASE_VIRT,
	};
	int i, ret;

	if (GENL_REQ_ATTR_CHECK(info, GUISE_A_LEASE))
		return -EINVAL;
	ret = nla_parse_nested(tb, GUISE_A_LEASE_MAX,
			       info->attrs[GUISE_A_LEASE], guise_lease_policy,
			       info->extack);
	if (ret)
		return ret;
	for (i = 0; i < ARRAY_SIZE(addrs); i++) {
		struct nlattr *a = tb[addrs[i]];

		if (a && !guise_addr_usable(nla_data(a))) {
			NL_SET_ERR_MSG_ATTR(info->extack, a,
					    "multicast, loopback, mapped or unspecified address");
			return -EINVAL;
		}
	}
	return 0;
}

int guise_lease_nl_new(struct sk_buff *skb, struct genl_info *info)
{
	struct guise_net *gn = guise_net(genl_info_net(info));
	struct nlattr *tb[GUISE_A_LEASE_MAX + 1];
	struct nlattr *nest = info->attrs[GUISE_A_LEASE];
	struct guise_lease_spec s = {};
	int ret;

	ret = guise_lease_parse(info, tb);
	if (ret)
		return ret;
	if (NL_REQ_ATTR_CHECK(info->extack, nest, tb, GUISE_A_LEASE_REAL) ||
	    NL_REQ_ATTR_CHECK(info->extack, nest, tb, GUISE_A_LEASE_PEER) ||
	    NL_REQ_ATTR_CHECK(info->extack, nest, tb, GUISE_A_LEASE_VIRT) ||
	    NL_REQ_ATTR_CHECK(info->extack, nest, tb, GUISE_A_LEASE_LIFETIME))
		return -EINVAL;

	s.rp.real = nla_get_in6_addr(tb[GUISE_A_LEASE_REAL]);
	s.rp.peer = nla_get_in6_addr(tb[GUISE_A_LEASE_PEER]);
	s.virt = nla_get_in6_addr(tb[GUISE_A_LEASE_VIRT]);
	s.lifetime = nla_get_u32(tb[GUISE_A_LEASE_LIFETIME]);
	s.flags = guise_nla_u32_or(tb[GUISE_A_LEASE_FLAGS],
				   GUISE_LEASE_F_EGRESS | GUISE_LEASE_F_INGRESS);
	s.rate_pps = guise_nla_u32_or(tb[GUISE_A_LEASE_RATE_PPS], 0);
	s.rate_burst = guise_nla_u32_or(tb[GUISE_A_LEASE_RATE_BURST],
					s.rate_pps);

	/*
	 * The policy allows up to 366 days, more jiffies than a 32-bit
	 * unsigned long can hold at HZ=1000 (and beyond MAX_JIFFY_OFFSET,
	 * time_before() in guise_lease_live() would read the expiry as
	 * past). Only 32-bit kernels can get here.
	 */
	if ((u64)s.lifetime * HZ > MAX_JIFFY_OFFSET) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[GUISE_A_LEASE_LIFETIME],
				    "lifetime too long for this kernel (32-bit jiffies)");
		return -ERANGE;
	}
	if (!(s.flags & (GUISE_LEASE_F_EGRESS | GUISE_LEASE_F_INGRESS))) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[GUISE_A_LEASE_FLAGS],
				    "a lease needs egress, ingress or both");
		return -EINVAL;
	}
	if (ipv6_addr_equal(&s.rp.real, &s.virt) ||
	    ipv6_addr_equal(&s.rp.peer, &s.virt) ||
	    ipv6_addr_equal(&s.rp.peer, &s.rp.real)) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "real, peer and virtual addresses must differ");
		return -EINVAL;
	}

	mutex_lock(&gn->lock);
	ret = guise_lease_new(gn, &s, info->extack);
	mutex_unlock(&gn->lock);
	return ret;
}

/* The lease named by (REAL, PEER) or by VIRT; caller holds the lock. */
static struct guise_lease *guise_lease_find(struct guise_net *gn,
					    struct nlattr **tb,
					    struct genl_info *info)
{
	struct guise_lease *l = NULL;

	rcu_read_lock();
	if (tb[GUISE_A_LEASE_REAL] && tb[GUISE_A_LEASE_PEER]) {
		struct in6_addr r = nla_get_in6_addr(tb[GUISE_A_LEASE_REAL]);
		struct in6_addr p = nla_get_in6_addr(tb[GUISE_A_LEASE_PEER]);

		l = guise_lease_lookup_rp(gn, &r, &p);
	} else if (tb[GUISE_A_LEASE_VIRT]) {
		struct in6_addr v = nla_get_in6_addr(tb[GUISE_A_LEASE_VIRT]);

		l = guise_lease_lookup_v(gn, &v);
	} else {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "name the lease by real and peer, or by virtual address");
		l = ERR_PTR(-EINVAL);
	}
	rcu_read_unlock();

	if (!l || (!IS_ERR(l) && !guise_lease_live(l))) {
		NL_SET_ERR_MSG_MOD(info->extack, "no such lease");
		return ERR_PTR(-ENOENT);
	}
	return l;
}

int guise_lease_nl_del(struct sk_buff *skb, struct genl_info *info)
{
	struct guise_net *gn = guise_net(genl_info_net(info));
	struct nlattr *tb[GUISE_A_LEASE_MAX + 1];
	struct guise_lease *l;
	int ret;

	ret = guise_lease_parse(info, tb);
	if (ret)
		return ret;

	mutex_lock(&gn->lock);
	l = guise_lease_find(gn, tb, info);
	if (IS_ERR(l))
		ret = PTR_ERR(l);
	else
		guise_lease_unlink(gn, l);
	mutex_unlock(&gn->lock);
	return ret;
}

int guise_lease_nl_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct guise_net *gn = guise_net(genl_info_net(info));
	struct nlattr *tb[GUISE_A_LEASE_MAX + 1];
	struct guise_lease *l;
	struct sk_buff *msg;
	void *hdr;
	int ret;

	ret = guise_lease_parse(info, tb);
	if (ret)
		return ret;
	msg = genlmsg_new(guise_lease_msg_size(), GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &guise_genl_family, 0,
				GUISE_CMD_LEASE_GET);
	if (!hdr) {
		ret = -EMSGSIZE;
		goto err;
	}

	mutex_lock(&gn->lock);
	l = guise_lease_find(gn, tb, info);
	ret = IS_ERR(l) ? PTR_ERR(l) : guise_lease_put(msg, l);
	mutex_unlock(&gn->lock);
	if (ret)
		goto err;

	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
err:
	nlmsg_free(msg);
	return ret;
}

/*
 * The dump walks the table by virtual address with one iterator from start
 * to done (args[0]), without the lock: leases come and go during a pass
 * and between passes. Within a pass the walk follows the chains, which
 * removals leave intact for RCU readers: a lease present throughout is
 * seen once. What can make it repeat or miss leases is only:
 *
 *  - a resize: the walk starts over at the first lease of the new table
 *    (-EAGAIN from the walk, during a pass or at the next one's start);
 *  - the lease a pass stopped at (args[1], not dumped yet) being gone at
 *    the next one: the walk resumes by position in the bucket, which may
 *    have changed.
 *
 * Each bumps cb->seq (a count of these events, started at 1), so the
 * next message, or NLMSG_DONE, carries NLM_F_DUMP_INTR and userspace
 * dumps again. Other changes do not interrupt the dump: under churn a
 * dump of a million leases would never complete otherwise, and a dump is
 * no snapshot anyway (leases added or removed meanwhile may or may not
 * appear).
 */
int guise_lease_nl_get_start(struct netlink_callback *cb)
{
	struct guise_net *gn = guise_net(sock_net(cb->skb->sk));
	struct rhashtable_iter *iter;

	iter = kmalloc(sizeof(*iter), GFP_KERNEL);
	if (!iter)
		return -ENOMEM;
	rhashtable_walk_enter(&gn->leases_v, iter);
	cb->args[0] = (long)iter;
	cb->seq = 1;
	return 0;
}

static int guise_lease_dump_one(struct sk_buff *skb,
				struct netlink_callback *cb,
				const struct guise_lease *l)
{
	void *hdr;

	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &guise_genl_family, NLM_F_MULTI, GUISE_CMD_LEASE_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (guise_lease_put(skb, l)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	/* Only on a message that is sent: the check consumes the change. */
	genl_dump_check_consistent(cb, hdr);
	genlmsg_end(skb, hdr);
	return 0;
}

int guise_lease_nl_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct rhashtable_iter *iter = (struct rhashtable_iter *)cb->args[0];
	const struct guise_lease *stopped = (const void *)cb->args[1];
	struct guise_lease *l;

	if (rhashtable_walk_start_check(iter) == -EAGAIN)
		cb->seq++;	/* resized since the last pass: rewound */
	l = rhashtable_walk_peek(iter);
	/* Only compared, never dereferenced: it may be freed. */
	if (stopped && l != stopped)
		cb->seq++;
	cb->args[1] = 0;
	for (; l; l = rhashtable_walk_next(iter)) {
		if (IS_ERR(l)) {	/* -EAGAIN: rewound to the new table */
			cb->seq++;
			continue;
		}
		if (guise_lease_live(l) && guise_lease_dump_one(skb, cb, l)) {
			cb->args[1] = (long)l;	/* the first of the next pass */
			break;
		}
	}
	rhashtable_walk_stop(iter);
	return skb->len;
}

int guise_lease_nl_get_done(struct netlink_callback *cb)
{
	struct rhashtable_iter *iter = (struct rhashtable_iter *)cb->args[0];

	if (iter) {
		rhashtable_walk_exit(iter);
		kfree(iter);
	}
	return 0;
}

int guise_lease_nl_flush(struct sk_buff *skb, struct genl_info *info)
{
	struct guise_net *gn = guise_net(genl_info_net(info));

	mutex_lock(&gn->lock);
	guise_lease_flush(gn);
	mutex_unlock(&gn->lock);
	return 0;
}
