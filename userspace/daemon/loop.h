/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The event loop every guise daemon runs: its base, and the signals it
 * handles. SIGTERM and SIGINT stop it gracefully (STOPPING=1 to systemd,
 * then the loop breaks once the running handler returns, so no request is
 * left half done); SIGHUP calls the daemon's reload, if it has one.
 */
#ifndef GUISE_DAEMON_LOOP_H
#define GUISE_DAEMON_LOOP_H

#include <event2/event.h>

/*
 * A new event base using epoll with libevent's change list: evhttp and
 * the TLS bufferevents turn a connection's read and write events off and
 * on again several times per request, each an epoll_ctl() system call
 * without the list; with it, the changes made between two epoll_wait()
 * calls are merged into at most one per descriptor (an OCSP answer on a
 * new connection: 8 -> 3; a lease rent: 4 -> 3). Its documented hazard,
 * descriptors cloned by dup() whose registration outlives their close(),
 * does not arise: no daemon dup()s a descriptor it polls. A number
 * closed and reused within one iteration is handled by libevent (a
 * failed MOD is retried as an ADD). NULL if out of memory.
 */
struct event_base *daemon_event_base(void);

struct daemon_signals {
	struct event *term, *intr, *hup;
	struct event_base *base;
	void (*reload)(void *arg);
	void *arg;
};

/*
 * Handle the signals on @base; @reload(@arg) on SIGHUP (NULL: SIGHUP is
 * left alone). 0, or -1 logged; daemon_signals_free() either way.
 */
int daemon_signals_add(struct daemon_signals *ds, struct event_base *base,
		       void (*reload)(void *arg), void *arg);
void daemon_signals_free(struct daemon_signals *ds);

#endif
