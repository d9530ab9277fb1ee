// SPDX-License-Identifier: GPL-2.0
/*
 * The content-key table: flows (group, port) in an RCU rhashtable, each
 * with an RCU list of keys. Keys are immutable once installed (a rollover
 * installs a new key id), so readers need no lock beyond RCU; secrets live
 * only inside the AEAD transform and are zeroised when it is freed.
 *
 * Both algorithms go through the crypto API with a synchronous instance
 * (CRYPTO_ALG_ASYNC in the mask): the nonce is the 4-byte salt followed by
 * the 64-bit sequence (RFC 4106/7539 layout), which the lib/crypto
 * ChaCha20-Poly1305 interface (64-bit nonce only) cannot express, and a
 * synchronous instance lets the hooks decrypt in place without completion
 * callbacks.
 *
 * AES-GCM: the fast implementations (x86 AES-NI + PCLMULQDQ) register only
 * an asynchronous SIMD wrapper, which runs its inner synchronous instance
 * when the FPU is usable and defers to cryptd otherwise. A synchronous
 * request therefore gets gcm_base(ctr(aes-aesni),ghash-generic), half as
 * fast as ESP's rfc4106-gcm-aesni. So a key also holds that inner instance
 * ("__gcm(aes)", CRYPTO_ALG_INTERNAL) when the kernel has one, and
 * content.c uses it exactly when the wrapper would (crypto_simd_usable()),
 * the portable instance otherwise: the same speed as ESP, still
 * synchronous. The request lives in a per-CPU buffer of the key (no
 * allocation per packet); its users disable bottom halves.
 *
 * Freeing. An unlinked key may still be in use by a reader until a grace
 * period has passed. It is then freed by a work item (queue_rcu_work() on
 * guise_key_wq), not by an RCU callback: callbacks run in softirq
 * context, and freeing a crypto API transform (crypto_free_aead(), the
 * exit of the algorithm, its template's spawns, a module reference) is
 * only meant for process context; zeroising the per-CPU request buffers
 * of every CPU is no work for a softirq either. Nothing freed there
 * belongs to the namespace, so a namespace may go first; module exit
 * waits for the callbacks that queue the work (rcu_barrier()), then for
 * the work (destroy_workqueue()).
 */
#include <crypto/aead.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>

#include "key.h"

#define GUISE_KEY_GC_INTERVAL	HZ

/* Frees unlinked keys after a grace period (see the top of the file). */
static struct workqueue_struct *guise_key_wq;

static const struct rhashtable_params guise_flow_params = {
	.head_offset = offsetof(struct guise_flow, node),
	.key_offset = offsetof(struct guise_flow, key),
	.key_len = sizeof(struct guise_flow_key),
	.automatic_shrinking = true,
};

static const struct rhashtable_params guise_rx_group_params = {
	.head_offset = offsetof(struct guise_rx_group, node),
	.key_offset = offsetof(struct guise_rx_group, group),
	.key_len = sizeof(struct in6_addr),
	.automatic_shrinking = true,
};

static const char *guise_alg_name(u8 alg)
{
	switch (alg) {
	case GUISE_ALG_CHACHA20_POLY1305:
		return "rfc7539(chacha20,poly1305)";
	case GUISE_ALG_AES128_GCM:
	case GUISE_ALG_AES256_GCM:
		return "gcm(aes)";
	}
	return NULL;
}

/* The synchronous SIMD-only inner instance of @alg, if there is one. */
static const char *guise_alg_simd_name(u8 alg)
{
	switch (alg) {
	case GUISE_ALG_AES128_GCM:
	case GUISE_ALG_AES256_GCM:
		return "__gcm(aes)";
	}
	return NULL;
}

static u32 guise_alg_keylen(u8 alg)
{
	return alg == GUISE_ALG_AES128_GCM ? 16 : 32;
}

struct guise_flow *guise_flow_lookup(struct guise_net *gn,
				     const struct in6_addr *group,
				     __be16 port)
{
	struct guise_flow_key fk = { .group = *group, .port = port };

	return rhashtable_lookup(&gn->flows, &fk, guise_flow_params);
}

/* Does the namespace hold rx keys for @group, any port? Under RCU. */
bool guise_rx_group_has(struct guise_net *gn, const struct in6_addr *group)
{
	return rhashtable_lookup(&gn->rx_groups, group, guise_rx_group_params);
}

