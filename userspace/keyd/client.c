// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/guise.h>

#include "client.h"
#include "kernel.h"
#include "key.h"
#include "keyfile.h"
#include "keying.h"
#include "log.h"

#define MAX_ENT (2 * GUISE_DEMM_MAX_ENTRIES)
#define MAX_KEYS 256
#define MAX_JOINED 64
#define KEYS_PER_CONTENT 2

struct rxkey {
	struct in6_addr group;
	uint16_t port;
	uint32_t key_id, channel, content; /* channel 0: found at start */
	uint64_t not_before, not_after;
	/* Kept to add the key again after a module reload; a key adopted
	 * at start has none until its next announcement. */
	uint8_t alg, salt[GUISE_KEY_SALT_LEN], secret[GUISE_KEYING_KEY_LEN];
	bool has_secret;
	bool in_kernel; /* false: lost with the module, add it again */
	/* The newest Kc epoch it was announced under (0: adopted at start,
	 * not announced since): a key not announced again under a newer
	 * Kc is the first to go (prune()). */
	uint32_t kc_epoch;
};

/* The newest key id seen of a content under Kc epoch @kc_epoch: an older
 * one is never added again once the newer one's not before has passed
 * (on_announce()). A newer Kc starts afresh: what was noted under an
 * older one may come from a member revoked since. */
struct newest {
	uint32_t channel, content, key_id;
	uint64_t not_before;
	uint32_t kc_epoch;
};

struct client_counters {
	uint64_t demms, demms_other, demms_replayed, demms_expired;
	uint64_t demms_duplicate; /* the last DEMM again (one per group) */
	uint64_t announces, announces_nokey, announces_expired;
	uint64_t announces_stale; /* a key older than the newest, not held */
	uint64_t announces_old_kc; /* under a Kc older than the newest held */
	uint64_t keys_shortened; /* not_after shortened by an announcement */
	uint64_t forged, malformed, cross_channel;
	uint64_t keys_installed, keys_removed, lapses, flushes;
	uint64_t kernel_errors;
	uint64_t kernel_resyncs, keys_reinstalled; /* after a module reload */
};

struct keyc {
	struct keyd_conf *conf;
	struct kernel *kernel;
	struct guise_client_keys ck;
	int fd;
	struct event *ev;
	uint64_t last_serial, demm_not_after, demm_at;
	struct guise_demm_entry ent[MAX_ENT];
	unsigned int nent;
	/* The last accepted DEMM as received: its copies to the client's
	 * other channel groups are duplicates, not replays. */
	uint8_t last_demm[GUISE_KEYING_MAX_MSG];
	size_t last_demm_len;
	struct newest newest[MAX_KEYS];
	unsigned int nnewest;
	bool entitled_once;
	struct rxkey keys[MAX_KEYS];
	unsigned int nkeys;
	struct in6_addr joined[MAX_JOINED];
	unsigned int njoined;
	struct client_counters m;
};

int client_passphrase(const char *pass_file, char *buf, size_t size)
{
	const char *path = pass_file ? pass_file : "/etc/machine-id";
	int n = guise_keyfile_read_pass(path, buf, size);

	if (n < 0)
		guise_err("passphrase %s: %s", path, strerror(-n));
	return n;
}

/* Km from the sealed key file of @conf. 0 or -1 after logging why. */
static int read_km(const struct keyd_conf *conf,
		   uint8_t km[GUISE_KEYING_KEY_LEN])
{
	uint8_t file[GUISE_KEYFILE_LEN + 1];
	char pass[512];
	int fd, n, err;
	ssize_t len;

	fd = open(conf->key_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		guise_err("key file %s: %s (run guise enroll first)",
			  conf->key_file, strerror(errno));
		return -1;
	}
	len = read(fd, file, sizeof(file));
	close(fd);
	n = client_passphrase(conf->pass_file, pass, sizeof(pass));
	if (n < 0)
		return -1;
	err = len < 0 ? -EIO :
			guise_keyfile_open(file, (size_t)len, pass, (size_t)n,
					   km);
	explicit_bzero(pass, sizeof(pass));
	if (err) {
		guise_err("key file %s: %s", conf->key_file,
			  err == -EBADMSG ? "wrong passphrase or tampered" :
					    "malformed");
		return -1;
	}
	return 0;
}

