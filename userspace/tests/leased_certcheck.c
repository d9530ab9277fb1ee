// SPDX-License-Identifier: GPL-2.0
/*
 * Unit test of certcheck's cache (daemon/certcheck_cache.c): lookup,
 * expiry, eviction of the oldest entry, removal by (issuer, serial),
 * flush; and of the parser of certd's /v1/validate answer.
 */
#include <string.h>

#include "certcheck.h"
#include "tap.h"

static const unsigned char issuer_a[] = { 0x30, 0x03, 0x01, 0x02, 0x03 };
static const unsigned char issuer_b[] = { 0x30, 0x03, 0x09, 0x08, 0x07 };

static void fp_of(unsigned char fp[CERTCHECK_FP_LEN], unsigned int i)
{
	memset(fp, 0, CERTCHECK_FP_LEN);
	memcpy(fp, &i, sizeof(i));
	fp[CERTCHECK_FP_LEN - 1] = 0xa5;
}

static bool has(struct certcheck_cache *c, unsigned int i, uint64_t now,
		enum certcheck_verdict want)
{
	unsigned char fp[CERTCHECK_FP_LEN];
	enum certcheck_verdict v;

	fp_of(fp, i);
	return !certcheck_cache_get(c, fp, now, &v) && v == want;
}

static bool put(struct certcheck_cache *c, unsigned int i,
		const unsigned char *issuer, const char *serial,
		enum certcheck_verdict v, uint64_t now)
{
	unsigned char fp[CERTCHECK_FP_LEN];

	fp_of(fp, i);
	return !certcheck_cache_put(c, fp, issuer, 5, serial, v, now);
}

static void test_expiry(void)
{
	struct certcheck_cache *c = certcheck_cache_new(8, 1000);

	tap_ok(c && put(c, 1, issuer_a, "10", CERTCHECK_GOOD, 0),
	       "put an entry");
	tap_ok(has(c, 1, 999, CERTCHECK_GOOD), "hit before the ttl");
	tap_ok(!has(c, 2, 10, CERTCHECK_GOOD), "miss for another fingerprint");
	tap_ok(!has(c, 1, 1000, CERTCHECK_GOOD), "expired at the ttl");
	tap_ok(certcheck_cache_count(c) == 0, "the expired entry is gone");
	put(c, 1, issuer_a, "10", CERTCHECK_GOOD, 0);
	put(c, 1, issuer_a, "10", CERTCHECK_REVOKED, 500);
	tap_ok(has(c, 1, 1200, CERTCHECK_REVOKED) &&
		       certcheck_cache_count(c) == 1,
	       "a second put replaces the entry and restarts its ttl");
	certcheck_cache_free(c);
	c = certcheck_cache_new(8, 0);
	tap_ok(c && put(c, 1, issuer_a, "10", CERTCHECK_GOOD, 0) &&
		       !has(c, 1, 0, CERTCHECK_GOOD),
	       "ttl 0 caches nothing");
	certcheck_cache_free(c);
}

static void test_eviction(void)
{
	struct certcheck_cache *c = certcheck_cache_new(4, 100000);
	unsigned int i;
	bool ok = c != NULL;

	for (i = 0; ok && i < 6; i++)
		ok = put(c, i, issuer_a, "1", CERTCHECK_GOOD, i);
	tap_ok(ok && certcheck_cache_count(c) == 4, "bounded at 4 entries");
	tap_ok(!has(c, 0, 10, CERTCHECK_GOOD) && !has(c, 1, 10, CERTCHECK_GOOD),
	       "the two oldest were evicted");
	tap_ok(has(c, 2, 10, CERTCHECK_GOOD) && has(c, 5, 10, CERTCHECK_GOOD),
	       "the newest stay");
	certcheck_cache_free(c);

	/* Many entries: the hash chains and the list stay consistent. */
	c = certcheck_cache_new(4096, 100000);
	for (i = 0, ok = c != NULL; ok && i < 10000; i++)
		ok = put(c, i * 7919, issuer_b, "2", CERTCHECK_GOOD, 1);
	tap_ok(ok && certcheck_cache_count(c) == 4096 &&
		       has(c, 9999 * 7919, 2, CERTCHECK_GOOD) &&
		       !has(c, 0, 2, CERTCHECK_GOOD),
	       "10000 puts into 4096 entries");
	certcheck_cache_free(c);
}

static void test_remove(void)
{
	struct certcheck_cache *c = certcheck_cache_new(16, 100000);

	put(c, 1, issuer_a, "10", CERTCHECK_GOOD, 0);
	put(c, 2, issuer_a, "11", CERTCHECK_GOOD, 0);
	put(c, 3, issuer_b, "10", CERTCHECK_GOOD, 0);
	put(c, 4, issuer_a, "10", CERTCHECK_GOOD, 0); /* same cert, re-read */
	tap_ok(certcheck_cache_remove(c, issuer_a, 5, "10") == 2,
	       "removal by (issuer, serial) takes both entries");
	tap_ok(!has(c, 1, 1, CERTCHECK_GOOD) && !has(c, 4, 1, CERTCHECK_GOOD),
	       "the revoked certificate's entries are gone");
	tap_ok(has(c, 2, 1, CERTCHECK_GOOD) && has(c, 3, 1, CERTCHECK_GOOD),
	       "same issuer other serial, same serial other issuer stay");
	tap_ok(certcheck_cache_remove(c, issuer_a, 4, "11") == 0,
	       "the issuer compares as a whole");
	certcheck_cache_flush(c);
	tap_ok(certcheck_cache_count(c) == 0 && !has(c, 2, 1, CERTCHECK_GOOD),
	       "flush empties the cache");
	tap_ok(put(c, 2, issuer_a, "11", CERTCHECK_GOOD, 5) &&
		       has(c, 2, 6, CERTCHECK_GOOD),
	       "usable after a flush");
	certcheck_cache_free(c);
}

static void test_parse(void)
{
	static const struct {
		const char *body;
		int ret;
		enum certcheck_verdict v;
	} cases[] = {
		{ "{\"status\":\"good\",\"cached\":true}", 0, CERTCHECK_GOOD },
		{ "{\"status\":\"revoked\",\"depth\":0}", 0,
		  CERTCHECK_REVOKED },
		{ "{\"status\":\"invalid\"}", 0, CERTCHECK_INVALID },
		{ "{\"status\":\"unknown\"}", 0, CERTCHECK_UNKNOWN },
		{ "{\"status\":\"GOOD\"}", -1, 0 },
		{ "{\"status\":1}", -1, 0 },
		{ "{\"status\":\"good\",\"status\":\"good\"}", -1, 0 },
		{ "[\"good\"]", -1, 0 },
		{ "{\"status\":\"good\"", -1, 0 },
		{ "", -1, 0 },
	};
	enum certcheck_verdict v;
	char err[128];
	size_t i;
	int ret;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = CERTCHECK_ERROR;
		err[0] = '\0';
		ret = certcheck_parse_answer(cases[i].body,
					     strlen(cases[i].body), &v, err,
					     sizeof(err));
		tap_ok(ret == cases[i].ret && (ret || v == cases[i].v) &&
			       (!ret || err[0]),
		       "answer %s -> %s", cases[i].body, ret ? err : "parsed");
	}
}

int main(void)
{
	tap_start();
	test_expiry();
	test_eviction();
	test_remove();
	test_parse();
	return tap_done();
}
