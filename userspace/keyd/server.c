// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>
#include <linux/guise.h>

#include "clock.h"
#include "kernel.h"
#include "key.h"
#include "log.h"
#include "sender.h"
#include "server.h"
#include "store.h"

/* Clock skew the validity windows allow for. */
#define SKEW 5
/* A key without a rotation period still ends (then it is renewed). */
#define NO_PERIOD (30U * 86400)
/*
 * How long receivers keep the previous Ks after the sender switched to
 * the new one (its tx_from): datagrams sent just before the switch still
 * in flight or reordered, and a receiver clock up to SKEW ahead. After a
 * rotation the previous Ks is valid until tx_from + KS_GRACE only, and is
 * announced so: a member revoked from the channel knows it.
 */
#define KS_GRACE (SKEW + 3)

static uint64_t period_or_default(uint32_t p)
{
	return p ? p : NO_PERIOD;
}

struct kclient *server_client_find(struct keyd *d, const char *id)
{
	size_t i;

	for (i = 0; i < d->nclients; i++)
		if (!strcmp(d->clients[i]->id, id))
			return d->clients[i];
	return NULL;
}

struct kclient *server_client_by_addr(struct keyd *d,
				      const struct in6_addr *addr)
{
	size_t i;

	for (i = 0; i < d->nclients; i++)
		if (!memcmp(&d->clients[i]->addr, addr, sizeof(*addr)))
			return d->clients[i];
	return NULL;
}

struct kchannel *server_channel_find(struct keyd *d, uint32_t id)
{
	size_t i;

	for (i = 0; i < d->nchannels; i++)
		if (d->channels[i].id == id)
			return &d->channels[i];
	return NULL;
}

struct kcontent *server_content_find(struct keyd *d, uint32_t id)
{
	size_t i;

	for (i = 0; i < d->ncontents; i++)
		if (d->contents[i]->id == id)
			return d->contents[i];
	return NULL;
}

static bool entitled(const struct kclient *c, uint32_t channel)
{
	unsigned int i;

	for (i = 0; i < c->nchannels; i++)
		if (c->channels[i] == channel)
			return true;
	return false;
}

static int random_bytes(uint8_t *p, size_t n)
{
	return RAND_priv_bytes(p, (int)n) == 1 ? 0 : -EIO;
}

static void store_err(struct keyd *d, int err)
{
	if (err)
		d->m.store_errors++;
}

/* ---- tx keys in the kernel ---- */

static void ks_to_key(const struct kchannel *ch, const struct kcontent *ct,
		      const struct ks *ks, struct guise_key *k)
{
	memset(k, 0, sizeof(*k));
	k->group = ch->group;
	k->port = ch->port;
	k->id = ks->key_id;
	k->alg = ct->alg;
	k->dir = GUISE_KEY_DIR_TX;
	k->secret_len = guise_alg_key_len(ct->alg);
	memcpy(k->secret, ks->key, k->secret_len);
	memcpy(k->salt, ks->salt, sizeof(k->salt));
	k->not_before = ks->tx_from;
	k->not_after = ks->not_after;
	guise_key_mark(k, GUISE_A_KEY_GROUP);
	guise_key_mark(k, GUISE_A_KEY_PORT);
	guise_key_mark(k, GUISE_A_KEY_ID);
	guise_key_mark(k, GUISE_A_KEY_ALG);
	guise_key_mark(k, GUISE_A_KEY_DIR);
	guise_key_mark(k, GUISE_A_KEY_SECRET);
	guise_key_mark(k, GUISE_A_KEY_SALT);
	guise_key_mark(k, GUISE_A_KEY_NOT_BEFORE);
	guise_key_mark(k, GUISE_A_KEY_NOT_AFTER);
}

/* Add the current Ks, a key never added before, as the tx key. */
static int tx_install(struct keyd *d, struct kcontent *ct)
{
	struct kchannel *ch = server_channel_find(d, ct->channel);
	struct guise_key k;
	int err;

	if (!d->kernel || !ch || !ct->cur.key_id)
		return 0;
	ks_to_key(ch, ct, &ct->cur, &k);
	err = kernel_key_add(d->kernel, &k);
	guise_key_wipe(&k);
	if (err == -EEXIST) /* key ids are never reused: it is this one */
		err = 0;
	if (err)
		d->m.kernel_errors++;
	ct->cur_added = !err;
	return err;
}