int client_check_key(const struct keyd_conf *conf)
{
	uint8_t km[GUISE_KEYING_KEY_LEN];
	int err = read_km(conf, km);

	explicit_bzero(km, sizeof(km));
	return err;
}

static int load_km(struct keyc *c)
{
	uint8_t km[GUISE_KEYING_KEY_LEN];
	int err;

	if (read_km(c->conf, km))
		return -1;
	err = guise_client_keys_init(&c->ck, km);
	explicit_bzero(km, sizeof(km));
	return err ? -1 : 0;
}

/* The state survives restarts: an old DEMM stays old. */
static void load_state(struct keyc *c)
{
	FILE *fp = fopen(c->conf->state, "r");
	struct newest *n;
	char line[160];

	if (!fp)
		return;
	if (fscanf(fp, "serial %" SCNu64 "\n", &c->last_serial) != 1)
		c->last_serial = 0;
	/* (a state file of an earlier version has no Kc epoch: 0) */
	while (c->nnewest < MAX_KEYS && fgets(line, sizeof(line), fp)) {
		n = &c->newest[c->nnewest];
		n->kc_epoch = 0;
		if (sscanf(line,
			   "newest %" SCNu32 " %" SCNu32 " %" SCNu32 " %" SCNu64
			   " %" SCNu32,
			   &n->channel, &n->content, &n->key_id, &n->not_before,
			   &n->kc_epoch) < 4)
			break;
		c->nnewest++;
	}
	fclose(fp);
}

static void save_state(struct keyc *c)
{
	char tmp[4096];
	unsigned int i;
	FILE *fp;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", c->conf->state) >=
	    sizeof(tmp))
		return;
	fp = fopen(tmp, "w");
	if (!fp) {
		guise_err("state %s: %s", tmp, strerror(errno));
		return;
	}
	fprintf(fp, "serial %" PRIu64 "\n", c->last_serial);
	for (i = 0; i < c->nnewest; i++)
		fprintf(fp,
			"newest %" PRIu32 " %" PRIu32 " %" PRIu32 " %" PRIu64
			" %" PRIu32 "\n",
			c->newest[i].channel, c->newest[i].content,
			c->newest[i].key_id, c->newest[i].not_before,
			c->newest[i].kc_epoch);
	if (fflush(fp) || fsync(fileno(fp)) || fclose(fp) ||
	    rename(tmp, c->conf->state))
		guise_err("state %s: %s", c->conf->state, strerror(errno));
}

static void join(struct keyc *c, const struct in6_addr *g)
{
	struct ipv6_mreq mr = { .ipv6mr_multiaddr = *g,
				.ipv6mr_interface = c->conf->ifindex };
	char s[INET6_ADDRSTRLEN];
	unsigned int i;

	for (i = 0; i < c->njoined; i++)
		if (!memcmp(&c->joined[i], g, sizeof(*g)))
			return;
	if (c->njoined == MAX_JOINED)
		return;
	if (setsockopt(c->fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof(mr))) {
		guise_err("join %s: %s", inet_ntop(AF_INET6, g, s, sizeof(s)),
			  strerror(errno));
		return;
	}
	c->joined[c->njoined++] = *g;
}

static void rx_key(const struct rxkey *r, struct guise_key *k)
{
	memset(k, 0, sizeof(*k));
	k->group = r->group;
	k->port = r->port;
	k->id = r->key_id;
	k->dir = GUISE_KEY_DIR_RX;
}

/* All of @r, secret included, for an add. */
static void rx_key_full(const struct rxkey *r, struct guise_key *k)
{
	rx_key(r, k);
	k->alg = r->alg;
	k->secret_len = guise_alg_key_len(r->alg);
	memcpy(k->secret, r->secret, k->secret_len);
	memcpy(k->salt, r->salt, sizeof(k->salt));
	k->not_before = r->not_before;
	k->not_after = r->not_after;
	k->present = 1U << GUISE_A_KEY_GROUP | 1U << GUISE_A_KEY_PORT |
		     1U << GUISE_A_KEY_ID | 1U << GUISE_A_KEY_ALG |
		     1U << GUISE_A_KEY_DIR | 1U << GUISE_A_KEY_SECRET |
		     1U << GUISE_A_KEY_SALT | 1U << GUISE_A_KEY_NOT_BEFORE |
		     1U << GUISE_A_KEY_NOT_AFTER;
}

