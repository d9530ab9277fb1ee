// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <event2/buffer.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "base64.h"
#include "certio.h"
#include "crlnote.h"
#include "events.h"
#include "http.h"
#include "loader.h"
#include "log.h"
#include "notify.h"
#include "worker.h"

#define CT_NOTE "application/cms"
#define CT_JSON "application/json"

void notify_free(struct certd *d)
{
	size_t i;

	for (i = 0; i < d->n_seen; i++) {
		X509_NAME_free(d->seen[i].issuer);
		ASN1_INTEGER_free(d->seen[i].number);
	}
	free(d->seen);
	for (i = 0; i < d->n_subs; i++) {
		free(d->subs[i].url);
		holders_free(&d->subs[i].holders);
	}
	free(d->subs);
	for (i = 0; i < d->n_path_subs; i++) {
		free(d->path_subs[i].url);
		holders_free(&d->path_subs[i].holders);
	}
	free(d->path_subs);
}

/* Token bucket of conf->notify_rate per second, burst of the same. */
static bool rate_ok(struct certd *d)
{
	double rate = d->conf->notify_rate, dt;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!d->tokens_at.tv_sec) {
		d->tokens = rate;
	} else {
		dt = (double)(now.tv_sec - d->tokens_at.tv_sec) +
		     (double)(now.tv_nsec - d->tokens_at.tv_nsec) / 1e9;
		d->tokens += dt * rate;
		if (d->tokens > rate)
			d->tokens = rate;
	}
	d->tokens_at = now;
	if (d->tokens < 1)
		return false;
	d->tokens -= 1;
	return true;
}

/* May @signer vouch for CRLs of @issuer? */
static bool signer_allowed(struct certd *d, X509 *signer,
			   const X509_NAME *issuer)
{
	int i;

	for (i = 0; i < sk_X509_num(d->notifiers); i++)
		if (!X509_cmp(sk_X509_value(d->notifiers, i), signer))
			return true;
	if (X509_NAME_cmp(X509_get_subject_name(signer), issuer))
		return false;
	for (i = 0; i < sk_X509_num(d->crls.cas); i++)
		if (!X509_cmp(sk_X509_value(d->crls.cas, i), signer))
			return true;
	return false;
}

/*
 * CRL loads off the event loop.
 *
 * A load (a notification, or the configured CRL files on SIGHUP) is an
 * op: the loop queues it, the ops run one at a time in arrival order, and
 * each goes through loader stages (loader.h) with the loop's decisions
 * between them:
 *
 *   notification  loader: CMS check and parse (crlnote_open)
 *                 loop:   who signed it, duplicates, remember the pair,
 *                         snapshot the issuer's state and CA keys
 *                 loader: fetch, signature check, index, diff
 *                 loop:   publish (pointer swap), did the pair take
 *                         effect, events, answer
 *   files         loader: read and parse the files
 *                 loop:   group by issuer, snapshots, keys
 *                 loader: signature checks, index, diffs
 *                 loop:   publish, events
 *   every op      loader: free it, with the lists it replaced
 *
 * One op at a time keeps the old semantics exactly: the duplicate check
 * of a notification sees every earlier one published (two notifications
 * of the same CRL number: the second is a duplicate, not loaded, not
 * forwarded, unless the first did not take effect and the second brings
 * the CRL: note_is_duplicate(); a newer number queued behind an older
 * one is published after it and wins), and a snapshot stays the
 * issuer's state until its own publish (crl_cache_publish() checks the
 * version all the same).
 * The loop meanwhile answers validations and OCSP from the cache as it
 * is: only the publish step and the replies run on it.
 *
 * Threads: an op (struct crlop) is owned by one thread at a time (the
 * loop, or the loader between loader_run() and its done callback); the
 * queue (d->ops) and everything in struct certd stay the loop's. While an
 * op is at the loader it reads the lists it borrowed in its snapshot
 * (immutable), its own key copies, its CRLs, its own copy of the pushed
 * serials, and the configuration (read-only after startup).
 */

/* One CRL (or the pushed serials, @crl NULL) applied to an issuer. */
struct load_step {
	CERTD_CRL *crl; /* owned */
	bool fetch; /* @crl is to be fetched from the note's location */
	bool serials; /* the note's pushed serials */
	ASN1_INTEGER *number; /* for the event; owned */
	int ret;
	char err[160];
	struct crl_serial *newly;
	size_t n_newly;
	char *event; /* the "revoked" line of @newly, made by the loader */
	size_t event_len;
};

