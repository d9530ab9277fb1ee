// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/rand.h>

#include "addr.h"
#include "audit.h"
#include "clock.h"
#include "kernel.h"
#include "kresync.h"
#include "leased.h"
#include "log.h"
#include "ratelimit.h"

#define RENT_RANDOM_TRIES 64
/* The sweeper ends at most this many leases per tick. */
#define SWEEP_BATCH 1024
/* An audit detail: the time and the abuse desk's reason. */
#define API_DETAIL_MAX 600

static const char *fmt_addr(const struct in6_addr *a, char *buf)
{
	return guise_addr_format(a, buf);
}

int leased_audit(struct leased *d, const struct leased_actor *who,
		 const char *action, const struct in6_addr *object,
		 const char *outcome, const char *detail)
{
	char v[INET6_ADDRSTRLEN];
	struct audit_record r = {
		.time = time(NULL),
		.actor = who->name,
		.roles = who->roles,
		.action = action,
		.object = object ? fmt_addr(object, v) : NULL,
		.outcome = outcome,
		.detail = detail,
	};

	/* Outside a batched write, the record must be durable before the
	 * answer it audits: commit the batch, then append on its own. */
	if (!d->batch.in_op)
		batch_flush(d);
	if (audit_append(store_db(d->store), &r)) {
		d->m.audit_errors++;
		return -EIO;
	}
	return 0;
}

/* Leased now, or ended within the quarantine period. */
static bool addr_taken(struct leased *d, const struct in6_addr *v, int64_t now,
		       int *err)
{
	struct lease_rec l;
	bool quarantined = false;

	*err = store_lease_by_virt(d->store, v, &l);
	if (*err != -ENOENT)
		return true;
	*err = 0;
	if (!d->conf->quarantine)
		return false;
	*err = store_virt_quarantined(
		d->store, v, now - (int64_t)d->conf->quarantine, &quarantined);
	return *err || quarantined;
}

/*
 * A free virtual address of pool @p: uniformly random draws; when they
 * keep hitting taken addresses in a small pool, the first free address
 * from a random starting point. 0, -ENOSPC or -EIO.
 */
static int pick_in_pool(struct leased *d, const struct pool *p, int64_t now,
			struct in6_addr *v)
{
	uint32_t size, start, i;
	unsigned int tries;
	int err;

	for (tries = 0; tries < RENT_RANDOM_TRIES; tries++) {
		if (pool_draw(p, v))
			return -EIO;
		if (!addr_taken(d, v, now, &err))
			return 0;
		if (err)
			return err;
	}
	if (p->host_bits > POOL_SCAN_BITS)
		return -ENOSPC;
	size = (1U << p->host_bits) - 1;
	if (RAND_bytes((unsigned char *)&start, sizeof(start)) != 1)
		return -EIO;
	for (i = 0; i < size; i++) {
		pool_nth(p, 1 + (start + i) % size, v);
		if (!addr_taken(d, v, now, &err))
			return 0;
		if (err)
			return err;
	}
	return -ENOSPC;
}

/* Pools are tried from a random one on: spread, and the next one when a
 * pool is full. */
static int pick_virtual(struct leased *d, int64_t now, struct in6_addr *v)
{
	unsigned int first = 0, i;
	int err = -ENOSPC;

	if (d->pools.n > 1 &&
	    RAND_bytes((unsigned char *)&first, sizeof(first)) != 1)
		return -EIO;
	for (i = 0; i < d->pools.n; i++) {
		err = pick_in_pool(d, &d->pools.v[(first + i) % d->pools.n],
				   now, v);
		if (err != -ENOSPC)
			return err;
	}
	return err;
}

/* Inside the batch: the checks, the insert and the certificate. A lease
 * of the pair that expired and was not swept yet (the sweeper runs every
 * second, 1024 at a time) counts as gone: ended at its expiry, as the
 * sweep would, once every check passed (a refusal writes nothing); the
 * kernel's copy goes after the commit (rent_committed()). */