static void tx_remove(struct keyd *d, const struct kcontent *ct,
		      const struct ks *ks)
{
	struct kchannel *ch = server_channel_find(d, ct->channel);
	struct guise_key k;

	if (!d->kernel || !ch || !ks->key_id)
		return;
	ks_to_key(ch, ct, ks, &k);
	guise_key_wipe(&k);
	if (kernel_key_del(d->kernel, &k))
		d->m.kernel_errors++;
}

/* ---- rotations ---- */

/*
 * Seconds until the announcement of a new Ks, queued now at PRIO_CHANGE,
 * has gone out: everything queued before it (revocations and changes, in
 * wire bytes as server_item_cost() charged them), itself (prev and cur),
 * and what the last second's window still holds, at the cap; then one
 * more second.
 */
static uint64_t switch_delay(struct keyd *d)
{
	uint64_t rate = sender_rate(d->sender);
	uint64_t bytes = sender_backlog(d->sender, PRIO_CHANGE) +
			 sender_window_bytes(d->sender) +
			 2 * (GUISE_ANNOUNCE_LEN + KEYD_WIRE_OVERHEAD);
	uint64_t drain = (bytes + rate - 1) / rate + 1;

	return drain > d->conf->switch_delay ? drain : d->conf->switch_delay;
}

static int ks_rotate(struct keyd *d, struct kcontent *ct, uint64_t now)
{
	uint64_t delay = switch_delay(d);
	struct ks next;
	int err;

	memset(&next, 0, sizeof(next));
	if (random_bytes(next.key, guise_alg_key_len(ct->alg)) ||
	    random_bytes(next.salt, sizeof(next.salt)))
		return -EIO;
	next.key_id = d->next_key_id++;
	next.not_before = now - SKEW;
	next.tx_from = now + delay;
	next.not_after = next.tx_from + period_or_default(ct->ks_period) +
			 2 * d->conf->refresh + delay;
	err = store_next_key_id(d->store, d->next_key_id);
	if (err)
		return err;
	if (ct->prev.key_id && ct->prev_del && ct->cur.tx_from > now) {
		/*
		 * Two rotations within the switch delay (a revocation right
		 * after a periodic rotation): cur was never sent with, prev
		 * still is. Drop cur, not prev: the sender would otherwise
		 * hold no valid key until next's tx_from and fail closed.
		 * prev now lasts until next's tx_from (+ grace): longer than
		 * announced before, and receivers that heard that never
		 * lengthen a key (client.c), so they may miss the content
		 * sent with prev after the earlier tx_from + KS_GRACE.
		 */
		tx_remove(d, ct, &ct->cur);
		ct->prev.not_after = next.tx_from + KS_GRACE;
	} else {
		if (ct->prev.key_id && ct->prev_del)
			tx_remove(d, ct, &ct->prev); /* a third generation */
		ct->prev = ct->cur;
		/* Nothing is sent with it after next's tx_from: receivers
		 * keep it for the grace only. */
		if (ct->prev.key_id &&
		    ct->prev.not_after > next.tx_from + KS_GRACE)
			ct->prev.not_after = next.tx_from + KS_GRACE;
	}
	ct->cur = next;
	ct->cur_added = false;
	explicit_bzero(&next, sizeof(next));
	ct->prev_del = ct->prev.key_id ? ct->cur.tx_from + 2 : 0;
	ct->next_rotation = ct->ks_period ? now + ct->ks_period : 0;
	store_err(d, store_content_put(d->store, ct));
	tx_install(d, ct);
	d->m.ks_rotations++;
	sender_enqueue(d->sender, &ct->q, PRIO_CHANGE);
	return 0;
}

static void enqueue_members(struct keyd *d, uint32_t channel,
			    enum keyd_prio prio)
{
	size_t i;

	for (i = 0; i < d->nclients; i++)
		if (entitled(d->clients[i], channel))
			sender_enqueue(d->sender, &d->clients[i]->q, prio);
}

