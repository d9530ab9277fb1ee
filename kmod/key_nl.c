// SPDX-License-Identifier: GPL-2.0
/*
 * GUISE_CMD_KEY_NEW, _DEL, _GET (do and dump), _FLUSH and the KEY_EXPIRED
 * event. Secrets and salts are accepted and never returned.
 */
#include <linux/slab.h>
#include <net/ipv6.h>

#include "key.h"

size_t guise_key_msg_size(void)
{
	return nla_total_size(0) + nla_total_size(16) + nla_total_size(2) +
	       nla_total_size(4) + 2 * nla_total_size(1) +
	       3 * nla_total_size_64bit(8) + nla_total_size(4) +
	       nla_total_size(0) + 4 * nla_total_size_64bit(8);
}

int guise_key_put(struct sk_buff *msg, const struct guise_key *k)
{
	const struct guise_flow_key *fk = &k->flow->key;
	struct guise_key_pcpu s;
	struct nlattr *nest, *st;

	guise_key_stats_read(k, &s);
	nest = nla_nest_start(msg, GUISE_A_KEY);
	if (!nest ||
	    nla_put_in6_addr(msg, GUISE_A_KEY_GROUP, &fk->group) ||
	    nla_put_u16(msg, GUISE_A_KEY_PORT, ntohs(fk->port)) ||
	    nla_put_u32(msg, GUISE_A_KEY_ID, k->id) ||
	    nla_put_u8(msg, GUISE_A_KEY_ALG, k->alg) ||
	    nla_put_u8(msg, GUISE_A_KEY_DIR, k->dir) ||
	    nla_put_u64_64bit(msg, GUISE_A_KEY_NOT_BEFORE,
			      READ_ONCE(k->not_before),
			      GUISE_A_KEY_PAD) ||
	    nla_put_u64_64bit(msg, GUISE_A_KEY_NOT_AFTER,
			      READ_ONCE(k->not_after),
			      GUISE_A_KEY_PAD) ||
	    nla_put_u32(msg, GUISE_A_KEY_REPLAY_WINDOW, k->replay.size) ||
	    nla_put_u64_64bit(msg, GUISE_A_KEY_TX_SEQ,
			      atomic64_read(&k->tx_seq), GUISE_A_KEY_PAD))
		return -EMSGSIZE;
	st = nla_nest_start(msg, GUISE_A_KEY_STATS);
	if (!st ||
	    nla_put_u64_64bit(msg, GUISE_A_KEY_STATS_PACKETS, s.packets,
			      GUISE_A_KEY_STATS_PAD) ||
	    nla_put_u64_64bit(msg, GUISE_A_KEY_STATS_BYTES, s.bytes,
			      GUISE_A_KEY_STATS_PAD) ||
	    nla_put_u64_64bit(msg, GUISE_A_KEY_STATS_DROP_AUTH, s.drop_auth,
			      GUISE_A_KEY_STATS_PAD) ||
	    nla_put_u64_64bit(msg, GUISE_A_KEY_STATS_DROP_REPLAY,
			      s.drop_replay, GUISE_A_KEY_STATS_PAD))
		return -EMSGSIZE;
	nla_nest_end(msg, st);
	nla_nest_end(msg, nest);
	return 0;
}

/*
 * Tell the events group that @k expired. Called inside the gc's table
 * walk, an RCU read-side section: no sleeping allocation. Best effort.
 */
void guise_key_notify_expired(struct guise_net *gn, const struct guise_key *k)
{
	struct sk_buff *msg;
	void *hdr;

	if (!guise_genl_has_listeners(gn->net))
		return;
	msg = genlmsg_new(guise_key_msg_size(), GFP_ATOMIC);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &guise_genl_family, 0,
			  GUISE_CMD_KEY_EXPIRED);
	if (!hdr || guise_key_put(msg, k)) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	guise_genl_event(gn->net, msg);
}

static int guise_key_parse(struct genl_info *info, struct nlattr **tb)
{
	if (GENL_REQ_ATTR_CHECK(info, GUISE_A_KEY))
		return -EINVAL;
	return nla_parse_nested(tb, GUISE_A_KEY_MAX, info->attrs[GUISE_A_KEY],
				guise_key_policy, info->extack);
}

/* GROUP and PORT into @fk; both required unless @optional. */
static int guise_key_parse_flow(struct genl_info *info, struct nlattr **tb,
				struct guise_flow_key *fk, bool optional)
{
	struct nlattr *nest = info->attrs[GUISE_A_KEY];