static int rent_locked(struct leased *d, struct lease_op *op, int64_t now)
{
	struct lease_rec *out = &op->l, old;
	bool expired;
	uint64_t held;
	int err;

	err = store_lease_by_pair(d->store, &op->real, &op->addr, &old);
	expired = !err && old.expires <= now;
	if (!expired && err != -ENOENT) {
		if (!err)
			*out = old; /* the 409 names it */
		return err ? err : -EEXIST;
	}
	err = store_lease_count(d->store, &op->real, &held);
	if (err)
		return err;
	if (held - expired >= d->conf->max_per_client)
		return -EDQUOT;
	err = pick_virtual(d, now, &out->virt);
	if (err)
		return err;
	if (expired) {
		err = store_lease_end(d->store, &old, old.expires, "expired");
		if (err)
			return err;
		op->ended = old.virt;
		op->ended_expired = true;
	}
	out->real = op->real;
	out->peer = op->addr;
	out->created = now;
	out->expires = now + op->lifetime;
	out->flags = op->flags;
	err = store_lease_insert(d->store, out, op->issuer, op->serial);
	/* Without it the lease stands, but it is not re-validated (logged,
	 * counted). */
	if (!err && op->issuer && op->chain &&
	    store_cert_chain_set(d->store, op->issuer, op->serial, op->chain,
				 op->chain_len))
		d->m.store_errors++;
	return err;
}

/* @real's live lease @virt, or -ENOENT. */
static int owned_lease(struct leased *d, const struct in6_addr *real,
		       const struct in6_addr *virt, struct lease_rec *l)
{
	int err = store_lease_by_virt(d->store, virt, l);

	if (err)
		return err;
	if ((real && memcmp(&l->real, real, sizeof(*real))) ||
	    l->expires <= time(NULL))
		return -ENOENT;
	return 0;
}

/* Inside the batch: the holder's own lease, else (an administrator)
 * anyone's, audited. */
static int return_locked(struct leased *d, struct lease_op *op)
{
	int err = -ENOENT;

	if (op->own) {
		err = owned_lease(d, &op->real, &op->addr, &op->l);
		if (!err)
			return store_lease_end(d->store, &op->l, time(NULL),
					       "returned");
	}
	if (err != -ENOENT || !op->admin)
		return err;
	err = owned_lease(d, NULL, &op->addr, &op->l);
	if (!err)
		err = store_lease_end(d->store, &op->l, time(NULL),
				      "ended-by-admin");
	if (!err) {
		op->by_admin = true;
		err = leased_audit(d, op->who, "end-lease", &op->addr, "ok",
				   NULL);
		if (!err)
			return 0;
		/* Not done without its record: the end is written already,
		 * so the undo rolls the whole batch back. */
		batch_op_undo(d);
		op->undone = true;
		return err;
	}
	/* The refusal is audited too: undo the write, keep the record. */
	batch_op_undo(d);
	op->undone = true;
	/* Nor refused without (a failed record leaves nothing behind). */
	if (leased_audit(d, op->who, "end-lease", &op->addr,
			 err == -ENOENT ? "not-found" : "error", NULL))
		return -EIO;
	return err;
}

static int renew_locked(struct leased *d, struct lease_op *op)
{
	int err = owned_lease(d, &op->real, &op->addr, &op->l);

	if (err)
		return err;
	op->old_expires = op->l.expires;
	op->l.expires = time(NULL) + op->lifetime;
	return store_lease_set_expires(d->store, &op->addr, op->l.expires);
}

static void op_done(struct leased *d, struct batch_op *b, bool durable);

/* A renew of @op's lease later in the same batch (still to be answered),
 * or NULL. */
static struct lease_op *later_renew(struct lease_op *op)
{
	struct batch_op *b;
	struct lease_op *o;

	for (b = op->b.next; b; b = b->next) {
		o = (struct lease_op *)b;
		if (b->done == op_done && o->kind == LEASE_OP_RENEW &&
		    !o->err && !memcmp(&o->addr, &op->addr, sizeof(o->addr)))
			return o;
	}
	return NULL;
}

/* After the COMMIT: the kernel takes the new expiry, or the renew is
 * taken back (the store keeps the old one, as the kernel does, and a
 * reconcile puts back a lease the kernel lost). A later renew of the
 * lease in the same batch wrote over this one's expiry: the store keeps
 * that one's, and that renew restores the expiry from before both if
 * the kernel refuses it too. */
