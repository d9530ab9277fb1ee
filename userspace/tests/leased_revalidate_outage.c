// SPDX-License-Identifier: GPL-2.0
/*
 * Unit test of re-validation (daemon/revalidate.c) against an unreachable
 * certd, with [certd] on_error = deny: every question fails, nothing is
 * ended, every certificate counts as an error; a run asked for during a
 * run follows it; chains that are not DER certificates (or carry more
 * than 16 intermediates) are not asked about; stopping with questions in
 * flight is clean. The certificates are made here (self-signed, P-256).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "revalidate.h"
#include "tap.h"

#define NCERTS 20

struct fixture {
	unsigned char *der[NCERTS];
	size_t len[NCERTS];
	size_t n; /* listed per run */
	int shape; /* 0: one certificate each, 1: garbage, 2: leaf + 17,
		    * 3: leaf + 2 */
	unsigned int lists, ends;
	struct revalidate *rv;
	struct event_base *base;
	uint64_t want_errors;
};

static int make_cert(unsigned int serial, unsigned char **der, size_t *len)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	int n = -1;

	*der = NULL;
	if (!key || !x)
		goto out;
	name = X509_get_subject_name(x);
	if (!ASN1_INTEGER_set(X509_get_serialNumber(x), (long)serial) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)"reval", -1, -1,
					0) ||
	    !X509_set_issuer_name(x, name) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 3600) ||
	    !X509_set_pubkey(x, key) || !X509_sign(x, key, EVP_sha256()))
		goto out;
	n = i2d_X509(x, der);
out:
	X509_free(x);
	EVP_PKEY_free(key);
	if (n <= 0)
		return -1;
	*len = (size_t)n;
	return 0;
}

/* @c's chain for certificate @i, as @f->shape says. */
static int chain_of(struct fixture *f, size_t i, struct revalidate_cert *c)
{
	static const unsigned char garbage[] = { 0x30, 0x03, 'a', 'b', 'c' };
	size_t k, extra = f->shape == 2 ? 17 : f->shape == 3 ? 2 : 0;

	if (f->shape == 1) {
		c->chain = malloc(sizeof(garbage));
		if (!c->chain)
			return -1;
		memcpy(c->chain, garbage, sizeof(garbage));
		c->chain_len = sizeof(garbage);
		return 0;
	}
	c->chain = malloc(f->len[i] + extra * f->len[NCERTS - 1]);
	if (!c->chain)
		return -1;
	memcpy(c->chain, f->der[i], f->len[i]);
	c->chain_len = f->len[i];
	for (k = 0; k < extra; k++) {
		memcpy(c->chain + c->chain_len, f->der[NCERTS - 1],
		       f->len[NCERTS - 1]);
		c->chain_len += f->len[NCERTS - 1];
	}
	return 0;
}

static int list(void *arg, struct revalidate_cert **out, size_t *n)
{
	struct fixture *f = arg;
	struct revalidate_cert *v = calloc(f->n, sizeof(*v));
	size_t i;

	f->lists++;
	if (!v)
		return -1;
	for (i = 0; i < f->n; i++) {
		v[i].issuer = strdup("MBAxDjAMBgNVBAMMBXJldmFs");
		snprintf(v[i].serial, sizeof(v[i].serial), "%zX", i + 1);
		if (!v[i].issuer || chain_of(f, i, &v[i])) {
			revalidate_certs_free(v, i + 1);
			return -1;
		}
	}
	*out = v;
	*n = f->n;
	return 0;
}

static void end(void *arg, const char *issuer, const char *serial,
		enum certcheck_verdict v)
{
	struct fixture *f = arg;

	(void)issuer;
	(void)serial;
	(void)v;
	f->ends++;
}

/* Poll the counters until @f->want_errors, at most 60 s. */
static void on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct fixture *f = arg;

	(void)fd;
	(void)what;
	if (revalidate_get_stats(f->rv).errors >= f->want_errors)
		event_base_loopbreak(f->base);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

