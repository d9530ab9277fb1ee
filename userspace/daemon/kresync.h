/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Keep what a daemon installed in the kernel: after the guise module is
 * reloaded (kmod_watch.h), or when a request the kernel should have
 * carried out failed, look the family up again and let the daemon put
 * its state back (ops->resync), retried after 1, 2, 4 ... s (at most 60)
 * until it works: after a reload the namespace's configuration has to be
 * set again first. What "back" means is the daemon's business (leased:
 * reconcile leases with the store; keyd: never the same tx key twice).
 */
#ifndef GUISE_DAEMON_KRESYNC_H
#define GUISE_DAEMON_KRESYNC_H

#include <stdint.h>
#include <event2/event.h>

struct kernel;
struct kresync;

struct kresync_ops {
	/* The module went away or may have (NULL: nothing to do). */
	void (*lost)(void *arg);
	/* Put the kernel's state back; 0 or a negative errno (retried). */
	int (*resync)(void *arg, uint64_t now);
	void *arg;
	const char *done; /* logged on success, after "<why>: " */
	const char *failed; /* "<why>: <failed> (<error>): retrying in N s" */
	const char *gone; /* logged when the module is unloaded */
};

/* 0 or a negative errno (logged). @ops is copied, its strings are not. */
int kresync_start(struct event_base *base, struct kernel *k,
		  const struct kresync_ops *ops, struct kresync **rp);
/* NULL is fine. */
void kresync_stop(struct kresync *r);
/* Resync in a second, unless one is already due. */
void kresync_request(struct kresync *r);

#endif