	memset(fk, 0, sizeof(*fk));
	if (optional && !tb[GUISE_A_KEY_GROUP] && !tb[GUISE_A_KEY_PORT])
		return 1;
	if (NL_REQ_ATTR_CHECK(info->extack, nest, tb, GUISE_A_KEY_GROUP) ||
	    NL_REQ_ATTR_CHECK(info->extack, nest, tb, GUISE_A_KEY_PORT))
		return -EINVAL;
	fk->group = nla_get_in6_addr(tb[GUISE_A_KEY_GROUP]);
	fk->port = htons(nla_get_u16(tb[GUISE_A_KEY_PORT]));
	if (!ipv6_addr_is_multicast(&fk->group)) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[GUISE_A_KEY_GROUP],
				    "group must be an IPv6 multicast address");
		return -EINVAL;
	}
	return 0;
}

int guise_key_nl_new(struct sk_buff *skb, struct genl_info *info)
{
	struct guise_net *gn = guise_net(genl_info_net(info));
	struct nlattr *nest = info->attrs[GUISE_A_KEY];
	struct nlattr *tb[GUISE_A_KEY_MAX + 1];
	struct guise_key_spec s = {};
	int ret;

	ret = guise_key_parse(info, tb);
	if (ret)
		return ret;
	ret = guise_key_parse_flow(info, tb, &s.fk, false);
	if (ret)
		return ret;
	if (NL_REQ_ATTR_CHECK(info->extack, nest, tb, GUISE_A_KEY_ID) ||
	    NL_REQ_ATTR_CHECK(info->extack, nest, tb, GUISE_A_KEY_ALG) ||
	    NL_REQ_ATTR_CHECK(info->extack, nest, tb, GUISE_A_KEY_DIR) ||
	    NL_REQ_ATTR_CHECK(info->extack, nest, tb, GUISE_A_KEY_SECRET) ||
	    NL_REQ_ATTR_CHECK(info->extack, nest, tb, GUISE_A_KEY_SALT))
		return -EINVAL;

	s.id = nla_get_u32(tb[GUISE_A_KEY_ID]);
	s.alg = nla_get_u8(tb[GUISE_A_KEY_ALG]);
	s.dir = nla_get_u8(tb[GUISE_A_KEY_DIR]);
	s.secret = nla_data(tb[GUISE_A_KEY_SECRET]);
	s.secret_len = nla_len(tb[GUISE_A_KEY_SECRET]);
	s.salt = nla_data(tb[GUISE_A_KEY_SALT]);
	s.not_before = tb[GUISE_A_KEY_NOT_BEFORE] ?
		       nla_get_u64(tb[GUISE_A_KEY_NOT_BEFORE]) : 0;
	s.not_after = tb[GUISE_A_KEY_NOT_AFTER] ?
		      nla_get_u64(tb[GUISE_A_KEY_NOT_AFTER]) : U64_MAX;
	s.replay_window = tb[GUISE_A_KEY_REPLAY_WINDOW] ?
			  nla_get_u32(tb[GUISE_A_KEY_REPLAY_WINDOW]) :
			  GUISE_REPLAY_WINDOW_DEFAULT;
	s.replay_window = round_up(s.replay_window, BITS_PER_LONG);
	if (s.not_after <= s.not_before) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "not-after must be later than not-before");
		return -EINVAL;
	}

	mutex_lock(&gn->lock);
	ret = guise_content_hooks_enable(gn);
	if (!ret && nla_get_flag(tb[GUISE_A_KEY_REPLACE])) {
		ret = guise_key_retime(gn, &s, info->extack);
		if (ret == -ENOENT)
			ret = guise_key_new(gn, &s, info->extack);
	} else if (!ret) {
		ret = guise_key_new(gn, &s, info->extack);
	}
	mutex_unlock(&gn->lock);
	return ret;
}

static int guise_key_lookup_req(struct genl_info *info, struct nlattr **tb,
				struct guise_net *gn, struct guise_key **kp)
{
	struct nlattr *nest = info->attrs[GUISE_A_KEY];
	struct guise_flow_key fk;
	int ret;

	ret = guise_key_parse_flow(info, tb, &fk, false);
	if (ret)
		return ret;
	if (NL_REQ_ATTR_CHECK(info->extack, nest, tb, GUISE_A_KEY_ID) ||
	    NL_REQ_ATTR_CHECK(info->extack, nest, tb, GUISE_A_KEY_DIR))
		return -EINVAL;
	*kp = guise_key_find(gn, &fk, nla_get_u32(tb[GUISE_A_KEY_ID]),
			     nla_get_u8(tb[GUISE_A_KEY_DIR]));
	if (!*kp) {
		NL_SET_ERR_MSG_MOD(info->extack, "no such key");
		return -ENOENT;
	}
	return 0;
}

