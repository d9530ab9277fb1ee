/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A pool of virtual addresses: one prefix; an address is the prefix with a
 * random host part (never all zeros, the subnet-router anycast address).
 */
#ifndef LEASED_POOL_H
#define LEASED_POOL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "addr.h"

struct pool {
	struct guise_prefix prefix; /* length 1..126 */
	unsigned int host_bits; /* 128 - length */
};

void pool_init(struct pool *p, const struct guise_prefix *prefix);

/* Addresses the pool can hand out: 2^host_bits - 1 (as a double). */
double pool_size(const struct pool *p);

bool pool_contains(const struct pool *p, const struct in6_addr *a);

/* A uniformly random address of the pool. 0, or -EIO if the CSPRNG
 * fails. */
int pool_draw(const struct pool *p, struct in6_addr *out);

/* Small pools (host_bits <= POOL_SCAN_BITS) can also be walked: the
 * address with host part @index (1..2^host_bits - 1). */
#define POOL_SCAN_BITS 16
void pool_nth(const struct pool *p, uint32_t index, struct in6_addr *out);

/* The daemon's pools: one per [pool] prefix line, at most this many. */
#define LEASED_MAX_POOLS 16

struct pools {
	struct pool v[LEASED_MAX_POOLS];
	unsigned int n;
};

void pools_init(struct pools *ps, const struct guise_prefix *prefixes,
		unsigned int n);
bool pools_contains(const struct pools *ps, const struct in6_addr *a);
double pools_size(const struct pools *ps);

#endif