struct guise_key *guise_key_find_rx(struct guise_flow *f, u32 id, u64 now)
{
	struct guise_key *k;

	list_for_each_entry_rcu(k, &f->keys, node)
		if (k->id == id && k->dir == GUISE_KEY_DIR_RX &&
		    guise_key_valid(k, now))
			return k;
	return NULL;
}

/* The newest valid tx key: during a rollover the new key takes over. */
struct guise_key *guise_key_find_tx(struct guise_flow *f, u64 now)
{
	struct guise_key *k, *best = NULL;

	list_for_each_entry_rcu(k, &f->keys, node)
		if (k->dir == GUISE_KEY_DIR_TX && guise_key_valid(k, now) &&
		    (!best || k->installed > best->installed))
			best = k;
	return best;
}

struct guise_key *guise_key_find(struct guise_net *gn,
				 const struct guise_flow_key *fk, u32 id,
				 u8 dir)
{
	struct guise_flow *f;
	struct guise_key *k;

	lockdep_assert_held(&gn->lock);
	f = rhashtable_lookup_fast(&gn->flows, fk, guise_flow_params);
	if (!f)
		return NULL;
	list_for_each_entry(k, &f->keys, node)
		if (k->id == id && k->dir == dir)
			return k;
	return NULL;
}

/* The key table changed (or a walk of it restarted): see guise_key_walk(). */
static void guise_key_gen_bump(struct guise_net *gn)
{
	lockdep_assert_held(&gn->lock);
	if (!++gn->key_gen)
		gn->key_gen = 1;	/* 0 would read as "not set" */
}

static void guise_key_free(struct guise_key *k)
{
	int cpu;

	if (k->req) {
		/* the last request's state of each CPU (tag, GHASH input) */
		for_each_possible_cpu(cpu)
			memzero_explicit(per_cpu_ptr(k->req, cpu), k->reqsize);
		free_percpu(k->req);
	}
	crypto_free_aead(k->simd_tfm);
	crypto_free_aead(k->tfm);	/* zeroises the key schedule */
	guise_replay_free(&k->replay);
	free_percpu(k->stats);
	kfree_sensitive(k);
	atomic_long_dec(&guise_live_objects);
}

/* A grace period after guise_key_unlink(): no reader is left. */
static void guise_key_free_work(struct work_struct *work)
{
	guise_key_free(container_of(to_rcu_work(work), struct guise_key,
				    free_work));
}

static void guise_flow_free_rcu(struct rcu_head *head)
{
	kfree(container_of(head, struct guise_flow, rcu));
	atomic_long_dec(&guise_live_objects);
}

static void guise_rx_group_free_rcu(struct rcu_head *head)
{
	kfree(container_of(head, struct guise_rx_group, rcu));
	atomic_long_dec(&guise_live_objects);
}

/*
 * The entry of @group, created with no rx key yet if there is none: taken
 * before a key is linked, so that linking cannot fail afterwards.
 */
static struct guise_rx_group *guise_rx_group_get(struct guise_net *gn,
						 const struct in6_addr *group)
{
	struct guise_rx_group *g;
	int ret;

	lockdep_assert_held(&gn->lock);
	g = rhashtable_lookup_fast(&gn->rx_groups, group,
				   guise_rx_group_params);
	if (g)
		return g;
	g = kzalloc(sizeof(*g), GFP_KERNEL_ACCOUNT);
	if (!g)
		return ERR_PTR(-ENOMEM);
	atomic_long_inc(&guise_live_objects);
	g->group = *group;
	ret = rhashtable_insert_fast(&gn->rx_groups, &g->node,
				     guise_rx_group_params);
	if (ret) {
		guise_rx_group_free_rcu(&g->rcu);
		return ERR_PTR(ret);
	}
	return g;
}

/* Remove @g once no rx key of its group is left. */
static void guise_rx_group_put(struct guise_net *gn, struct guise_rx_group *g)
{
	lockdep_assert_held(&gn->lock);
	if (g->nr_rx)
		return;
	rhashtable_remove_fast(&gn->rx_groups, &g->node, guise_rx_group_params);
	call_rcu(&g->rcu, guise_rx_group_free_rcu);
}