/* One issuer's part of a load. */
struct load_task {
	X509_NAME *issuer; /* owned */
	uint64_t version; /* of the snapshot */
	struct crl_state st; /* the snapshot, then the new state */
	struct crl_list *old_full, *old_delta; /* borrowed in the snapshot */
	EVP_PKEY **keys;
	size_t nkeys;
	struct load_step *steps;
	size_t nsteps;
	int publish_ret;
};

enum crlop_kind { OP_NOTE, OP_FILES };

struct crlop {
	struct crlop *next;
	struct certd *d;
	enum crlop_kind kind;
	/* OP_NOTE */
	struct evhttp_request *req;
	struct evbuffer *body; /* the request's, moved */
	const unsigned char *der; /* pulled up (loader) */
	size_t len;
	int open_ret;
	char err[256];
	struct crlnote n; /* carried CRLs as DER (CRLNOTE_DER)... */
	CERTD_CRL *crl, *delta; /* ... parsed by the loader */
	X509 *signer;
	bool fetch_failed;
	/* OP_FILES */
	STACK_OF(CERTD_CRL) * files;
	/* Both */
	bool want_events; /* event streams were open: make the lines */
	struct worker_body *fwd; /* OP_NOTE: the body to forward */
	unsigned int forwarded; /* OP_NOTE: POSTs queued */
	struct load_task *tasks;
	size_t ntasks;
	struct crl_list **release; /* freed with the op, by the loader */
	size_t nrelease;
};

/*
 * Does @op notify a delta CRL? Its kind says so, or it carries a delta
 * and no full CRL. A full CRL and its delta issued together share their
 * number (RFC 5280 5.2.3): two notifications, two pairs.
 */
static bool note_delta(const struct crlop *op)
{
	return op->n.is_delta || (op->delta && !op->crl);
}

static struct seen_note *seen_find(struct certd *d, const struct crlop *op)
{
	const struct crlnote *n = &op->n;
	bool delta = note_delta(op);
	size_t i;

	for (i = 0; i < d->n_seen; i++)
		if (d->seen[i].delta == delta &&
		    !ASN1_INTEGER_cmp(d->seen[i].number, n->number) &&
		    !X509_NAME_cmp(d->seen[i].issuer, n->issuer))
			return &d->seen[i];
	return NULL;
}

static void remember(struct certd *d, const struct crlop *op)
{
	const struct crlnote *n = &op->n;
	struct seen_note s = { .delta = note_delta(op) }, *v;

	s.issuer = X509_NAME_dup(n->issuer);
	s.number = ASN1_INTEGER_dup(n->number);
	if (!s.issuer || !s.number)
		goto drop;
	if (d->n_seen == NOTIFY_MAX_SEEN) {
		X509_NAME_free(d->seen[0].issuer);
		ASN1_INTEGER_free(d->seen[0].number);
		memmove(d->seen, d->seen + 1, --d->n_seen * sizeof(s));
	}
	v = realloc(d->seen, (d->n_seen + 1) * sizeof(s));
	if (!v)
		goto drop;
	d->seen = v;
	d->seen[d->n_seen++] = s;
	return;
drop:
	X509_NAME_free(s.issuer);
	ASN1_INTEGER_free(s.number);
}

