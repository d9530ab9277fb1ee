/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The signals every guise daemon handles on its event loop: SIGTERM and
 * SIGINT stop it gracefully (STOPPING=1 to systemd, then the loop breaks
 * once the running handler returns, so no request is left half done);
 * SIGHUP calls the daemon's reload, if it has one.
 */
#ifndef GUISE_DAEMON_SIGNALS_H
#define GUISE_DAEMON_SIGNALS_H

#include <event2/event.h>

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
