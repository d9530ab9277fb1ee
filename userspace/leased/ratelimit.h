/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-client rent rate limit: one token bucket per real address, refilled
 * at rate tokens per second up to burst. Buckets live in memory only (a
 * restart forgives everyone); idle clients' full buckets are pruned.
 */
#ifndef LEASED_RATELIMIT_H
#define LEASED_RATELIMIT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

struct ratelimit;

/* The buckets run on guise_mono_ms() (clock.h). */

struct ratelimit *ratelimit_new(void);
void ratelimit_free(struct ratelimit *rl);

/* Take one token from @who's bucket at @now_ms (a monotonic clock). True
 * if there was one (or @rate is 0: no limit); false when the client must
 * wait. Out of memory fails open (true): a limit, not a gate. */
bool ratelimit_take(struct ratelimit *rl, const struct in6_addr *who,
		    uint32_t rate, uint32_t burst, uint64_t now_ms);

/* Give back the token of a take() whose rent did not happen (its commit
 * failed), up to @burst. */
void ratelimit_give(struct ratelimit *rl, const struct in6_addr *who,
		    uint32_t rate, uint32_t burst);

/* Drop the buckets that have refilled completely. */
void ratelimit_prune(struct ratelimit *rl, uint32_t rate, uint32_t burst,
		     uint64_t now_ms);

#endif
