/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The durable store (SQLite, WAL, synchronous=FULL): live leases, the
 * history of ended leases and the audit trail. Addresses are stored as
 * canonical text (inet_ntop); times are seconds since the epoch. Every
 * function returns 0 or a negative errno: -ENOENT (no such row), -EIO
 * (SQLite failed; logged).
 */
#ifndef LEASED_STORE_H
#define LEASED_STORE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

struct store;
struct revalidate_cert;

struct lease_rec {
	struct in6_addr virt, real, peer;
	int64_t expires, created;
	uint32_t flags; /* GUISE_LEASE_F_* the daemon installs in its kernel */
};

int store_open(const char *path, struct store **stp);
void store_close(struct store *st);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. A commit returns once durable. */
int store_begin(struct store *st);
int store_commit(struct store *st);
void store_rollback(struct store *st);
/* Is a transaction open? */
bool store_in_tx(struct store *st);

/*
 * Rows changed so far by this connection (a counter): a write inside a
 * shared transaction (the group commit) that fails after it changed
 * something cannot be undone alone, and the batch must roll back.
 */
unsigned long store_changes(struct store *st);

int store_lease_by_virt(struct store *st, const struct in6_addr *virt,
			struct lease_rec *out);
int store_lease_by_pair(struct store *st, const struct in6_addr *real,
			const struct in6_addr *peer, struct lease_rec *out);
/* Leases held by @real (NULL: all leases). */
int store_lease_count(struct store *st, const struct in6_addr *real,
		      uint64_t *count);
/* With the client certificate (@issuer base64 DER, canonical @serial,
 * see daemon/revocation.h) it was rented with, for revocation; NULL: none. */
int store_lease_insert(struct store *st, const struct lease_rec *l,
		       const char *issuer, const char *serial);
int store_lease_set_expires(struct store *st, const struct in6_addr *virt,
			    int64_t expires);
/* Move a lease to the history (ended @end for @reason) and delete it. */
int store_lease_end(struct store *st, const struct lease_rec *l, int64_t end,
		    const char *reason);

/*
 * Leases with expires <= @before (INT64_MAX: all), at most @max, into a
 * new array *@out (free() it) of *@n entries.
 */
int store_lease_list(struct store *st, int64_t before, size_t max,
		     struct lease_rec **out, size_t *n);

/* The connection, for the hash-chained audit log (daemon/audit.h) whose
 * tables live in the same database. */
sqlite3 *store_db(struct store *st);

/* Did a lease of @virt end after @since (still in quarantine)? 0 with
 * *@yes set, or -EIO. */
int store_virt_quarantined(struct store *st, const struct in6_addr *virt,
			   int64_t since, bool *yes);

/*
 * The lease that held @virt at time @when: a live lease created at or
 * before @when (*@end = its expiry, *@live = true), else the history row
 * with start <= @when < end. 0, -ENOENT or -EIO.
 */
int store_lease_at(struct store *st, const struct in6_addr *virt, int64_t when,
		   struct lease_rec *out, int64_t *end, bool *live);

/* Revocation: the leases rented with certificate (@issuer, @serial) into
 * a new array (free() it). */
int store_leases_by_cert(struct store *st, const char *issuer,
			 const char *serial, struct lease_rec **out, size_t *n);
/*
 * Re-validation (daemon/revalidate.h): remember the chain (DER back to
 * back, leaf first) of certificate (@issuer, @serial); list, once each,
 * the certificates with a chain behind leases live at @now; drop the
 * chains no lease names any more.
 */
int store_cert_chain_set(struct store *st, const char *issuer,
			 const char *serial, const unsigned char *chain,
			 size_t len);
int store_live_cert_chains(struct store *st, int64_t now,
			   struct revalidate_cert **out, size_t *n);
int store_cert_chains_purge(struct store *st);

/* Delete history rows that ended before @before; *@n of them. */
int store_history_purge(struct store *st, int64_t before, uint64_t *n);

#endif
