// SPDX-License-Identifier: GPL-2.0
/*
 * guise-crlwatch's command line and one --once pass over a directory
 * without subscribers (certd_e2e covers the notifications themselves).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

#ifndef DAEMON_BIN
#define DAEMON_BIN "../build/asan/guise-crlwatch"
#endif

static int run(const char *cmd)
{
	int status = system(cmd);

	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(void)
{
	char dir[] = "/tmp/guise-crlwatch-test.XXXXXX", cmd[8192];

	tap_start();
	tap_ok(run(DAEMON_BIN " --help >/dev/null") == 0, "--help exits 0");
	tap_ok(run(DAEMON_BIN " 2>/dev/null") == 2, "no arguments: usage, 2");
	tap_ok(run(DAEMON_BIN " -d /tmp -s a -k b 2>/dev/null") == 2,
	       "no --issuer: usage, 2");
	tap_ok(run(DAEMON_BIN
		   " -d /tmp -u http://x -I c -s a -k b 2>/dev/null") == 2,
	       "both --dir and --url: usage, 2");
	tap_ok(run(DAEMON_BIN " -d /tmp -I c -s a -k b -i 0 2>/dev/null") == 2,
	       "interval 0: refused");
	tap_ok(run(DAEMON_BIN
		   " -d /tmp -I c -s a -k b --keepalive -1 2>/dev/null") == 2,
	       "--keepalive -1: refused");
	tap_ok(run(DAEMON_BIN
		   " -d /tmp -I c -s a -k b --keepalive 86401 2>/dev/null") ==
		       2,
	       "--keepalive over a day: refused");
	tap_ok(run(DAEMON_BIN
		   " -d /tmp -I c -s a -k b --keepalive 5s 2>/dev/null") == 2,
	       "--keepalive 5s: refused");
	tap_ok(run(DAEMON_BIN " -d /tmp -s a -k b --subscribe-limit 0 "
			      "2>/dev/null") == 2,
	       "--subscribe-limit 0: refused");
	tap_ok(run(DAEMON_BIN " -d /tmp -s a -k b --subscribe-limit 1025 "
			      "2>/dev/null") == 2,
	       "--subscribe-limit over 1024: refused");
	tap_ok(run(DAEMON_BIN " -d /tmp -s a -k b --subscribe-allow "
			      "ftp://h/ 2>/dev/null") == 2,
	       "--subscribe-allow ftp://: refused");
	tap_ok(run(DAEMON_BIN " -d /tmp -s a -k b --subscribe-allow "
			      "'https://h/#f' 2>/dev/null") == 2,
	       "--subscribe-allow with a fragment: refused");
	if (!mkdtemp(dir))
		return 1;
	snprintf(cmd, sizeof(cmd),
		 "cd %s && openssl req -x509 -newkey ec -pkeyopt "
		 "ec_paramgen_curve:P-256 -nodes -keyout n.key -out n.crt "
		 "-subj /CN=n -days 1 2>/dev/null && "
		 "printf '[ca]\\ndefault_ca=c\\n[c]\\ndatabase=idx\\n"
		 "crlnumber=num\\ndefault_md=sha256\\ndefault_crl_days=1\\n' "
		 ">ca.cnf && : >idx && echo 01 >num && "
		 "openssl ca -config ca.cnf -gencrl -cert n.crt -keyfile n.key "
		 "-out n.crl 2>/dev/null",
		 dir);
	tap_ok(run(cmd) == 0, "a CRL from openssl ca -gencrl");
	snprintf(cmd, sizeof(cmd),
		 DAEMON_BIN " -d %s -I %s/n.crt -s %s/n.crt -k %s/n.key --once "
			    "2>/dev/null",
		 dir, dir, dir, dir);
	tap_ok(run(cmd) == 0, "--once over the directory, no subscribers");
	snprintf(cmd, sizeof(cmd),
		 DAEMON_BIN " -d %s -I %s/n.crt -s %s/n.crt -k %s/idx --once "
			    "2>/dev/null",
		 dir, dir, dir, dir);
	tap_ok(run(cmd) == 1, "a signing key that is not a key: exit 1");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	run(cmd);
	return tap_done();
}
