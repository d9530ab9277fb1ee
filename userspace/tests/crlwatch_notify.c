// SPDX-License-Identifier: GPL-2.0
/*
 * guise-crlwatch's output side on loopback (crlwatch_notify.sh): re-sent
 * notifications, --save, --state, the subscription rules, --url. The
 * script prints the TAP; shell_test.h runs it with the sanitized daemon.
 */
#include "shell_test.h"

int main(void)
{
	return shell_test("crlwatch_notify.sh", NULL);
}
