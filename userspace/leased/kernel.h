/* SPDX-License-Identifier: GPL-2.0 */
/* The kernel side of leases, over libguise's generic netlink client. */
#ifndef LEASED_KERNEL_H
#define LEASED_KERNEL_H

#include <stdint.h>

#include "lease.h"
#include "store.h"

/* struct kernel, kernel_open() (a request socket in the current network
 * namespace) and kernel_close(). */
#include "kernel_nl.h"

/* LEASE_NEW (@l->flags; 0 means egress|ingress) for @l with @lifetime seconds: creates, or
 * restarts the lease of the same (real, peer, virtual). */
int kernel_install(struct kernel *k, const struct lease_rec *l,
		   uint32_t lifetime);
/* LEASE_DEL by virtual address; a lease already gone is not an error. */
int kernel_remove(struct kernel *k, const struct in6_addr *virt);

/* Every lease in the kernel, into a new array *@out (free() it). */
int kernel_dump(struct kernel *k, struct guise_lease **out, size_t *n);

#endif
