/* SPDX-License-Identifier: GPL-2.0 */
/* Arguments of `guise config set` into a CONFIG_SET request. */
#ifndef GUISE_CONFIG_ARGS_H
#define GUISE_CONFIG_ARGS_H

#include <stddef.h>

#include "config.h"

/*
 * Parse KEYWORD VALUE... pairs (argv[0] is the first keyword) into @cfg,
 * which is cleared first. Returns 0, or -EINVAL with one precise message
 * in @err.
 */
int config_args_parse(int argc, char *const *argv, struct guise_config *cfg,
		      char *err, size_t errlen);

#endif