/*
 * The optional SIMD-only instance (see the top of the file) and the per-CPU
 * request buffers, sized for the larger of the two instances.
 */
static int guise_key_simd_init(struct guise_key *k,
			       const struct guise_key_spec *s)
{
	const char *name = guise_alg_simd_name(s->alg);
	unsigned int reqsize;
	int ret;

	if (name) {
		k->simd_tfm = crypto_alloc_aead(name, CRYPTO_ALG_INTERNAL,
						CRYPTO_ALG_INTERNAL |
						CRYPTO_ALG_ASYNC);
		if (IS_ERR(k->simd_tfm)) {
			k->simd_tfm = NULL;	/* none: portable only */
		} else {
			ret = crypto_aead_setkey(k->simd_tfm, s->secret,
						 s->secret_len);
			if (!ret)
				ret = crypto_aead_setauthsize(k->simd_tfm,
							      GUISE_CONTENT_TAG_LEN);
			if (ret)
				return ret;
		}
	}
	reqsize = crypto_aead_reqsize(k->tfm);
	if (k->simd_tfm)
		reqsize = max(reqsize, crypto_aead_reqsize(k->simd_tfm));
	k->reqsize = sizeof(struct aead_request) + reqsize;
	k->req = __alloc_percpu_gfp(k->reqsize, __alignof__(struct aead_request),
				    GFP_KERNEL_ACCOUNT);
	return k->req ? 0 : -ENOMEM;
}

static struct guise_key *guise_key_alloc(const struct guise_key_spec *s,
					 struct netlink_ext_ack *extack)
{
	struct guise_key *k;
	int cpu, ret;

	k = kzalloc(sizeof(*k), GFP_KERNEL_ACCOUNT);
	if (!k)
		return ERR_PTR(-ENOMEM);
	atomic_long_inc(&guise_live_objects);
	INIT_RCU_WORK(&k->free_work, guise_key_free_work);
	k->id = s->id;
	k->alg = s->alg;
	k->dir = s->dir;
	k->not_before = s->not_before;
	k->not_after = s->not_after;
	k->installed = ktime_get_ns();
	memcpy(k->salt, s->salt, sizeof(k->salt));
	atomic64_set(&k->tx_seq, 0);

	ret = -ENOMEM;
	k->stats = alloc_percpu_gfp(struct guise_key_pcpu, GFP_KERNEL_ACCOUNT);
	if (!k->stats)
		goto err;
	for_each_possible_cpu(cpu)
		u64_stats_init(&per_cpu_ptr(k->stats, cpu)->syncp);
	ret = guise_replay_init(&k->replay, s->replay_window);
	if (ret)
		goto err;

	k->tfm = crypto_alloc_aead(guise_alg_name(s->alg), 0,
				   CRYPTO_ALG_ASYNC);
	if (IS_ERR(k->tfm)) {
		ret = PTR_ERR(k->tfm);
		k->tfm = NULL;
		NL_SET_ERR_MSG_MOD(extack, "algorithm unavailable in this kernel");
		goto err;
	}
	ret = crypto_aead_setkey(k->tfm, s->secret, s->secret_len);
	if (!ret)
		ret = crypto_aead_setauthsize(k->tfm, GUISE_CONTENT_TAG_LEN);
	if (ret) {
		NL_SET_ERR_MSG_MOD(extack, "the algorithm refused the key");
		goto err;
	}
	ret = guise_key_simd_init(k, s);
	if (ret) {
		NL_SET_ERR_MSG_MOD(extack, "cannot set up the AEAD requests");
		goto err;
	}
	return k;
err:
	guise_key_free(k);
	return ERR_PTR(ret);
}

int guise_key_new(struct guise_net *gn, const struct guise_key_spec *s,
		  struct netlink_ext_ack *extack)
{
	struct guise_rx_group *g = NULL;
	struct guise_flow *f;
	struct guise_key *k;
	int ret;

