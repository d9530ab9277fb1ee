// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_nl.h"
#include "log.h"

int kernel_open(struct kernel **kp)
{
	struct kernel *k = calloc(1, sizeof(*k));
	int err;

	if (!k)
		return -ENOMEM;
	err = guise_nl_open(&k->nl);
	if (err) {
		guise_err("kernel: %s", err == -ENOENT ?
						"guise module not loaded" :
						strerror(-err));
		free(k);
		return err;
	}
	*kp = k;
	return 0;
}

void kernel_close(struct kernel *k)
{
	if (!k)
		return;
	guise_nl_close(k->nl);
	free(k);
}
