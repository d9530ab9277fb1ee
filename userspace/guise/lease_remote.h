/* SPDX-License-Identifier: GPL-2.0 */
/* guise lease acquire|release: host mode, leases rented from guise-leased
 * (commands of the "lease" object, in lease_remote.c). */
#ifndef GUISE_LEASE_REMOTE_H
#define GUISE_LEASE_REMOTE_H

#include "cli.h"

int lease_acquire(const struct cli_ctx *ctx, int argc, char **argv);
int lease_release(const struct cli_ctx *ctx, int argc, char **argv);

#endif
