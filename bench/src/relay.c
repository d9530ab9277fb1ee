// SPDX-License-Identifier: GPL-2.0
/*
 * relay: what a receiver does today without guise. Receive guise content
 * datagrams (struct guise_content_hdr | AEAD ciphertext | 16-byte tag) on
 * [::]:PORT, joined to GROUP on IFACE; check the header, the sequence
 * (64-entry anti-replay window) and the tag with OpenSSL's EVP AEAD
 * interface; send the plaintext to [TO]:TO_PORT (the application, over
 * loopback). recvmmsg/sendmmsg batches, for SECONDS or until SIGTERM.
 *
 *   relay -a ALG -k KEYHEX -n SALTHEX -g GROUP -i IFACE [-t SECONDS]
 *         PORT TO TO_PORT
 *
 * ALG: chacha20-poly1305, aes128-gcm or aes256-gcm. Nonce = salt (4 bytes)
 * || the header's 64-bit sequence; AAD = the 16-byte header (see
 * include/uapi/linux/guise.h).
 *
 * Output, one line (sockdrops: ciphertext datagrams dropped because the
 * relay's receive buffer was full):
 *   relayed N auth_fail A replay R bad B secs S sockdrops D
 */
#include <endian.h>
#include <signal.h>
#include <stdint.h>

#include "aead.h"

#define HDR_LEN		((int)sizeof(struct guise_content_hdr))
#define TAG_LEN		AEAD_TAG_LEN
#define BATCH		64
#define WINDOW		64

struct replay {
	uint64_t top;		/* highest sequence seen + 1 */
	uint64_t bits;		/* bit i: top - 1 - i seen */
};

/* RFC 4303-style window, updated only for datagrams whose tag verified. */
static int replay_ok(const struct replay *r, uint64_t seq)
{
	if (seq >= r->top)
		return 1;
	if (r->top - seq > WINDOW)
		return 0;
	return !(r->bits & (1ULL << (r->top - 1 - seq)));
}

static void replay_mark(struct replay *r, uint64_t seq)
{
	if (seq >= r->top) {
		uint64_t shift = seq + 1 - r->top;

		r->bits = shift >= WINDOW ? 0 : r->bits << shift;
		r->bits |= 1;
		r->top = seq + 1;
	} else {
		r->bits |= 1ULL << (r->top - 1 - seq);
	}
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: relay -a ALG -k KEYHEX -n SALTHEX -g GROUP "
		"-i IFACE [-t SECONDS] PORT TO TO_PORT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static unsigned char inbuf[BATCH][2048], outbuf[BATCH][2048];
	static struct mmsghdr in[BATCH], out[BATCH];
	static struct iovec iin[BATCH], iout[BATCH];
	unsigned long long relayed = 0, auth_fail = 0, replayed = 0, bad = 0;
	const char *alg = NULL, *keyhex = NULL, *salthex = NULL;
	const char *group = NULL, *ifname = NULL;
	const struct aead_alg *aalg;
	unsigned char salt[4];
	struct replay win = { 0 };
	struct sockaddr_in6 to;
	double secs = 10, t0, t;
	int rfd, sfd, c;
	EVP_CIPHER_CTX *ctx;

	while ((c = getopt(argc, argv, "a:k:n:g:i:t:")) != -1) {
		switch (c) {
		case 'a': alg = optarg; break;
		case 'k': keyhex = optarg; break;
		case 'n': salthex = optarg; break;
		case 'g': group = optarg; break;
		case 'i': ifname = optarg; break;
		case 't': secs = parse_num("seconds", optarg, 3600); break;
		default: usage();
		}
	}
	if (argc - optind != 3 || !alg || !keyhex || !salthex || !group || !ifname)
		usage();
	aalg = aead_find(alg);
	unhex("salt", salthex, salt, sizeof(salt));
	ctx = aead_ctx(aalg, keyhex, 0);

	rfd = rx_socket("::", parse_num("port", argv[optind], 65535));
	join_group(rfd, group, ifname);
	sfd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (sfd < 0)
		die("socket: %s", strerror(errno));
	parse_addr(argv[optind + 1], parse_num("port", argv[optind + 2], 65535), &to);
	if (connect(sfd, (struct sockaddr *)&to, sizeof(to)))
		die("connect: %s", strerror(errno));
	setopt(sfd, SOL_SOCKET, SO_SNDBUF, 4 << 20, "SO_SNDBUF");
	batch_init(in, iin, &inbuf[0][0], BATCH, sizeof(inbuf[0]));
	batch_init(out, iout, &outbuf[0][0], BATCH, sizeof(outbuf[0]));
	printf("ready\n");
	fflush(stdout);

	/* SIGTERM/SIGINT end the loop (and interrupt recvmmsg): report. */
	sigaction(SIGTERM, &(struct sigaction){ .sa_handler = on_signal }, NULL);
	sigaction(SIGINT, &(struct sigaction){ .sa_handler = on_signal }, NULL);
	t0 = now_s();
	for (t = t0; t - t0 < secs && !stop; t = now_s()) {
		int n = recvmmsg(rfd, in, BATCH, MSG_WAITFORONE, NULL);
		int i, m = 0;

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			die("recvmmsg: %s", strerror(errno));
		}
		for (i = 0; i < n; i++) {
			const unsigned char *d = inbuf[i];
			const struct guise_content_hdr *h = (const void *)d;
			int len = in[i].msg_len, plen;
			unsigned char nonce[AEAD_NONCE_LEN];
			uint64_t seq;

			if (len < HDR_LEN + TAG_LEN || h->magic != GUISE_CONTENT_MAGIC ||
			    h->version != GUISE_CONTENT_VERSION ||
			    h->type != GUISE_CONTENT_TYPE_DATA || h->alg != aalg->guise_alg) {
				bad++;
				continue;
			}
			memcpy(&seq, d + 8, sizeof(seq));
			seq = be64toh(seq);
			if (!replay_ok(&win, seq)) {
				replayed++;
				continue;
			}
			memcpy(nonce, salt, 4);
			memcpy(nonce + 4, d + 8, 8);	/* the sequence, as sent */
			plen = aead_open(ctx, nonce, d, HDR_LEN, d + HDR_LEN,
					 len - HDR_LEN - TAG_LEN, d + len - TAG_LEN,
					 outbuf[m]);
			if (plen < 0) {
				auth_fail++;
				continue;
			}
			replay_mark(&win, seq);
			iout[m].iov_len = plen;
			m++;
		}
		/* Loopback takes them all (or its receiver drops them). */
		if (m > 0) {
			int sent = sendmmsg(sfd, out, m, 0);

			if (sent > 0)
				relayed += sent;
		}
	}
	printf("relayed %llu auth_fail %llu replay %llu bad %llu secs %.3f sockdrops %lld\n",
	       relayed, auth_fail, replayed, bad, now_s() - t0, socket_drops(rfd));
	EVP_CIPHER_CTX_free(ctx);
	close(rfd);
	close(sfd);
	return 0;
}
