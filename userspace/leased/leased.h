/* SPDX-License-Identifier: GPL-2.0 */
/* guise-leased: the daemon's state and its lease operations, shared by the
 * HTTP API, the gateway (LEASE_MISS) and the sweeper. */
#ifndef LEASED_H
#define LEASED_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/guise.h>

#include "batch.h"
#include "conf.h"
#include "pool.h"
#include "store.h"

struct certcheck;
struct kernel;
struct kresync;
struct revalidate;
struct ratelimit;

/* What the daemon installs in its own kernel: a gateway rent rewrites
 * both ways; a host-mode rent (the API) only the replies, the host's own
 * module rewrites its egress. */
#define LEASED_GATEWAY_FLAGS (GUISE_LEASE_F_EGRESS | GUISE_LEASE_F_INGRESS)
#define LEASED_HOST_FLAGS GUISE_LEASE_F_INGRESS

struct leased_metrics {
	uint64_t rents, rents_refused, returns, renews, expired;
	uint64_t rents_exhausted, rents_rate_limited;
	uint64_t audit_rate_limited; /* audited calls refused with 429 */
	uint64_t reveals_allowed, reveals_refused;
	uint64_t history_lookups, history_purged;
	uint64_t denied, admin_actions;
	uint64_t gateway_misses, gateway_dropped;
	uint64_t kernel_errors, store_errors, audit_errors;
	uint64_t kernel_resyncs; /* reconciled after a module reload */
	uint64_t revoked, revocation_events; /* [certd] */
	uint64_t revalidation_ended; /* leases ended by re-validation */
	uint64_t group_commits, group_commit_writes, group_commit_failures;
};

struct leased {
	const struct leased_conf *conf;
	struct pools pools;
	struct store *store;
	struct kernel *kernel; /* NULL when [kernel] sync = off */
	struct kresync *kresync; /* with kernel, once serving */
	struct ratelimit *rl;
	struct ratelimit *audit_rl; /* per caller, [audit] rate */
	struct certcheck *cc; /* [certd] check (certcheck.h); NULL: off */
	struct revalidate *rv; /* [certd] url (revalidate.h); NULL: off */
	struct batch batch; /* the open group commit */
	struct leased_metrics m;
};

/* Who acts, for the audit log. */
struct leased_actor {
	const char *name; /* an address, CN=.., uid:N, "kernel" */
	const char *roles; /* "admin,operator", or NULL */
};

/*
 * Append one record to the hash-chained audit log. 0, or -EIO (counted):
 * the record is not there, and what it audits must not be answered.
 */
int leased_audit(struct leased *d, const struct leased_actor *who,
		 const char *action, const struct in6_addr *object,
		 const char *outcome, const char *detail);

enum lease_op_kind { LEASE_OP_RENT, LEASE_OP_RETURN, LEASE_OP_RENEW };

/*
 * A rent, return or renew, submitted with leases_submit(). It joins the
 * open group commit; @done runs exactly once, when the outcome is final:
 * after the COMMIT that made it durable (or its failure), or at once when
 * it never reached the store. @done owns the op (it may free it).
 */
struct lease_op {
	struct batch_op b; /* first: leases.c converts back */
	enum lease_op_kind kind;
	/* In. rent: @real rents for peer @addr, for @lifetime seconds
	 * (already checked against the pool's bounds), installed in the
	 * kernel with @flags (LEASED_*_FLAGS); the client certificate
	 * (@issuer, malloc'ed base64 DER, freed with the op by the caller;
	 * NULL: none) is remembered for revocation, with its @chain
	 * (revalidate_request_chain(), malloc'ed, freed likewise; NULL:
	 * none) for re-validation. return: end lease @addr
	 * held by @real (@own), else, for an administrator (@admin), by
	 * anyone (audited as @who). renew: restart @real's lease @addr for
	 * @lifetime. */
	struct in6_addr real, addr;
	uint32_t lifetime, flags;
	bool own, admin;
	char *issuer;
	const char *serial;
	unsigned char *chain;
	size_t chain_len;
	const struct leased_actor *who; /* only used inside leases_submit */
	/* Out: 0, or
	 *   -EEXIST  rent: (real, peer) already holds @l
	 *   -EAGAIN  rent: @real rents faster than [pool] rent_rate allows
	 *   -ENOSPC  rent: no pool has a free address (outside quarantine)
	 *   -EDQUOT  rent: @real holds max_per_client leases
	 *   -ENOENT  return, renew: no such live lease, or not @real's
	 *   -EIO     the store failed (or the group commit did, or an
	 *            admin's return could not be audited)
	 *   -EREMOTEIO the kernel refused the lease (nothing is kept)
	 * and @l, the lease (rent, renew). */
	int err;
	struct lease_rec l;
	bool by_admin; /* return: ended as an administrator */
	bool token; /* a rent-rate token was taken: given back on failure */
	bool undone; /* batch_op_undo() done already (keep the audit) */
	int64_t old_expires; /* renew: @l's expiry before it */
	/* rent: the pair's lease, expired and not swept yet, that it ended
	 * (its kernel copy goes after the commit) */
	struct in6_addr ended;
	bool ended_expired;
	void (*done)(struct leased *d, struct lease_op *op);
};

/* Run @op into the open group commit; @op->done follows. */
void leases_submit(struct leased *d, struct lease_op *op);

/* The real address behind @virt, for @caller only if it is the lease's
 * peer and the lease is live; -ENOENT in every other case. Audited:
 * -ECANCELED (whatever the outcome) if the record could not be written. */
int leases_reveal(struct leased *d, const struct in6_addr *caller,
		  const struct in6_addr *virt, const struct leased_actor *who,
		  struct in6_addr *real);

/* Abuse desk: the lease that held @virt at @when (live or in the history
 * kept for [history] retention), for @reason. Audited with the reason.
 * 0, -ENOENT, -EIO, or -ECANCELED: the record could not be written. */
int leases_history(struct leased *d, const struct in6_addr *virt, int64_t when,
		   const char *reason, const struct leased_actor *who,
		   struct lease_rec *out, int64_t *end, bool *live);

/* End the leases expired at @now (history, kernel). */
size_t leases_sweep(struct leased *d, int64_t now);

/*
 * A certificate (@issuer base64 DER, canonical @serial) was revoked: end
 * every lease rented with it (store, kernel), audited. @reason: "revoked"
 * (a certd event) or "revalidation" (re-validation found it revoked or
 * invalid; @status says which, NULL for an event). How many ended.
 */
size_t leases_revoke_cert(struct leased *d, const char *issuer,
			  const char *serial, const char *reason,
			  const char *status, int64_t now);

/* Delete the history older than [history] retention. */
void leases_purge(struct leased *d, int64_t now);

/* Make the kernel match the store (sync on): drop expired leases, delete
 * the kernel's leases in the pool the store does not hold, install every
 * live one. 0 or a negative errno. */
int leases_reconcile(struct leased *d, int64_t now);

#endif
