// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <openssl/rand.h>

#include "kernel.h"
#include "leased.h"
#include "log.h"

#define RENT_RANDOM_TRIES 64
/* The sweeper ends at most this many leases per tick. */
#define SWEEP_BATCH 1024

static const char *fmt_addr(const struct in6_addr *a, char *buf)
{
	return inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN);
}

static void audit(struct leased *d, const char *who, const char *action,
		  const struct in6_addr *virt, const char *outcome)
{
	char v[INET6_ADDRSTRLEN];

	if (store_audit(d->store, time(NULL), who, action,
			virt ? fmt_addr(virt, v) : NULL, outcome))
		d->m.store_errors++;
}

static bool addr_taken(struct leased *d, const struct in6_addr *v, int *err)
{
	struct lease_rec l;

	*err = store_lease_by_virt(d->store, v, &l);
	if (*err == -ENOENT) {
		*err = 0;
		return false;
	}
	return true;
}

/*
 * A free virtual address: uniformly random draws; when they keep hitting
 * leased addresses in a small pool, the first free address from a random
 * starting point. 0, -ENOSPC or -EIO.
 */
static int pick_virtual(struct leased *d, struct in6_addr *v)
{
	uint32_t size, start, i;
	unsigned int tries;
	int err;

	for (tries = 0; tries < RENT_RANDOM_TRIES; tries++) {
		if (pool_draw(&d->pool, v))
			return -EIO;
		if (!addr_taken(d, v, &err))
			return 0;
		if (err)
			return err;
	}
	if (d->pool.host_bits > POOL_SCAN_BITS)
		return -ENOSPC;
	size = (1U << d->pool.host_bits) - 1;
	if (RAND_bytes((unsigned char *)&start, sizeof(start)) != 1)
		return -EIO;
	for (i = 0; i < size; i++) {
		pool_nth(&d->pool, 1 + (start + i) % size, v);
		if (!addr_taken(d, v, &err))
			return 0;
		if (err)
			return err;
	}
	return -ENOSPC;
}

/* Inside the rent transaction: the checks and the insert. */
static int rent_locked(struct leased *d, const struct in6_addr *real,
		       const struct in6_addr *peer, uint32_t lifetime,
		       int64_t now, struct lease_rec *out)
{
	uint64_t held;
	int err;

	err = store_lease_by_pair(d->store, real, peer, out);
	if (err != -ENOENT)
		return err ? err : -EEXIST;
	err = store_lease_count(d->store, real, &held);
	if (err)
		return err;
	if (held >= d->conf->max_per_client)
		return -EDQUOT;
	err = pick_virtual(d, &out->virt);
	if (err)
		return err;
	out->real = *real;
	out->peer = *peer;
	out->created = now;
	out->expires = now + lifetime;
	return store_lease_insert(d->store, out);
}

static const char *rent_outcome(int err)
{
	switch (err) {
	case 0:
		return "ok";
	case -EEXIST:
		return "exists";
	case -ENOSPC:
		return "pool-exhausted";
	case -EDQUOT:
		return "client-limit";
	case -EREMOTEIO:
		return "kernel-refused";
	default:
		return "error";
	}
}

int leases_rent(struct leased *d, const struct in6_addr *real,
		const struct in6_addr *peer, uint32_t lifetime, const char *who,
		struct lease_rec *out)
{
	int64_t now = time(NULL);
	int err;

	err = store_begin(d->store);
	if (!err) {
		err = rent_locked(d, real, peer, lifetime, now, out);
		if (!err) {
			audit(d, who, "rent", &out->virt, "ok");
			err = store_commit(d->store);
		}
		if (err)
			store_rollback(d->store);
	}
	if (!err && d->kernel && kernel_install(d->kernel, out, lifetime)) {
		/* Not usable: take it back (history keeps the attempt). */
		d->m.kernel_errors++;
		if (store_lease_end(d->store, out, now, "kernel-refused"))
			d->m.store_errors++;
		err = -EREMOTEIO;
	}
	if (err) {
		if (err == -EIO)
			d->m.store_errors++;
		d->m.rents_refused++;
		audit(d, who, "rent", NULL, rent_outcome(err));
		return err;
	}
	d->m.rents++;
	return 0;
}

