/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Detached mode (no --foreground), shared by the daemons that have one.
 *
 * The fork comes first, before anything stateful is opened: an SQLite
 * connection must not cross fork(). Its POSIX locks belong to the process
 * that took them, so with daemon() after store_open() they went away with
 * the exiting parent; another process opening the database then believed
 * it was alone and, on close, checkpointed and unlinked the -wal and -shm
 * files the daemon kept committing into (acknowledged writes lost).
 *
 * The caller's exit status still tells how the start went: the process
 * that was run waits until the detached child reports, then exits with
 * the child's status: 0 once it serves, else its exit status.
 */
#ifndef GUISE_DAEMON_DETACH_H
#define GUISE_DAEMON_DETACH_H

/*
 * Fork. The parent never returns: it exits once the child called
 * daemon_detach_ready() (with that status), or with the child's exit
 * status if it ended without (1 if killed). The child returns 0 in a new
 * session with standard input from /dev/null (standard output and error
 * are kept: the log). -1 (errno set) if it could not fork: still in the
 * foreground.
 */
int daemon_detach_start(void);

/*
 * Tell the waiting parent the start is over: @status 0 (serving, and the
 * working directory becomes "/") or the exit status to come. Only the
 * first call counts; a no-op without daemon_detach_start(). Call it once
 * serving, and again with the exit status on the way out.
 */
void daemon_detach_ready(int status);

#endif
