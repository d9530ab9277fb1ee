// SPDX-License-Identifier: GPL-2.0
/*
 * guise-certd and guise-crlwatch end to end on loopback (certd_e2e.sh).
 * The script prints the TAP; shell_test.h runs it with the sanitized
 * daemon.
 */
#include "shell_test.h"

int main(void)
{
	static const char *const progs[] = { "guise-crlwatch", NULL };

	return shell_test("certd_e2e.sh", progs);
}
