// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>

#include "ratelimit.h"

#define RL_BUCKETS 1024

struct rl_entry {
	struct in6_addr who;
	double tokens;
	uint64_t last_ms;
	struct rl_entry *next;
};

struct ratelimit {
	struct rl_entry *head[RL_BUCKETS];
	uint8_t key[16]; /* of rl_hash(), random */
};

struct ratelimit *ratelimit_new(void)
{
	struct ratelimit *rl = calloc(1, sizeof(struct ratelimit));

	if (rl && RAND_bytes(rl->key, sizeof(rl->key)) != 1) {
		free(rl);
		rl = NULL;
	}
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	struct rl_entry *e, *next;
	size_t i;

	if (!rl)
		return;
	for (i = 0; i < RL_BUCKETS; i++) {
		for (e = rl->head[i]; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(rl);
}

/* FNV-1a over a random key, then the address: gateway rents take R from
 * the traffic (any address of the host's /64), so the chain of an
 * address must not be known in advance, or a host could send from
 * addresses that all fall into one. */
static size_t rl_hash(const struct ratelimit *rl, const struct in6_addr *a)
{
	uint32_t h = 2166136261U;
	size_t i;

	for (i = 0; i < sizeof(rl->key); i++)
		h = (h ^ rl->key[i]) * 16777619U;
	for (i = 0; i < 16; i++)
		h = (h ^ a->s6_addr[i]) * 16777619U;
	return h % RL_BUCKETS;
}

static void rl_refill(struct rl_entry *e, uint32_t rate, uint32_t burst,
		      uint64_t now_ms)
{
	if (now_ms > e->last_ms) {
		e->tokens += (double)(now_ms - e->last_ms) * rate / 1000.0;
		if (e->tokens > burst)
			e->tokens = burst;
	}
	e->last_ms = now_ms;
}

bool ratelimit_take(struct ratelimit *rl, const struct in6_addr *who,
		    uint32_t rate, uint32_t burst, uint64_t now_ms)
{
	size_t h = rl_hash(rl, who);
	struct rl_entry *e;

	if (!rate)
		return true;
	for (e = rl->head[h]; e; e = e->next)
		if (!memcmp(&e->who, who, sizeof(*who)))
			break;
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return true;
		e->who = *who;
		e->tokens = burst;
		e->last_ms = now_ms;
		e->next = rl->head[h];
		rl->head[h] = e;
	}
	rl_refill(e, rate, burst, now_ms);
	if (e->tokens < 1.0)
		return false;
	e->tokens -= 1.0;
	return true;
}

void ratelimit_give(struct ratelimit *rl, const struct in6_addr *who,
		    uint32_t rate, uint32_t burst)
{
	struct rl_entry *e;

	if (!rate)
		return;
	for (e = rl->head[rl_hash(rl, who)]; e; e = e->next) {
		if (!memcmp(&e->who, who, sizeof(*who))) {
			e->tokens = e->tokens + 1.0 > burst ? burst :
							      e->tokens + 1.0;
			return;
		}
	}
}

void ratelimit_prune(struct ratelimit *rl, uint32_t rate, uint32_t burst,
		     uint64_t now_ms)
{
	struct rl_entry **pp, *e;
	size_t i;

	for (i = 0; i < RL_BUCKETS; i++) {
		pp = &rl->head[i];
		while ((e = *pp)) {
			rl_refill(e, rate, burst, now_ms);
			if (e->tokens >= burst) {
				*pp = e->next;
				free(e);
			} else {
				pp = &e->next;
			}
		}
	}
}
