// SPDX-License-Identifier: GPL-2.0
/*
 * mcast_send: the content benchmark's sender.
 *
 * Send: SIZE-byte UDP payloads to [DST]:PORT through IFACE, in sendmmsg(2)
 * batches, as fast as the kernel takes them, for SECONDS:
 *
 *   mcast_send [-f FILE] -i IFACE [-s SIZE] [-b BATCH] [-t SECONDS] DST PORT
 *
 *   without -f  the same plaintext payload every time. Whatever the kernel
 *               does on the way out (a guise tx key, an ESP SA) runs in
 *               this process's context: the send-side benchmark.
 *   -f FILE     the datagrams of FILE (made by -o below), in order: the
 *               receiver decrypts, the sender only sends bytes, so it can
 *               outrun a receive path that decrypts. Stops early when
 *               FILE runs out ("exhausted 1").
 *
 * Make FILE: COUNT datagrams encrypted with OpenSSL, before any clock runs:
 *
 *   mcast_send -o FILE -m guise|esp -a ALG -k KEYHEX -n SALTHEX -c COUNT
 *              [-K KEYID] [-S SPI -A SRC] [-s SIZE] DST PORT
 *
 *   -m guise  guise's content format (header, ciphertext, tag; key id
 *             KEYID, sequence 0, 1, ...), sent on a UDP socket
 *   -m esp    ESP transport mode (RFC 4303: SPI, 32-bit sequence from 1,
 *             8-byte explicit IV, AAD = SPI || sequence, nonce = SALT ||
 *             IV; RFC 4106 / RFC 7634) around a UDP datagram SRC ->
 *             [DST]:PORT with its checksum, sent on a raw IPPROTO_ESP
 *             socket bound to SRC
 *
 * A key or SA installed afresh accepts the same FILE again (new replay
 * state), so one FILE serves every sample.
 *
 * The sender is flow-controlled by its send buffer: a datagram charges it
 * until the receiver's IPv6 input takes it off the input queue, so a
 * slower receive path slows the sender rather than overflowing the queue.
 * UDP blocks on a full buffer; a raw socket fails with ENOBUFS instead:
 * then the sender waits for room and retries the same datagram.
 *
 * Output, one line (bytes, mbps: the SIZE-byte payload; cpuN: that CPU's
 * busy percentage over the send, from /proc/stat):
 *   sent N bytes B errors E secs S pps P mbps M exhausted 0|1
 *   last_error ERRNO|none cpu0 C0 cpu1 C1
 */
#include <endian.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "aead.h"

#define ESP_HDR_LEN	8	/* SPI, sequence */
#define ESP_IV_LEN	8
#define UDP_HDR_LEN	8
#define SLOT		1280	/* 2-byte length + datagram, per record */
#define FILE_MAGIC	"GBENCH1"

enum mode { MODE_PLAIN, MODE_GUISE, MODE_ESP };

struct file_hdr {		/* FILE: this, then COUNT SLOT-byte records */
	char magic[8];
	uint32_t mode;
	uint32_t size;
	uint64_t count;
	struct in6_addr src;	/* ESP: the source the checksum covers */
	unsigned char pad[24];
};

struct opts {
	enum mode mode;
	const char *ifname, *alg, *keyhex, *salthex, *src, *in, *out;
	unsigned int size, batch, keyid;
	unsigned long count;
	uint32_t spi;
	double secs;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: mcast_send [-f FILE] -i IFACE [-s SIZE] [-b BATCH] [-t SECONDS] DST PORT\n"
		"       mcast_send -o FILE -m guise|esp -a ALG -k KEYHEX -n SALTHEX -c COUNT\n"
		"                  [-K KEYID] [-S SPI -A SRC] [-s SIZE] DST PORT\n");
	exit(2);
}

/* The recognisable plaintext every datagram carries. */
static void fill_payload(unsigned char *p, unsigned int size)
{
	static const char pat[] = "guise-bench-plaintext:";
	unsigned int i;

	for (i = 0; i < size; i++)
		p[i] = pat[i % (sizeof(pat) - 1)];
}