	lockdep_assert_held(&gn->lock);
	if (s->secret_len != guise_alg_keylen(s->alg)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "secret length does not match the algorithm");
		return -EINVAL;
	}
	if (guise_key_find(gn, &s->fk, s->id, s->dir)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "key id already installed for this flow and direction");
		return -EEXIST;
	}
	if (atomic_read(&gn->nr_keys) >= GUISE_MAX_KEYS) {
		NL_SET_ERR_MSG_MOD(extack, "too many content keys");
		return -ENOSPC;
	}

	k = guise_key_alloc(s, extack);
	if (IS_ERR(k))
		return PTR_ERR(k);
	if (s->dir == GUISE_KEY_DIR_RX) {
		g = guise_rx_group_get(gn, &s->fk.group);
		if (IS_ERR(g)) {
			ret = PTR_ERR(g);
			goto err_key;
		}
	}

	f = rhashtable_lookup_fast(&gn->flows, &s->fk, guise_flow_params);
	if (!f) {
		ret = -ENOMEM;
		f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);
		if (!f)
			goto err_group;
		atomic_long_inc(&guise_live_objects);
		f->key = s->fk;
		INIT_LIST_HEAD(&f->keys);
		ret = rhashtable_insert_fast(&gn->flows, &f->node,
					     guise_flow_params);
		if (ret) {
			guise_flow_free_rcu(&f->rcu);
			goto err_group;
		}
	}
	k->flow = f;
	list_add_tail_rcu(&k->node, &f->keys);
	f->nr_keys++;
	if (g)
		g->nr_rx++;
	/* The collector runs while there are keys to expire (see
	 * guise_key_gc(); a no-op if it is queued already).
	 */
	atomic_inc(&gn->nr_keys);
	queue_delayed_work(system_power_efficient_wq, &gn->key_gc,
			   GUISE_KEY_GC_INTERVAL);
	guise_key_gen_bump(gn);
	return 0;

err_group:
	if (g)
		guise_rx_group_put(gn, g);
err_key:
	guise_key_free(k);
	return ret;
}

/*
 * KEY_NEW with GUISE_A_KEY_REPLACE on an installed key: only its validity
 * changes, in place. The key stays the same object, so its replay window
 * and sequence numbers go on and no datagram in flight meets a gap (a
 * delete and add would drop those sent with it meanwhile). The secret is
 * not compared (the kernel keeps none it could compare with); the
 * algorithm and salt must match. -ENOENT if the key is not installed.
 */
int guise_key_retime(struct guise_net *gn, const struct guise_key_spec *s,
		     struct netlink_ext_ack *extack)
{
	struct guise_key *k;

	lockdep_assert_held(&gn->lock);
	k = guise_key_find(gn, &s->fk, s->id, s->dir);
	if (!k)
		return -ENOENT;
	if (k->alg != s->alg || memcmp(k->salt, s->salt, sizeof(k->salt))) {
		NL_SET_ERR_MSG_MOD(extack,
				   "replace changes the validity only: algorithm and salt must match");
		return -EINVAL;
	}
	WRITE_ONCE(k->not_before, s->not_before);
	WRITE_ONCE(k->not_after, s->not_after);
	/* An expired key made live again has an expiry to keep. */
	queue_delayed_work(system_power_efficient_wq, &gn->key_gc,
			   GUISE_KEY_GC_INTERVAL);
	guise_key_gen_bump(gn);
	return 0;
}

void guise_key_unlink(struct guise_net *gn, struct guise_key *k)
{
	struct guise_flow *f = k->flow;

	lockdep_assert_held(&gn->lock);
	if (k->dir == GUISE_KEY_DIR_RX) {
		struct guise_rx_group *g;

		g = rhashtable_lookup_fast(&gn->rx_groups, &f->key.group,
					   guise_rx_group_params);
		if (!WARN_ON_ONCE(!g || !g->nr_rx)) {
			g->nr_rx--;
			guise_rx_group_put(gn, g);
		}
	}
	list_del_rcu(&k->node);
	queue_rcu_work(guise_key_wq, &k->free_work);
	atomic_dec(&gn->nr_keys);
	guise_key_gen_bump(gn);
	if (--f->nr_keys)
		return;
	rhashtable_remove_fast(&gn->flows, &f->node, guise_flow_params);
	call_rcu(&f->rcu, guise_flow_free_rcu);
}

/* A resize moved the walk to the first flow of the new table. */
static void guise_key_walk_restarted(struct guise_net *gn,
				     unsigned long *idx)
{
	guise_key_gen_bump(gn);
	*idx = 0;
}

