/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the daemons' C host tests (leased_*.c through leased_lib.h,
 * keyd_api.c, keyd_ops.c): the test directory, child processes, the
 * daemon under test (DAEMON_BIN, the ASan build) started and stopped,
 * and libcurl requests to it as one of the test certificates or over
 * its UNIX socket.
 */
#ifndef GUISE_TESTS_DAEMON_TEST_H
#define GUISE_TESTS_DAEMON_TEST_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <curl/curl.h>
#include <jansson.h>

#include "tap.h"

#ifndef DAEMON_BIN
#error "define DAEMON_BIN, the daemon under test"
#endif

/* The test directory: test_dir_make() fills it in. */
static char dir[64];

static inline bool test_dir_make(const char *name)
{
	snprintf(dir, sizeof(dir), "/tmp/guise-%s.XXXXXX", name);
	return mkdtemp(dir) != NULL;
}

static inline int test_rm_entry(const char *fpath, const struct stat *sb,
				int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(fpath);
}

static inline void test_dir_remove(void)
{
	nftw(dir, test_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* DIR/@name@ext into @buf. */
static inline void path(char *buf, size_t size, const char *name,
			const char *ext)
{
	snprintf(buf, size, "%s/%s%s", dir, name, ext);
}

/* Write DIR/@name@ext with @text. 0 or -1. */
static inline int write_file(const char *name, const char *ext,
			     const char *text)
{
	char p[512];
	FILE *fp;

	path(p, sizeof(p), name, ext);
	fp = fopen(p, "w");
	if (!fp)
		return -1;
	fputs(text, fp);
	return fclose(fp);
}

/*
 * Run @argv; its stdout (and stderr too with @with_stderr) into @out,
 * NUL-terminated and truncated, or thrown away when @out is NULL. The
 * exit status, or -1.
 */
static inline int run_capture(char *const argv[], char *out, size_t size,
			      bool with_stderr)
{
	char sink[256];
	int fds[2], status;
	size_t used = 0;
	ssize_t n;
	pid_t pid;

	if (!out || !size) {
		out = NULL;
		size = 0;
	}
	if (pipe(fds))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(fds[1], 1);
		if (with_stderr)
			dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	while (out && used < size - 1 &&
	       (n = read(fds[0], out + used, size - 1 - used)) > 0)
		used += (size_t)n;
	/* Drain what did not fit, so the child never blocks. */
	while (read(fds[0], sink, sizeof(sink)) > 0)
		;
	close(fds[0]);
	if (out)
		out[used] = '\0';
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Run @argv, its output thrown away; the exit status or -1. */
static inline int run(char *const argv[])
{
	return run_capture(argv, NULL, 0, false);
}

struct daemon {
	const char *name; /* DIR/NAME.conf, .port, .sock, .log */
	pid_t pid;
	unsigned int port; /* from DIR/NAME.port */
	bool wait_socket; /* ready when DIR/NAME.sock exists (no port) */
	bool log; /* -v, stderr to DIR/NAME.log */
	bool no_notify; /* without the test's NOTIFY_SOCKET */
	rlim_t fsize; /* >0: RLIMIT_FSIZE of the daemon (a disk that fills) */
	bool in_dir; /* detached: started in DIR, --config NAME.conf */
};

/* Start DAEMON_BIN with DIR/NAME.conf; true once it serves (30 s). */
static inline bool daemon_start(struct daemon *d)
{
	char conf[512], portf[512], sock[512], logf[512], buf[32];
	unsigned int i;
	FILE *fp;

	path(conf, sizeof(conf), d->name, ".conf");
	path(portf, sizeof(portf), d->name, ".port");
	path(sock, sizeof(sock), d->name, ".sock");
	path(logf, sizeof(logf), d->name, ".log");
	unlink(portf);
	if (d->wait_socket)
		unlink(sock);
	fflush(stdout);
	d->pid = fork();
	if (d->pid < 0)
		return false;
	if (d->pid == 0) {
		/* Writes past the limit fail with EFBIG instead of a
		 * signal: SQLite sees a full disk. */
		struct rlimit rl = { d->fsize, d->fsize };

		if (d->fsize && (signal(SIGXFSZ, SIG_IGN) == SIG_ERR ||
				 setrlimit(RLIMIT_FSIZE, &rl)))
			_exit(126);
		if (d->log && !freopen(logf, "a", stderr))
			_exit(126);
		if (d->no_notify)
			unsetenv("NOTIFY_SOCKET");
		execl(DAEMON_BIN, DAEMON_BIN, "--foreground", "--config", conf,
		      "--port-file", portf, d->log ? "-v" : (char *)NULL,
		      (char *)NULL);
		_exit(127);
	}
	/* The ASan build starts slowly on a loaded machine. */
	for (i = 0; i < 300; i++) {
		if (!d->wait_socket && (fp = fopen(portf, "r"))) {
			bool ok = fgets(buf, sizeof(buf), fp) &&
				  sscanf(buf, "%u", &d->port) == 1;

			fclose(fp);
			return ok;
		}
		if (d->wait_socket && !access(sock, F_OK))
			return true;
		if (waitpid(d->pid, NULL, WNOHANG) == d->pid) {
			d->pid = 0;
			return false;
		}
		usleep(100 * 1000);
	}
	return false;
}

/* A child of ours, 0 if none. */
static inline pid_t daemon_find_child(void)
{
	char p[300], buf[512], *s;
	struct dirent *e;
	pid_t found = 0;
	long ppid;
	DIR *dp;
	FILE *fp;

	dp = opendir("/proc");
	while (dp && !found && (e = readdir(dp))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/stat", e->d_name);
		fp = fopen(p, "r");
		if (!fp)
			continue;
		/* "pid (comm) state ppid ...": comm may hold anything. */
		if (fgets(buf, sizeof(buf), fp) && (s = strrchr(buf, ')')) &&
		    sscanf(s + 1, " %*c %ld", &ppid) == 1 && ppid == getpid())
			found = (pid_t)atol(e->d_name);
		fclose(fp);
	}
	if (dp)
		closedir(dp);
	return found;
}

/*
 * Start DAEMON_BIN with DIR/NAME.conf without --foreground (stdout and
 * stderr to DIR/NAME.log): the command's exit status in *@status (-1 if
 * it ran 30 s). True if it exited 0 and the detached daemon serves: the
 * test becomes a subreaper, so the daemon is its child (d->pid, for
 * daemon_stop()), with d->port read. Call with no other child running.
 */
static inline bool daemon_start_detached(struct daemon *d, int *status)
{
	char conf[512], portf[512], logf[512];
	unsigned int i;
	bool ok;
	pid_t pid;
	FILE *fp;
	int fd;

	*status = -1;
	path(conf, sizeof(conf), d->name, ".conf");
	path(portf, sizeof(portf), d->name, ".port");
	path(logf, sizeof(logf), d->name, ".log");
	unlink(portf);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		return false;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		/* Not the test's stdout: the daemon keeps it open. */
		fd = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		/* Relative paths: --config, and those the test wrote in it. */
		if (d->in_dir &&
		    (chdir(dir) ||
		     (size_t)snprintf(conf, sizeof(conf), "%s.conf", d->name) >=
			     sizeof(conf)))
			_exit(126);
		execl(DAEMON_BIN, DAEMON_BIN, "--config", conf, "--port-file",
		      portf, "-v", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 300 && waitpid(pid, status, WNOHANG) != pid; i++)
		usleep(100 * 1000);
	if (i == 300) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		*status = -1;
		return false;
	}
	*status = WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
	if (*status)
		return false;
	d->pid = daemon_find_child();
	fp = fopen(portf, "r");
	if (!fp)
		return false;
	ok = fscanf(fp, "%u", &d->port) == 1;
	fclose(fp);
	return ok && d->pid > 0;
}

/* @sig (SIGKILL after 10 s) and reap; the exit status, -1 if killed. */
static inline int daemon_stop(struct daemon *d, int sig)
{
	unsigned int i;
	int status;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, sig);
	for (i = 0; i < 200; i++) {
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		}
		usleep(50 * 1000);
	}
	kill(d->pid, SIGKILL);
	waitpid(d->pid, &status, 0);
	d->pid = 0;
	return -1;
}

