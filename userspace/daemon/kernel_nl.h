/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A daemon's generic netlink connection to the guise module: opened once,
 * used by the daemon's own kernel.c (leases for guise-leased, content
 * keys for guise-keyd) from the event loop only.
 */
#ifndef GUISE_DAEMON_KERNEL_NL_H
#define GUISE_DAEMON_KERNEL_NL_H

#include "nl.h"

struct kernel {
	struct guise_nl *nl;
};

/* 0, or -errno logged ("guise module not loaded" for -ENOENT). */
int kernel_open(struct kernel **kp);
/* NULL is fine. */
void kernel_close(struct kernel *k);

#endif
