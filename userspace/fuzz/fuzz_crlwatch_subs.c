// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for guise-crlwatch's --state DIR/subscriptions.json
 * (crlwatch/substate.c): what it restores keeps the limits a request
 * would (a normalized http(s) URL, holders of the holders_id() form, at
 * most --subscribe-limit per holder), and what it restored, written out
 * and read back, is the same list.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crlwatch.h"
#include "holders.h"
#include "log.h"
#include "urlpolicy.h"

#define LIMIT 3

static size_t holds(const struct crlwatch *cw, const char *who)
{
	size_t i, n = 0;

	for (i = 0; i < cw->n_subs; i++)
		n += holders_has(&cw->subs[i].holders, who);
	return n;
}

static void check(const struct crlwatch *cw)
{
	size_t i, j;
	char *norm;

	for (i = 0; i < cw->n_subs; i++) {
		const struct sub *s = &cw->subs[i];

		norm = urlpolicy_normalize(s->url);
		if (norm && strcmp(norm, s->url))
			abort();
		free(norm);
		if (s->holders.configured || !s->holders.n)
			abort();
		for (j = 0; j < s->holders.n; j++)
			if (strlen(s->holders.v[j]) != 71 ||
			    holds(cw, s->holders.v[j]) > LIMIT)
				abort();
	}
}

/* @a and @b hold the same subscriptions, in the same order. */
static void same(const struct crlwatch *a, const struct crlwatch *b)
{
	size_t i, j;

	if (a->n_subs != b->n_subs)
		abort();
	for (i = 0; i < a->n_subs; i++) {
		const struct sub *x = &a->subs[i], *y = &b->subs[i];

		if (strcmp(x->url, y->url) || x->holders.n != y->holders.n)
			abort();
		for (j = 0; j < x->holders.n; j++)
			if (strcmp(x->holders.v[j], y->holders.v[j]))
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct watch_opts o = { .subscribe_limit = LIMIT };
	struct crlwatch a = { .o = &o }, b = { .o = &o };
	char *text;

	guise_log_init("fuzz", GUISE_LOG_ERR);
	watch_subs_restore(&a, (const char *)data, size, "fuzz");
	check(&a);
	text = watch_subs_dump(&a);
	if (text) {
		watch_subs_restore(&b, text, strlen(text), "fuzz dump");
		same(&a, &b);
	}
	free(text);
	watch_free(&a);
	watch_free(&b);
	return 0;
}