static void renew_committed(struct leased *d, struct lease_op *op)
{
	struct lease_op *later;

	if (op->err)
		return;
	if (d->kernel && kernel_install(d->kernel, &op->l, op->lifetime)) {
		d->m.kernel_errors++;
		later = later_renew(op);
		if (later) {
			later->old_expires = op->old_expires;
		} else {
			batch_flush(d);
			if (store_lease_set_expires(d->store, &op->addr,
						    op->old_expires))
				d->m.store_errors++;
		}
		op->l.expires = op->old_expires;
		op->err = -EREMOTEIO;
		if (d->kresync)
			kresync_request(d->kresync);
		return;
	}
	d->m.renews++;
}

/*
 * The store ended a lease and the kernel did not take it out: it would
 * keep rewriting until its own expiry. A reconcile removes what the store
 * does not hold; it is retried until it works (kresync.h).
 */
static void kernel_remove_failed(struct leased *d)
{
	d->m.kernel_errors++;
	if (d->kresync)
		kresync_request(d->kresync);
}

/* After the COMMIT: the kernel follows the store. */
static void rent_committed(struct leased *d, struct lease_op *op)
{
	int err;

	if (op->err) {
		if (op->err == -ENOSPC)
			d->m.rents_exhausted++;
		d->m.rents_refused++;
		return;
	}
	if (op->ended_expired) {
		d->m.expired++;
		if (d->kernel && kernel_remove(d->kernel, &op->ended))
			kernel_remove_failed(d);
	}
	err = d->kernel ? kernel_install(d->kernel, &op->l, op->lifetime) : 0;
	if (err) {
		/* Not usable: take it back (history keeps the attempt). */
		d->m.kernel_errors++;
		batch_flush(d);
		if (store_lease_end(d->store, &op->l, time(NULL),
				    "kernel-refused"))
			d->m.store_errors++;
		d->m.rents_refused++;
		op->err = -EREMOTEIO;
		/* The kernel may hold what the store does not (a lease left
		 * there meanwhile: EEXIST until its expiry): reconcile. Not
		 * for a full table (ENOSPC): a reconcile would not make room,
		 * and gateway misses would run one a second. */
		if (d->kresync && err != -ENOSPC)
			kresync_request(d->kresync);
		return;
	}
	d->m.rents++;
}

static void op_committed(struct leased *d, struct lease_op *op)
{
	switch (op->kind) {
	case LEASE_OP_RENT:
		rent_committed(d, op);
		break;
	case LEASE_OP_RETURN:
		if (op->err)
			break;
		d->m.returns++;
		if (op->by_admin)
			d->m.admin_actions++;
		if (d->kernel && kernel_remove(d->kernel, &op->addr))
			kernel_remove_failed(d);
		break;
	case LEASE_OP_RENEW:
		renew_committed(d, op);
		break;
	}
}

/*
 * Whose rent-rate bucket @op takes from: its R, or for a gateway rent the
 * /64 of R. There R is any source address the host behind the gateway
 * chooses (privacy addresses are legitimate), and each would get a
 * bucket of its own.
 */
static struct in6_addr rate_key(const struct lease_op *op)
{
	struct in6_addr k = op->real;

	if (op->flags == LEASED_GATEWAY_FLAGS)
		memset(k.s6_addr + 8, 0, 8);
	return k;
}

/* The group commit's verdict on @b. A rolled back op changed nothing in
 * memory but its rate-limit token: give it back. */
static void op_done(struct leased *d, struct batch_op *b, bool durable)
{
	struct lease_op *op = (struct lease_op *)b;
	struct in6_addr key = rate_key(op);

	if (!durable) {
		if (op->token)
			ratelimit_give(d->rl, &key, d->conf->rent_rate,
				       d->conf->rent_burst);
		op->err = -EIO;
	}
	if (op->err == -EIO) {
		d->m.store_errors++;
		if (op->kind == LEASE_OP_RENT)
			d->m.rents_refused++;
	} else {
		op_committed(d, op);
	}
	op->done(d, op);
}

