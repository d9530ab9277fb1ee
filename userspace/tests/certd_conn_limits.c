// SPDX-License-Identifier: GPL-2.0
/*
 * The connection caps of daemon/http.c (max_connections,
 * max_connections_per_client, max_connections_per_prefix) and its TLS
 * handshake deadline (handshake_timeout), shared by all the daemons:
 * certd_conn_limits.sh, with guise-leased (--check-config, SIGHUP) and
 * guise-keyd (--check-config).
 */
#include "shell_test.h"

int main(void)
{
	static const char *const progs[] = { "guise-leased", "guise-keyd",
					     NULL };

	return shell_test("certd_conn_limits.sh", progs);
}