/* @real's live lease @virt, or -ENOENT. */
static int owned_lease(struct leased *d, const struct in6_addr *real,
		       const struct in6_addr *virt, struct lease_rec *l)
{
	int err = store_lease_by_virt(d->store, virt, l);

	if (err)
		return err;
	if (memcmp(&l->real, real, sizeof(*real)) || l->expires <= time(NULL))
		return -ENOENT;
	return 0;
}

int leases_return(struct leased *d, const struct in6_addr *real,
		  const struct in6_addr *virt)
{
	char who[INET6_ADDRSTRLEN];
	struct lease_rec l;
	int err;

	fmt_addr(real, who);
	err = store_begin(d->store);
	if (err)
		return err;
	err = owned_lease(d, real, virt, &l);
	if (!err)
		err = store_lease_end(d->store, &l, time(NULL), "returned");
	if (!err) {
		audit(d, who, "return", virt, "ok");
		err = store_commit(d->store);
	}
	if (err) {
		store_rollback(d->store);
		audit(d, who, "return", virt, "refused");
		return err;
	}
	d->m.returns++;
	if (d->kernel && kernel_remove(d->kernel, virt))
		d->m.kernel_errors++;
	return 0;
}

int leases_renew(struct leased *d, const struct in6_addr *real,
		 const struct in6_addr *virt, uint32_t lifetime,
		 struct lease_rec *out)
{
	char who[INET6_ADDRSTRLEN];
	int err;

	fmt_addr(real, who);
	err = store_begin(d->store);
	if (err)
		return err;
	err = owned_lease(d, real, virt, out);
	if (!err) {
		out->expires = time(NULL) + lifetime;
		err = store_lease_set_expires(d->store, virt, out->expires);
	}
	if (!err) {
		audit(d, who, "renew", virt, "ok");
		err = store_commit(d->store);
	}
	if (err) {
		store_rollback(d->store);
		audit(d, who, "renew", virt, "refused");
		return err;
	}
	if (d->kernel && kernel_install(d->kernel, out, lifetime)) {
		d->m.kernel_errors++;
		return -EREMOTEIO;
	}
	d->m.renews++;
	return 0;
}

int leases_reveal(struct leased *d, const struct in6_addr *caller,
		  const struct in6_addr *virt, struct in6_addr *real)
{
	char who[INET6_ADDRSTRLEN];
	struct lease_rec l;
	int err;

	err = store_lease_by_virt(d->store, virt, &l);
	if (!err && (memcmp(&l.peer, caller, sizeof(*caller)) ||
		     l.expires <= time(NULL)))
		err = -ENOENT;
	audit(d, fmt_addr(caller, who), "reveal", virt,
	      err ? "refused" : "allowed");
	if (err) {
		d->m.reveals_refused++;
		return -ENOENT;
	}
	d->m.reveals_allowed++;
	*real = l.real;
	return 0;
}

void leases_sweep(struct leased *d, int64_t now)
{
	struct lease_rec *v;
	size_t n, i;
	int err;

	err = store_lease_list(d->store, now, SWEEP_BATCH, &v, &n);
	if (err) {
		d->m.store_errors++;
		return;
	}
	for (i = 0; i < n; i++) {
		if (store_lease_end(d->store, &v[i], now, "expired")) {
			d->m.store_errors++;
			continue;
		}
		d->m.expired++;
		if (d->kernel && kernel_remove(d->kernel, &v[i].virt))
			d->m.kernel_errors++;
	}
	free(v);
}

int leases_reconcile(struct leased *d, int64_t now)
{
	struct guise_lease *kl = NULL;
	struct lease_rec *sl = NULL, l;
	size_t kn = 0, sn = 0, i;
	unsigned int removed = 0, installed = 0;
	int64_t left;
	int err;

	if (!d->kernel)
		return 0;
	/* 1. Expired leases leave the store (and below, the kernel). */
	leases_sweep(d, now);

	/* 2. Kernel leases in our pool that the store does not hold as is. */
	err = kernel_dump(d->kernel, &kl, &kn);
	if (err)
		return err;
	for (i = 0; i < kn; i++) {
		if (!pool_contains(&d->pool, &kl[i].virt))
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

	/* 3. Every live store lease, with the time it has left. */
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
		if (err)
			goto out;
		installed++;
	}
	guise_info("reconciled: %u kernel leases removed, %u installed",
		   removed, installed);
out:
	free(kl);
	free(sl);
	return err;
}