static int release_add(struct crlop *op, struct crl_list *l)
{
	struct crl_list **v;

	if (!l)
		return 0;
	v = realloc(op->release, (op->nrelease + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	op->release = v;
	op->release[op->nrelease++] = l;
	return 0;
}

/* Loader (or the loop at shutdown): free everything the op holds. */
static void op_free(void *arg)
{
	struct crlop *op = arg;
	size_t i, j;

	for (i = 0; i < op->nrelease; i++)
		crl_list_release(op->release[i]);
	free(op->release);
	for (i = 0; i < op->ntasks; i++) {
		struct load_task *t = &op->tasks[i];

		for (j = 0; j < t->nsteps; j++) {
			CERTD_CRL_free(t->steps[j].crl);
			ASN1_INTEGER_free(t->steps[j].number);
			free(t->steps[j].newly);
			free(t->steps[j].event);
		}
		free(t->steps);
		crl_keys_free(t->keys, t->nkeys);
		crl_state_free(&t->st);
		X509_NAME_free(t->issuer);
	}
	free(op->tasks);
	sk_CERTD_CRL_pop_free(op->files, CERTD_CRL_free);
	CERTD_CRL_free(op->crl);
	CERTD_CRL_free(op->delta);
	crlnote_free(&op->n);
	X509_free(op->signer);
	if (op->body)
		evbuffer_free(op->body);
	worker_body_put(op->fwd);
	ERR_clear_error();
	free(op);
}

static void ops_kick(struct certd *d);

/* Loop: the op is over; free it off the loop, start the next one. */
static void op_finish(struct crlop *op)
{
	struct certd *d = op->d;

	d->ops_running = false;
	d->crl_loading = false;
	d->ops = op->next;
	if (!d->ops)
		d->ops_tail = &d->ops;
	d->n_ops--;
	if (loader_run(d->loader, op_free, NULL, op))
		op_free(op); /* shutting down */
	ops_kick(d);
}

static void note_reply(struct crlop *op, int status, json_t *reply)
{
	if (!reply)
		reply = json_pack("{s:s}", "error", op->err);
	if (op->req)
		http_reply_json(op->req, status, reply);
	else
		json_decref(reply);
	op->req = NULL;
}

/* A task for @issuer (a copy), its snapshot and keys. NULL: no memory. */
static struct load_task *task_new(struct crlop *op, const X509_NAME *issuer)
{
	struct certd *d = op->d;
	struct load_task *v, *t;

	v = realloc(op->tasks, (op->ntasks + 1) * sizeof(*v));
	if (!v)
		return NULL;
	op->tasks = v;
	t = &v[op->ntasks];
	memset(t, 0, sizeof(*t));
	t->issuer = X509_NAME_dup(issuer);
	if (!t->issuer)
		return NULL;
	op->ntasks++;
	if (crl_cache_snapshot(&d->crls, issuer, &t->st, &t->version) ||
	    crl_cache_signing_keys(&d->crls, issuer, &t->keys, &t->nkeys))
		return NULL;
	t->old_full = t->st.full;
	t->old_delta = t->st.delta;
	return t;
}

static struct load_step *step_add(struct load_task *t)
{
	struct load_step *v = realloc(t->steps, (t->nsteps + 1) * sizeof(*v));

	if (!v)
		return NULL;
	t->steps = v;
	memset(&v[t->nsteps], 0, sizeof(*v));
	return &v[t->nsteps++];
}

static CERTD_CRL *fetch_crl(const struct certd_conf *c, const char *url)
{
	struct worker_tls tls = { .cert = c->client_cert,
				  .key = c->client_key,
				  .ca = c->client_ca,
				  .timeout = c->fetch_timeout };
	unsigned char *data;
	CERTD_CRL *crl;
	size_t len;

	if (fetch_url(&tls, url, c->max_body, &data, &len))
		return NULL;
	crl = certio_crl(data, len);
	free(data);
	return crl;
}

/* Loader: a list this op made and replaced again is freed at once; the
 * borrowed ones are the cache's until the publish. */
static void drop_gone(const struct load_task *t, struct crl_list *gone)
{
	if (!gone || gone == t->old_full || gone == t->old_delta)
		return;
	crl_list_release(gone);
}

/* Loader: the event line of @s (a large CRL's can be megabytes). */
static void step_event(const struct crlop *op, const struct load_task *t,
		       struct load_step *s)
{
	if (!s->ret && s->n_newly && op->want_events)
		s->event = events_revoked_text(t->issuer, s->number, s->newly,
					       s->n_newly, &s->event_len);
}

/* Loader: the steps of @t on its snapshot. */
static void task_work(struct crlop *op, struct load_task *t)
{
	struct crl_list *l, *gone[2];
	time_t now = time(NULL);
	size_t i;

	for (i = 0; i < t->nsteps; i++) {
		struct load_step *s = &t->steps[i];

		if (s->serials) {
			s->ret = crl_state_push_serials(&t->st, op->n.revoked,
							op->n.number, now,
							&s->newly, &s->n_newly);
			step_event(op, t, s);
			continue;
		}
		if (s->fetch) {
			s->crl = fetch_crl(op->d->conf, op->n.location);
			if (!s->crl)
				op->fetch_failed = true;
			else if (X509_NAME_cmp(certd_crl_issuer(s->crl),
					       t->issuer)) {
				CERTD_CRL_free(s->crl);
				s->crl = NULL;
			}
		}
		if (!s->crl) {
			s->ret = -ENOENT; /* nothing to load */
			continue;
		}
		s->ret = crl_prepare(s->crl, t->keys, t->nkeys, now, &l, s->err,
				     sizeof(s->err));
		if (!s->ret) {
			s->ret = crl_state_put(&t->st, l, &s->newly,
					       &s->n_newly, gone, s->err,
					       sizeof(s->err));
			if (s->ret) {
				crl_list_release(l);
			} else {
				drop_gone(t, gone[0]);
				drop_gone(t, gone[1]);
				step_event(op, t, s);
			}
		}
		/* The index is a copy: the parsed CRL goes now, here rather
		 * than on the loop. */
		CERTD_CRL_free(s->crl);
		s->crl = NULL;
	}
	ERR_clear_error();
}

/* Loop: publish @t; the lists out of use go to the op's release list. */
static void task_publish(struct crlop *op, struct load_task *t)
{
	struct crl_list *rel[2];

	t->publish_ret = crl_cache_publish(&op->d->crls, t->issuer, t->version,
					   &t->st, rel);
	if (!t->publish_ret) {
		release_add(op, rel[0]);
		release_add(op, rel[1]);
		return;
	}
	/* Not published: what this op made goes. */
	guise_err("CRL cache: cannot publish a load (%s)",
		  t->publish_ret == -ESTALE ? "changed meanwhile" :
					      "no memory");
	if (t->st.full != t->old_full)
		release_add(op, t->st.full);
	if (t->st.delta != t->old_delta)
		release_add(op, t->st.delta);
}

/* Loop: the event of @s, made by the loader if streams were open then. */
static size_t step_send_event(struct certd *d, const struct load_task *t,
			      struct load_step *s)
{
	size_t n;

	if (!s->event)
		return events_revoked(d->events, t->issuer, s->number, s->newly,
				      s->n_newly);
	n = events_send_text(d->events, s->event, s->event_len);
	s->event = NULL; /* taken */
	return n;
}

/* Loop: metrics and events of @s after its task was published. */
static bool step_report(struct certd *d, const struct load_task *t,
			struct load_step *s)
{
	if (t->publish_ret || s->ret == -ENOENT)
		return false;
	if (s->serials) {
		if (s->ret)
			return false;
		d->m.events_sent += step_send_event(d, t, s);
		return s->n_newly;
	}
	if (!s->ret) {
		d->m.crl_updates++;
		d->m.events_sent += step_send_event(d, t, s);
		return true;
	}
	if (s->ret != -EALREADY)
		d->m.crl_rejected++;
	return false;
}

static unsigned int forward(struct certd *d, struct crlop *op)
{
	const struct certd_conf *c = d->conf;
	unsigned int n = 0;
	size_t i;

	if (!c->forward.n && !d->n_subs)
		return 0;
	if (!op->fwd)
		return 0;
	for (i = 0; i < c->forward.n; i++)
		n += !worker_post_body(d->worker, c->forward.v[i], CT_NOTE,
				       op->fwd, 0);
	for (i = 0; i < d->n_subs; i++)
		n += !worker_post_body(d->worker, d->subs[i].url, CT_NOTE,
				       op->fwd, WORKER_GUARDED);
	d->m.notify_forwarded += n;
	return n;
}

/* ---- Notifications ---- */

static void note_open_work(void *arg)
{
	struct crlop *op = arg;

	op->len = evbuffer_get_length(op->body);
	op->der = op->len ? evbuffer_pullup(op->body, -1) :
			    (const unsigned char *)"";
	if (!op->der) {
		snprintf(op->err, sizeof(op->err), "out of memory");
		op->open_ret = -1;
		return;
	}
	op->open_ret = crlnote_open_ex(op->der, op->len, CRLNOTE_DER, &op->n,
				       &op->signer, op->err, sizeof(op->err));
	/* The carried CRLs, with certd's parse (crl.h), here. */
	if (!op->open_ret && op->n.crl_der &&
	    !(op->crl = certd_crl_d2i(op->n.crl_der, op->n.crl_der_len))) {
		snprintf(op->err, sizeof(op->err), "bad crl");
		op->open_ret = -1;
	}
	if (!op->open_ret && op->n.delta_der &&
	    !(op->delta =
		      certd_crl_d2i(op->n.delta_der, op->n.delta_der_len))) {
		snprintf(op->err, sizeof(op->err), "bad delta");
		op->open_ret = -1;
	}
	free(op->n.crl_der);
	free(op->n.delta_der);
	op->n.crl_der = op->n.delta_der = NULL;
	ERR_clear_error();
	/* The copy to forward, here rather than on the loop. */
	if (!op->open_ret)
		op->fwd = worker_body_new(op->der, op->len);
}

/*
 * Duplicates. A notification's (issuer, CRL number) is remembered when
 * it is first taken, before its CRL loads: each server forwards a pair
 * once, which ends forwarding loops, and a replay is harmless. Whether
 * the pair then took effect (note_took_effect()) decides what a later
 * notification of it is:
 *  - took effect, or a number not above the cached full CRL's: a
 *    duplicate (not loaded, not forwarded);
 *  - did not (its CRL could not be fetched, was refused, ...): a
 *    notification that brings something by itself (a carried CRL, delta
 *    or serials) is taken once more, loaded and forwarded again (peers
 *    that failed the same way get it too); anything else is a duplicate:
 *    a re-sent notification that only names a location does not make
 *    this server fetch again, and after that one retry the pair is a
 *    duplicate whatever comes. So each server loads and forwards a pair
 *    at most twice; a failing fetch causes no forwarding storm.
 */
static bool note_is_duplicate(struct certd *d, const struct crlop *op,
			      const struct seen_note *s)
{
	const struct crlnote *n = &op->n;
	struct crl_issuer *is = crl_cache_find(&d->crls, n->issuer);

	if (is && is->full &&
	    ASN1_INTEGER_cmp(n->number, is->full->number) <= 0)
		return true;
	if (!s)
		return false;
	if (s->done || s->retried)
		return true;
	return !op->crl && !op->delta && !n->revoked;
}

/*
 * Loop, after the publish: did the notification take effect? Its serials
 * were pushed, and if it names a CRL (carried or at its location) the
 * issuer's cache holds one numbered at least as the notification: a full
 * CRL, or for a delta's notification the delta in use. A location that
 * answered with an older CRL, or not at all, leaves the pair open for a
 * notification that brings it. (A full CRL's notification is not done
 * by the delta of the same number: the full one holds what the delta's
 * base does not, and the next delta needs it as its base.)
 */
static bool note_took_effect(struct certd *d, const struct crlop *op)
{
	const struct load_task *t = &op->tasks[0];
	const struct crl_list *delta;
	const struct crl_issuer *is;
	bool names_crl = false;
	size_t i;

	if (t->publish_ret)
		return false;
	for (i = 0; i < t->nsteps; i++) {
		if (!t->steps[i].serials)
			names_crl = true;
		else if (t->steps[i].ret)
			return false;
	}
	if (!names_crl)
		return true;
	is = crl_cache_find(&d->crls, op->n.issuer);
	if (!is || !is->full)
		return false;
	if (ASN1_INTEGER_cmp(is->full->number, op->n.number) >= 0)
		return true;
	delta = note_delta(op) ? crl_issuer_delta(is) : NULL;
	return delta && ASN1_INTEGER_cmp(delta->number, op->n.number) >= 0;
}

static void note_load_work(void *arg)
{
	struct crlop *op = arg;

	task_work(op, &op->tasks[0]);
}

static void note_load_done(void *arg)
{
	struct crlop *op = arg;
	struct certd *d = op->d;
	struct load_task *t = &op->tasks[0];
	struct seen_note *s;
	bool updated = false;
	char *num;
	size_t i;

	d->crl_loading = false;
	if (op->fetch_failed)
		d->m.crl_fetch_errors++;
	task_publish(op, t);
	/* Ops are serialized: the pair is still remembered (no other
	 * notification was taken meanwhile). */
	s = seen_find(d, op);
	if (s && note_took_effect(d, op))
		s->done = true;
	for (i = 0; i < t->nsteps; i++)
		updated = step_report(d, t, &t->steps[i]) || updated;
	num = crlnote_int_hex(op->n.number);
	note_reply(op, 200,
		   json_pack("{s:s, s:s?, s:b, s:i}", "result", "accepted",
			     "crl_number", num, "updated", updated, "forwarded",
			     op->forwarded));
	free(num);
	op_finish(op);
}

/* Let the connection of @req stay idle up to @secs before it is closed. */
static void keep_open(struct evhttp_request *req, unsigned int secs)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);

	if (evcon)
		evhttp_connection_set_timeout(evcon, (int)secs);
}