/*
 * One pass of a dump: call @fn on every key from the one at index *@idx
 * in the list of the flow @iter stands at, flow after flow, until @fn
 * fails (that key comes first in the next pass) or the table ends.
 *
 * Under the lock, so no key or flow changes during a pass. Between passes
 * they may, and then the walk can repeat or miss keys (the iterator stands
 * on a flow that may be gone, *@idx counts keys of a list that may have
 * changed); so can a resize of the flow table, which restarts the walk at
 * the first flow of the new table (-EAGAIN from the walk, also within a
 * pass: resizes run from the rhashtable's own work, not under the lock).
 * Every such change bumps gn->key_gen (a resize when the walk notices it),
 * and the dump reports a generation that moved as NLM_F_DUMP_INTR.
 */
int guise_key_walk(struct guise_net *gn, struct rhashtable_iter *iter,
		   unsigned long *idx,
		   int (*fn)(const struct guise_key *k, void *arg), void *arg)
{
	struct guise_flow *f;
	struct guise_key *k;
	unsigned long i;
	int ret = 0;

	lockdep_assert_held(&gn->lock);
	if (rhashtable_walk_start_check(iter) == -EAGAIN)
		guise_key_walk_restarted(gn, idx);
	for (f = rhashtable_walk_peek(iter); f; f = rhashtable_walk_next(iter)) {
		if (IS_ERR(f)) {	/* -EAGAIN: rewound to the new table */
			guise_key_walk_restarted(gn, idx);
			continue;
		}
		i = 0;
		list_for_each_entry(k, &f->keys, node) {
			if (i++ < *idx)
				continue;
			ret = fn(k, arg);
			if (ret)
				goto out;
			(*idx)++;
		}
		*idx = 0;
	}
out:
	rhashtable_walk_stop(iter);
	return ret;
}

/* Remove every key, or those of one flow. */
void guise_key_flush(struct guise_net *gn, const struct guise_flow_key *fk)
{
	struct rhashtable_iter iter;
	struct guise_key *k, *tmp;
	struct guise_flow *f;

	lockdep_assert_held(&gn->lock);
	rhashtable_walk_enter(&gn->flows, &iter);
	rhashtable_walk_start(&iter);
	while ((f = rhashtable_walk_next(&iter))) {
		if (IS_ERR(f) || (fk && memcmp(&f->key, fk, sizeof(*fk))))
			continue;
		list_for_each_entry_safe(k, tmp, &f->keys, node)
			guise_key_unlink(gn, k);
	}
	rhashtable_walk_stop(&iter);
	rhashtable_walk_exit(&iter);
}

/* Is @k the only tx key of its flow? Caller holds gn->lock. */
static bool guise_key_last_tx(const struct guise_flow *f,
			      const struct guise_key *k)
{
	const struct guise_key *o;

	if (k->dir != GUISE_KEY_DIR_TX)
		return false;
	list_for_each_entry(o, &f->keys, node)
		if (o != k && o->dir == GUISE_KEY_DIR_TX)
			return false;
	return true;
}

/*
 * Every second while there are keys to expire: a key past its not_after
 * is told (KEY_EXPIRED) and unlinked; not its flow's last tx key, which
 * stays, marked expired: with it gone the flow would be too, and the
 * sender's datagrams would leave in clear. It fails closed until a new
 * tx key comes or it is deleted (a not_after moved on by a replace makes
 * it live again).
 */
static void guise_key_gc(struct work_struct *work)
{
	struct guise_net *gn = container_of(to_delayed_work(work),
					    struct guise_net, key_gc);
	u64 now = ktime_get_real_seconds();
	struct rhashtable_iter iter;
	struct guise_key *k, *tmp;
	struct guise_flow *f;
	unsigned int live = 0;

	mutex_lock(&gn->lock);
	if (atomic_read(&gn->nr_keys)) {
		rhashtable_walk_enter(&gn->flows, &iter);
		rhashtable_walk_start(&iter);
		while ((f = rhashtable_walk_next(&iter))) {
			if (IS_ERR(f))
				continue;
			list_for_each_entry_safe(k, tmp, &f->keys, node) {
				if (now < READ_ONCE(k->not_after)) {
					k->expired = false;
					live++;
					continue;
				}
				if (k->expired)
					continue;
				guise_key_notify_expired(gn, k);
				if (guise_key_last_tx(f, k))
					k->expired = true;
				else
					guise_key_unlink(gn, k);
			}
		}
		rhashtable_walk_stop(&iter);
		rhashtable_walk_exit(&iter);
	}
	/*
	 * Idle once no key is left to expire; KEY_NEW re-arms. Decided under
	 * lock, as KEY_NEW's queueing is: one of the two always queues.
	 */
	mutex_unlock(&gn->lock);
	if (live)
		queue_delayed_work(system_power_efficient_wq, &gn->key_gc,
				   GUISE_KEY_GC_INTERVAL);
}

