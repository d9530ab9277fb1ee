// SPDX-License-Identifier: GPL-2.0
/*
 * certcheck's answer cache: a chained hash table over the fingerprint
 * (SHA-256 is uniform: its first bytes are the hash) plus a list in
 * insertion order. Every entry has the same lifetime, so that order is
 * also the expiry order: the oldest entry is both the first to expire and
 * the one evicted when the cache is full. Removal by (issuer, serial) is
 * a scan: revocation events are rare and the cache is small.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "certcheck.h"
#include "revocation.h"

struct cc_entry {
	unsigned char fp[CERTCHECK_FP_LEN];
	unsigned char *issuer;
	size_t issuer_len;
	char serial[REVOCATION_SERIAL_MAX];
	enum certcheck_verdict verdict;
	uint64_t expires;
	struct cc_entry *hnext;
	TAILQ_ENTRY(cc_entry) age;
};

struct certcheck_cache {
	struct cc_entry **buckets;
	size_t mask, n, max;
	uint64_t ttl;
	TAILQ_HEAD(, cc_entry) order; /* oldest first */
};

struct certcheck_cache *certcheck_cache_new(size_t max, uint64_t ttl_ms)
{
	struct certcheck_cache *c = calloc(1, sizeof(*c));
	size_t nb = 16;

	if (!c)
		return NULL;
	while (nb < 2 * max && nb < ((size_t)1 << 24))
		nb *= 2;
	c->buckets = calloc(nb, sizeof(*c->buckets));
	if (!c->buckets) {
		free(c);
		return NULL;
	}
	c->mask = nb - 1;
	c->max = max;
	c->ttl = ttl_ms;
	TAILQ_INIT(&c->order);
	return c;
}

static size_t bucket(const struct certcheck_cache *c, const unsigned char *fp)
{
	size_t h;

	memcpy(&h, fp, sizeof(h));
	return h & c->mask;
}

static struct cc_entry **find(struct certcheck_cache *c,
			      const unsigned char *fp)
{
	struct cc_entry **p = &c->buckets[bucket(c, fp)];

	while (*p && memcmp((*p)->fp, fp, CERTCHECK_FP_LEN))
		p = &(*p)->hnext;
	return p;
}

static void drop(struct certcheck_cache *c, struct cc_entry *e)
{
	struct cc_entry **p = find(c, e->fp);

	*p = e->hnext;
	TAILQ_REMOVE(&c->order, e, age);
	c->n--;
	free(e->issuer);
	free(e);
}

/* Drop the expired entries (all at the head). */
static void expire(struct certcheck_cache *c, uint64_t now)
{
	struct cc_entry *e;

	while ((e = TAILQ_FIRST(&c->order)) && e->expires <= now)
		drop(c, e);
}

int certcheck_cache_get(struct certcheck_cache *c,
			const unsigned char fp[CERTCHECK_FP_LEN], uint64_t now,
			enum certcheck_verdict *out)
{
	struct cc_entry *e;

	expire(c, now);
	e = *find(c, fp);
	if (!e)
		return -ENOENT;
	*out = e->verdict;
	return 0;
}

int certcheck_cache_put(struct certcheck_cache *c,
			const unsigned char fp[CERTCHECK_FP_LEN],
			const unsigned char *issuer, size_t issuer_len,
			const char *serial, enum certcheck_verdict v,
			uint64_t now)
{
	struct cc_entry *e, **p;

	if (!c->ttl || !c->max)
		return 0;
	expire(c, now);
	p = find(c, fp);
	if (*p)
		drop(c, *p);
	if (c->n >= c->max)
		drop(c, TAILQ_FIRST(&c->order));
	e = calloc(1, sizeof(*e));
	if (!e || strlen(serial) >= sizeof(e->serial) ||
	    !(e->issuer = malloc(issuer_len ? issuer_len : 1))) {
		free(e);
		return -ENOMEM;
	}
	memcpy(e->fp, fp, CERTCHECK_FP_LEN);
	memcpy(e->issuer, issuer, issuer_len);
	e->issuer_len = issuer_len;
	strcpy(e->serial, serial);
	e->verdict = v;
	e->expires = now + c->ttl;
	p = find(c, fp);
	*p = e;
	TAILQ_INSERT_TAIL(&c->order, e, age);
	c->n++;
	return 0;
}

size_t certcheck_cache_remove(struct certcheck_cache *c,
			      const unsigned char *issuer, size_t issuer_len,
			      const char *serial)
{
	struct cc_entry *e, *next;
	size_t n = 0;

	for (e = TAILQ_FIRST(&c->order); e; e = next) {
		next = TAILQ_NEXT(e, age);
		if (e->issuer_len == issuer_len &&
		    !memcmp(e->issuer, issuer, issuer_len) &&
		    !strcmp(e->serial, serial)) {
			drop(c, e);
			n++;
		}
	}
	return n;
}

void certcheck_cache_flush(struct certcheck_cache *c)
{
	struct cc_entry *e;

	while ((e = TAILQ_FIRST(&c->order)))
		drop(c, e);
}

size_t certcheck_cache_count(const struct certcheck_cache *c)
{
	return c->n;
}

void certcheck_cache_free(struct certcheck_cache *c)
{
	if (!c)
		return;
	certcheck_cache_flush(c);
	free(c->buckets);
	free(c);
}
