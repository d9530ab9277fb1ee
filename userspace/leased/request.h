/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Request bodies of the /v1/ API, parsed without a socket (so the fuzzer
 * can drive it): a JSON object with exactly the keys of the operation.
 *   rent     {"peer": P, "lifetime"?: S}
 *   return   {"virtual": V}
 *   renew    {"virtual": V, "lifetime"?: S}
 *   reveal   {"virtual": V}
 *   history  {"virtual": V, "time": T, "reason": "why"}
 */
#ifndef LEASED_REQUEST_H
#define LEASED_REQUEST_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum api_op { API_RENT, API_RETURN, API_RENEW, API_REVEAL, API_HISTORY };

/* A reason for an abuse-desk lookup: 4..512 bytes of printable text. */
#define API_REASON_MIN 4
#define API_REASON_MAX 512

struct api_request {
	struct in6_addr addr; /* rent: the peer; otherwise the virtual */
	uint32_t lifetime; /* rent, renew: seconds (default filled in) */
	int64_t when; /* history: seconds since the epoch */
	char reason[API_REASON_MAX + 1]; /* history */
};

/* Addresses the kernel refuses as R, P or V. */
bool api_addr_usable(const struct in6_addr *a);

/*
 * Parse @len bytes of @body for @op; lifetimes must be 1..@max_lifetime
 * and default to @default_lifetime. 0, or -EINVAL with a message for the
 * client in @why.
 */
int api_request_parse(enum api_op op, const char *body, size_t len,
		      uint32_t default_lifetime, uint32_t max_lifetime,
		      struct api_request *out, char *why, size_t whylen);

#endif
