// SPDX-License-Identifier: GPL-2.0
/* libFuzzer harness for certd's revocation event lines (daemon/revocation.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "revocation.h"

static void on_revoked(const unsigned char *der, size_t len, const char *serial,
		       void *arg)
{
	(void)arg;
	if (!der || !len || !serial[0] ||
	    strlen(serial) >= REVOCATION_SERIAL_MAX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];

	revocation_parse_line((const char *)data, size, on_revoked, NULL, err,
			      sizeof(err));
	return 0;
}