static void run_until(struct fixture *f, uint64_t errors)
{
	struct timeval poll = { 0, 20000 }, deadline = { 60, 0 };
	struct event *p = event_new(f->base, -1, EV_PERSIST, on_poll, f);
	struct event *d = evtimer_new(f->base, on_deadline, f->base);

	f->want_errors = errors;
	event_add(p, &poll);
	event_add(d, &deadline);
	event_base_dispatch(f->base);
	event_free(p);
	event_free(d);
}

int main(void)
{
	static struct fixture f;
	const struct certcheck_conf conf = {
		/* Nothing listens on port 1. */
		.url = "https://[::1]:1",
		.timeout = 5,
		.allow_on_error = false,
	};
	const struct revalidate_ops ops = { list, end, &f };
	struct revalidate_stats st;
	unsigned int i;
	bool made = true;

	tap_start();
	for (i = 0; i < NCERTS; i++)
		made = made && !make_cert(i + 1, &f.der[i], &f.len[i]);
	tap_ok(made, "%d test certificates made", NCERTS);
	f.base = event_base_new();
	f.rv = revalidate_start(f.base, &conf, &ops);
	tap_ok(f.rv != NULL, "revalidate_start");
	if (!f.rv || !made)
		return tap_done();

	/* A run of 3 against an unreachable certd. */
	f.n = 3;
	revalidate_run(f.rv);
	run_until(&f, 3);
	st = revalidate_get_stats(f.rv);
	tap_ok(st.runs == 1 && f.lists == 1, "one run, one listing");
	tap_ok(st.errors == 3 && st.checked == 0,
	       "certd unreachable: 3 errors (%llu), none checked",
	       (unsigned long long)st.errors);
	tap_ok(f.ends == 0 && st.ended == 0, "nothing is ended");

	/* More than fit in flight and than the run tries after failures;
	 * asked twice while busy: one more run follows. */
	f.n = NCERTS;
	revalidate_run(f.rv);
	revalidate_run(f.rv);
	revalidate_run(f.rv);
	run_until(&f, 3 + 2 * NCERTS);
	st = revalidate_get_stats(f.rv);
	tap_ok(st.runs == 3 && f.lists == 3,
	       "a run asked for during a run follows it, once (%llu runs)",
	       (unsigned long long)st.runs);
	tap_ok(st.errors == 3 + 2 * NCERTS,
	       "every certificate of both runs is an error (%llu)",
	       (unsigned long long)st.errors);
	tap_ok(f.ends == 0 && st.ended == 0, "still nothing is ended");

	/* Chains certcheck cannot send: errors at once, never asked. */
	f.n = 2;
	f.shape = 1;
	revalidate_run(f.rv);
	f.shape = 2;
	revalidate_run(f.rv);
	st = revalidate_get_stats(f.rv);
	tap_ok(st.runs == 5 && st.errors == 3 + 2 * NCERTS + 4,
	       "garbage, 17 intermediates: not asked, errors (%llu)",
	       (unsigned long long)st.errors);
	/* A leaf with 2 intermediates is asked about (and fails). */
	f.shape = 3;
	revalidate_run(f.rv);
	run_until(&f, 3 + 2 * NCERTS + 6);
	st = revalidate_get_stats(f.rv);
	tap_ok(st.runs == 6 && st.errors == 3 + 2 * NCERTS + 6,
	       "a leaf with 2 intermediates is asked (%llu errors)",
	       (unsigned long long)st.errors);
	tap_ok(f.ends == 0 && st.ended == 0, "still nothing is ended");
	f.shape = 0;

	/* Stop with questions in flight. */
	revalidate_run(f.rv);
	revalidate_stop(f.rv);
	tap_ok(f.ends == 0, "stopping mid-run ends nothing");

	event_base_free(f.base);
	for (i = 0; i < NCERTS; i++)
		OPENSSL_free(f.der[i]);
	return tap_done();
}