/* Add a step for *@crl (moved to the step; NULL: fetch). */
static int note_step(struct crlop *op, struct load_task *t, CERTD_CRL **crl,
		     bool fetch, bool serials)
{
	struct load_step *s = step_add(t);

	if (!s)
		return -ENOMEM;
	s->fetch = fetch;
	s->serials = serials;
	if (crl) {
		s->crl = *crl;
		*crl = NULL;
	}
	s->number = ASN1_INTEGER_dup(op->n.number);
	return s->number ? 0 : -ENOMEM;
}

static void note_open_done(void *arg)
{
	struct crlop *op = arg;
	struct certd *d = op->d;
	struct crlnote *n = &op->n;
	struct load_task *t;
	struct seen_note *s;
	char *num;

	d->crl_loading = false;
	if (op->open_ret) {
		d->m.notify_rejected++;
		note_reply(op, 403, NULL);
		goto done;
	}
	if (!signer_allowed(d, op->signer, n->issuer)) {
		d->m.notify_rejected++;
		snprintf(op->err, sizeof(op->err),
			 "signer may not notify for this issuer");
		note_reply(op, 403, NULL);
		goto done;
	}
	/*
	 * An authenticated notification: its sender (a CA's notifier or a
	 * peer forwarding to us) may keep the connection open for the
	 * next one (its [network] keepalive), beyond the usual idle
	 * timeout; a little longer than ours, so that the sender, not we,
	 * closes it (no POST crossing our close).
	 */
	if (d->conf->keepalive && op->req)
		keep_open(op->req, d->conf->keepalive + 10);
	if ((op->crl && X509_NAME_cmp(certd_crl_issuer(op->crl), n->issuer)) ||
	    (op->delta &&
	     X509_NAME_cmp(certd_crl_issuer(op->delta), n->issuer))) {
		d->m.notify_rejected++;
		snprintf(op->err, sizeof(op->err),
			 "carried CRL of another issuer");
		note_reply(op, 403, NULL);
		goto done;
	}
	s = seen_find(d, op);
	if (note_is_duplicate(d, op, s)) {
		d->m.notify_duplicate++;
		num = crlnote_int_hex(n->number);
		note_reply(op, 200,
			   json_pack("{s:s, s:s?}", "result", "duplicate",
				     "crl_number", num));
		free(num);
		goto done;
	}
	if (s)
		s->retried = true;
	else
		remember(d, op);
	d->m.notify_accepted++;
	/*
	 * Authenticated, signer allowed, first of its (issuer, number) (or
	 * its one retry): on to the peers now, so that they verify it while
	 * this server loads the CRL (or fetches it). Forwarding never
	 * depended on the CRL's own check: each receiver checks the CRL it
	 * takes.
	 */
	op->forwarded = forward(d, op);
	t = task_new(op, n->issuer);
	if (!t ||
	    ((op->crl || n->location) &&
	     note_step(op, t, op->crl ? &op->crl : NULL, !op->crl, false)) ||
	    (op->delta && note_step(op, t, &op->delta, false, false)) ||
	    (n->revoked && note_step(op, t, NULL, false, true))) {
		snprintf(op->err, sizeof(op->err), "out of memory");
		note_reply(op, 503, NULL);
		goto done;
	}
	d->crl_loading = true;
	op->want_events = events_streams(d->events) > 0;
	if (!loader_run(d->loader, note_load_work, note_load_done, op))
		return;
	d->crl_loading = false;
	snprintf(op->err, sizeof(op->err), "shutting down");
	note_reply(op, 503, NULL);
done:
	op_finish(op);
}