/* New Kc for @ch: its members' DEMMs first, then new Ks under it. */
static int kc_rotate(struct keyd *d, struct kchannel *ch, uint64_t now)
{
	struct kc next;
	size_t i;

	memset(&next, 0, sizeof(next));
	if (random_bytes(next.key, sizeof(next.key)))
		return -EIO;
	next.epoch = ch->cur.epoch + 1;
	next.not_before = now - SKEW;
	next.not_after =
		now + period_or_default(ch->kc_period) + d->conf->demm_lifetime;
	if (ch->cur.epoch) {
		ch->prev = ch->cur;
		if (ch->prev.not_after > now + d->conf->demm_lifetime)
			ch->prev.not_after = now + d->conf->demm_lifetime;
	}
	ch->cur = next;
	explicit_bzero(&next, sizeof(next));
	ch->next_rotation = ch->kc_period ? now + ch->kc_period : 0;
	store_err(d, store_channel_put(d->store, ch));
	d->m.kc_rotations++;
	enqueue_members(d, ch->id, PRIO_CHANGE);
	for (i = 0; i < d->ncontents; i++)
		if (d->contents[i]->channel == ch->id &&
		    ks_rotate(d, d->contents[i], now))
			return -EIO;
	return 0;
}

/* ---- what goes out ---- */

static void add_group(struct in6_addr *v, unsigned int *n, unsigned int max,
		      const struct in6_addr *g)
{
	unsigned int i;

	for (i = 0; i < *n; i++)
		if (!memcmp(&v[i], g, sizeof(*g)))
			return;
	if (*n < max)
		v[(*n)++] = *g;
}

#define MAX_DEST (2 * KEYD_MAX_ENTITLED)

/* A DEMM goes to its channels' groups and those it was just revoked
 * from; one entitled to nothing, to every channel's group. */
static unsigned int demm_dests(struct keyd *d, const struct kclient *c,
			       struct in6_addr *v, uint64_t now)
{
	struct kchannel *ch;
	unsigned int i, n = 0;

	for (i = 0; i < c->nchannels; i++)
		if ((ch = server_channel_find(d, c->channels[i])))
			add_group(v, &n, MAX_DEST, &ch->group);
	for (i = 0; i < c->ngone; i++)
		if (c->gone_until[i] > now)
			add_group(v, &n, MAX_DEST, &c->gone[i]);
	for (i = 0; !n && i < d->nchannels && i < MAX_DEST; i++)
		v[i] = d->channels[i].group;
	return n ? n :
		   (unsigned int)(d->nchannels < MAX_DEST ? d->nchannels :
							    MAX_DEST);
}

static void demm_fill(struct keyd *d, struct kclient *c, struct guise_demm *m,
		      uint64_t now)
{
	uint64_t serial;
	unsigned int i;

	memset(m, 0, sizeof(*m));
	/* Microseconds since the epoch, above the last one: a restart within
	 * the same second still sends serials above those sent before. */
	serial = guise_real_us();
	m->serial = c->serial + 1 > serial ? c->serial + 1 : serial;
	m->not_before = now - SKEW;
	m->not_after = now + d->conf->demm_lifetime;
	for (i = 0; i < c->nchannels; i++) {
		struct kchannel *ch = server_channel_find(d, c->channels[i]);
		const struct kc *kcs[2];
		unsigned int j;

		if (!ch || !ch->cur.epoch)
			continue;
		kcs[0] = &ch->cur;
		kcs[1] = ch->prev.epoch && ch->prev.not_after > now ?
				 &ch->prev :
				 NULL;
		for (j = 0; j < 2 && kcs[j]; j++) {
			struct guise_demm_entry *e;

			if (m->count == GUISE_DEMM_MAX_ENTRIES)
				break;
			e = &m->e[m->count++];
			e->channel = ch->id;
			e->epoch = kcs[j]->epoch;
			e->group = ch->group;
			e->port = ch->port;
			e->not_before = kcs[j]->not_before;
			e->not_after = kcs[j]->not_after;
			memcpy(e->key, kcs[j]->key, sizeof(e->key));
		}
	}
}

static unsigned int announce_count(const struct kcontent *ct, uint64_t now)
{
	/* While the previous Ks is valid (the switch and its grace) it goes
	 * out too, with its shortened not_after. */
	return ct->prev.key_id && ct->prev.not_after > now ? 2 : 1;
}

