// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for guise-leased's request handling without a socket:
 * the first byte picks the operation (rent, return, renew, reveal,
 * history), the rest is the HTTP body. A parsed request must satisfy the
 * invariants the handlers rely on; the same bytes also go through the
 * roles list parser (certificate OU and roles file values).
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "roles.h"

#define MAX_LIFETIME 86400U

static void check(enum api_op op, const struct api_request *rq)
{
	size_t len;

	if ((op == API_RENT || op == API_RENEW) &&
	    (rq->lifetime < 1 || rq->lifetime > MAX_LIFETIME))
		abort();
	if (op == API_HISTORY) {
		len = strnlen(rq->reason, sizeof(rq->reason));
		if (len < API_REASON_MIN || len > API_REASON_MAX ||
		    rq->when < 0)
			abort();
	}
}

static void fuzz_roles(const uint8_t *data, size_t size)
{
	char text[256], back[128];
	role_set set, again;

	if (size >= sizeof(text))
		size = sizeof(text) - 1;
	memcpy(text, data, size);
	text[size] = '\0';
	if (roles_parse(text, &set, NULL))
		return;
	if (set & ~(role_set)ROLE_ALL)
		abort();
	/* Formatting and parsing again gives the same set. */
	roles_format(set, back, sizeof(back));
	if (roles_parse(back, &again, NULL) || again != set)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_request rq;
	enum api_op op;
	char why[256];

	if (!size)
		return 0;
	op = (enum api_op)(data[0] % (API_HISTORY + 1));
	if (!api_request_parse(op, (const char *)data + 1, size - 1, 3600,
			       MAX_LIFETIME, &rq, why, sizeof(why)))
		check(op, &rq);
	else if (!why[0])
		abort(); /* every refusal explains itself */
	fuzz_roles(data + 1, size - 1);
	return 0;
}