int guise_key_nl_del(struct sk_buff *skb, struct genl_info *info)
{
	struct guise_net *gn = guise_net(genl_info_net(info));
	struct nlattr *tb[GUISE_A_KEY_MAX + 1];
	struct guise_key *k;
	int ret;

	ret = guise_key_parse(info, tb);
	if (ret)
		return ret;
	mutex_lock(&gn->lock);
	ret = guise_key_lookup_req(info, tb, gn, &k);
	if (!ret)
		guise_key_unlink(gn, k);
	mutex_unlock(&gn->lock);
	return ret;
}

int guise_key_nl_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct guise_net *gn = guise_net(genl_info_net(info));
	struct nlattr *tb[GUISE_A_KEY_MAX + 1];
	struct guise_key *k;
	struct sk_buff *msg;
	void *hdr;
	int ret;

	ret = guise_key_parse(info, tb);
	if (ret)
		return ret;
	msg = genlmsg_new(guise_key_msg_size(), GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &guise_genl_family, 0,
				GUISE_CMD_KEY_GET);
	if (!hdr) {
		ret = -EMSGSIZE;
		goto err;
	}
	mutex_lock(&gn->lock);
	ret = guise_key_lookup_req(info, tb, gn, &k);
	if (!ret)
		ret = guise_key_put(msg, k);
	mutex_unlock(&gn->lock);
	if (ret)
		goto err;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
err:
	nlmsg_free(msg);
	return ret;
}

struct guise_key_dump {
	struct guise_net *gn;
	struct sk_buff *skb;
	struct netlink_callback *cb;
};

static int guise_key_dump_one(const struct guise_key *k, void *arg)
{
	struct guise_key_dump *d = arg;
	void *hdr;

	hdr = genlmsg_put(d->skb, NETLINK_CB(d->cb->skb).portid,
			  d->cb->nlh->nlmsg_seq, &guise_genl_family,
			  NLM_F_MULTI, GUISE_CMD_KEY_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (guise_key_put(d->skb, k)) {
		genlmsg_cancel(d->skb, hdr);
		return -EMSGSIZE;
	}
	/* Only on a message that is sent: the check consumes the change. */
	d->cb->seq = d->gn->key_gen;
	genl_dump_check_consistent(d->cb, hdr);
	genlmsg_end(d->skb, hdr);
	return 0;
}

/*
 * The dump walks the flow table with one iterator from start to done
 * (args[0]), args[1] being the index of the next key in the current
 * flow's list; see guise_key_walk() for what a change between passes does.
 */
int guise_key_nl_get_start(struct netlink_callback *cb)
{
	struct guise_net *gn = guise_net(sock_net(cb->skb->sk));
	struct rhashtable_iter *iter;

	iter = kmalloc(sizeof(*iter), GFP_KERNEL);
	if (!iter)
		return -ENOMEM;
	rhashtable_walk_enter(&gn->flows, iter);
	cb->args[0] = (long)iter;
	return 0;
}

int guise_key_nl_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct guise_net *gn = guise_net(sock_net(cb->skb->sk));
	struct guise_key_dump d = { .gn = gn, .skb = skb, .cb = cb };
	int ret;

	mutex_lock(&gn->lock);
	ret = guise_key_walk(gn, (struct rhashtable_iter *)cb->args[0],
			     (unsigned long *)&cb->args[1], guise_key_dump_one,
			     &d);
	/* For NLMSG_DONE, checked against the last message's generation. */
	cb->seq = gn->key_gen;
	mutex_unlock(&gn->lock);
	if (ret && ret != -EMSGSIZE)
		return ret;
	return skb->len;
}

int guise_key_nl_get_done(struct netlink_callback *cb)
{
	struct rhashtable_iter *iter = (struct rhashtable_iter *)cb->args[0];

	if (iter) {
		rhashtable_walk_exit(iter);
		kfree(iter);
	}
	return 0;
}

int guise_key_nl_flush(struct sk_buff *skb, struct genl_info *info)
{
	struct guise_net *gn = guise_net(genl_info_net(info));
	struct nlattr *tb[GUISE_A_KEY_MAX + 1];
	struct guise_flow_key fk;
	int ret = 0;

	if (info->attrs[GUISE_A_KEY]) {
		ret = nla_parse_nested(tb, GUISE_A_KEY_MAX,
				       info->attrs[GUISE_A_KEY],
				       guise_key_policy, info->extack);
		if (ret)
			return ret;
		ret = guise_key_parse_flow(info, tb, &fk, true);
		if (ret < 0)
			return ret;
	} else {
		ret = 1;
	}
	mutex_lock(&gn->lock);
	guise_key_flush(gn, ret ? NULL : &fk);
	mutex_unlock(&gn->lock);
	return 0;
}