/* Add @r to the kernel: 0, -EEXIST (it is there) or a negative errno. */
static int rx_add(struct keyc *c, const struct rxkey *r)
{
	struct guise_key k;
	int err;

	if (!c->kernel)
		return 0;
	rx_key_full(r, &k);
	err = kernel_key_add(c->kernel, &k);
	guise_key_wipe(&k);
	return err;
}

/* Forget keys[@i]: the last one moves in, its old slot is wiped. */
static void key_drop(struct keyc *c, unsigned int i)
{
	c->keys[i] = c->keys[--c->nkeys];
	explicit_bzero(&c->keys[c->nkeys], sizeof(c->keys[0]));
	c->m.keys_removed++;
}

static void key_remove(struct keyc *c, unsigned int i)
{
	struct guise_key k;

	if (c->kernel) {
		rx_key(&c->keys[i], &k);
		if (kernel_key_del(c->kernel, &k))
			c->m.kernel_errors++;
	}
	key_drop(c, i);
}

static bool ent_valid(const struct guise_demm_entry *e, uint64_t now)
{
	return e->not_before <= now && now < e->not_after;
}

/*
 * The Kc of @channel's epoch @epoch, if it is the newest valid one the
 * DEMM holds of the channel: announcements are sealed under the newest
 * Kc only (a Kc rotation announces every key again under the new one).
 * An older Kc stays in members' DEMMs for a while after a revocation,
 * and the member revoked knows it: what it seals under it is not taken.
 * *@older: the epoch is valid but not the newest.
 */
static const struct guise_demm_entry *find_ent(struct keyc *c, uint32_t channel,
					       uint32_t epoch, uint64_t now,
					       bool *older)
{
	const struct guise_demm_entry *e = NULL;
	unsigned int i;

	*older = false;
	for (i = 0; i < c->nent; i++)
		if (c->ent[i].channel == channel && c->ent[i].epoch == epoch &&
		    ent_valid(&c->ent[i], now))
			e = &c->ent[i];
	for (i = 0; e && i < c->nent; i++)
		if (c->ent[i].channel == channel && c->ent[i].epoch > epoch &&
		    ent_valid(&c->ent[i], now)) {
			*older = true;
			return NULL;
		}
	return e;
}

static bool flow_entitled(struct keyc *c, const struct rxkey *r)
{
	unsigned int i;

	for (i = 0; i < c->nent; i++)
		if (!memcmp(&c->ent[i].group, &r->group, 16) &&
		    c->ent[i].port == r->port &&
		    (!r->channel || c->ent[i].channel == r->channel))
			return true;
	return false;
}

/* Keep exactly the keys of entitled flows. */
static void reconcile(struct keyc *c)
{
	unsigned int i;

	for (i = 0; i < c->nkeys;) {
		if (flow_entitled(c, &c->keys[i]))
			i++;
		else
			key_remove(c, i);
	}
}

static void flush_all(struct keyc *c)
{
	if (c->kernel && kernel_key_flush(c->kernel))
		c->m.kernel_errors++;
	c->m.keys_removed += c->nkeys;
	c->nkeys = 0;
	explicit_bzero(c->keys, sizeof(c->keys));
	c->m.flushes++;
}

