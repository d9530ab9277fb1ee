// SPDX-License-Identifier: GPL-2.0
/*
 * guise-certd and guise-keyd detached (certd_detach.sh): the script
 * prints the TAP; shell_test.h runs it with the sanitized daemons.
 */
#include "shell_test.h"

int main(void)
{
	static const char *const progs[] = { "guise-keyd", NULL };

	return shell_test("certd_detach.sh", progs);
}