uint64_t server_item_cost(struct keyd *d, struct qitem *it, uint64_t now)
{
	struct in6_addr dest[MAX_DEST];

	if (it->is_demm) {
		struct kclient *c = (struct kclient *)it;
		unsigned int n = demm_dests(d, c, dest, now);
		unsigned int entries = c->nchannels * 2;

		if (entries > GUISE_DEMM_MAX_ENTRIES)
			entries = GUISE_DEMM_MAX_ENTRIES;
		return (uint64_t)n *
		       (GUISE_DEMM_LEN(entries) + KEYD_WIRE_OVERHEAD);
	}
	return (uint64_t)announce_count((struct kcontent *)it, now) *
	       (GUISE_ANNOUNCE_LEN + KEYD_WIRE_OVERHEAD);
}

static void emit_demm(struct keyd *d, struct kclient *c, uint64_t now)
{
	uint8_t buf[GUISE_KEYING_MAX_MSG];
	struct in6_addr dest[MAX_DEST];
	struct guise_demm m;
	unsigned int i, n;
	ssize_t len;

	demm_fill(d, c, &m, now);
	len = guise_demm_seal(&c->ck, GUISE_ALG_CHACHA20_POLY1305,
			      guise_demm_epoch(now), &m, NULL, buf,
			      sizeof(buf));
	c->serial = m.serial;
	explicit_bzero(&m, sizeof(m));
	if (len < 0) {
		guise_err("DEMM for %s: %s", c->id, strerror((int)-len));
		return;
	}
	n = demm_dests(d, c, dest, now);
	for (i = 0; i < n; i++)
		sender_send(d->sender, &dest[i], buf, (size_t)len);
	d->m.demms_sent++;
}

static void emit_announce(struct keyd *d, struct kcontent *ct, uint64_t now)
{
	struct kchannel *ch = server_channel_find(d, ct->channel);
	const struct ks *keys[2] = { &ct->prev, &ct->cur };
	uint8_t buf[GUISE_ANNOUNCE_LEN];
	struct guise_announce a;
	unsigned int i, n = announce_count(ct, now);
	ssize_t len;

	if (!ch || !ch->cur.epoch || !ct->cur.key_id)
		return;
	/* Older key first: a receiver refuses a key older than the newest
	 * it has seen of the content unless it holds it (client.c). */
	for (i = 2 - n; i < 2; i++) {
		memset(&a, 0, sizeof(a));
		a.channel = ch->id;
		a.content = ct->id;
		a.key_id = keys[i]->key_id;
		a.group = ch->group;
		a.port = ch->port;
		a.alg = ct->alg;
		a.not_before = keys[i]->not_before;
		a.not_after = keys[i]->not_after;
		memcpy(a.salt, keys[i]->salt, sizeof(a.salt));
		memcpy(a.key, keys[i]->key, guise_alg_key_len(ct->alg));
		len = guise_announce_seal(ch->cur.key,
					  GUISE_ALG_CHACHA20_POLY1305,
					  ch->cur.epoch, &a, NULL, buf,
					  sizeof(buf));
		explicit_bzero(&a, sizeof(a));
		if (len < 0)
			continue;
		sender_send(d->sender, &ch->group, buf, (size_t)len);
		d->m.announces_sent++;
	}
}

void server_item_emit(struct keyd *d, struct qitem *it, uint64_t now)
{
	if (it->is_demm)
		emit_demm(d, (struct kclient *)it, now);
	else
		emit_announce(d, (struct kcontent *)it, now);
}

/* ---- lifecycle ---- */

int server_start(struct keyd *d, uint64_t now)
{
	size_t i;
	int err;

	err = store_load(d->store, d);
	if (err)
		return err;
	for (i = 0; i < d->nclients; i++)
		d->clients[i]->serial = guise_real_us();
	for (i = 0; i < d->nchannels; i++)
		if (!d->channels[i].cur.epoch ||
		    d->channels[i].cur.not_after <= now + d->conf->refresh)
			if (kc_rotate(d, &d->channels[i], now))
				return -EIO;
	/* Never reinstall a content key: every start takes fresh ones. */
	for (i = 0; i < d->ncontents; i++) {
		d->contents[i]->prev_del = 0;
		if (ks_rotate(d, d->contents[i], now))
			return -EIO;
	}
	for (i = 0; i < d->nclients; i++)
		if (d->clients[i]->nchannels)
			sender_enqueue(d->sender, &d->clients[i]->q,
				       PRIO_CHANGE);
	d->next_refresh = now + d->conf->refresh;
	return 0;
}