/* ---- The configured CRL files ---- */

static void files_read_work(void *arg)
{
	struct crlop *op = arg;
	const struct certd_conf *c = op->d->conf;
	size_t i;

	op->files = sk_CERTD_CRL_new_null();
	for (i = 0; op->files && i < c->crls.n; i++)
		certio_load_crls(c->crls.v[i], op->files);
	ERR_clear_error();
}

static void files_load_work(void *arg)
{
	struct crlop *op = arg;
	size_t i;

	for (i = 0; i < op->ntasks; i++)
		task_work(op, &op->tasks[i]);
}

static void files_load_done(void *arg)
{
	struct crlop *op = arg;
	struct certd *d = op->d;
	size_t i, j;

	d->crl_loading = false;
	for (i = 0; i < op->ntasks; i++) {
		struct load_task *t = &op->tasks[i];

		task_publish(op, t);
		for (j = 0; j < t->nsteps; j++) {
			struct load_step *s = &t->steps[j];

			step_report(d, t, s);
			if (s->ret && s->ret != -EALREADY && s->ret != -ENOENT)
				guise_err("CRL: %s",
					  s->err[0] ? s->err : "out of memory");
		}
	}
	op_finish(op);
}

/* Loop: the files' CRLs by issuer, full CRLs before deltas (a delta
 * needs its base), each with its own number for the events. */