/* RFC 768/8200 checksum of the UDP datagram @u (@len bytes). */
static uint16_t udp6_checksum(const struct in6_addr *src,
			      const struct in6_addr *dst,
			      const unsigned char *u, unsigned int len)
{
	uint32_t sum = 0;
	unsigned int i;

	for (i = 0; i < 16; i += 2) {
		sum += (src->s6_addr[i] << 8) | src->s6_addr[i + 1];
		sum += (dst->s6_addr[i] << 8) | dst->s6_addr[i + 1];
	}
	sum += len >> 16;
	sum += len & 0xffff;
	sum += IPPROTO_UDP;
	for (i = 0; i + 1 < len; i += 2)
		sum += (u[i] << 8) | u[i + 1];
	if (len & 1)
		sum += u[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	return sum ? sum : 0xffff;
}

/* Datagram @i in guise's content format into @out; its length. */
static size_t make_guise(EVP_CIPHER_CTX *ctx, const struct opts *o,
			 const struct aead_alg *alg, const unsigned char *salt,
			 const unsigned char *pt, uint64_t i, unsigned char *out)
{
	struct guise_content_hdr h = {
		.magic = GUISE_CONTENT_MAGIC,
		.version = GUISE_CONTENT_VERSION,
		.type = GUISE_CONTENT_TYPE_DATA,
		.alg = alg->guise_alg,
		.key_id = htonl(o->keyid),
		.seq = htobe64(i),
	};
	unsigned char nonce[AEAD_NONCE_LEN];

	memcpy(out, &h, sizeof(h));
	memcpy(nonce, salt, 4);
	memcpy(nonce + 4, &h.seq, 8);
	aead_seal(ctx, nonce, out, sizeof(h), pt, o->size, out + sizeof(h),
		  out + sizeof(h) + o->size);
	return sizeof(h) + o->size + AEAD_TAG_LEN;
}

/* ESP packet @i (sequence i + 1) around the UDP datagram @udp into @out. */
static size_t make_esp(EVP_CIPHER_CTX *ctx, const struct opts *o,
		       const unsigned char *salt, const unsigned char *udp,
		       unsigned int udplen, uint64_t i, unsigned char *out,
		       unsigned char *scratch)
{
	uint32_t spi = htonl(o->spi), seq = htonl((uint32_t)(i + 1));
	uint64_t iv = htobe64(i + 1);
	unsigned char nonce[AEAD_NONCE_LEN];
	unsigned int pad, j, len;

	/* Payload, padding 1, 2, ..., pad length, next header; 4-aligned. */
	pad = (4 - (udplen + 2) % 4) % 4;
	memcpy(scratch, udp, udplen);
	for (j = 0; j < pad; j++)
		scratch[udplen + j] = j + 1;
	scratch[udplen + pad] = pad;
	scratch[udplen + pad + 1] = IPPROTO_UDP;
	len = udplen + pad + 2;

	memcpy(out, &spi, 4);
	memcpy(out + 4, &seq, 4);
	memcpy(out + ESP_HDR_LEN, &iv, ESP_IV_LEN);
	memcpy(nonce, salt, 4);
	memcpy(nonce + 4, &iv, 8);
	aead_seal(ctx, nonce, out, ESP_HDR_LEN, scratch, len,
		  out + ESP_HDR_LEN + ESP_IV_LEN,
		  out + ESP_HDR_LEN + ESP_IV_LEN + len);
	return ESP_HDR_LEN + ESP_IV_LEN + len + AEAD_TAG_LEN;
}

/* -o: write o->count encrypted datagrams to o->out. */
static int make_file(const struct opts *o, const struct sockaddr_in6 *dst)
{
	const struct aead_alg *alg = aead_find(o->alg);
	EVP_CIPHER_CTX *ctx = aead_ctx(alg, o->keyhex, 1);
	unsigned char salt[4], udp[SLOT], rec[SLOT], scratch[SLOT];
	struct file_hdr fh = { .magic = FILE_MAGIC, .mode = o->mode,
			       .size = o->size, .count = o->count };
	unsigned int udplen = UDP_HDR_LEN + o->size;
	unsigned long i;
	double t0 = now_s();
	FILE *f;

	if (udplen + ESP_HDR_LEN + ESP_IV_LEN + 4 + AEAD_TAG_LEN + 2 > SLOT)
		die("-s %u is too big for a %d-byte record", o->size, SLOT);
	unhex("salt", o->salthex, salt, sizeof(salt));
	fill_payload(udp + UDP_HDR_LEN, o->size);
	if (o->mode == MODE_ESP) {	/* the UDP header inside ESP */
		uint16_t port = ntohs(dst->sin6_port), sum;

		if (inet_pton(AF_INET6, o->src, &fh.src) != 1)
			die("bad source '%s'", o->src);
		udp[0] = udp[2] = port >> 8;	/* source port = PORT */
		udp[1] = udp[3] = port & 0xff;
		udp[4] = udplen >> 8;
		udp[5] = udplen & 0xff;
		udp[6] = udp[7] = 0;
		sum = udp6_checksum(&fh.src, &dst->sin6_addr, udp, udplen);
		udp[6] = sum >> 8;
		udp[7] = sum & 0xff;
	}

	f = fopen(o->out, "w");
	if (!f || fwrite(&fh, sizeof(fh), 1, f) != 1)
		die("cannot write %s: %s", o->out, strerror(errno));
	for (i = 0; i < o->count; i++) {
		uint16_t len;

		memset(rec, 0, sizeof(rec));
		if (o->mode == MODE_GUISE)
			len = make_guise(ctx, o, alg, salt, udp + UDP_HDR_LEN, i, rec + 2);
		else
			len = make_esp(ctx, o, salt, udp, udplen, i, rec + 2, scratch);
		memcpy(rec, &len, sizeof(len));
		if (fwrite(rec, SLOT, 1, f) != 1)
			die("cannot write %s: %s", o->out, strerror(errno));
	}
	if (fclose(f))
		die("cannot write %s: %s", o->out, strerror(errno));
	EVP_CIPHER_CTX_free(ctx);
	printf("generated %lu %s datagrams in %.1f s\n", o->count,
	       o->mode == MODE_GUISE ? "guise" : "esp", now_s() - t0);
	return 0;
}

/* -f: map FILE; its header, records after it. */
static const struct file_hdr *map_file(const char *path, size_t *maplen)
{
	const struct file_hdr *fh;
	struct stat st;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st))
		die("cannot open %s: %s", path, strerror(errno));
	if ((size_t)st.st_size < sizeof(*fh))
		die("%s: too short", path);
	fh = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (fh == MAP_FAILED)
		die("cannot map %s: %s", path, strerror(errno));
	close(fd);
	if (memcmp(fh->magic, FILE_MAGIC, sizeof(FILE_MAGIC)) ||
	    sizeof(*fh) + fh->count * SLOT > (size_t)st.st_size)
		die("%s: not a mcast_send file", path);
	*maplen = st.st_size;
	return fh;
}

