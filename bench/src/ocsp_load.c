// SPDX-License-Identifier: GPL-2.0
/*
 * OCSP load generator, made to cost the client as little as possible per
 * request so that on a small shared machine the servers, not the client,
 * set the rate: one epoll loop per thread (edge-triggered, one epoll_ctl
 * per connection), CONNS connections in flight, the HTTP request encoded
 * once before the run, responses framed by http-parser (the library; no
 * parsing of our own).
 *
 *   ocsp_load [-c CONNS] [-t THREADS] [-k] [-g] [-p PID]... URL REQFILE SECS
 *
 * Default: a new connection per request, POST /path HTTP/1.0 with the DER
 * in REQFILE (what `openssl ocsp -url` sends), the client closing once the
 * answer is complete. -k: HTTP/1.1 keep-alive, the next request on the same
 * connection as long as the server keeps it. -g: RFC 5019 GET (the caller
 * appends the url-encoded base64 of the request to URL; REQFILE is then
 * unused). An answer counts when its status is 200 and its body is not
 * empty. -p: CPU time (user + system, every thread, from
 * /proc/PID/task/TID/schedstat) that these processes used during the run.
 *
 * Prints one line: rate=responses/s answers= failures= conns= secs=
 * srv_ns= (server CPU ns) cli_ns= (this process's CPU ns).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <http_parser.h>

#define MAX_PIDS 16

struct conn {
	int fd;
	bool sent; /* the current request is written */
	size_t body;
	bool done; /* the current answer is complete */
	http_parser p;
};

static struct sockaddr_storage dst;
static socklen_t dst_len;
static char *request;
static size_t request_len;
static bool keep;
static double deadline;
static long total, failed, connects;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	(void)at;
	((struct conn *)p->data)->body += len;
	return 0;
}

static int on_complete(http_parser *p)
{
	((struct conn *)p->data)->done = true;
	return 0;
}

static const http_parser_settings settings = {
	.on_body = on_body,
	.on_message_complete = on_complete,
};

/* Open @c's connection and send its request when the socket allows. */
static int conn_open(int ep, struct conn *c, long *conns)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET,
				  .data.ptr = c };

	c->fd = socket(dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return -1;
	/* No TCP_NODELAY: each request is one write, Nagle never waits. */
	if (connect(c->fd, (struct sockaddr *)&dst, dst_len) &&
	    errno != EINPROGRESS) {
		close(c->fd);
		return -1;
	}
	(*conns)++;
	c->sent = false;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev)) {
		close(c->fd);
		return -1;
	}
	return 0;
}

static void answer_start(struct conn *c)
{
	http_parser_init(&c->p, HTTP_RESPONSE);
	c->p.data = c;
	c->body = 0;
	c->done = false;
}

/* Drive @c after an event; returns false when its connection is over. */
static bool conn_io(struct conn *c, long *ok, long *bad)
{
	char buf[16384];
	ssize_t n;

	for (;;) {
		if (!c->sent) {
			n = write(c->fd, request, request_len);
			if (n < 0 && errno == EAGAIN)
				return true;
			if (n != (ssize_t)request_len) {
				(*bad)++;
				return false;
			}
			c->sent = true;
			answer_start(c);
			/* The answer's arrival is the next EPOLLIN edge. */
			return true;
		}
		n = read(c->fd, buf, sizeof(buf));
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n < 0)
			n = 0;
		http_parser_execute(&c->p, &settings, buf, (size_t)n);
		if (!c->done) {
			if (n && !HTTP_PARSER_ERRNO(&c->p))
				continue;
			(*bad)++; /* closed or garbled before the end */
			return false;
		}
		if (c->p.status_code == 200 && c->body > 0)
			(*ok)++;
		else
			(*bad)++;
		if (!keep || !http_should_keep_alive(&c->p) ||
		    now() >= deadline)
			return false;
		c->sent = false; /* the next request, same connection */
	}
}

static void *run(void *arg)
{
	int n_conns = *(int *)arg, ep = epoll_create1(0), i, n;
	struct conn *cs = calloc((size_t)n_conns, sizeof(*cs));
	struct epoll_event ev[64];
	long ok = 0, bad = 0, conns = 0, open_now = 0;

	if (ep < 0 || !cs)
		return NULL;
	for (i = 0; i < n_conns; i++)
		if (!conn_open(ep, &cs[i], &conns))
			open_now++;
	while (open_now > 0) {
		n = epoll_wait(ep, ev, 64, 1000);
		for (i = 0; i < n; i++) {
			struct conn *c = ev[i].data.ptr;

			if (conn_io(c, &ok, &bad))
				continue;
			close(c->fd);
			open_now--;
			if (now() < deadline && !conn_open(ep, c, &conns))
				open_now++;
		}
		if (n == 0 && now() > deadline + 5)
			break; /* a server that stopped answering */
	}
	pthread_mutex_lock(&lock);
	total += ok;
	failed += bad;
	connects += conns;
	pthread_mutex_unlock(&lock);
	free(cs);
	close(ep);
	return NULL;
}

