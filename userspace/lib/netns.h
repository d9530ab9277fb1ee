/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GUISE_NETNS_H
#define GUISE_NETNS_H

/*
 * Move the calling thread into the network namespace /run/netns/@name, as
 * `ip -n NAME` does. Returns 0, -EINVAL for a name that is not a plain
 * file name, or the errno of open/setns (-ENOENT: no such namespace).
 */
int guise_netns_enter(const char *name);

/*
 * The calling thread's network namespace, to come back to it later: an
 * O_CLOEXEC file descriptor, or -errno.
 */
int guise_netns_open_self(void);
/* Move the calling thread into the namespace of @fd. 0 or -errno. */
int guise_netns_set(int fd);

#endif
