// SPDX-License-Identifier: GPL-2.0
/*
 * A run: the daemon lists the certificates behind its live grants; each
 * goes to certd through certcheck_ask(), at most REVALIDATE_INFLIGHT at
 * once, the next one sent when an answer comes back (on the loop). A run
 * asked for while one is going starts again when it ends: the listing
 * could be older than the event stream's new connection.
 *
 * Only "revoked" and "invalid" end grants. "unknown" (no current CRL) and
 * certd errors never do, whatever [certd] on_error says: a certd outage or
 * a stale CRL would otherwise end every grant at once, while a revoked
 * certificate is refused on every request anyway (on_error = deny) and
 * its grants end at their next answered run. With on_error = deny a run
 * left with unanswered certificates is retried after REVALIDATE_RETRY_S,
 * doubling up to REVALIDATE_RETRY_MAX_S while that goes on; with allow it
 * is not (unanswered counts as good, as for requests). After
 * REVALIDATE_GIVE_UP failures in a row (certd unreachable, timeouts, bad
 * answers; not "unknown") the run asks no more: the rest waits for the
 * retry or the stream's reconnection, instead of a failure (and its log
 * line) per certificate.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "log.h"
#include "revalidate.h"

#define MAX_INTERMEDIATES 16

struct revalidate {
	struct certcheck *cc;
	struct revalidate_ops ops;
	bool retry_on_error; /* on_error = deny */
	struct event *retry;
	/* The run going, if busy. */
	bool busy, again, stopping;
	unsigned int errors_in_row; /* ERROR answers since a definite one */
	unsigned int retry_s; /* the next retry's delay */
	struct revalidate_cert *v;
	size_t n, next, inflight;
	size_t ended, unanswered;
	struct revalidate_stats st;
};

void revalidate_certs_free(struct revalidate_cert *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++) {
		free(v[i].issuer);
		free(v[i].chain);
	}
	free(v);
}

int revalidate_certs_read(sqlite3_stmt *stmt, struct revalidate_cert **out,
			  size_t *n)
{
	struct revalidate_cert *v = NULL, *nv, *c;
	size_t count = 0, cap = 0;
	const unsigned char *issuer, *serial;
	const void *chain;
	int rc, len, err = 0;

	*out = NULL;
	*n = 0;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		issuer = sqlite3_column_text(stmt, 0);
		serial = sqlite3_column_text(stmt, 1);
		chain = sqlite3_column_blob(stmt, 2);
		len = sqlite3_column_bytes(stmt, 2);
		if (!issuer || !serial || !chain || len <= 0)
			continue;
		if (count == cap) {
			cap = cap ? 2 * cap : 16;
			nv = reallocarray(v, cap, sizeof(*v));
			if (!nv) {
				err = -ENOMEM;
				break;
			}
			v = nv;
		}
		c = &v[count];
		memset(c, 0, sizeof(*c));
		if (revocation_serial_canon((const char *)serial, c->serial,
					    sizeof(c->serial)))
			continue;
		c->issuer = strdup((const char *)issuer);
		c->chain = malloc((size_t)len);
		if (!c->issuer || !c->chain) {
			free(c->issuer);
			free(c->chain);
			err = -ENOMEM;
			break;
		}
		memcpy(c->chain, chain, (size_t)len);
		c->chain_len = (size_t)len;
		count++;
	}
	if (!err && rc != SQLITE_DONE)
		err = -EIO;
	if (err) {
		revalidate_certs_free(v, count);
		return err;
	}
	*out = v;
	*n = count;
	return 0;
}

/* Append @x's DER to *@buf. 0 or -1. */
static int chain_add(X509 *x, unsigned char **buf, size_t *len)
{
	unsigned char *der = NULL, *nb;
	int n = i2d_X509(x, &der);

	if (n <= 0 || *len + (size_t)n > REVALIDATE_CHAIN_MAX ||
	    !(nb = realloc(*buf, *len + (size_t)n))) {
		OPENSSL_free(der);
		return -1;
	}
	memcpy(nb + *len, der, (size_t)n);
	*buf = nb;
	*len += (size_t)n;
	OPENSSL_free(der);
	return 0;
}

int revalidate_request_chain(struct evhttp_request *req, unsigned char **der,
			     size_t *len)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev =
		conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
	X509 *leaf = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
	STACK_OF(X509) *chain = ssl ? SSL_get_peer_cert_chain(ssl) : NULL;
	int i, k = 0, n = chain ? sk_X509_num(chain) : 0;

	*der = NULL;
	*len = 0;
	if (!leaf || chain_add(leaf, der, len))
		goto fail;
	/* As certcheck sends them: what the client sent but the leaf. */
	for (i = 0; i < n && k < MAX_INTERMEDIATES; i++) {
		X509 *x = sk_X509_value(chain, i);

		if (!X509_cmp(x, leaf))
			continue;
		if (chain_add(x, der, len))
			goto fail;
		k++;
	}
	return 0;
fail:
	free(*der);
	*der = NULL;
	*len = 0;
	return -1;
}

static void run_start(struct revalidate *rv);