void server_stop(struct keyd *d)
{
	size_t i;

	for (i = 0; i < d->nclients; i++) {
		guise_client_keys_wipe(&d->clients[i]->ck);
		free(d->clients[i]);
	}
	for (i = 0; i < d->ncontents; i++) {
		explicit_bzero(d->contents[i], sizeof(*d->contents[i]));
		free(d->contents[i]);
	}
	if (d->channels)
		explicit_bzero(d->channels,
			       d->nchannels * sizeof(*d->channels));
	free(d->clients);
	free(d->contents);
	free(d->channels);
	d->clients = NULL;
	d->contents = NULL;
	d->channels = NULL;
	d->nclients = d->ncontents = d->nchannels = 0;
}

void server_tick(struct keyd *d, uint64_t now)
{
	size_t i;
	unsigned int j;

	for (i = 0; i < d->nchannels; i++) {
		struct kchannel *ch = &d->channels[i];

		if ((ch->next_rotation && now >= ch->next_rotation) ||
		    ch->cur.not_after <= now + d->conf->refresh)
			kc_rotate(d, ch, now);
	}
	for (i = 0; i < d->ncontents; i++) {
		struct kcontent *ct = d->contents[i];

		if ((ct->next_rotation && now >= ct->next_rotation) ||
		    ct->cur.not_after <= now + 2 * d->conf->refresh)
			ks_rotate(d, ct, now);
		if (ct->prev_del && now >= ct->prev_del) {
			tx_remove(d, ct, &ct->prev);
			ct->prev_del = 0;
		}
	}
	for (i = 0; i < d->nclients; i++) {
		struct kclient *c = d->clients[i];

		for (j = 0; j < c->ngone;) {
			if (c->gone_until[j] <= now) {
				c->gone[j] = c->gone[c->ngone - 1];
				c->gone_until[j] = c->gone_until[--c->ngone];
			} else {
				j++;
			}
		}
	}
	if (now < d->next_refresh)
		return;
	d->next_refresh = now + d->conf->refresh;
	for (i = 0; i < d->nclients; i++)
		if (d->clients[i]->nchannels || d->clients[i]->ngone)
			sender_enqueue(d->sender, &d->clients[i]->q,
				       PRIO_REFRESH);
	for (i = 0; i < d->ncontents; i++)
		sender_enqueue(d->sender, &d->contents[i]->q, PRIO_REFRESH);
}

/* Is @ct's current Ks a tx key among the @n keys of @v (a dump)? */
static bool tx_in_kernel(struct keyd *d, const struct kcontent *ct,
			 const struct guise_key *v, size_t n)
{
	struct kchannel *ch = server_channel_find(d, ct->channel);
	size_t i;

	for (i = 0; ch && i < n; i++)
		if (v[i].dir == GUISE_KEY_DIR_TX && v[i].id == ct->cur.key_id &&
		    v[i].port == ch->port &&
		    !memcmp(&v[i].group, &ch->group, sizeof(ch->group)))
			return true;
	return false;
}

/*
 * The module came back (or may have): give every content its tx key
 * again. Never the same one: the kernel starts each key it is given at
 * sequence 0 and the old module's count is gone, so adding a Ks it sent
 * with would reuse (Ks, salt || sequence) nonces. A key lost that way is
 * replaced by a fresh Ks (a rotation: announced at once, sent with after
 * the switch delay; meanwhile the flow fails closed). A Ks whose add
 * failed never reached a kernel and is added as it is.
 */
int server_kernel_resync(struct keyd *d, uint64_t now)
{
	struct guise_key *v;
	size_t i, n;
	unsigned int rekeyed = 0;
	int err, ret = 0;

	err = kernel_key_dump(d->kernel, &v, &n);
	if (err)
		return err;
	for (i = 0; i < d->ncontents; i++) {
		struct kcontent *ct = d->contents[i];

		if (!ct->cur.key_id || tx_in_kernel(d, ct, v, n)) {
			ct->cur_added = ct->cur.key_id != 0;
			continue;
		}
		if (ct->cur_added) {
			err = ks_rotate(d, ct, now); /* adds the new Ks */
			rekeyed += !err;
		} else {
			err = tx_install(d, ct);
		}
		if (!err && !ct->cur_added)
			err = -EAGAIN; /* the add failed (logged and counted) */
		if (err && !ret)
			ret = err;
	}
	free(v);
	if (rekeyed)
		guise_info("%u content(s) lost their tx key: fresh Ks",
			   rekeyed);
	if (!ret)
		d->m.kernel_resyncs++;
	return ret;
}

