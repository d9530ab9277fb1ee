// SPDX-License-Identifier: GPL-2.0
/*
 * Pipelined requests: many per sendmsg(), like nft's batches.
 *
 * Acks: only the last request of a flush asks for one (NLM_F_ACK). The
 * kernel answers a refused request with an NLMSG_ERROR whether it asked
 * for an ack or not, and handles the requests of one sendmsg() in order
 * before sendmsg() returns. So the last request's ack (or error) is a
 * barrier: when it is read, every request of the flush has been handled
 * and every refusal was read before it. An accepted request costs no
 * reply at all.
 *
 * Bound: the replies wait in the socket's receive buffer until sendmsg()
 * returns, and what does not fit is dropped (the next read fails with
 * ENOBUFS). A flush therefore holds at most rcvbuf / REPLY_TRUESIZE
 * requests, room for an error reply to each (~100 with the default
 * 208 KiB), and at most BATCH_BYTES. The first flushes hold 1, 2, 4, ...
 * requests, so that input the kernel refuses from the start (no
 * permission, another prefix) stops at its first request, as it did when
 * each request waited for its ack.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>

#include "nl.h"
#include "nl_batch.h"

#define BATCH_BYTES 65536 /* requests per sendmsg(), at most */
#define BATCH_MAX 256 /* requests per flush, at most */
/*
 * Receive-buffer charge (skb truesize) of one error reply, bounded above:
 * a capped error with an extended ack of under ~700 bytes is a kmalloc-512
 * or kmalloc-1k head plus struct sk_buff.
 */
#define REPLY_TRUESIZE 2048

struct guise_nl_batch {
	struct guise_nl *nl;
	struct mnl_nlmsg_batch *mb;
	struct nlmsghdr *last; /* the request started last */
	unsigned int n; /* requests queued */
	unsigned int max; /* in this flush */
	unsigned int window; /* what the receive buffer allows */
	uint32_t seq; /* of the first queued request */
	unsigned long tags[BATCH_MAX];
	char buf[2 * BATCH_BYTES]; /* mnl_nlmsg_batch wants twice its limit */
	char rx[8192] __attribute__((aligned(NLMSG_ALIGNTO))); /* one reply */
};

/* State of one flush shared with its callback. */
struct flush {
	struct guise_nl_batch *b;
	guise_nl_batch_err_cb cb;
	void *data;
	bool done;
	int err;
};

int guise_nl_batch_open(struct guise_nl *nl, struct guise_nl_batch **bp)
{
	struct guise_nl_batch *b;
	int rcvbuf = 0;
	socklen_t len = sizeof(rcvbuf);

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->mb = mnl_nlmsg_batch_start(b->buf, BATCH_BYTES);
	if (!b->mb) {
		free(b);
		return -ENOMEM;
	}
	b->nl = nl;
	b->seq = 1;
	b->max = 1;
	if (getsockopt(mnl_socket_get_fd(guise_nl_mnl(nl)), SOL_SOCKET,
		       SO_RCVBUF, &rcvbuf, &len))
		rcvbuf = 0;
	b->window = rcvbuf / REPLY_TRUESIZE;
	if (b->window < 1)
		b->window = 1;
	if (b->window > BATCH_MAX)
		b->window = BATCH_MAX;
	*bp = b;
	return 0;
}

void guise_nl_batch_free(struct guise_nl_batch *b)
{
	if (!b)
		return;
	mnl_nlmsg_batch_stop(b->mb);
	free(b);
}

bool guise_nl_batch_full(const struct guise_nl_batch *b)
{
	return b->n >= b->max ||
	       mnl_nlmsg_batch_size(b->mb) + GUISE_NL_MSG_SIZE > BATCH_BYTES;
}

unsigned int guise_nl_batch_count(const struct guise_nl_batch *b)
{
	return b->n;
}

struct nlmsghdr *guise_nl_batch_msg(struct guise_nl_batch *b, uint8_t cmd,
				    unsigned long tag)
{
	b->last = guise_msg_start(mnl_nlmsg_batch_current(b->mb),
				  guise_nl_family(b->nl), cmd, NLM_F_REQUEST);
	b->last->nlmsg_seq = b->seq + b->n;
	b->tags[b->n] = tag;
	return b->last;
}

void guise_nl_batch_add(struct guise_nl_batch *b)
{
	/* Room was checked by guise_nl_batch_full(): never overflows. */
	mnl_nlmsg_batch_next(b->mb);
	b->n++;
}

static int flush_error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct flush *f = data;
	struct guise_nl_batch *b = f->b;
	uint32_t i = nlh->nlmsg_seq - b->seq;
	char extack[256];
	int err;

	if (i >= b->n ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nlmsgerr)) {
		f->err = -EPROTO;
		return MNL_CB_ERROR;
	}
	err = guise_nl_parse_ack(nlh, extack, sizeof(extack));
	if (err && f->cb)
		f->cb(b->tags[i], err, extack, f->data);
	if (i + 1 < b->n)
		return MNL_CB_OK;
	f->done = true;
	return MNL_CB_STOP;
}

int guise_nl_batch_flush(struct guise_nl_batch *b, guise_nl_batch_err_cb cb,
			 void *data)
{
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = flush_error_cb,
	};
	struct mnl_socket *sock = guise_nl_mnl(b->nl);
	struct flush f = { .b = b, .cb = cb, .data = data };
	ssize_t len;

	if (!b->n)
		return 0;
	b->last->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(sock, mnl_nlmsg_batch_head(b->mb),
			      mnl_nlmsg_batch_size(b->mb)) < 0)
		f.err = -errno;
	while (!f.err && !f.done) {
		errno = 0;
		len = mnl_socket_recvfrom(sock, b->rx, sizeof(b->rx));
		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0)
			f.err = -errno;
		else if (mnl_cb_run2(b->rx, len, 0, mnl_socket_get_portid(sock),
				     NULL, &f, ctl, NLMSG_MIN_TYPE) < 0 &&
			 !f.err)
			f.err = errno ? -errno : -EPROTO;
	}
	mnl_nlmsg_batch_reset(b->mb);
	b->seq += b->n;
	b->n = 0;
	if (!f.err && b->max < b->window)
		b->max = b->max * 2 < b->window ? b->max * 2 : b->window;
	return f.err;
}
