// SPDX-License-Identifier: GPL-2.0
/*
 * The connection caps of daemon/http.c (max_connections and
 * max_connections_per_client, shared by all the daemons):
 * certd_conn_limits.sh, with guise-leased and guise-keyd for their
 * --check-config.
 */
#include "shell_test.h"

int main(void)
{
	static const char *const progs[] = { "guise-leased", "guise-keyd",
					     NULL };

	return shell_test("certd_conn_limits.sh", progs);
}