void leases_submit(struct leased *d, struct lease_op *op)
{
	struct in6_addr key = rate_key(op);
	int err;

	op->b.done = op_done;
	op->token = op->by_admin = op->undone = op->ended_expired = false;
	if (op->kind == LEASE_OP_RENT && d->rl) {
		if (!ratelimit_take(d->rl, &key, d->conf->rent_rate,
				    d->conf->rent_burst, guise_mono_ms())) {
			d->m.rents_rate_limited++;
			d->m.rents_refused++;
			op->err = -EAGAIN;
			op->done(d, op);
			return;
		}
		op->token = true;
	}
	if (batch_op_begin(d)) {
		op_done(d, &op->b, false);
		return;
	}
	switch (op->kind) {
	case LEASE_OP_RENT:
		err = rent_locked(d, op, time(NULL));
		break;
	case LEASE_OP_RETURN:
		err = return_locked(d, op);
		break;
	default:
		err = renew_locked(d, op);
		break;
	}
	op->err = err;
	/* Even a refusal waits for the commit: it may name a lease (409)
	 * that only this batch holds. */
	batch_op_end(d, &op->b, err && !op->undone);
}

int leases_reveal(struct leased *d, const struct in6_addr *caller,
		  const struct in6_addr *virt, const struct leased_actor *who,
		  struct in6_addr *real)
{
	struct lease_rec l;
	int err;

	/* Only what is durable is answered: a pending rent may yet be
	 * rolled back. */
	batch_flush(d);
	err = store_lease_by_virt(d->store, virt, &l);
	if (!err && (memcmp(&l.peer, caller, sizeof(*caller)) ||
		     l.expires <= time(NULL)))
		err = -ENOENT;
	/* Nothing is answered without its record, and a failed record
	 * fails both outcomes alike: no oracle either. */
	if (leased_audit(d, who, "reveal", virt, err ? "refused" : "allowed",
			 NULL))
		return -ECANCELED;
	if (err) {
		d->m.reveals_refused++;
		return -ENOENT;
	}
	d->m.reveals_allowed++;
	*real = l.real;
	return 0;
}

int leases_history(struct leased *d, const struct in6_addr *virt, int64_t when,
		   const char *reason, const struct leased_actor *who,
		   struct lease_rec *out, int64_t *end, bool *live)
{
	char detail[API_DETAIL_MAX];
	int err;

	batch_flush(d); /* only what is durable is answered */
	err = store_lease_at(d->store, virt, when, out, end, live);
	snprintf(detail, sizeof(detail), "time=%lld reason=%s", (long long)when,
		 reason);
	d->m.history_lookups++;
	if (err == -EIO)
		d->m.store_errors++;
	/* Found or not, nothing is answered without its record. */
	if (leased_audit(d, who, "history", virt,
			 !err		? "found" :
			 err == -ENOENT ? "not-found" :
					  "error",
			 detail))
		return -ECANCELED;
	return err;
}

void leases_purge(struct leased *d, int64_t now)
{
	uint64_t n = 0;

	batch_flush(d); /* a write of its own */
	if (store_history_purge(d->store, now - (int64_t)d->conf->retention,
				&n)) {
		d->m.store_errors++;
		return;
	}
	d->m.history_purged += n;
	if (n && store_cert_chains_purge(d->store))
		d->m.store_errors++;
	if (n)
		guise_info("history: %llu records past retention purged",
			   (unsigned long long)n);
}

/*
 * End @n leases for @reason: one transaction (each lease moves to the
 * history whole, and the batch costs one sync; the API's pending writes
 * commit first), then the kernel. 0, or -1 with nothing ended.
 */
static int leases_end(struct leased *d, const struct lease_rec *v, size_t n,
		      int64_t now, const char *reason)
{
	size_t i;
	int err;

	if (!n)
		return -1;
	batch_flush(d);
	err = store_begin(d->store);
	/* No lease is held past its expiry: after downtime, the sweep at the
	 * restart must not stretch the history up to itself. */
	for (i = 0; !err && i < n; i++) {
		err = store_lease_end(d->store, &v[i],
				      v[i].expires < now ? v[i].expires : now,
				      reason);
		/* Ended meanwhile (the flush above ended a rent the kernel
		 * refused): nothing left to do for it, the others go on. */
		if (err == -ENOENT)
			err = 0;
	}
	if (!err)
		err = store_commit(d->store);
	if (err) {
		store_rollback(d->store);
		d->m.store_errors++;
		return -1;
	}
	for (i = 0; d->kernel && i < n; i++)
		if (kernel_remove(d->kernel, &v[i].virt))
			kernel_remove_failed(d);
	return 0;
}

size_t leases_sweep(struct leased *d, int64_t now)
{
	struct lease_rec *v;
	size_t n;
	int err;

	err = store_lease_list(d->store, now, SWEEP_BATCH, &v, &n);
	if (err) {
		d->m.store_errors++;
		return 0;
	}
	if (leases_end(d, v, n, now, "expired"))
		n = 0;
	else
		d->m.expired += n;
	free(v);
	return n;
}

