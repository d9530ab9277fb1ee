// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel_nl.h"
#include "kmod_watch.h"
#include "kresync.h"
#include "log.h"

#define KRESYNC_MAX_DELAY 60 /* seconds between attempts, at most */

struct kresync {
	struct kernel *kernel;
	struct kresync_ops ops;
	struct kmod_watch *watch;
	struct event *timer;
	unsigned int delay; /* of the next retry, 0 before the first */
	const char *why; /* of the resync due */
};

static void kresync_run(evutil_socket_t fd, short what, void *arg)
{
	struct kresync *r = arg;
	struct timeval tv = { 0, 0 };
	int err;

	(void)fd;
	(void)what;
	err = guise_nl_refresh(r->kernel->nl);
	if (!err)
		err = r->ops.resync(r->ops.arg, (uint64_t)time(NULL));
	if (!err) {
		guise_info("%s: %s", r->why, r->ops.done);
		r->delay = 0;
		return;
	}
	r->delay = r->delay ? r->delay * 2 : 1;
	if (r->delay > KRESYNC_MAX_DELAY)
		r->delay = KRESYNC_MAX_DELAY;
	guise_warn("%s: %s (%s): retrying in %u s", r->why, r->ops.failed,
		   strerror(-err), r->delay);
	tv.tv_sec = r->delay;
	evtimer_add(r->timer, &tv);
}

static void kresync_on_module(void *arg, bool loaded)
{
	struct kresync *r = arg;
	struct timeval now = { 0, 0 };

	r->delay = 0;
	/* Also when loaded: a lost notification may hide an unload. */
	if (r->ops.lost)
		r->ops.lost(r->ops.arg);
	if (!loaded) {
		evtimer_del(r->timer);
		guise_warn("guise module unloaded: %s", r->ops.gone);
		return;
	}
	r->why = "guise module back";
	evtimer_add(r->timer, &now);
}

int kresync_start(struct event_base *base, struct kernel *k,
		  const struct kresync_ops *ops, struct kresync **rp)
{
	struct kresync *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return -ENOMEM;
	r->kernel = k;
	r->ops = *ops;
	r->timer = evtimer_new(base, kresync_run, r);
	if (!r->timer) {
		guise_err("event loop: out of memory");
		free(r);
		return -ENOMEM;
	}
	err = kmod_watch_start(base, kresync_on_module, r, &r->watch);
	if (err) {
		kresync_stop(r);
		return err;
	}
	*rp = r;
	return 0;
}

void kresync_request(struct kresync *r)
{
	struct timeval soon = { 1, 0 };

	if (evtimer_pending(r->timer, NULL))
		return;
	r->why = "a kernel request failed";
	evtimer_add(r->timer, &soon);
}

void kresync_stop(struct kresync *r)
{
	if (!r)
		return;
	kmod_watch_stop(r->watch);
	if (r->timer)
		event_free(r->timer);
	free(r);
}
