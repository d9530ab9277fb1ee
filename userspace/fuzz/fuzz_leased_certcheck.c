// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for certcheck (daemon/certcheck*.c): certd's
 * /v1/validate answer as the daemons parse it, and the input's bytes as
 * a sequence of cache operations (put, get, remove, flush, time passes)
 * on a small cache, whose count must stay within its bound.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "certcheck.h"

#define FUZZ_CACHE_MAX 8

static void cache_ops(const uint8_t *data, size_t size)
{
	struct certcheck_cache *c = certcheck_cache_new(FUZZ_CACHE_MAX, 50);
	unsigned char fp[CERTCHECK_FP_LEN] = { 0 }, issuer[2] = { 0x30, 0 };
	enum certcheck_verdict v;
	char serial[4] = "A0";
	uint64_t now = 0;
	size_t i;

	if (!c)
		return;
	for (i = 0; i + 2 < size; i += 3) {
		fp[0] = data[i + 1] & 15;
		issuer[1] = data[i + 2] & 1;
		serial[1] = (char)('0' + (data[i + 2] >> 1 & 3));
		switch (data[i] & 7) {
		case 0:
		case 1:
			certcheck_cache_put(c, fp, issuer, sizeof(issuer),
					    serial, data[i] >> 3 & 3, now);
			break;
		case 2:
		case 3:
			certcheck_cache_get(c, fp, now, &v);
			break;
		case 4:
			certcheck_cache_remove(c, issuer, sizeof(issuer),
					       serial);
			break;
		case 5:
			certcheck_cache_flush(c);
			break;
		default:
			now += data[i + 1];
		}
		if (certcheck_cache_count(c) > FUZZ_CACHE_MAX)
			abort();
	}
	certcheck_cache_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum certcheck_verdict v = CERTCHECK_ERROR;
	char err[256];

	if (!certcheck_parse_answer((const char *)data, size, &v, err,
				    sizeof(err)) &&
	    v == CERTCHECK_ERROR)
		abort();
	cache_ops(data, size);
	return 0;
}