static int files_plan(struct crlop *op)
{
	int pass, j;
	size_t i;

	for (pass = 0; pass < 2; pass++) {
		for (j = 0; j < sk_CERTD_CRL_num(op->files); j++) {
			CERTD_CRL *crl = sk_CERTD_CRL_value(op->files, j);
			const X509_NAME *name;
			struct load_task *t = NULL;
			struct load_step *s;

			if (!crl || certd_crl_is_delta(crl) != pass)
				continue;
			name = certd_crl_issuer(crl);
			for (i = 0; i < op->ntasks && !t; i++)
				if (!X509_NAME_cmp(op->tasks[i].issuer, name))
					t = &op->tasks[i];
			if (!t && !(t = task_new(op, name)))
				return -ENOMEM;
			s = step_add(t);
			if (!s)
				return -ENOMEM;
			/* Moved to the step. */
			s->crl = crl;
			sk_CERTD_CRL_set(op->files, j, NULL);
			s->number =
				certd_crl_ext_d2i(crl, NID_crl_number, NULL);
		}
	}
	ERR_clear_error();
	return 0;
}

static void files_read_done(void *arg)
{
	struct crlop *op = arg;
	struct certd *d = op->d;

	d->crl_loading = false;
	if (!op->files || files_plan(op)) {
		guise_err("CRL reload: out of memory");
		op_finish(op);
		return;
	}
	d->crl_loading = true;
	op->want_events = events_streams(d->events) > 0;
	if (loader_run(d->loader, files_load_work, files_load_done, op)) {
		d->crl_loading = false;
		op_finish(op);
	}
}

