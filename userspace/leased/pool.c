// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <math.h>
#include <string.h>
#include <openssl/rand.h>

#include "pool.h"

void pool_init(struct pool *p, const struct guise_prefix *prefix)
{
	p->prefix = *prefix;
	guise_prefix_mask(&p->prefix);
	p->host_bits = 128U - prefix->len;
}

double pool_size(const struct pool *p)
{
	return ldexp(1.0, (int)p->host_bits) - 1.0;
}

/* Combine the network bits of the prefix with the host bits of @host. */
static void pool_combine(const struct pool *p, const uint8_t host[16],
			 struct in6_addr *out)
{
	unsigned int i, net_bits = p->prefix.len;

	for (i = 0; i < 16; i++) {
		uint8_t mask;

		if (net_bits >= 8)
			mask = 0xff;
		else
			mask = (uint8_t)(0xff00U >> net_bits);
		out->s6_addr[i] = (uint8_t)((p->prefix.addr.s6_addr[i] & mask) |
					    (host[i] & ~mask));
		net_bits = net_bits >= 8 ? net_bits - 8 : 0;
	}
}

bool pool_contains(const struct pool *p, const struct in6_addr *a)
{
	struct guise_prefix q = { .addr = *a, .len = p->prefix.len };

	guise_prefix_mask(&q);
	return !memcmp(&q.addr, &p->prefix.addr, sizeof(q.addr));
}

int pool_draw(const struct pool *p, struct in6_addr *out)
{
	uint8_t host[16];
	unsigned int tries;

	/* Reject the all-zero host part; with at least 2 host bits a draw
	 * succeeds with probability >= 3/4, so 64 tries never all fail in
	 * practice. */
	for (tries = 0; tries < 64; tries++) {
		if (RAND_bytes(host, sizeof(host)) != 1)
			return -EIO;
		pool_combine(p, host, out);
		if (memcmp(out, &p->prefix.addr, sizeof(*out)))
			return 0;
	}
	return -EIO;
}

void pool_nth(const struct pool *p, uint32_t index, struct in6_addr *out)
{
	uint8_t host[16] = { 0 };

	host[12] = (uint8_t)(index >> 24);
	host[13] = (uint8_t)(index >> 16);
	host[14] = (uint8_t)(index >> 8);
	host[15] = (uint8_t)index;
	pool_combine(p, host, out);
}

void pools_init(struct pools *ps, const struct guise_prefix *prefixes,
		unsigned int n)
{
	unsigned int i;

	ps->n = n < LEASED_MAX_POOLS ? n : LEASED_MAX_POOLS;
	for (i = 0; i < ps->n; i++)
		pool_init(&ps->v[i], &prefixes[i]);
}

bool pools_contains(const struct pools *ps, const struct in6_addr *a)
{
	unsigned int i;

	for (i = 0; i < ps->n; i++)
		if (pool_contains(&ps->v[i], a))
			return true;
	return false;
}

double pools_size(const struct pools *ps)
{
	double size = 0;
	unsigned int i;

	for (i = 0; i < ps->n; i++)
		size += pool_size(&ps->v[i]);
	return size;
}