/* Busy percentage of CPUs 0 and 1 between two /proc/stat readings. */
static void cpu_ticks(unsigned long long total[2], unsigned long long idle[2])
{
	char line[512];
	FILE *f = fopen("/proc/stat", "r");

	memset(total, 0, 2 * sizeof(*total));
	memset(idle, 0, 2 * sizeof(*idle));
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long v[8] = { 0 };
		int cpu;

		if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu,
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) < 5 ||
		    cpu < 0 || cpu > 1)
			continue;
		total[cpu] = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
		idle[cpu] = v[3] + v[4];	/* idle + iowait */
	}
	if (f)
		fclose(f);
}

int main(int argc, char **argv)
{
	static struct mmsghdr msgs[BENCH_BATCH_MAX];
	static struct iovec iov[BENCH_BATCH_MAX];
	struct opts o = { .size = 1200, .batch = 64, .secs = 5, .keyid = 1 };
	unsigned long long sent = 0, errors = 0, tot0[2], idl0[2], tot1[2], idl1[2];
	const struct file_hdr *fh = NULL;
	const unsigned char *recs = NULL;
	int fd, c, exhausted = 0, last_errno = 0;
	unsigned char payload[SLOT];
	struct sockaddr_in6 dst;
	unsigned long next = 0;
	size_t maplen = 0;
	unsigned int i;
	double t0, t1;

	while ((c = getopt(argc, argv, "m:i:s:b:t:c:a:k:n:K:S:A:o:f:")) != -1) {
		switch (c) {
		case 'm':
			if (!strcmp(optarg, "guise"))
				o.mode = MODE_GUISE;
			else if (!strcmp(optarg, "esp"))
				o.mode = MODE_ESP;
			else
				usage();
			break;
		case 'i': o.ifname = optarg; break;
		case 's': o.size = parse_num("size", optarg, SLOT); break;
		case 'b': o.batch = parse_num("batch", optarg, BENCH_BATCH_MAX); break;
		case 't': o.secs = parse_num("seconds", optarg, 3600); break;
		case 'c': o.count = parse_num("count", optarg, 1e8); break;
		case 'a': o.alg = optarg; break;
		case 'k': o.keyhex = optarg; break;
		case 'n': o.salthex = optarg; break;
		case 'K': o.keyid = parse_num("key id", optarg, 4294967295.0); break;
		case 'S': o.spi = strtoul(optarg, NULL, 0); break;
		case 'A': o.src = optarg; break;
		case 'o': o.out = optarg; break;
		case 'f': o.in = optarg; break;
		default: usage();
		}
	}
	if (argc - optind != 2 || !o.batch || !o.size)
		usage();
	parse_addr(argv[optind], parse_num("port", argv[optind + 1], 65535), &dst);

	if (o.out) {
		if (o.mode == MODE_PLAIN || !o.alg || !o.keyhex || !o.salthex || !o.count)
			die("-o needs -m guise|esp, -a, -k, -n and -c");
		if (o.mode == MODE_ESP && (!o.spi || !o.src))
			die("-m esp needs -S SPI and -A SRC");
		return make_file(&o, &dst);
	}

	if (!o.in && o.mode != MODE_PLAIN)
		die("-m goes with -o (sending takes the mode from the file)");
	if (o.in) {
		fh = map_file(o.in, &maplen);
		recs = (const unsigned char *)(fh + 1);
		o.mode = fh->mode;
		o.size = fh->size;
	}
	if (o.mode == MODE_ESP) {
		struct sockaddr_in6 src = { .sin6_family = AF_INET6, .sin6_addr = fh->src };

		fd = socket(AF_INET6, SOCK_RAW, IPPROTO_ESP);
		if (fd >= 0 && bind(fd, (struct sockaddr *)&src, sizeof(src)))
			die("bind to the file's source: %s", strerror(errno));
		dst.sin6_port = 0;	/* raw: no port */
	} else {
		fd = socket(AF_INET6, SOCK_DGRAM, 0);
	}
	if (fd < 0)
		die("socket: %s", strerror(errno));
	/* About 800 datagrams in flight either way (under the input queue's
	 * 1000), so a wake-up of the sender comes long before the receive
	 * path runs dry: UDP blocks at SNDBUF (the kernel doubles the value
	 * set), a raw socket fails at twice that.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE,
		       &(int){ o.mode == MODE_ESP ? 512 << 10 : 1 << 20 }, sizeof(int)))
		setopt(fd, SOL_SOCKET, SO_SNDBUF, 1 << 20, "SO_SNDBUF");
	if (IN6_IS_ADDR_MULTICAST(&dst.sin6_addr)) {
		if (!o.ifname)
			die("a multicast destination needs -i IFACE");
		setopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex_of(o.ifname),
		       "IPV6_MULTICAST_IF");
		setopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 1, "IPV6_MULTICAST_HOPS");
		setopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0, "IPV6_MULTICAST_LOOP");
	}
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)))
		die("connect: %s", strerror(errno));

	fill_payload(payload, o.size);
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < o.batch; i++) {
		iov[i].iov_base = payload;
		iov[i].iov_len = o.size;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}

	cpu_ticks(tot0, idl0);
	t0 = now_s();
	for (t1 = t0; t1 - t0 < o.secs; t1 = now_s()) {
		unsigned int n = o.batch;
		int r;

		if (recs) {	/* the next records of FILE */
			if (next >= fh->count) {
				exhausted = 1;
				break;
			}
			if (n > fh->count - next)
				n = fh->count - next;
			for (i = 0; i < n; i++) {
				const unsigned char *rec = recs + (next + i) * SLOT;
				uint16_t len;

				memcpy(&len, rec, sizeof(len));
				iov[i].iov_base = (void *)(rec + 2);
				iov[i].iov_len = len;
			}
		}
		r = sendmmsg(fd, msgs, n, 0);
		if (r < 0) {
			errors++;
			last_errno = errno;
			if (errno != ENOBUFS && errno != EPERM && errno != EAGAIN &&
			    errno != ECONNREFUSED && errno != EINTR)
				die("sendmmsg: %s", strerror(errno));
			if (errno == ENOBUFS || errno == EAGAIN)
				poll(&(struct pollfd){ .fd = fd, .events = POLLOUT }, 1, 10);
			continue;	/* the same datagrams again */
		}
		if ((unsigned int)r < n)
			errors++;
		sent += r;
		next += r;
	}
	t1 = now_s() - t0;
	cpu_ticks(tot1, idl1);
	printf("sent %llu bytes %llu errors %llu secs %.3f pps %.0f mbps %.1f "
	       "exhausted %d last_error %s", sent, sent * o.size, errors, t1,
	       sent / t1, sent * o.size * 8 / t1 / 1e6, exhausted,
	       last_errno ? strerrorname_np(last_errno) : "none");
	for (i = 0; i < 2; i++) {
		unsigned long long t = tot1[i] - tot0[i], idle = idl1[i] - idl0[i];

		printf(" cpu%u %.0f", i, t ? 100.0 * (t - idle) / t : 0.0);
	}
	printf("\n");
	if (fh)
		munmap((void *)fh, maplen);
	close(fd);
	return 0;
}
