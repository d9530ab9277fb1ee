// SPDX-License-Identifier: GPL-2.0
/*
 * certd's checks of client certificates in guise-leased on loopback
 * (leased_certd_check.sh).
 * The script prints the TAP; shell_test.h runs it with the sanitized
 * daemon.
 */
#include "shell_test.h"

int main(void)
{
	static const char *const progs[] = { "guise-certd", "guise-crlwatch",
					     NULL };

	return shell_test("leased_certd_check.sh", progs);
}