int leases_reconcile(struct leased *d, int64_t now)
{
	struct guise_lease *kl = NULL;
	struct lease_rec *sl = NULL, l;
	size_t kn = 0, sn = 0, i;
	unsigned int removed = 0, installed = 0, refused = 0;
	int64_t left;
	int err, first = 0;

	if (!d->kernel)
		return 0;
	/* The store read below goes through the connection of the open
	 * batch: commit it first, or the kernel would get rents that may
	 * yet roll back and lose leases whose return may. */
	batch_flush(d);
	/* 1. Expired leases leave the store (and below, the kernel): all of
	 * them, however many accumulated while the daemon was down. */
	while (leases_sweep(d, now) == SWEEP_BATCH)
		;

	/* 2. Kernel leases in our pool that the store does not hold as is. */
	err = kernel_dump(d->kernel, &kl, &kn);
	if (err)
		return err;
	for (i = 0; i < kn; i++) {
		if (!pools_contains(&d->pools, &kl[i].virt))
			continue;
		err = store_lease_by_virt(d->store, &kl[i].virt, &l);
		if (err && err != -ENOENT)
			goto out;
		if (!err && !memcmp(&l.real, &kl[i].real, sizeof(l.real)) &&
		    !memcmp(&l.peer, &kl[i].peer, sizeof(l.peer)))
			continue;
		err = kernel_remove(d->kernel, &kl[i].virt);
		if (err)
			goto out;
		removed++;
	}

	/* 3. Every live store lease, with the time it has left. One the
	 * kernel refuses for itself (EINVAL: its V outside the kernel's
	 * prefixes, not configured again yet after a reload or changed;
	 * EEXIST: its pair held by a lease added by hand) does not keep the
	 * rest out (it stopped the reconcile there): the others go in, and
	 * the reconcile fails, to be tried again (kresync, with backoff),
	 * ending nothing: a kernel configured late is the usual cause.
	 * Anything else (no module, no memory, a full table) stops it. */
	err = store_lease_list(d->store, INT64_MAX, SIZE_MAX, &sl, &sn);
	if (err)
		goto out;
	for (i = 0; i < sn; i++) {
		left = sl[i].expires - now;
		if (left <= 0)
			continue;
		if (left > GUISE_MAX_LEASE_LIFETIME)
			left = GUISE_MAX_LEASE_LIFETIME;
		err = kernel_install(d->kernel, &sl[i], (uint32_t)left);
		if (err == -EINVAL || err == -ERANGE || err == -EEXIST) {
			if (!refused++)
				first = err;
			continue;
		}
		if (err)
			goto out;
		installed++;
	}
	err = 0;
	if (refused) {
		guise_warn("reconcile: the kernel refuses %u lease(s) (%s): "
			   "trying again",
			   refused, strerror(-first));
		err = first;
	}
	guise_info("reconciled: %u kernel leases removed, %u installed",
		   removed, installed);
out:
	free(kl);
	free(sl);
	return err;
}

size_t leases_revoke_cert(struct leased *d, const char *issuer,
			  const char *serial, const char *reason,
			  const char *status, int64_t now)
{
	static const struct leased_actor certd = { "certd", NULL };
	char detail[API_DETAIL_MAX];
	struct lease_rec *v;
	size_t n, i;
	int err;

	/* Pending rents first, so the list below is what the store holds. */
	batch_flush(d);
	err = store_leases_by_cert(d->store, issuer, serial, &v, &n);
	if (err) {
		d->m.store_errors++;
		return 0;
	}
	if (leases_end(d, v, n, now, reason)) {
		free(v);
		return 0;
	}
	d->m.revoked += n;
	if (status)
		snprintf(detail, sizeof(detail),
			 "serial=%s issuer=%s reason=%s status=%s", serial,
			 issuer, reason, status);
	else
		snprintf(detail, sizeof(detail), "serial=%s issuer=%s", serial,
			 issuer);
	for (i = 0; i < n; i++)
		leased_audit(d, &certd, "revoke", &v[i].virt, "ended", detail);
	guise_info("certificate %s revoked (%s): %zu leases ended", serial,
		   reason, n);
	free(v);
	return n;
}
