/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Group commit: the rents, returns and renews that arrive while the loop
 * is busy share one SQLite transaction, so one fsync covers many writes.
 *
 * The first write opens the transaction (BEGIN IMMEDIATE) and activates
 * the commit event, at the loop's lowest priority: it runs once no
 * request is waiting to be read, or at once when [store] batch_max
 * writes are pending. Optionally ([store] batch_wait_us, off by
 * default), under concurrency (the previous batch held more than one
 * write) an idle loop first waits that long for more writes. Each write
 * queues a batch_op; a refusal writes nothing, and a write that fails
 * after it changed something fails the whole batch (no savepoint per
 * write: SQLite would copy every page it changes). After the COMMIT
 * returns, every op's done() runs with durable = true, and only then
 * are answers sent. A failed COMMIT rolls the whole transaction back:
 * every op's done() runs with durable = false and undoes what it changed
 * in memory. So does a transaction SQLite rolled back on its own (a read
 * between two writes failing with an I/O error): the commit, or the next
 * write before it opens another, finds none open.
 *
 * Every other writer (sweeper, revocation, audit of reads) commits the
 * open batch first (batch_flush), then writes on its own.
 */
#ifndef LEASED_BATCH_H
#define LEASED_BATCH_H

#include <stdbool.h>
#include <event2/event.h>

struct leased;

struct batch_op {
	struct batch_op *next;
	/* Called once after the COMMIT; may free the op. */
	void (*done)(struct leased *d, struct batch_op *op, bool durable);
};

struct batch {
	struct event *ev; /* the commit event; NULL: commit each write */
	struct batch_op *head, **tail;
	unsigned int n; /* ops queued */
	unsigned int last_n; /* ops of the previous batch */
	bool waited; /* the commit already waited [store] batch_wait_us */
	bool in_op; /* between batch_op_begin() and batch_op_end() */
	bool poisoned; /* a write failed half way: the batch must roll back */
	unsigned long op_changes; /* store_changes() when the write began */
};

/* Priorities of the loop: the commit event runs below everything else. */
#define BATCH_PRIORITIES 3
#define BATCH_PRIORITY (BATCH_PRIORITIES - 1)

/* The commit event on @base (which has BATCH_PRIORITIES priorities).
 * 0 or -ENOMEM. */
int batch_init(struct leased *d, struct event_base *base);
/* Commit what is pending, then free the event. */
void batch_free(struct leased *d);

/* Start one write: open the transaction if needed.
 * 0, or -EIO (nothing is open for this write; answer it directly). */
int batch_op_begin(struct leased *d);
/*
 * The write failed: if it changed something already, the batch is
 * poisoned (rolled back at its commit, every write of it answered as
 * failed), else nothing happens. Writes after this call count afresh.
 */
void batch_op_undo(struct leased *d);
/*
 * End the write begun by batch_op_begin(): @undo as batch_op_undo().
 * @op is queued for the commit (its done() runs after it); the batch is
 * committed now if it holds [store] batch_max writes.
 */
void batch_op_end(struct leased *d, struct batch_op *op, bool undo);

/* Commit the open batch now and run its ops' done(). */
void batch_flush(struct leased *d);

#endif
