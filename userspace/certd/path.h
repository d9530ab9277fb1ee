/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The certification-path cache: leaf fingerprint (SHA-256) + purpose →
 * the verified chain up to one of the daemon's trust anchors (the anchor
 * set is fixed for the daemon's life). Entries remember the CRL cache
 * generation they were built under and are stale once it moves, so a
 * revoked cross-certificate makes the next request build a new path.
 */
#ifndef CERTD_PATH_H
#define CERTD_PATH_H

#include <stdint.h>
#include <time.h>
#include <openssl/x509.h>

#define PATH_BUCKETS 4096
#define PATH_MAX_ENTRIES 65536

struct path_entry {
	struct path_entry *next;
	unsigned char fp[32];
	int purpose;
	uint64_t generation;
	time_t not_before, not_after; /* intersection over the chain */
	STACK_OF(X509) * chain; /* leaf first, anchor last */
};

struct path_cache {
	struct path_entry *b[PATH_BUCKETS];
	size_t n;
	uint64_t hits, misses, stale;
};

void path_cache_flush(struct path_cache *pc);
/* @chain (leaf first) is valid for @purpose: remember it. 0 or -ENOMEM. */
int path_cache_put(struct path_cache *pc, STACK_OF(X509) * chain, int purpose,
		   uint64_t generation);
/* A chain for @leaf usable at @now under @generation, or NULL. */
STACK_OF(X509) * path_cache_get(struct path_cache *pc, X509 *leaf, int purpose,
				uint64_t generation, time_t now);

#endif
