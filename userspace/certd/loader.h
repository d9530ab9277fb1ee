/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The CRL loader thread: the expensive part of a CRL (re)load (reading
 * the files, the CMS check of a notification, the fetch, d2i, the
 * signature check, the index, the diff that makes the revocation events,
 * and freeing the CRL a new one replaced) runs here, off the event loop,
 * so validations and OCSP go on while a large CRL loads. The thread is
 * named "crl-loader".
 *
 * A job is a pair of functions on one argument: @work runs on the loader
 * thread, then @done (may be NULL) runs on the event loop thread. Jobs run
 * one at a time, in the order they were queued, and their @done callbacks
 * in the same order. The argument belongs to exactly one thread at a
 * time: the loop until loader_run(), the loader during @work, the loop
 * again in @done; the hand-overs go through the loader's mutex, so they
 * order all memory accesses (no data shared while in flight).
 */
#ifndef CERTD_LOADER_H
#define CERTD_LOADER_H

#include <stdbool.h>
#include <event2/event.h>

struct loader;

typedef void (*loader_fn)(void *arg);

int loader_start(struct event_base *base, struct loader **out);
/* The same with a thread named @name (at most 15 characters) instead of
 * "crl-loader": another job queue of the same kind (certd's acquire
 * fetches, api.c). */
int loader_start_named(struct event_base *base, const char *name,
		       struct loader **out);
/*
 * Finish the queued work, run the @done callbacks that are left (on the
 * calling thread, the loop's) and stop. NULL is a no-op.
 */
void loader_stop(struct loader *l);
/*
 * Queue @work then @done on @arg. With @l NULL (before the thread starts,
 * at startup; tests) both run at once on the calling thread. 0, or
 * -ENOMEM / -ESHUTDOWN (nothing ran; the caller still owns @arg).
 */
int loader_run(struct loader *l, loader_fn work, loader_fn done, void *arg);
/* Jobs queued or running (for the metrics): loop thread only. */
unsigned int loader_pending(const struct loader *l);
/* The longest @done callback so far, seconds (wall clock, or the loop
 * thread's CPU time: without the time other threads and processes took
 * the CPU meanwhile): the loop's share of a load (publish, events,
 * replies). Loop thread only. */
double loader_done_max(const struct loader *l, bool cpu);

#endif
