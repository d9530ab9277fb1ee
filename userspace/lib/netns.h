/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GUISE_NETNS_H
#define GUISE_NETNS_H

/*
 * Move the calling thread into the network namespace /run/netns/@name, as
 * `ip -n NAME` does. Returns 0, -EINVAL for a name that is not a plain
 * file name, or the errno of open/setns (-ENOENT: no such namespace).
 */
int guise_netns_enter(const char *name);

#endif
