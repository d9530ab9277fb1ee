/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tests written in sh: shell_test() runs TESTS_DIR/@script (which prints
 * the TAP) as `sh SCRIPT DIR DAEMON_BIN PROGRAM...` in a scratch directory
 * DIR, with each program of @progs found next to DAEMON_BIN (the sanitized
 * build) or in the plain build's bin/, then removes DIR (unless
 * GUISE_KEEP_TEST_DIR is set). Returns the script's exit status; a missing
 * program is a skip. DAEMON_BIN and TESTS_DIR come from the Makefile.
 */
#ifndef GUISE_TESTS_SHELL_TEST_H
#define GUISE_TESTS_SHELL_TEST_H

#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHELL_TEST_MAX_PROGS 4

static int shell_test_rm(const char *path, const struct stat *st, int flag,
			 struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int shell_test_find(const char *name, char *out, size_t size)
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

static int shell_test(const char *script, const char *const *progs)
{
	static char paths[SHELL_TEST_MAX_PROGS][4096];
	char dir[] = "/tmp/guise-test.XXXXXX", file[4096];
	char *argv[5 + SHELL_TEST_MAX_PROGS];
	int i, n = 0, status;
	pid_t pid;

	snprintf(file, sizeof(file), "%s/%s", TESTS_DIR, script);
	argv[n++] = "sh";
	argv[n++] = file;
	argv[n++] = dir;
	argv[n++] = DAEMON_BIN;
	for (i = 0; progs && progs[i] && i < SHELL_TEST_MAX_PROGS; i++) {
		if (shell_test_find(progs[i], paths[i], sizeof(paths[i]))) {
			printf("1..0 # SKIP %s is not built\n", progs[i]);
			return 0;
		}
		argv[n++] = paths[i];
	}
	argv[n] = NULL;
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		execv("/bin/sh", argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return 1;
	if (!getenv("GUISE_KEEP_TEST_DIR"))
		nftw(dir, shell_test_rm, 16, FTW_DEPTH | FTW_PHYS);
	else
		printf("# kept %s\n", dir);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

#endif
