// SPDX-License-Identifier: GPL-2.0
/* The objects of the guise command line, in the order "guise help" lists
 * them (and the tests that run every command find them). */
#include <string.h>

#include "cli.h"

const struct cli_object *const cli_objects[] = {
	&cli_object_audit,   &cli_object_config,
	&cli_object_key,     &cli_object_lease,
	&cli_object_monitor, &cli_object_stats,
	&cli_object_client,  &cli_object_channel,
	&cli_object_content, &cli_object_entitle,
	&cli_object_revoke,  &cli_object_enroll,
	&cli_object_status,  NULL,
};

const struct cli_object *cli_object_find(const char *name)
{
	const struct cli_object *const *o;

	for (o = cli_objects; *o; o++)
		if (!strcmp(name, (*o)->name))
			return *o;
	return NULL;
}