/* ---- The queue ---- */

/* Loop: start the first op if none runs. */
static void ops_kick(struct certd *d)
{
	struct crlop *op = d->ops;
	int ret;

	if (!op || d->ops_running)
		return;
	d->ops_running = true;
	d->crl_loading = true;
	if (op->kind == OP_NOTE)
		ret = loader_run(d->loader, note_open_work, note_open_done, op);
	else
		ret = loader_run(d->loader, files_read_work, files_read_done,
				 op);
	if (ret) {
		snprintf(op->err, sizeof(op->err), "shutting down");
		note_reply(op, 503, NULL);
		op_finish(op);
	}
}

static void ops_add(struct certd *d, struct crlop *op)
{
	op->d = d;
	if (!d->ops_tail)
		d->ops_tail = &d->ops;
	*d->ops_tail = op;
	d->ops_tail = &op->next;
	d->n_ops++;
	ops_kick(d);
}

void notify_post(struct certd *d, struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct crlop *op;

	if (!rate_ok(d)) {
		d->m.notify_limited++;
		http_reply_json(req, 429,
				json_pack("{s:s}", "error", "rate limited"));
		return;
	}
	op = calloc(1, sizeof(*op));
	if (op)
		op->body = evbuffer_new();
	/* Moves the chains, no copy: the loader pulls it up. */
	if (!op || !op->body || evbuffer_add_buffer(op->body, in)) {
		if (op && op->body)
			evbuffer_free(op->body);
		free(op);
		http_reply_error(req, 503, "out of memory");
		return;
	}
	op->kind = OP_NOTE;
	op->req = req;
	ops_add(d, op);
}

