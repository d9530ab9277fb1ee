/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the content benchmark's tools (mcast_send, udp_count,
 * relay): time, address parsing, multicast socket options, batch buffers.
 * Header-only: each tool is one .c file plus this.
 */
#ifndef GUISE_BENCH_COMMON_H
#define GUISE_BENCH_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BENCH_BATCH_MAX	256
#define BENCH_DGRAM_MAX	65536

static inline void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", program_invocation_short_name);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A non-negative number (seconds, sizes), or die. */
static inline double parse_num(const char *what, const char *s, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < 0 || v > max)
		die("bad %s '%s'", what, s);
	return v;
}

static inline void parse_addr(const char *s, unsigned int port,
			      struct sockaddr_in6 *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin6_family = AF_INET6;
	sa->sin6_port = htons(port);
	if (inet_pton(AF_INET6, s, &sa->sin6_addr) != 1)
		die("bad IPv6 address '%s'", s);
}

static inline unsigned int ifindex_of(const char *ifname)
{
	unsigned int idx = if_nametoindex(ifname);

	if (!idx)
		die("no interface '%s'", ifname);
	return idx;
}

static inline void setopt(int fd, int level, int name, int val, const char *what)
{
	if (setsockopt(fd, level, name, &val, sizeof(val)))
		die("setsockopt %s: %s", what, strerror(errno));
}

/* Join @group on @ifname (receivers). */
static inline void join_group(int fd, const char *group, const char *ifname)
{
	struct ipv6_mreq mr;

	memset(&mr, 0, sizeof(mr));
	if (inet_pton(AF_INET6, group, &mr.ipv6mr_multiaddr) != 1)
		die("bad group '%s'", group);
	mr.ipv6mr_interface = ifindex_of(ifname);
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof(mr)))
		die("join %s on %s: %s", group, ifname, strerror(errno));
}

/*
 * A UDP socket bound to [@addr]:@port with a big receive buffer (the same
 * for every case) and a short receive timeout, so loops can watch the
 * clock.
 */
static inline int rx_socket(const char *addr, unsigned int port)
{
	struct timeval tv = { .tv_usec = 100000 };
	struct sockaddr_in6 sa;
	int fd;

	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	setopt(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
	/* FORCE: root may exceed rmem_max; plain SO_RCVBUF otherwise. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &(int){ 4 << 20 },
		       sizeof(int)))
		setopt(fd, SOL_SOCKET, SO_RCVBUF, 4 << 20, "SO_RCVBUF");
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		die("SO_RCVTIMEO: %s", strerror(errno));
	parse_addr(addr, port, &sa);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("bind [%s]:%u: %s", addr, port, strerror(errno));
	return fd;
}

/*
 * Datagrams the kernel dropped because @fd's receive buffer was full: the
 * "drops" column of /proc/net/udp6 (of this process's netns) for the
 * socket's inode; -1 if not found.
 */
static inline long long socket_drops(int fd)
{
	unsigned long inode, ino;
	long long drops = -1, d;
	char line[512];
	struct stat st;
	FILE *f;

	if (fstat(fd, &st))
		return -1;
	ino = st.st_ino;
	f = fopen("/proc/net/udp6", "r");
	while (f && fgets(line, sizeof(line), f)) {
		/* sl local remote st tx:rx tr:when retr uid timeout inode
		 * ref pointer drops
		 */
		if (sscanf(line, "%*s %*s %*s %*s %*s %*s %*s %*s %*s %lu %*s %*s %lld",
			   &inode, &d) == 2 && inode == ino) {
			drops = d;
			break;
		}
	}
	if (f)
		fclose(f);
	return drops;
}

/* Point @n mmsghdrs at @n buffers of @size bytes each. */
static inline void batch_init(struct mmsghdr *m, struct iovec *iov,
			      unsigned char *bufs, unsigned int n, size_t size)
{
	unsigned int i;

	memset(m, 0, n * sizeof(*m));
	for (i = 0; i < n; i++) {
		iov[i].iov_base = bufs + i * size;
		iov[i].iov_len = size;
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
}

#endif /* GUISE_BENCH_COMMON_H */
