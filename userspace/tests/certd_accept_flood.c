// SPDX-License-Identifier: GPL-2.0
/*
 * A daemon out of file descriptors pauses accepting instead of spinning
 * (certd_accept_flood.sh; daemon/http.c is shared by all the daemons).
 */
#include "shell_test.h"

int main(void)
{
	return shell_test("certd_accept_flood.sh", NULL);
}