/* CPU time of every thread of @pids (nanoseconds). */
static long long pids_cpu_ns(const int *pids, int n)
{
	long long sum = 0, ns;
	char path[64];
	struct dirent *e;
	FILE *fp;
	DIR *dir;
	int i;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/proc/%d/task", pids[i]);
		dir = opendir(path);
		while (dir && (e = readdir(dir))) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path),
				 "/proc/%d/task/%.16s/schedstat", pids[i],
				 e->d_name);
			fp = fopen(path, "r");
			if (fp && fscanf(fp, "%lld", &ns) == 1)
				sum += ns;
			if (fp)
				fclose(fp);
		}
		if (dir)
			closedir(dir);
	}
	return sum;
}

static long long self_cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

/* @url's address and the request line and headers for it. */
static int setup(const char *url, const char *reqfile, bool get)
{
	static char der[65536];
	struct http_parser_url u;
	struct addrinfo *ai, hints = { .ai_socktype = SOCK_STREAM };
	char host[256], port[8];
	const char *path;
	size_t der_len = 0, cap;
	FILE *fp;

	http_parser_url_init(&u);
	if (http_parser_parse_url(url, strlen(url), 0, &u) ||
	    !(u.field_set & (1 << UF_HOST)) ||
	    !(u.field_set & (1 << UF_PATH)) ||
	    u.field_data[UF_HOST].len >= sizeof(host))
		return -1;
	snprintf(host, sizeof(host), "%.*s", (int)u.field_data[UF_HOST].len,
		 url + u.field_data[UF_HOST].off);
	snprintf(port, sizeof(port), "%u", u.port ? u.port : 80);
	if (getaddrinfo(host, port, &hints, &ai))
		return -1;
	memcpy(&dst, ai->ai_addr, ai->ai_addrlen);
	dst_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	path = url + u.field_data[UF_PATH].off;
	if (!get) {
		fp = fopen(reqfile, "rb");
		if (!fp)
			return -1;
		der_len = fread(der, 1, sizeof(der), fp);
		fclose(fp);
	}
	cap = strlen(path) + der_len + 512;
	request = malloc(cap);
	if (!request)
		return -1;
	request_len = (size_t)snprintf(
		request, cap, "%s %s HTTP/%s\r\nHost: %s:%s\r\n%s",
		get ? "GET" : "POST", path, keep ? "1.1" : "1.0", host, port,
		keep ? "Connection: keep-alive\r\n" : "");
	if (!get)
		request_len += (size_t)snprintf(
			request + request_len, cap - request_len,
			"Content-Type: application/ocsp-request\r\n"
			"Content-Length: %zu\r\n",
			der_len);
	request_len += (size_t)snprintf(request + request_len,
					cap - request_len, "\r\n");
	memcpy(request + request_len, der, der_len);
	request_len += der_len;
	return 0;
}

int main(int argc, char **argv)
{
	int conns = 16, threads = 1, pids[MAX_PIDS], n_pids = 0, i, opt;
	int per[64];
	long long srv0, cli0;
	pthread_t th[64];
	bool get = false;
	double t0, t1;

	while ((opt = getopt(argc, argv, "c:t:kgp:")) != -1) {
		switch (opt) {
		case 'c':
			conns = atoi(optarg);
			break;
		case 't':
			threads = atoi(optarg);
			break;
		case 'k':
			keep = true;
			break;
		case 'g':
			get = true;
			break;
		case 'p':
			if (n_pids < MAX_PIDS)
				pids[n_pids++] = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (argc - optind != 3 || threads < 1 || threads > 64 ||
	    conns < threads || setup(argv[optind], argv[optind + 1], get)) {
		fprintf(stderr, "usage: ocsp_load [-c CONNS] [-t THREADS] [-k] "
				"[-g] [-p PID]... URL REQFILE SECONDS\n");
		return 2;
	}
	srv0 = pids_cpu_ns(pids, n_pids);
	cli0 = self_cpu_ns();
	t0 = now();
	deadline = t0 + atof(argv[optind + 2]);
	for (i = 0; i < threads; i++) {
		per[i] = conns / threads + (i < conns % threads);
		pthread_create(&th[i], NULL, run, &per[i]);
	}
	for (i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	t1 = now();
	printf("rate=%.0f answers=%ld failures=%ld conns=%ld secs=%.3f "
	       "srv_ns=%lld cli_ns=%lld\n",
	       total / (t1 - t0), total, failed, connects, t1 - t0,
	       pids_cpu_ns(pids, n_pids) - srv0, self_cpu_ns() - cli0);
	return 0;
}
