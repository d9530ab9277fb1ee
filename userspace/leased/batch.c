// SPDX-License-Identifier: GPL-2.0
#include <errno.h>

#include "batch.h"
#include "leased.h"
#include "log.h"

static void batch_commit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct leased *d = arg;
	struct batch *b = &d->batch;
	struct timeval wait = { 0, (suseconds_t)d->conf->batch_wait_us };

	(void)fd;
	(void)what;
	/* Once per batch, and only when others are likely to follow. */
	if (!b->waited && b->last_n > 1 && wait.tv_usec &&
	    b->n < d->conf->batch_max) {
		b->waited = true;
		if (!event_add(b->ev, &wait))
			return;
	}
	batch_flush(d);
}

int batch_init(struct leased *d, struct event_base *base)
{
	struct batch *b = &d->batch;

	b->head = NULL;
	b->tail = &b->head;
	b->ev = event_new(base, -1, 0, batch_commit_cb, d);
	if (!b->ev || event_priority_set(b->ev, BATCH_PRIORITY)) {
		if (b->ev)
			event_free(b->ev);
		b->ev = NULL;
		return -ENOMEM;
	}
	return 0;
}

void batch_free(struct leased *d)
{
	batch_flush(d);
	if (d->batch.ev)
		event_free(d->batch.ev);
	d->batch.ev = NULL;
}

int batch_op_begin(struct leased *d)
{
	struct batch *b = &d->batch;

	if (!b->tail)
		b->tail = &b->head; /* no batch_init(): a commit per write */
	/* SQLite rolled the open batch back between two writes (a read
	 * failed with an I/O error or out of memory): answer it as failed
	 * before a new transaction starts. */
	if (b->n && !store_in_tx(d->store))
		batch_flush(d);
	if (!store_in_tx(d->store)) {
		if (store_begin(d->store))
			return -EIO;
		/* Runs once the loop has nothing more urgent to do. */
		if (b->ev)
			event_active(b->ev, EV_TIMEOUT, 1);
	}
	b->op_changes = store_changes(d->store);
	b->in_op = true;
	return 0;
}

void batch_op_undo(struct leased *d)
{
	struct batch *b = &d->batch;

	/* Nothing written, nothing to undo (refusals write nothing; a
	 * failed statement undoes itself). A write that failed half way
	 * cannot be undone alone: none of the batch may be acknowledged. */
	if (store_changes(d->store) != b->op_changes)
		b->poisoned = true;
	b->op_changes = store_changes(d->store);
}

void batch_op_end(struct leased *d, struct batch_op *op, bool undo)
{
	struct batch *b = &d->batch;

	b->in_op = false;
	if (undo)
		batch_op_undo(d);
	/* SQLite rolled the whole transaction back (an I/O error, a full
	 * disk): nothing of the batch is left to commit. */
	if (!store_in_tx(d->store))
		b->poisoned = true;
	op->next = NULL;
	*b->tail = op;
	b->tail = &op->next;
	b->n++;
	if (!b->ev || b->n >= d->conf->batch_max)
		batch_flush(d);
}

/* COMMIT (or ROLLBACK when poisoned); true if the batch is durable. */
static bool batch_commit(struct leased *d)
{
	struct batch *b = &d->batch;

	/* SQLite rolled it back on its own: nothing of it is durable. */
	if (!store_in_tx(d->store))
		return false;
	if (!b->poisoned && !store_commit(d->store))
		return true;
	store_rollback(d->store);
	return false;
}

void batch_flush(struct leased *d)
{
	struct batch *b = &d->batch;
	struct batch_op *op, *next;
	unsigned int n = b->n;
	bool durable;

	if (!n)
		return; /* nothing of ours (op_begin rolled back its own) */
	durable = batch_commit(d);
	/* Detach first: a done() may start the next batch. */
	op = b->head;
	b->head = NULL;
	b->tail = &b->head;
	b->n = 0;
	b->last_n = n;
	b->waited = false;
	b->poisoned = false;
	if (b->ev)
		event_del(b->ev);
	d->m.group_commits++;
	d->m.group_commit_writes += n;
	if (!durable) {
		d->m.group_commit_failures++;
		guise_err(
			"store: group commit of %u writes failed: rolled back",
			n);
	}
	for (; op; op = next) {
		next = op->next;
		op->done(d, op, durable);
	}
}