static void on_demm(struct keyc *c, const uint8_t *buf, size_t len,
		    uint64_t now)
{
	struct guise_demm m;
	unsigned int i;
	int err;

	/* The server sends each DEMM once to every group of the client's
	 * channels: the same bytes again are a duplicate, not a replay. */
	if (c->last_demm_len && len == c->last_demm_len &&
	    !memcmp(buf, c->last_demm, len)) {
		c->m.demms_duplicate++;
		return;
	}
	err = guise_demm_open(&c->ck, buf, len, &m);
	if (err == -ENOENT) {
		c->m.demms_other++;
		return;
	}
	if (err) {
		if (err == -EBADMSG)
			c->m.forged++;
		else
			c->m.malformed++;
		return;
	}
	err = guise_demm_check(&m, c->last_serial, now);
	if (err) {
		if (err == -ESTALE)
			c->m.demms_replayed++;
		else
			c->m.demms_expired++;
		guise_info("DEMM serial %" PRIu64 " rejected: %s", m.serial,
			   err == -ESTALE ? "replayed or out of order" :
					    "outside its validity");
		explicit_bzero(&m, sizeof(m));
		return;
	}
	c->m.demms++;
	c->last_serial = m.serial;
	memcpy(c->last_demm, buf, len);
	c->last_demm_len = len;
	save_state(c);
	c->demm_not_after = m.not_after;
	c->demm_at = now;
	explicit_bzero(c->ent, sizeof(c->ent));
	c->nent = m.count;
	memcpy(c->ent, m.e, m.count * sizeof(m.e[0]));
	explicit_bzero(&m, sizeof(m));
	for (i = 0; i < c->nent; i++)
		join(c, &c->ent[i].group);
	if (!c->nent) {
		/* Revoked from everything: nothing stays. */
		if (c->nkeys || c->entitled_once)
			flush_all(c);
		c->entitled_once = false;
		return;
	}
	c->entitled_once = true;
	reconcile(c);
}

static int find_key(struct keyc *c, const struct guise_announce *a)
{
	unsigned int i;

	for (i = 0; i < c->nkeys; i++)
		if (c->keys[i].key_id == a->key_id &&
		    c->keys[i].port == a->port &&
		    !memcmp(&c->keys[i].group, &a->group, 16))
			return (int)i;
	return -1;
}

/* Is @a a worse key to keep than @b: announced last under an older Kc
 * (not announced again since: a key the server dropped, or one a revoked
 * member made), else older? */
static bool keep_less(const struct rxkey *a, const struct rxkey *b)
{
	if (a->kc_epoch != b->kc_epoch)
		return a->kc_epoch < b->kc_epoch;
	return a->key_id < b->key_id;
}

/* At most KEYS_PER_CONTENT keys of one content: the one least worth
 * keeping goes (keep_less()), not the key the sender may still use. */
static void prune(struct keyc *c, const struct rxkey *r)
{
	unsigned int i, n = 0, worst = 0;

	for (i = 0; i < c->nkeys; i++) {
		if (c->keys[i].content != r->content ||
		    c->keys[i].channel != r->channel)
			continue;
		if (!n++ || keep_less(&c->keys[i], &c->keys[worst]))
			worst = i;
	}
	if (n > KEYS_PER_CONTENT)
		key_remove(c, worst);
}

static struct newest *newest_find(struct keyc *c, uint32_t channel,
				  uint32_t content)
{
	unsigned int i;

	for (i = 0; i < c->nnewest; i++)
		if (c->newest[i].channel == channel &&
		    c->newest[i].content == content)
			return &c->newest[i];
	return NULL;
}

/* @a is the newest key of its content seen so far: remember it (kept in
 * the state file; when full, the entry of the oldest key id goes). */
static void newest_note(struct keyc *c, struct newest *n,
			const struct guise_announce *a, uint32_t kc_epoch)
{
	unsigned int i;

	if (!n) {
		if (c->nnewest < MAX_KEYS) {
			n = &c->newest[c->nnewest++];
		} else {
			n = &c->newest[0];
			for (i = 1; i < c->nnewest; i++)
				if (c->newest[i].key_id < n->key_id)
					n = &c->newest[i];
		}
		n->channel = a->channel;
		n->content = a->content;
	}
	n->key_id = a->key_id;
	n->not_before = a->not_before;
	n->kc_epoch = kc_epoch;
	save_state(c);
}

/*
 * Held key @r again, announced with @a: shorten its not_after (never
 * lengthen it), or add it if it was lost with the module or adopted at
 * start without its secret. A shortened key keeps its kernel object (its
 * validity changes in place, kernel_key_retime()).
 */
