// SPDX-License-Identifier: GPL-2.0
/*
 * Scan the CRL directory as soon as a file in it is finished: inotify
 * for a file closed after writing (openssl ca -gencrl -out) or renamed
 * into it, so a publication is noticed at once instead of at the next
 * --interval poll (which stays, for what inotify cannot see: network
 * file systems, a replaced directory).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <event2/event.h>

#include "crlwatch.h"
#include "log.h"

static void on_dir_event(evutil_socket_t fd, short what, void *arg)
{
	char buf[4096]
		__attribute__((aligned(__alignof__(struct inotify_event))));

	(void)what;
	/* Drain: one scan covers every file changed so far. */
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	watch_scan(arg, true);
}

struct event *dirwatch_start(struct event_base *base, struct crlwatch *cw,
			     const char *dir)
{
	struct event *ev;
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	if (fd < 0 ||
	    inotify_add_watch(fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
		guise_warn("%s: no inotify (%s): polling only", dir,
			   strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	ev = event_new(base, fd, EV_READ | EV_PERSIST, on_dir_event, cw);
	if (!ev || event_add(ev, NULL)) {
		if (ev)
			event_free(ev);
		close(fd);
		return NULL;
	}
	return ev;
}

void dirwatch_stop(struct event *ev)
{
	if (!ev)
		return;
	close(event_get_fd(ev));
	event_free(ev);
}
