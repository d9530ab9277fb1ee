// SPDX-License-Identifier: GPL-2.0
/*
 * A full CRL and its delta issued together share their CRL number (RFC
 * 5280 5.2.3): certd_delta_pair.sh, with guise-crlwatch making the two
 * notifications of each round and guise-certd taking them in either
 * order.
 */
#include "shell_test.h"

int main(void)
{
	static const char *const progs[] = { "guise-crlwatch", NULL };

	return shell_test("certd_delta_pair.sh", progs);
}