static void key_update(struct keyc *c, struct rxkey *r, const struct rxkey *nr)
{
	bool shorter = nr->not_after < r->not_after;
	struct guise_key k;
	int err;

	r->channel = nr->channel;
	r->content = nr->content;
	r->kc_epoch = nr->kc_epoch;
	if (!shorter && r->in_kernel && r->has_secret)
		return;
	if (shorter) {
		r->not_after = nr->not_after;
		c->m.keys_shortened++;
	}
	r->not_before = nr->not_before;
	r->alg = nr->alg;
	memcpy(r->salt, nr->salt, sizeof(r->salt));
	memcpy(r->secret, nr->secret, sizeof(r->secret));
	r->has_secret = true;
	/* Shortened in place (KEY_NEW with GUISE_A_KEY_REPLACE): a delete and an
	 * add would drop the datagrams that arrive in between. */
	if (shorter && r->in_kernel && c->kernel) {
		rx_key_full(r, &k);
		err = kernel_key_retime(c->kernel, &k);
		guise_key_wipe(&k);
		if (err) {
			c->m.kernel_errors++;
			r->in_kernel =
				false; /* added again at the next resync */
		}
		return;
	}
	err = rx_add(c, r);
	if (err && err != -EEXIST) {
		c->m.kernel_errors++;
		return; /* added again at the next resync */
	}
	if (!r->in_kernel && !shorter)
		c->m.keys_reinstalled++;
	r->in_kernel = true;
}

static void on_announce(struct keyc *c, const uint8_t *buf, size_t len,
			uint64_t now)
{
	const struct guise_demm_entry *e;
	struct guise_keying_hdr h;
	struct guise_announce a;
	struct newest *nw;
	struct rxkey nr;
	bool older;
	int i, err;

	memset(&nr, 0, sizeof(nr));
	guise_keying_peek(buf, len, &h);
	e = find_ent(c, h.channel, h.key_epoch, now, &older);
	if (!e) {
		if (older)
			c->m.announces_old_kc++;
		else
			c->m.announces_nokey++;
		return;
	}
	err = guise_announce_open(e->key, buf, len, &a);
	if (err) {
		if (err == -EBADMSG)
			c->m.forged++;
		else
			c->m.malformed++;
		return;
	}
	if (memcmp(&a.group, &e->group, 16) || a.port != e->port) {
		c->m.cross_channel++;
		goto out;
	}
	if (now >= a.not_after) {
		c->m.announces_expired++;
		goto out;
	}
	c->m.announces++;
	i = find_key(c, &a);
	nw = newest_find(c, a.channel, a.content);
	/*
	 * A key older than the newest seen of its content is added only if
	 * held (to shorten it): once the newer key is valid, the older one
	 * is announced only with its shortened not_after, and an older
	 * announcement replayed under the same Kc must not bring it back.
	 * The newest of an older Kc does not count: a member revoked since
	 * could have announced any key id under it.
	 */
	if (i < 0 && nw && nw->kc_epoch >= e->epoch && a.key_id < nw->key_id &&
	    now >= nw->not_before) {
		c->m.announces_stale++;
		goto out;
	}
	if (!nw || nw->kc_epoch < e->epoch || a.key_id > nw->key_id)
		newest_note(c, nw, &a, e->epoch);
	if (i < 0 && c->nkeys == MAX_KEYS)
		goto out;
	nr.group = a.group;
	nr.port = a.port;
	nr.key_id = a.key_id;
	nr.channel = a.channel;
	nr.content = a.content;
	nr.not_before = a.not_before;
	/* No key outlives the Kc it was announced under (as far as this
	 * DEMM says): what a member revoked since made under it ends too. */
	nr.not_after = a.not_after < e->not_after ? a.not_after : e->not_after;
	nr.kc_epoch = e->epoch;
	nr.alg = a.alg;
	memcpy(nr.salt, a.salt, sizeof(nr.salt));
	memcpy(nr.secret, a.key, sizeof(nr.secret));
	nr.has_secret = true;
	nr.in_kernel = true;
	if (i >= 0) {
		key_update(c, &c->keys[i], &nr);
	} else {
		err = rx_add(c, &nr);
		if (err && err != -EEXIST) {
			c->m.kernel_errors++;
			goto out;
		}
		i = (int)c->nkeys++;
		c->m.keys_installed++;
		c->keys[i] = nr;
	}
	prune(c, &c->keys[i]);
out:
	explicit_bzero(&nr, sizeof(nr));
	explicit_bzero(&a, sizeof(a));
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	uint8_t buf[GUISE_KEYING_MAX_MSG + 1];
	struct keyc *c = arg;
	struct guise_keying_hdr h;
	ssize_t len;

	(void)what;
	while ((len = recv(fd, buf, sizeof(buf), 0)) >= 0) {
		uint64_t now = (uint64_t)time(NULL);

		if (guise_keying_peek(buf, (size_t)len, &h)) {
			c->m.malformed++;
			continue;
		}
		if (h.type == GUISE_KEYING_TYPE_DEMM)
			on_demm(c, buf, (size_t)len, now);
		else
			on_announce(c, buf, (size_t)len, now);
	}
	explicit_bzero(buf, sizeof(buf));
}

