/* SPDX-License-Identifier: GPL-2.0 */
/* guise-leased: the daemon's state and its lease operations, shared by the
 * HTTP API, the gateway (LEASE_MISS) and the sweeper. */
#ifndef LEASED_H
#define LEASED_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/guise.h>

#include "conf.h"
#include "pool.h"
#include "store.h"

struct kernel;
struct ratelimit;

/* What the daemon installs in its own kernel: a gateway rent rewrites
 * both ways; a host-mode rent (the API) only the replies, the host's own
 * module rewrites its egress. */
#define LEASED_GATEWAY_FLAGS (GUISE_LEASE_F_EGRESS | GUISE_LEASE_F_INGRESS)
#define LEASED_HOST_FLAGS GUISE_LEASE_F_INGRESS

struct leased_metrics {
	uint64_t rents, rents_refused, returns, renews, expired;
	uint64_t rents_exhausted, rents_rate_limited;
	uint64_t reveals_allowed, reveals_refused;
	uint64_t history_lookups, history_purged;
	uint64_t denied, admin_actions;
	uint64_t gateway_misses, gateway_dropped;
	uint64_t kernel_errors, store_errors, audit_errors;
	uint64_t revoked, revocation_events; /* [certd] */
};

struct leased {
	const struct leased_conf *conf;
	struct pools pools;
	struct store *store;
	struct kernel *kernel; /* NULL when [kernel] sync = off */
	struct ratelimit *rl;
	struct leased_metrics m;
};

/* Who acts, for the audit log. */
struct leased_actor {
	const char *name; /* an address, CN=.., uid:N, "kernel" */
	const char *roles; /* "admin,operator", or NULL */
};

/* Append one record to the hash-chained audit log (errors counted). */
void leased_audit(struct leased *d, const struct leased_actor *who,
		  const char *action, const struct in6_addr *object,
		  const char *outcome, const char *detail);

/*
 * Rent a virtual address for (@real, @peer) for @lifetime seconds (already
 * checked against the pool's bounds), installed in the kernel with @flags
 * (LEASED_*_FLAGS). Returns 0 with *@out the new lease, once it is
 * committed to the store and installed in the kernel, or:
 *   -EEXIST  (real, peer) already holds a lease (*@out is that lease)
 *   -EAGAIN  @real rents faster than [pool] rent_rate allows
 *   -ENOSPC  no pool has a free address (outside quarantine)
 *   -EDQUOT  @real holds max_per_client leases
 *   -EIO     the store failed
 *   -EREMOTEIO the kernel refused the lease (nothing is kept)
 */
int leases_rent(struct leased *d, const struct in6_addr *real,
		const struct in6_addr *peer, uint32_t lifetime, uint32_t flags,
		struct lease_rec *out);

/* Return (end) the live lease @virt held by @real, or by anyone when
 * @real is NULL (an administrator; audited). 0, -ENOENT (no such lease,
 * or not @real's), -EIO. */
int leases_return(struct leased *d, const struct in6_addr *real,
		  const struct in6_addr *virt, const struct leased_actor *who);

/* Restart the lifetime of @real's live lease @virt. 0 (*@out updated),
 * -ENOENT, -EIO, -EREMOTEIO. */
int leases_renew(struct leased *d, const struct in6_addr *real,
		 const struct in6_addr *virt, uint32_t lifetime,
		 struct lease_rec *out);

/* The real address behind @virt, for @caller only if it is the lease's
 * peer and the lease is live; -ENOENT in every other case. Audited. */
int leases_reveal(struct leased *d, const struct in6_addr *caller,
		  const struct in6_addr *virt, const struct leased_actor *who,
		  struct in6_addr *real);

/* Abuse desk: the lease that held @virt at @when (live or in the history
 * kept for [history] retention), for @reason. Audited with the reason.
 * 0, -ENOENT, -EIO. */
int leases_history(struct leased *d, const struct in6_addr *virt, int64_t when,
		   const char *reason, const struct leased_actor *who,
		   struct lease_rec *out, int64_t *end, bool *live);

/* End the leases expired at @now (history, kernel). */
void leases_sweep(struct leased *d, int64_t now);

/* A certificate (@issuer base64 DER, canonical @serial) was revoked: end
 * every lease rented with it (store, kernel), audited; reason "revoked". */
void leases_revoke_cert(struct leased *d, const char *issuer,
			const char *serial, int64_t now);

/* Delete the history older than [history] retention. */
void leases_purge(struct leased *d, int64_t now);

/* Make the kernel match the store (sync on): drop expired leases, delete
 * the kernel's leases in the pool the store does not hold, install every
 * live one. 0 or a negative errno. */
int leases_reconcile(struct leased *d, int64_t now);

#endif
