// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "detach.h"
#include "log.h"

/* The child's end of the socket to the waiting parent; -1: none. */
static int detach_fd = -1;

/* The parent: exit with the status the child reports, else with the one
 * it ended with. _exit(): nothing of the process is the parent's to tear
 * down (or to flush twice). */
static void __attribute__((noreturn)) detach_wait(int fd, pid_t pid)
{
	unsigned char status;
	ssize_t n;
	int st;

	do
		n = read(fd, &status, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1) {
		/* A failed start: back only once the daemon is gone too (its
		 * exit may take a while, leak checks say), so that the caller
		 * finds no process left. */
		if (status)
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
		_exit(status);
	}
	/* Gone without a word (an early exit, a crash). */
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			_exit(1);
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 1);
}

int daemon_detach_start(void)
{
	int sv[2], fd, err;
	pid_t pid;

	/* A socket rather than a pipe: send() can refuse SIGPIPE. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		err = errno;
		close(sv[0]);
		close(sv[1]);
		errno = err;
		return -1;
	}
	if (pid > 0) {
		close(sv[1]); /* else the child's exit would not be seen */
		detach_wait(sv[0], pid);
	}
	close(sv[0]);
	detach_fd = sv[1];
	/* Cannot fail: a forked child leads no process group. */
	setsid();
	/* Off the terminal; stdout and stderr stay (the log). */
	fd = open("/dev/null", O_RDONLY);
	if (fd < 0) {
		guise_warn("/dev/null: %s", strerror(errno));
	} else if (fd) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	return 0;
}

void daemon_detach_ready(int status)
{
	unsigned char b = status < 0 || status > 255 ? 1 :
						       (unsigned char)status;

	if (detach_fd < 0)
		return;
	/* Not before: the start resolves relative paths (the configuration,
	 * the files it names) in the directory the daemon was started in. */
	if (!status && chdir("/"))
		guise_warn("chdir /: %s", strerror(errno));
	/* The parent may be gone (killed): no SIGPIPE, nothing to do. */
	if (send(detach_fd, &b, 1, MSG_NOSIGNAL) != 1)
		guise_debug("detach: parent gone: %s", strerror(errno));
	close(detach_fd);
	detach_fd = -1;
}