void notify_reload(struct certd *d)
{
	struct crlop *op = calloc(1, sizeof(*op));

	if (!op) {
		guise_err("CRL reload: out of memory");
		return;
	}
	op->kind = OP_FILES;
	ops_add(d, op);
}

void notify_stop(struct certd *d)
{
	struct crlop *op;

	/* The op at the loader finishes (its reply is sent); the ones that
	 * wait are answered 503. */
	loader_stop(d->loader);
	d->loader = NULL;
	while ((op = d->ops)) {
		d->ops = op->next;
		snprintf(op->err, sizeof(op->err), "shutting down");
		note_reply(op, 503, NULL);
		op_free(op);
	}
	d->ops_tail = &d->ops;
	d->n_ops = 0;
	d->ops_running = false;
}

/* How many subscriptions (both lists) @who holds. */
static size_t holds(const struct certd *d, const char *who)
{
	size_t i, k = 0;

	for (i = 0; i < d->n_subs; i++)
		k += holders_has(&d->subs[i].holders, who);
	for (i = 0; i < d->n_path_subs; i++)
		k += holders_has(&d->path_subs[i].holders, who);
	return k;
}

int notify_subscribe(struct certd *d, const char *topic, const char *url,
		     const char *who, bool add)
{
	bool paths = !strcmp(topic, "paths");
	struct subscription **v = paths ? &d->path_subs : &d->subs, *nv;
	size_t *n = paths ? &d->n_path_subs : &d->n_subs, i;
	int err;

	if (!paths && strcmp(topic, "crl"))
		return -EINVAL;
	for (i = 0; i < *n; i++) {
		if (strcmp((*v)[i].url, url))
			continue;
		if (add && holders_has(&(*v)[i].holders, who))
			return 0;
		if (add && holds(d, who) >= d->conf->subscribe_limit)
			return -EDQUOT;
		if (add)
			return holders_add(&(*v)[i].holders, who);
		err = holders_drop(&(*v)[i].holders, who);
		if (err)
			return err;
		free((*v)[i].url);
		holders_free(&(*v)[i].holders);
		(*v)[i] = (*v)[--*n];
		return 0;
	}
	if (!add)
		return -ENOENT;
	if (holds(d, who) >= d->conf->subscribe_limit)
		return -EDQUOT;
	if (*n >= 1024)
		return -ENOSPC;
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] = (struct subscription){ .url = strdup(url) };
	if (!nv[*n].url)
		return -ENOMEM;
	err = holders_add(&nv[*n].holders, who);
	if (err) {
		free(nv[*n].url);
		holders_free(&nv[*n].holders);
		return err;
	}
	(*n)++;
	return 0;
}

void notify_share_path(struct certd *d, STACK_OF(X509) * chain, int purpose)
{
	json_t *o = json_object(), *arr = json_array();
	unsigned char *der;
	char *text = NULL;
	size_t i;
	int j, len;

	if (!d->conf->peers.n && !d->n_path_subs)
		goto out;
	if (!o || !arr || json_object_set(o, "chain", arr))
		goto out;
	if (purpose) {
		int idx = X509_PURPOSE_get_by_id(purpose);

		if (idx < 0 ||
		    json_object_set_new(o, "purpose",
					json_string(X509_PURPOSE_get0_sname(
						X509_PURPOSE_get0(idx)))))
			goto out;
	}
	for (j = 0; j < sk_X509_num(chain); j++) {
		char *b64;

		der = NULL;
		len = i2d_X509(sk_X509_value(chain, j), &der);
		b64 = len > 0 ? b64_encode(der, len) : NULL;
		OPENSSL_free(der);
		if (!b64 || json_array_append_new(arr, json_string(b64))) {
			free(b64);
			goto out;
		}
		free(b64);
	}
	text = json_dumps(o, JSON_COMPACT);
	if (!text)
		goto out;
	for (i = 0; i < d->conf->peers.n; i++)
		d->m.paths_shared += !worker_post(d->worker,
						  d->conf->peers.v[i], CT_JSON,
						  text, strlen(text), 0);
	for (i = 0; i < d->n_path_subs; i++)
		d->m.paths_shared +=
			!worker_post(d->worker, d->path_subs[i].url, CT_JSON,
				     text, strlen(text), WORKER_GUARDED);
out:
	free(text);
	json_decref(arr);
	json_decref(o);
}
