// SPDX-License-Identifier: GPL-2.0
/*
 * udp_count: the benchmark's application. Receive UDP datagrams on
 * [ADDR]:PORT with recvmmsg(2) and count what the application really gets.
 *
 *   udp_count [-g GROUP -i IFACE] [-s SIZE] [-w WARMUP] [-t SECONDS]
 *             [-W FIRST_WAIT] ADDR PORT
 *
 * Prints "ready" once bound (and joined to GROUP on IFACE), waits up to
 * FIRST_WAIT seconds for the first datagram, lets WARMUP seconds pass
 * (uncounted), then counts for SECONDS. A datagram of exactly SIZE bytes
 * (the plaintext size) is "good"; any other size ("other", e.g. guise
 * ciphertext that was not decrypted) is counted apart and not in the rate.
 *
 * Output, one line (pps and mbps from good datagrams: payload goodput;
 * sockdrops: datagrams the socket's full buffer dropped, in all phases):
 *   good N bytes B other O secs S pps P mbps M sockdrops D
 */
#include "common.h"

static void usage(void)
{
	fprintf(stderr, "usage: udp_count [-g GROUP -i IFACE] [-s SIZE] "
		"[-w WARMUP] [-t SECONDS] [-W FIRST_WAIT] ADDR PORT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct mmsghdr msgs[BENCH_BATCH_MAX];
	static struct iovec iov[BENCH_BATCH_MAX];
	static unsigned char bufs[64][2048];
	unsigned long long good = 0, bytes = 0, other = 0;
	double secs = 5, warm = 1, first_wait = 15;
	const char *group = NULL, *ifname = NULL;
	double t, start = 0, end = 0, deadline;
	unsigned int size = 1200, batch = 64;
	int fd, c, counting = 0;

	while ((c = getopt(argc, argv, "g:i:s:w:t:W:")) != -1) {
		switch (c) {
		case 'g': group = optarg; break;
		case 'i': ifname = optarg; break;
		case 's': size = parse_num("size", optarg, 2048); break;
		case 'w': warm = parse_num("warmup", optarg, 600); break;
		case 't': secs = parse_num("seconds", optarg, 3600); break;
		case 'W': first_wait = parse_num("first wait", optarg, 600); break;
		default: usage();
		}
	}
	if (argc - optind != 2 || !group != !ifname)
		usage();

	fd = rx_socket(argv[optind], parse_num("port", argv[optind + 1], 65535));
	if (group)
		join_group(fd, group, ifname);
	batch_init(msgs, iov, &bufs[0][0], batch, sizeof(bufs[0]));
	printf("ready\n");
	fflush(stdout);

	/* Phase 1: the first datagram (or give up); phase 2: warm-up;
	 * phase 3: count until start + secs. Every phase has a deadline.
	 * A batch is counted if it was read before the end.
	 */
	deadline = now_s() + first_wait;
	for (;;) {
		int n = recvmmsg(fd, msgs, batch, MSG_WAITFORONE, NULL);
		int i;

		t = now_s();
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			die("recvmmsg: %s", strerror(errno));
		if (counting && t >= end)
			break;
		if (n > 0 && !start) {		/* the first datagram */
			start = t + warm;
			deadline = start + secs + 5;
		}
		if (start && !counting && t >= start) {
			counting = 1;	/* this batch is the first counted */
			start = t;
			end = start + secs;
		}
		for (i = 0; counting && i < n; i++) {
			if (msgs[i].msg_len == size) {
				good++;
				bytes += size;
			} else {
				other++;
			}
		}
		if (t >= deadline)
			break;
	}
	secs = counting ? t - start : 0;
	printf("good %llu bytes %llu other %llu secs %.3f pps %.0f mbps %.1f "
	       "sockdrops %lld\n", good, bytes, other, secs, secs ? good / secs : 0,
	       secs ? bytes * 8 / secs / 1e6 : 0, socket_drops(fd));
	close(fd);
	return 0;
}
