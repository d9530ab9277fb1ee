/* SPDX-License-Identifier: GPL-2.0 */
/* guise-leased: the daemon's state and its lease operations, shared by the
 * HTTP API, the gateway (LEASE_MISS) and the sweeper. */
#ifndef LEASED_H
#define LEASED_H

#include <netinet/in.h>
#include <stdint.h>

#include "conf.h"
#include "pool.h"
#include "store.h"

struct kernel;

struct leased_metrics {
	uint64_t rents, rents_refused, returns, renews, expired;
	uint64_t reveals_allowed, reveals_refused;
	uint64_t gateway_misses, gateway_dropped;
	uint64_t kernel_errors, store_errors;
};

struct leased {
	const struct leased_conf *conf;
	struct pool pool;
	struct store *store;
	struct kernel *kernel; /* NULL when [kernel] sync = off */
	struct leased_metrics m;
};

/*
 * Rent a virtual address for (@real, @peer) for @lifetime seconds (already
 * checked against the pool's bounds); @who names the caller in the audit
 * trail. Returns 0 with *@out the new lease, once it is committed to the
 * store and installed in the kernel, or:
 *   -EEXIST  (real, peer) already holds a lease (*@out is that lease)
 *   -ENOSPC  the pool has no free address
 *   -EDQUOT  @real holds max_per_client leases
 *   -EIO     the store failed
 *   -EREMOTEIO the kernel refused the lease (nothing is kept)
 */
int leases_rent(struct leased *d, const struct in6_addr *real,
		const struct in6_addr *peer, uint32_t lifetime, const char *who,
		struct lease_rec *out);

/* Return (end) the live lease @virt held by @real. 0, -ENOENT (no such
 * lease, or not @real's), -EIO. */
int leases_return(struct leased *d, const struct in6_addr *real,
		  const struct in6_addr *virt);

/* Restart the lifetime of @real's live lease @virt. 0 (*@out updated),
 * -ENOENT, -EIO, -EREMOTEIO. */
int leases_renew(struct leased *d, const struct in6_addr *real,
		 const struct in6_addr *virt, uint32_t lifetime,
		 struct lease_rec *out);

/* The real address behind @virt, for @caller only if it is the lease's
 * peer and the lease is live; -ENOENT in every other case. Audited. */
int leases_reveal(struct leased *d, const struct in6_addr *caller,
		  const struct in6_addr *virt, struct in6_addr *real);

/* End the leases expired at @now (history, kernel). */
void leases_sweep(struct leased *d, int64_t now);

/* Make the kernel match the store (sync on): drop expired leases, delete
 * the kernel's leases in the pool the store does not hold, install every
 * live one. 0 or a negative errno. */
int leases_reconcile(struct leased *d, int64_t now);

#endif
