// SPDX-License-Identifier: GPL-2.0
/*
 * Revocation to guise-keyd on loopback (keyd_revoke.sh): openssl ca
 * -gencrl -> guise-crlwatch -> guise-certd -> guise-keyd.
 * The script prints the TAP; shell_test.h runs it with the sanitized
 * daemon.
 */
#include "shell_test.h"

int main(void)
{
	static const char *const progs[] = { "guise-certd", "guise-crlwatch",
					     NULL };

	return shell_test("keyd_revoke.sh", progs);
}
