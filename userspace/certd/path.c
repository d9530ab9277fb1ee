// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "path.h"

static void entry_free(struct path_entry *e)
{
	sk_X509_pop_free(e->chain, X509_free);
	free(e);
}

void path_cache_flush(struct path_cache *pc)
{
	struct path_entry *e, *next;
	size_t i;

	for (i = 0; i < PATH_BUCKETS; i++) {
		for (e = pc->b[i]; e; e = next) {
			next = e->next;
			entry_free(e);
		}
		pc->b[i] = NULL;
	}
	pc->n = 0;
}

static unsigned int bucket(const unsigned char *fp, int purpose)
{
	unsigned int h;

	memcpy(&h, fp, sizeof(h));
	return (h ^ (unsigned int)purpose) % PATH_BUCKETS;
}

static time_t cert_time(const ASN1_TIME *t)
{
	struct tm tm;

	return t && ASN1_TIME_to_tm(t, &tm) ? timegm(&tm) : 0;
}

int path_cache_put(struct path_cache *pc, STACK_OF(X509) * chain, int purpose,
		   uint64_t generation)
{
	struct path_entry *e, **pp;
	unsigned int h;
	int i;

	if (sk_X509_num(chain) < 1)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	if (!X509_digest(sk_X509_value(chain, 0), EVP_sha256(), e->fp, NULL)) {
		free(e);
		return -ENOMEM;
	}
	e->purpose = purpose;
	e->generation = generation;
	e->not_after = (time_t)INT64_MAX;
	for (i = 0; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);
		time_t nb = cert_time(X509_get0_notBefore(x));
		time_t na = cert_time(X509_get0_notAfter(x));

		if (nb > e->not_before)
			e->not_before = nb;
		if (na < e->not_after)
			e->not_after = na;
	}
	e->chain = X509_chain_up_ref(chain);
	if (!e->chain) {
		free(e);
		return -ENOMEM;
	}
	/* Replace an older path for the same leaf and purpose. */
	h = bucket(e->fp, purpose);
	for (pp = &pc->b[h]; *pp; pp = &(*pp)->next) {
		if (!memcmp((*pp)->fp, e->fp, 32) &&
		    (*pp)->purpose == purpose) {
			struct path_entry *old = *pp;

			e->next = old->next;
			*pp = e;
			entry_free(old);
			return 0;
		}
	}
	/* Bounded: when full, start over rather than track recency. */
	if (pc->n >= PATH_MAX_ENTRIES)
		path_cache_flush(pc);
	e->next = pc->b[h];
	pc->b[h] = e;
	pc->n++;
	return 0;
}

STACK_OF(X509) * path_cache_get(struct path_cache *pc, X509 *leaf, int purpose,
				uint64_t generation, time_t now)
{
	unsigned char fp[32];
	struct path_entry *e;

	if (!X509_digest(leaf, EVP_sha256(), fp, NULL))
		return NULL;
	for (e = pc->b[bucket(fp, purpose)]; e; e = e->next) {
		if (memcmp(e->fp, fp, 32) || e->purpose != purpose)
			continue;
		if (e->generation != generation || now < e->not_before ||
		    now > e->not_after) {
			pc->stale++;
			return NULL;
		}
		pc->hits++;
		return e->chain;
	}
	pc->misses++;
	return NULL;
}