static inline bool daemon_alive(const struct daemon *d)
{
	return d->pid > 0 && waitpid(d->pid, NULL, WNOHANG) == 0;
}

struct resp {
	CURLcode rc;
	long code;
	char body[65536];
	size_t len;
	json_t *json; /* the body parsed, NULL if it is not JSON */
};

static inline size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t len = size * n;

	if (len > sizeof(r->body) - 1 - r->len)
		return 0;
	memcpy(r->body + r->len, data, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

/*
 * One request to @d as @who: a certificate name (DIR/WHO.crt, .key),
 * NULL for no client certificate, or "unix:NAME" for the local socket
 * DIR/NAME.sock ("unix:/PATH" for another). POST @body, or GET when
 * @body is NULL. Free with resp_free().
 */
static inline void request(const struct daemon *d, const char *who,
			   const char *api, const char *body, struct resp *r)
{
	char url[256], ca[512], cert[512], key[512], sock[512];
	struct curl_slist *hdr = NULL;
	CURL *c;

	memset(r, 0, sizeof(*r));
	r->rc = CURLE_FAILED_INIT;
	c = curl_easy_init();
	if (!c)
		return;
	if (who && !strncmp(who, "unix:", 5)) {
		/* The local socket: plain HTTP, the caller is our uid. */
		snprintf(url, sizeof(url), "http://localhost%s", api);
		if (who[5] == '/')
			snprintf(sock, sizeof(sock), "%s", who + 5);
		else
			path(sock, sizeof(sock), who + 5, ".sock");
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	} else {
		snprintf(url, sizeof(url), "https://[::1]:%u%s", d->port, api);
		if (who) {
			path(cert, sizeof(cert), who, ".crt");
			path(key, sizeof(key), who, ".key");
			curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
			curl_easy_setopt(c, CURLOPT_SSLKEY, key);
		}
	}
	path(ca, sizeof(ca), "ca", ".crt");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	if (body) {
		hdr = curl_slist_append(NULL, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	r->rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->code);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	r->json = json_loadb(r->body, r->len, 0, NULL);
}

static inline void resp_free(struct resp *r)
{
	json_decref(r->json);
	r->json = NULL;
}

/* The value of the Prometheus sample line "NAME VALUE" in @r, or -1. */
static inline double metric(const struct resp *r, const char *name)
{
	const char *p = r->body;
	size_t n = strlen(name);

	while ((p = strstr(p, name))) {
		if ((p == r->body || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	return -1;
}

#endif