void guise_key_stats_read(const struct guise_key *k,
			  struct guise_key_pcpu *sum)
{
	int cpu;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		const struct guise_key_pcpu *s = per_cpu_ptr(k->stats, cpu);
		struct guise_key_pcpu snap;
		unsigned int start;

		do {
			start = u64_stats_fetch_begin(&s->syncp);
			snap = *s;
		} while (u64_stats_fetch_retry(&s->syncp, start));
		sum->packets += snap.packets;
		sum->bytes += snap.bytes;
		sum->drop_auth += snap.drop_auth;
		sum->drop_replay += snap.drop_replay;
	}
}

void guise_key_count(struct guise_key *k, unsigned int len)
{
	struct guise_key_pcpu *s = get_cpu_ptr(k->stats);
	unsigned long flags;

	flags = u64_stats_update_begin_irqsave(&s->syncp);
	s->packets++;
	s->bytes += len;
	u64_stats_update_end_irqrestore(&s->syncp, flags);
	put_cpu_ptr(k->stats);
}

void guise_key_count_drop(struct guise_key *k, bool replay)
{
	struct guise_key_pcpu *s = get_cpu_ptr(k->stats);
	unsigned long flags;

	flags = u64_stats_update_begin_irqsave(&s->syncp);
	if (replay)
		s->drop_replay++;
	else
		s->drop_auth++;
	u64_stats_update_end_irqrestore(&s->syncp, flags);
	put_cpu_ptr(k->stats);
}

u32 guise_key_count_all(struct guise_net *gn)
{
	return atomic_read(&gn->nr_keys);
}

int guise_key_net_init(struct guise_net *gn)
{
	int ret = rhashtable_init(&gn->flows, &guise_flow_params);

	if (ret)
		return ret;
	ret = rhashtable_init(&gn->rx_groups, &guise_rx_group_params);
	if (ret) {
		rhashtable_destroy(&gn->flows);
		return ret;
	}
	atomic_set(&gn->nr_keys, 0);
	gn->key_gen = 1;
	INIT_DELAYED_WORK(&gn->key_gc, guise_key_gc);
	return 0;
}

void guise_key_net_pre_exit(struct guise_net *gn)
{
	cancel_delayed_work_sync(&gn->key_gc);
}

static void guise_flow_destroy_one(void *ptr, void *arg)
{
	struct guise_flow *f = ptr;
	struct guise_key *k, *tmp;

	list_for_each_entry_safe(k, tmp, &f->keys, node)
		guise_key_free(k);
	kfree(f);
	atomic_long_dec(&guise_live_objects);
}

static void guise_rx_group_destroy_one(void *ptr, void *arg)
{
	kfree(ptr);
	atomic_long_dec(&guise_live_objects);
}

/* After pre_exit and a grace period: no hook and no reader is left. */
void guise_key_net_exit(struct guise_net *gn)
{
	rhashtable_free_and_destroy(&gn->flows, guise_flow_destroy_one, NULL);
	rhashtable_free_and_destroy(&gn->rx_groups, guise_rx_group_destroy_one,
				    NULL);
}

int __init guise_key_module_init(void)
{
	guise_key_wq = alloc_workqueue("guise_key_free", WQ_UNBOUND, 0);
	return guise_key_wq ? 0 : -ENOMEM;
}

/*
 * After every namespace is gone and rcu_barrier(): every key unlinked has
 * had its work queued, and no key can be unlinked any more. Runs what is
 * left, so no work runs once the module text is gone.
 */
void guise_key_module_exit(void)
{
	destroy_workqueue(guise_key_wq);
}
