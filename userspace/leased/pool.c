// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <openssl/crypto.h>
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

/*
 * The draws' random bytes, taken from RAND_bytes() a block at a time:
 * each RAND_bytes() call costs a getpid() system call (OpenSSL's check
 * for a fork), one per rent. Per thread; a forked child forgets the
 * block (pthread_atfork), so parent and child never hand out the same
 * bytes, and each byte is handed out once and then wiped.
 */
#define POOL_RAND_BLOCK 1024

static __thread unsigned char rand_block[POOL_RAND_BLOCK];
static __thread size_t rand_left;
static pthread_once_t rand_once = PTHREAD_ONCE_INIT;

static void rand_forget(void)
{
	OPENSSL_cleanse(rand_block, sizeof(rand_block));
	rand_left = 0;
}

static void rand_init(void)
{
	pthread_atfork(NULL, NULL, rand_forget);
}

static int pool_random(unsigned char *out, size_t n)
{
	unsigned char *p;

	pthread_once(&rand_once, rand_init);
	if (n > sizeof(rand_block))
		return RAND_bytes(out, (int)n) == 1 ? 0 : -EIO;
	if (rand_left < n) {
		if (RAND_bytes(rand_block, sizeof(rand_block)) != 1) {
			rand_forget();
			return -EIO;
		}
		rand_left = sizeof(rand_block);
	}
	p = rand_block + sizeof(rand_block) - rand_left;
	memcpy(out, p, n);
	OPENSSL_cleanse(p, n);
	rand_left -= n;
	return 0;
}

int pool_draw(const struct pool *p, struct in6_addr *out)
{
	uint8_t host[16];
	unsigned int tries;

	/* Reject the all-zero host part; with at least 2 host bits a draw
	 * succeeds with probability >= 3/4, so 64 tries never all fail in
	 * practice. */
	for (tries = 0; tries < 64; tries++) {
		if (pool_random(host, sizeof(host)))
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