static void run_end(struct revalidate *rv)
{
	struct timeval tv = { rv->retry_s, 0 };

	guise_info("revalidation: %zu certificates: %zu revoked or invalid, "
		   "%zu unanswered",
		   rv->n, rv->ended, rv->unanswered);
	revalidate_certs_free(rv->v, rv->n);
	rv->v = NULL;
	rv->busy = false;
	if (rv->again) {
		rv->again = false;
		run_start(rv);
	} else if (rv->unanswered && rv->retry_on_error) {
		/* Doubling while certd keeps failing; a reconnection of the
		 * stream runs at once anyway. */
		event_add(rv->retry, &tv);
		if (rv->retry_s < REVALIDATE_RETRY_MAX_S)
			rv->retry_s *= 2;
	} else if (!rv->unanswered) {
		rv->retry_s = REVALIDATE_RETRY_S;
	}
}

static void on_answer(enum certcheck_verdict v, void *arg);

/* Ask about the next certificates, up to the bound; end the run when
 * nothing is left. */
static void run_more(struct revalidate *rv)
{
	struct revalidate_cert *c;

	if (rv->errors_in_row >= REVALIDATE_GIVE_UP && rv->next < rv->n) {
		/* The rest waits for the next run. */
		rv->unanswered += rv->n - rv->next;
		rv->st.errors += rv->n - rv->next;
		rv->next = rv->n;
	}
	while (rv->next < rv->n && rv->inflight < REVALIDATE_INFLIGHT) {
		c = &rv->v[rv->next++];
		c->rv = rv;
		if (certcheck_ask(rv->cc, c->chain, c->chain_len, on_answer,
				  c)) {
			guise_warn("revalidation: certificate %s not asked",
				   c->serial);
			rv->unanswered++;
			rv->st.errors++;
			continue;
		}
		rv->inflight++;
	}
	if (!rv->inflight && rv->next == rv->n)
		run_end(rv);
}

static void on_answer(enum certcheck_verdict v, void *arg)
{
	struct revalidate_cert *c = arg;
	struct revalidate *rv = c->rv;

	rv->inflight--;
	if (rv->stopping)
		return;
	switch (v) {
	case CERTCHECK_GOOD:
		rv->st.checked++;
		rv->errors_in_row = 0;
		break;
	case CERTCHECK_REVOKED:
	case CERTCHECK_INVALID:
		rv->st.checked++;
		rv->errors_in_row = 0;
		rv->st.ended++;
		rv->ended++;
		guise_info("revalidation: certificate %s is %s", c->serial,
			   v == CERTCHECK_REVOKED ? "revoked" : "invalid");
		rv->ops.end(rv->ops.arg, c->issuer, c->serial, v);
		break;
	case CERTCHECK_UNKNOWN:
		/* Never ended on this: see the top of the file. */
		rv->errors_in_row = 0;
		rv->st.errors++;
		rv->unanswered++;
		break;
	case CERTCHECK_ERROR:
	default:
		/* Nor on this; after a few in a row certd is not asked
		 * again this run. */
		rv->st.errors++;
		rv->unanswered++;
		rv->errors_in_row++;
		break;
	}
	run_more(rv);
}

static void run_start(struct revalidate *rv)
{
	event_del(rv->retry);
	rv->busy = true;
	rv->st.runs++;
	rv->v = NULL;
	rv->n = rv->next = rv->inflight = 0;
	rv->ended = rv->unanswered = 0;
	rv->errors_in_row = 0;
	if (rv->ops.list(rv->ops.arg, &rv->v, &rv->n)) {
		rv->v = NULL;
		rv->n = 0;
		rv->unanswered = 1; /* retried as unanswered */
		rv->st.errors++;
	}
	run_more(rv);
}

void revalidate_run(struct revalidate *rv)
{
	if (!rv || rv->stopping)
		return;
	if (rv->busy)
		rv->again = true;
	else
		run_start(rv);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	revalidate_run(arg);
}

struct revalidate_stats revalidate_get_stats(const struct revalidate *rv)
{
	struct revalidate_stats none = { 0 };

	return rv ? rv->st : none;
}

struct revalidate *revalidate_start(struct event_base *base,
				    const struct certcheck_conf *conf,
				    const struct revalidate_ops *ops)
{
	struct certcheck_conf c = *conf;
	struct revalidate *rv = calloc(1, sizeof(*rv));

	if (!rv)
		return NULL;
	c.cache_size = 0;
	c.ttl = 0;
	rv->ops = *ops;
	rv->retry_on_error = !conf->allow_on_error;
	rv->retry_s = REVALIDATE_RETRY_S;
	rv->retry = evtimer_new(base, on_retry, rv);
	rv->cc = rv->retry ? certcheck_start(base, &c) : NULL;
	if (!rv->cc) {
		guise_err("revalidation: cannot start");
		if (rv->retry)
			event_free(rv->retry);
		free(rv);
		return NULL;
	}
	return rv;
}

void revalidate_stop(struct revalidate *rv)
{
	if (!rv)
		return;
	rv->stopping = true;
	/* Answers the questions in flight (ERROR): on_answer ignores them. */
	certcheck_stop(rv->cc);
	revalidate_certs_free(rv->v, rv->n);
	event_free(rv->retry);
	free(rv);
}
