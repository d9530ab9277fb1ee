/* SPDX-License-Identifier: GPL-2.0 */
/*
 * After the guise module is reloaded: look the family up again, rejoin
 * the events group (gateway mode) and reconcile the kernel with the
 * store, retried with a growing delay until it works (the namespace's
 * configuration, its served prefixes, has to be set again first). The
 * same when a request the kernel should have carried out failed (a
 * lease the store ended that the kernel still holds).
 */
#ifndef LEASED_KRESYNC_H
#define LEASED_KRESYNC_H

#include <event2/event.h>

#include "leased.h"

struct gateway;
struct kresync;

/* 0 or a negative errno (logged). @gw may be NULL. */
int kresync_start(struct event_base *base, struct leased *d, struct gateway *gw,
		  struct kresync **rp);
/* NULL is fine. */
void kresync_stop(struct kresync *r);
/* Reconcile in a second, unless one is already due. */
void kresync_request(struct kresync *r);

#endif