/* ---- administration ---- */

int server_client_add(struct keyd *d, const char *id,
		      const struct in6_addr *addr)
{
	uint8_t km[GUISE_KEYING_KEY_LEN];
	struct kclient *c, **nv;
	int err;

	if (!*id || strlen(id) >= KEYD_ID_MAX)
		return -EINVAL;
	if (server_client_find(d, id) || server_client_by_addr(d, addr))
		return -EEXIST;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (random_bytes(km, sizeof(km)) ||
	    guise_client_keys_init(&c->ck, km)) {
		explicit_bzero(km, sizeof(km));
		free(c);
		return -EIO;
	}
	explicit_bzero(km, sizeof(km));
	strcpy(c->id, id);
	c->addr = *addr;
	c->q.prio = PRIO_NONE;
	c->q.is_demm = true;
	c->serial = guise_real_us();
	if (d->nclients == d->capclients) {
		d->capclients = d->capclients ? 2 * d->capclients : 64;
		nv = reallocarray(d->clients, d->capclients, sizeof(*nv));
		if (!nv) {
			free(c);
			return -ENOMEM;
		}
		d->clients = nv;
	}
	err = store_client_put(d->store, c);
	if (err) {
		guise_client_keys_wipe(&c->ck);
		free(c);
		return err;
	}
	d->clients[d->nclients++] = c;
	return 0;
}

/* Its DEMMs keep going to @group for a DEMM lifetime. */
static void client_gone(struct keyd *d, struct kclient *c,
			const struct in6_addr *group, uint64_t now)
{
	if (c->ngone < KEYD_MAX_ENTITLED) {
		c->gone[c->ngone] = *group;
		c->gone_until[c->ngone++] = now + d->conf->demm_lifetime;
	}
}

int server_revoke(struct keyd *d, const char *client, uint32_t channel,
		  uint64_t now)
{
	struct kclient *c = server_client_find(d, client);
	struct kchannel *ch = server_channel_find(d, channel);
	unsigned int i;
	int err;

	if (!c || !ch || !entitled(c, channel))
		return -ENOENT;
	err = store_entitle(d->store, client, channel, false);
	if (err)
		return err;
	for (i = 0; c->channels[i] != channel; i++)
		;
	c->channels[i] = c->channels[--c->nchannels];
	client_gone(d, c, &ch->group, now);
	d->m.revocations++;
	/* Its DEMM without the channel goes first, then the new Kc. */
	sender_enqueue(d->sender, &c->q, PRIO_REVOKE);
	return kc_rotate(d, ch, now);
}

int server_client_del(struct keyd *d, const char *id, uint64_t now)
{
	struct kclient *c = server_client_find(d, id);
	size_t i;
	int err;

	if (!c)
		return -ENOENT;
	while (c->nchannels) {
		err = server_revoke(d, id, c->channels[0], now);
		if (err)
			return err;
	}
	/* The revoking DEMM goes out now: the client is about to vanish. */
	if (c->q.prio != PRIO_NONE) {
		sender_dequeue(d->sender, &c->q);
		emit_demm(d, c, now);
	}
	err = store_client_del(d->store, id);
	if (err)
		return err;
	for (i = 0; d->clients[i] != c; i++)
		;
	d->clients[i] = d->clients[--d->nclients];
	guise_client_keys_wipe(&c->ck);
	free(c);
	return 0;
}

