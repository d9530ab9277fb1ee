/* SPDX-License-Identifier: GPL-2.0 */
/*
 * After the guise module is reloaded: look the family up again and let
 * the role install its content keys again, retried with a growing delay
 * until it works. The role decides what "again" may mean (server.c: a
 * tx key is never added twice, client.c: rx keys it holds secrets for).
 */
#ifndef KEYD_KRESYNC_H
#define KEYD_KRESYNC_H

#include <stdint.h>
#include <event2/event.h>

struct kernel;
struct kresync;

struct kresync_ops {
	/* The module went away or may have (NULL: nothing to do). */
	void (*lost)(void *arg);
	/* Install what the kernel lacks; 0 or a negative errno (retried). */
	int (*resync)(void *arg, uint64_t now);
	void *arg;
};

/* 0 or a negative errno (logged). @ops is copied. */
int kresync_start(struct event_base *base, struct kernel *k,
		  const struct kresync_ops *ops, struct kresync **rp);
/* NULL is fine. */
void kresync_stop(struct kresync *r);

#endif
