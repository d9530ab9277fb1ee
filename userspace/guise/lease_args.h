/* SPDX-License-Identifier: GPL-2.0 */
/* Arguments of `guise lease add|del|show` into a struct guise_lease. */
#ifndef GUISE_LEASE_ARGS_H
#define GUISE_LEASE_ARGS_H

#include <stddef.h>

#include "addr.h"
#include "lease.h"

/* Lifetime when `lease add` names none. */
#define LEASE_ARGS_DEFAULT_LIFETIME 3600

/*
 * `add REAL PEER VIRT [lifetime DUR] [flags LIST] [block-smtp]
 *  [rate PPS] [burst N]` (argv[0] is REAL). Returns 0, or -EINVAL with one
 * precise message in @err.
 */
int lease_args_parse_add(int argc, char *const *argv, struct guise_lease *l,
			 char *err, size_t errlen);

/*
 * A lease named by `REAL PEER` or `virt VIRT` (argv[0] is the first word).
 * With @optional, no words at all is accepted (nothing marked present).
 */
int lease_args_parse_name(int argc, char *const *argv, struct guise_lease *l,
			  bool optional, char *err, size_t errlen);

#endif
