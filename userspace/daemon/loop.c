// SPDX-License-Identifier: GPL-2.0
#include <signal.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "loop.h"

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct daemon_signals *ds = arg;

	(void)what;
	guise_info("signal %d: shutting down", (int)sig);
	sd_notify(0, "STOPPING=1");
	event_base_loopbreak(ds->base);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct daemon_signals *ds = arg;

	(void)sig;
	(void)what;
	ds->reload(ds->arg);
}

int daemon_signals_add(struct daemon_signals *ds, struct event_base *base,
		       void (*reload)(void *arg), void *arg)
{
	*ds = (struct daemon_signals){
		.base = base,
		.reload = reload,
		.arg = arg,
	};
	ds->term = evsignal_new(base, SIGTERM, on_stop, ds);
	ds->intr = evsignal_new(base, SIGINT, on_stop, ds);
	if (reload)
		ds->hup = evsignal_new(base, SIGHUP, on_hup, ds);
	if (!ds->term || !ds->intr || (reload && !ds->hup) ||
	    evsignal_add(ds->term, NULL) || evsignal_add(ds->intr, NULL) ||
	    (reload && evsignal_add(ds->hup, NULL))) {
		guise_err("event loop: cannot add the signal events");
		return -1;
	}
	return 0;
}

void daemon_signals_free(struct daemon_signals *ds)
{
	if (ds->term)
		event_free(ds->term);
	if (ds->intr)
		event_free(ds->intr);
	if (ds->hup)
		event_free(ds->hup);
	ds->term = ds->intr = ds->hup = NULL;
}

struct event_base *daemon_event_base(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (!cfg)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}
