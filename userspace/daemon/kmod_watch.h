/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Watch the guise module come and go. A reloaded module has a new family
 * id, new multicast group ids and none of the state a daemon installed
 * (leases, content keys): the daemon has to look the family up again and
 * reconcile.
 */
#ifndef GUISE_DAEMON_KMOD_WATCH_H
#define GUISE_DAEMON_KMOD_WATCH_H

#include <stdbool.h>
#include <event2/event.h>

struct kmod_watch;

/*
 * @loaded: the family was registered (true) or unregistered (false).
 * Also called with true when notifications were lost (the socket's
 * buffer overran): the state is then unknown and worth checking.
 */
typedef void (*kmod_watch_cb)(void *arg, bool loaded);

/* Watch on @base; 0 or a negative errno (logged). */
int kmod_watch_start(struct event_base *base, kmod_watch_cb cb, void *arg,
		     struct kmod_watch **wp);
/* NULL is fine. */
void kmod_watch_stop(struct kmod_watch *w);

#endif
