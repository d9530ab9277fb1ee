// SPDX-License-Identifier: GPL-2.0
/*
 * Where a client may make guise-certd send requests (certd_ssrf.sh):
 * /v1/subscribe and /v1/acquire against [network] subscribe_allow and
 * acquire_allow, and their defaults. The script prints the TAP;
 * shell_test.h runs it with the sanitized daemon.
 */
#include "shell_test.h"

int main(void)
{
	return shell_test("certd_ssrf.sh", NULL);
}
