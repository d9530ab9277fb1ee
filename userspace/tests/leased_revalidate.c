// SPDX-License-Identifier: GPL-2.0
/*
 * Re-validation after certd's event stream was down, for guise-leased and
 * guise-keyd on loopback (leased_revalidate.sh): a certificate revoked
 * while certd was away (no event ever sent) ends its lease and its
 * entitlement; certd answering "unknown" ends nothing. The script prints
 * the TAP; shell_test.h runs it with the sanitized daemons.
 */
#include "shell_test.h"

int main(void)
{
	static const char *const progs[] = { "guise-certd", "guise-keyd",
					     NULL };

	return shell_test("leased_revalidate.sh", progs);
}
