// SPDX-License-Identifier: GPL-2.0
/*
 * certd's checks of client certificates in guise-leased on loopback: runs
 * leased_certd_check.sh (which prints the TAP) in a scratch directory with
 * the sanitized guise-leased, guise-certd and guise-crlwatch, and removes
 * the directory afterwards.
 */
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef DAEMON_BIN
#define DAEMON_BIN "../build/asan/guise-leased"
#endif
#ifndef TESTS_DIR
#define TESTS_DIR "tests"
#endif

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Program NAME next to guise-leased, or the plain build's. */
static int find_prog(const char *name, char *out, size_t size)
{
	char buf[4096], *d;

	snprintf(buf, sizeof(buf), "%s", DAEMON_BIN);
	d = dirname(buf);
	snprintf(out, size, "%s/%s", d, name);
	if (!access(out, X_OK))
		return 0;
	snprintf(out, size, "%s/../bin/%s", d, name);
	return access(out, X_OK);
}

int main(void)
{
	char dir[] = "/tmp/guise-certcheck-test.XXXXXX", certd[4096],
	     crlwatch[4096];
	int status;
	pid_t pid;

	if (find_prog("guise-certd", certd, sizeof(certd)) ||
	    find_prog("guise-crlwatch", crlwatch, sizeof(crlwatch))) {
		printf("1..0 # SKIP guise-certd or guise-crlwatch is not built\n");
		return 0;
	}
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		execl("/bin/sh", "sh", TESTS_DIR "/leased_certd_check.sh", dir,
		      DAEMON_BIN, certd, crlwatch, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return 1;
	if (!getenv("GUISE_KEEP_TEST_DIR"))
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	else
		printf("# kept %s\n", dir);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
