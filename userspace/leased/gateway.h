/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Gateway mode: rent on demand. The event loop watches a non-blocking
 * netlink socket joined to the events group; for each LEASE_MISS (real,
 * peer) it rents for the pair with the default lifetime and installs the
 * lease, releasing the packets the kernel holds.
 */
#ifndef LEASED_GATEWAY_H
#define LEASED_GATEWAY_H

#include <event2/event.h>

#include "leased.h"

struct gateway;

/* Subscribe and watch the socket. 0 or a negative errno (logged). */
int gateway_start(struct event_base *base, struct leased *d,
		  struct gateway **gwp);
void gateway_stop(struct gateway *gw);
/* After a module reload: resolve the family again and rejoin the events
 * group (its id changed). 0 or a negative errno. */
int gateway_resubscribe(struct gateway *gw);

#endif