void client_tick(struct keyc *c, uint64_t now)
{
	unsigned int i;

	if (c->demm_not_after && now >= c->demm_not_after) {
		/* Not refreshed in time: every entitlement lapses. */
		if (c->nent || c->nkeys) {
			guise_info("DEMM not refreshed: entitlements lapse");
			c->m.lapses++;
		}
		explicit_bzero(c->ent, sizeof(c->ent));
		c->nent = 0;
		c->demm_not_after = 0;
		while (c->nkeys)
			key_remove(c, 0);
		return;
	}
	for (i = 0; i < c->nent;) {
		if (c->ent[i].not_after <= now) {
			c->ent[i] = c->ent[--c->nent];
			explicit_bzero(&c->ent[c->nent], sizeof(c->ent[0]));
		} else {
			i++;
		}
	}
	for (i = 0; i < c->nkeys;) {
		if (c->keys[i].not_after <= now)
			key_remove(c, i); /* the kernel's GC may lag */
		else
			i++;
	}
	reconcile(c);
}

void client_kernel_lost(struct keyc *c)
{
	unsigned int i;

	for (i = 0; i < c->nkeys; i++)
		c->keys[i].in_kernel = false;
}

/*
 * The module came back: add again every rx key lost with it whose secret
 * the client holds. Unlike a tx key, an rx key may be added again: it
 * only decrypts; its replay window starts afresh. One adopted at start
 * has no secret here and waits for its next announcement (on_announce()).
 */
int client_kernel_resync(struct keyc *c, uint64_t now)
{
	unsigned int i, added = 0, waiting = 0;
	int err, ret = 0;

	(void)now;
	for (i = 0; i < c->nkeys; i++) {
		struct rxkey *r = &c->keys[i];

		if (r->in_kernel)
			continue;
		if (!r->has_secret) {
			waiting++;
			continue;
		}
		err = rx_add(c, r);
		if (err && err != -EEXIST) {
			c->m.kernel_errors++;
			ret = ret ? ret : err;
			continue;
		}
		r->in_kernel = true;
		if (!err) {
			c->m.keys_reinstalled++;
			added++;
		}
	}
	if (added || waiting)
		guise_info("%u rx key(s) installed again, %u wait for their "
			   "next announcement",
			   added, waiting);
	if (!ret)
		c->m.kernel_resyncs++;
	return ret;
}

/* Keys from a previous run stay until the first DEMM says otherwise. */
static void adopt_kernel_keys(struct keyc *c, uint64_t now)
{
	struct guise_key *v;
	size_t n, i;

	if (!c->kernel || kernel_key_dump(c->kernel, &v, &n))
		return;
	for (i = 0; i < n && c->nkeys < MAX_KEYS; i++) {
		struct rxkey *r;

		if (v[i].dir != GUISE_KEY_DIR_RX)
			continue;
		r = &c->keys[c->nkeys++];
		memset(r, 0, sizeof(*r));
		r->group = v[i].group;
		r->port = v[i].port;
		r->key_id = v[i].id;
		r->not_before = v[i].not_before;
		r->not_after = v[i].not_after;
		r->alg = v[i].alg;
		r->in_kernel = true;
	}
	free(v);
	if (c->nkeys)
		c->demm_not_after = now + c->conf->demm_lifetime;
}

