// SPDX-License-Identifier: GPL-2.0
/*
 * Scan the CRL directory as soon as a file in it is finished: inotify
 * for a file closed after writing (openssl ca -gencrl -out) or renamed
 * into it, so a publication is noticed at once instead of at the next
 * --interval poll (which stays, for what inotify cannot see: network
 * file systems).
 *
 * The watch follows the directory's path, not its first inode: removed
 * (IN_IGNORED), moved away (IN_MOVE_SELF), or replaced by another at the
 * same path (checked every second), it is set on the directory at the
 * path again as soon as there is one, and that one is scanned. Meanwhile
 * the poll covers.
 *
 * The same one-second check scans when a file whose read failed for a
 * passing reason (scan.c: out of descriptors, say) is due to be read
 * again: with a long --interval nothing else would, as inotify reports
 * no new event for a file already written.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <event2/event.h>

#include "crlwatch.h"
#include "log.h"

#define DIR_EVENTS                                                      \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVE_SELF | IN_DELETE_SELF | \
	 IN_ONLYDIR)

struct dirwatch {
	struct crlwatch *cw;
	const char *dir;
	int fd, wd; /* wd < 0: no watch (the directory is not there) */
	dev_t dev; /* the directory watched */
	ino_t ino;
	bool warned; /* that there is no watch */
	struct event *check; /* every second: the path's directory */
};

/* Watch the directory now at the path (in place of any other). true if
 * there is one. */
static bool arm(struct dirwatch *d)
{
	struct stat st;

	if (d->wd >= 0)
		inotify_rm_watch(d->fd, d->wd);
	d->wd = -1;
	errno = 0;
	/* Its identity first: if another takes its place before the watch
	 * is set, the next check sees a change and sets it again. */
	if (stat(d->dir, &st) || !S_ISDIR(st.st_mode) ||
	    (d->wd = inotify_add_watch(d->fd, d->dir, DIR_EVENTS)) < 0) {
		if (!d->warned)
			guise_warn("%s: no inotify watch (%s): polling only "
				   "until it can be set",
				   d->dir,
				   errno ? strerror(errno) : "not a directory");
		d->warned = true;
		return false;
	}
	if (d->warned)
		guise_info("%s: inotify watch set again", d->dir);
	d->warned = false;
	d->dev = st.st_dev;
	d->ino = st.st_ino;
	return true;
}

/* The directory at the path is not the one watched: watch it, scan it. */
static void rearm(struct dirwatch *d)
{
	if (arm(d))
		watch_scan(d->cw, true);
}

static void on_check(evutil_socket_t fd, short what, void *arg)
{
	struct dirwatch *d = arg;
	struct stat st;

	(void)fd;
	(void)what;
	if (d->wd < 0 || stat(d->dir, &st) || st.st_dev != d->dev ||
	    st.st_ino != d->ino)
		rearm(d);
	else if (watch_reread_due(d->cw))
		watch_scan(d->cw, true);
}

static void on_dir_event(evutil_socket_t fd, short what, void *arg)
{
	char buf[4096]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	struct dirwatch *d = arg;
	bool gone = false, scan = false;
	ssize_t len, off;

	(void)what;
	/* Drain: one scan covers every file changed so far. */
	while ((len = read(fd, buf, sizeof(buf))) > 0) {
		for (off = 0; off + (ssize_t)sizeof(*ev) <= len;
		     off += (ssize_t)sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(buf + off);
			/* A watch already replaced: nothing to do. */
			if (ev->mask & IN_Q_OVERFLOW)
				scan = true;
			if (ev->wd != d->wd)
				continue;
			scan = true;
			if (ev->mask & (IN_IGNORED | IN_MOVE_SELF |
					IN_DELETE_SELF | IN_UNMOUNT))
				gone = true;
		}
	}
	if (gone) {
		if (d->wd >= 0)
			guise_info("%s: the directory went: watching for "
				   "another at its path",
				   d->dir);
		rearm(d); /* scans if there is one already */
		return;
	}
	if (scan)
		watch_scan(d->cw, true);
}

struct event *dirwatch_start(struct event_base *base, struct crlwatch *cw,
			     const char *dir)
{
	static const struct timeval second = { 1, 0 };
	struct dirwatch *d = calloc(1, sizeof(*d));
	struct event *ev = NULL;

	if (!d)
		return NULL;
	d->cw = cw;
	d->dir = dir;
	d->wd = -1;
	d->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->fd < 0) {
		guise_warn("%s: no inotify (%s): polling only", dir,
			   strerror(errno));
		free(d);
		return NULL;
	}
	arm(d);
	ev = event_new(base, d->fd, EV_READ | EV_PERSIST, on_dir_event, d);
	d->check = event_new(base, -1, EV_PERSIST, on_check, d);
	if (!ev || !d->check || event_add(ev, NULL) ||
	    evtimer_add(d->check, &second)) {
		if (ev)
			event_free(ev);
		if (d->check)
			event_free(d->check);
		close(d->fd);
		free(d);
		return NULL;
	}
	return ev;
}

void dirwatch_stop(struct event *ev)
{
	struct dirwatch *d;

	if (!ev)
		return;
	d = event_get_callback_arg(ev);
	event_free(ev);
	event_free(d->check);
	close(d->fd);
	free(d);
}