int server_channel_add(struct keyd *d, const struct kchannel *tmpl,
		       uint64_t now)
{
	struct kchannel *nv, *ch;
	size_t i;
	int err;

	if (!tmpl->id || !IN6_IS_ADDR_MULTICAST(&tmpl->group) || !tmpl->port ||
	    tmpl->port == d->conf->port)
		return -EINVAL;
	if (server_channel_find(d, tmpl->id))
		return -EEXIST;
	for (i = 0; i < d->nchannels; i++)
		if (!memcmp(&d->channels[i].group, &tmpl->group, 16) &&
		    d->channels[i].port == tmpl->port)
			return -EEXIST;
	nv = reallocarray(d->channels, d->nchannels + 1, sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	d->channels = nv;
	ch = &d->channels[d->nchannels];
	memset(ch, 0, sizeof(*ch));
	ch->id = tmpl->id;
	ch->group = tmpl->group;
	ch->port = tmpl->port;
	ch->kc_period = tmpl->kc_period;
	ch->bandwidth_kbps = tmpl->bandwidth_kbps;
	d->nchannels++;
	err = kc_rotate(d, ch, now);
	if (err) {
		d->nchannels--;
		store_err(d, store_channel_del(d->store, tmpl->id));
	}
	return err;
}

int server_content_del(struct keyd *d, uint32_t id, uint64_t now)
{
	struct kcontent *ct = server_content_find(d, id);
	size_t i;
	int err;

	(void)now;
	if (!ct)
		return -ENOENT;
	err = store_content_del(d->store, id);
	if (err)
		return err;
	sender_dequeue(d->sender, &ct->q);
	tx_remove(d, ct, &ct->cur);
	tx_remove(d, ct, &ct->prev);
	for (i = 0; d->contents[i] != ct; i++)
		;
	d->contents[i] = d->contents[--d->ncontents];
	explicit_bzero(ct, sizeof(*ct));
	free(ct);
	return 0;
}

int server_channel_del(struct keyd *d, uint32_t id, uint64_t now)
{
	struct kchannel *ch = server_channel_find(d, id);
	size_t i;
	int err;

	if (!ch)
		return -ENOENT;
	for (i = 0; i < d->ncontents; i++)
		if (d->contents[i]->channel == id)
			return -EBUSY;
	err = store_channel_del(d->store, id);
	if (err)
		return err;
	/* Members lose it as by revocation (no new Kc: nothing is left to
	 * protect); their DEMMs still reach the group for a while. */
	for (i = 0; i < d->nclients; i++) {
		struct kclient *c = d->clients[i];
		unsigned int j;

		for (j = 0; j < c->nchannels; j++) {
			if (c->channels[j] != id)
				continue;
			c->channels[j] = c->channels[--c->nchannels];
			client_gone(d, c, &ch->group, now);
			sender_enqueue(d->sender, &c->q, PRIO_REVOKE);
			break;
		}
	}
	explicit_bzero(ch, sizeof(*ch));
	*ch = d->channels[--d->nchannels];
	return 0;
}

int server_content_add(struct keyd *d, uint32_t id, uint32_t channel,
		       uint8_t alg, uint32_t ks_period, uint64_t now)
{
	struct kcontent *ct, **nv;
	int err;

	if (!id || !guise_alg_name(alg))
		return -EINVAL;
	if (!server_channel_find(d, channel))
		return -ENOENT;
	if (server_content_find(d, id))
		return -EEXIST;
	ct = calloc(1, sizeof(*ct));
	if (!ct)
		return -ENOMEM;
	nv = reallocarray(d->contents, d->ncontents + 1, sizeof(*nv));
	if (!nv) {
		free(ct);
		return -ENOMEM;
	}
	d->contents = nv;
	ct->q.prio = PRIO_NONE;
	ct->id = id;
	ct->channel = channel;
	ct->alg = alg;
	ct->ks_period = ks_period;
	d->contents[d->ncontents++] = ct;
	err = ks_rotate(d, ct, now);
	if (err)
		server_content_del(d, id, now);
	return err;
}

int server_entitle(struct keyd *d, const char *client, uint32_t channel,
		   uint64_t now)
{
	struct kclient *c = server_client_find(d, client);
	size_t i;
	int err;

	(void)now;
	if (!c || !server_channel_find(d, channel))
		return -ENOENT;
	if (entitled(c, channel))
		return -EEXIST;
	/* Two Kc epochs per channel must fit one DEMM. */
	if (2 * (c->nchannels + 1) > GUISE_DEMM_MAX_ENTRIES)
		return -E2BIG;
	err = store_entitle(d->store, client, channel, true);
	if (err)
		return err;
	c->channels[c->nchannels++] = channel;
	sender_enqueue(d->sender, &c->q, PRIO_CHANGE);
	for (i = 0; i < d->ncontents; i++)
		if (d->contents[i]->channel == channel)
			sender_enqueue(d->sender, &d->contents[i]->q,
				       PRIO_CHANGE);
	return 0;
}