int client_start(struct event_base *base, struct keyd_conf *conf,
		 struct kernel *kernel, struct keyc **cp)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
				   .sin6_port = htons(conf->port) };
	struct keyc *c = calloc(1, sizeof(*c));
	int one = 1;
	unsigned int i;

	if (!c)
		return -1;
	c->conf = conf;
	c->kernel = kernel;
	c->fd = -1;
	if (load_km(c))
		goto fail;
	load_state(c);
	c->fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		guise_err("control port %u: %s", conf->port, strerror(errno));
		goto fail;
	}
	for (i = 0; i < conf->ngroups; i++)
		join(c, &conf->groups[i]);
	c->ev = event_new(base, c->fd, EV_READ | EV_PERSIST, on_readable, c);
	if (!c->ev || event_add(c->ev, NULL))
		goto fail;
	adopt_kernel_keys(c, (uint64_t)time(NULL));
	*cp = c;
	return 0;
fail:
	client_stop(c);
	return -1;
}

void client_stop(struct keyc *c)
{
	if (!c)
		return;
	if (c->ev)
		event_free(c->ev);
	if (c->fd >= 0)
		close(c->fd);
	explicit_bzero(c, sizeof(*c));
	free(c);
}

json_t *client_status(struct keyc *c)
{
	json_t *ch = json_array(), *keys = json_array();
	const struct client_counters *m = &c->m;
	char g[INET6_ADDRSTRLEN];
	unsigned int i;

	for (i = 0; i < c->nent; i++) {
		inet_ntop(AF_INET6, &c->ent[i].group, g, sizeof(g));
		json_array_append_new(
			ch, json_pack("{s:I, s:I, s:s, s:i, s:I}", "channel",
				      (json_int_t)c->ent[i].channel, "epoch",
				      (json_int_t)c->ent[i].epoch, "group", g,
				      "port", c->ent[i].port, "not_after",
				      (json_int_t)c->ent[i].not_after));
	}
	for (i = 0; i < c->nkeys; i++) {
		inet_ntop(AF_INET6, &c->keys[i].group, g, sizeof(g));
		json_array_append_new(
			keys,
			json_pack("{s:s, s:i, s:I, s:I, s:I, s:I}", "group", g,
				  "port", c->keys[i].port, "key_id",
				  (json_int_t)c->keys[i].key_id, "channel",
				  (json_int_t)c->keys[i].channel, "content",
				  (json_int_t)c->keys[i].content, "not_after",
				  (json_int_t)c->keys[i].not_after));
	}
	return json_pack(
		"{s:s, s:I, s:I, s:o, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I,"
		" s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
		" s:I, s:I, s:I, s:I}}",
		"role", "client", "last_serial", (json_int_t)c->last_serial,
		"demm_not_after", (json_int_t)c->demm_not_after, "channels", ch,
		"keys", keys, "counters", "demms", (json_int_t)m->demms,
		"demms_other", (json_int_t)m->demms_other, "demms_replayed",
		(json_int_t)m->demms_replayed, "demms_expired",
		(json_int_t)m->demms_expired, "demms_duplicate",
		(json_int_t)m->demms_duplicate, "announces",
		(json_int_t)m->announces, "announces_nokey",
		(json_int_t)m->announces_nokey, "announces_expired",
		(json_int_t)m->announces_expired, "announces_stale",
		(json_int_t)m->announces_stale, "announces_old_kc",
		(json_int_t)m->announces_old_kc, "forged",
		(json_int_t)m->forged, "malformed", (json_int_t)m->malformed,
		"cross_channel", (json_int_t)m->cross_channel, "keys_installed",
		(json_int_t)m->keys_installed, "keys_removed",
		(json_int_t)m->keys_removed, "keys_shortened",
		(json_int_t)m->keys_shortened, "lapses", (json_int_t)m->lapses,
		"flushes", (json_int_t)m->flushes, "kernel_errors",
		(json_int_t)m->kernel_errors, "kernel_resyncs",
		(json_int_t)m->kernel_resyncs, "keys_reinstalled",
		(json_int_t)m->keys_reinstalled);
}
