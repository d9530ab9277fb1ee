// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/guise.h>

#include "log.h"
#include "nl.h"

/* Large enough for one datagram of a dump (the kernel's own bound). */
#define NL_RX_SIZE 32768

struct guise_nl {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq;
	uint16_t family;
	uint32_t events_group;
	char extack[256];
	char rx[NL_RX_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
};

/* State of one guise_nl_talk() shared by its callbacks. */
struct talk {
	struct guise_nl *nl;
	guise_nl_reply_cb cb;
	void *data;
	int err;
	bool intr; /* a reply carried NLM_F_DUMP_INTR */
};

static struct nlmsghdr *genl_msg_start(void *buf, uint16_t family, uint8_t cmd,
				       uint8_t version, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *genl;

	nlh->nlmsg_type = family;
	nlh->nlmsg_flags = flags;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = version;
	return nlh;
}

struct nlmsghdr *guise_msg_start(void *buf, uint16_t family, uint8_t cmd,
				 uint16_t flags)
{
	return genl_msg_start(buf, family, cmd, GUISE_FAMILY_VERSION, flags);
}

/* Where extack_attr_cb() copies the extended-ack message. */
struct extack_buf {
	char *s;
	size_t size;
};

static int extack_attr_cb(const struct nlattr *attr, void *data)
{
	struct extack_buf *x = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		snprintf(x->s, x->size, "%s", mnl_attr_get_str(attr));
	return MNL_CB_OK;
}

/* Extended-ack TLVs start @off bytes into the payload of an ack or DONE. */
static void parse_extack(const struct nlmsghdr *nlh, size_t off, char *extack,
			 size_t size)
{
	struct extack_buf x = { .s = extack, .size = size };

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) ||
	    off > mnl_nlmsg_get_payload_len(nlh))
		return;
	mnl_attr_parse(nlh, off, extack_attr_cb, &x);
}

static void set_kernel_error(struct talk *t, int error)
{
	/* The kernel's refusal explains more than a local decode error. */
	if (error)
		t->err = error < 0 ? error : -error;
}

int guise_nl_parse_ack(const struct nlmsghdr *nlh, char *extack, size_t size)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*e);

	extack[0] = '\0';
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
		return -EBADMSG;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED) &&
	    e->msg.nlmsg_len > sizeof(struct nlmsghdr))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	parse_extack(nlh, off, extack, size);
	if (!e->error && extack[0])
		guise_warn("kernel: %s", extack);
	return e->error < 0 ? e->error : -e->error;
}

static int talk_error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;

	/* A truncated error (-EBADMSG) also ends the exchange. */
	set_kernel_error(t, guise_nl_parse_ack(nlh, t->nl->extack,
					       sizeof(t->nl->extack)));
	return MNL_CB_STOP;
}

static int talk_done_cb(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;
	int error;

	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(error)) {
		memcpy(&error, mnl_nlmsg_get_payload(nlh), sizeof(error));
		parse_extack(nlh, sizeof(error), t->nl->extack,
			     sizeof(t->nl->extack));
		set_kernel_error(t, error);
	}
	return MNL_CB_STOP;
}

static int talk_data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;
	int err;

	/* An interrupted dump is asked again: the rest is of no use. */
	if (!t->cb || t->err || t->intr)
		return MNL_CB_OK;
	err = t->cb(nlh, t->data);
	/* Keep reading up to the ack so the socket stays usable. */
	if (err)
		t->err = err < 0 ? err : -EINVAL;
	return MNL_CB_OK;
}

/*
 * Note and clear NLM_F_DUMP_INTR on the replies to @t in @buf: libmnl stops
 * at the first such message with EINTR, which would leave the rest of the
 * dump in the socket. The dump is read to its end instead, then reported.
 */
static void take_dump_intr(struct talk *t, void *buf, size_t len, uint32_t seq)
{
	struct nlmsghdr *nlh = buf;
	int left = (int)len;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		if (!(nlh->nlmsg_flags & NLM_F_DUMP_INTR) ||
		    !mnl_nlmsg_portid_ok(nlh, t->nl->portid) ||
		    !mnl_nlmsg_seq_ok(nlh, seq))
			continue;
		nlh->nlmsg_flags &= ~NLM_F_DUMP_INTR;
		t->intr = true;
	}
}

int guise_nl_talk(struct guise_nl *nl, struct nlmsghdr *req,
		  guise_nl_reply_cb cb, void *data)
{
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = talk_error_cb,
		[NLMSG_DONE] = talk_done_cb,
	};
	struct talk t = { .nl = nl, .cb = cb, .data = data };
	ssize_t n;
	int ret;

	/* Types below NLMSG_MIN_TYPE are control messages the kernel acks
	 * as done without doing anything: a family id of 0 (after a failed
	 * guise_nl_refresh()) must fail, not pass for success. */
	if (req->nlmsg_type < NLMSG_MIN_TYPE)
		return -ENOENT;
	nl->extack[0] = '\0';
	req->nlmsg_seq = ++nl->seq;
	if (mnl_socket_sendto(nl->sock, req, req->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(nl->sock, nl->rx, sizeof(nl->rx));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		take_dump_intr(&t, nl->rx, (size_t)n, req->nlmsg_seq);
		errno = 0;
		ret = mnl_cb_run2(nl->rx, n, req->nlmsg_seq, nl->portid,
				  talk_data_cb, &t, ctl, NLMSG_MIN_TYPE);
		if (ret == MNL_CB_ERROR)
			return errno ? -errno : -EPROTO;
	} while (ret > MNL_CB_STOP);
	if (!t.err && t.intr)
		return -EINTR;
	return t.err;
}

int guise_nl_dump(struct guise_nl *nl, struct nlmsghdr *req,
		  guise_nl_reply_cb cb, void (*restart)(void *data), void *data)
{
	int err, try;

	for (try = 1;; try++) {
		err = guise_nl_talk(nl, req, cb, data);
		if (err != -EINTR || try == GUISE_NL_DUMP_TRIES)
			return err;
		guise_info("dump interrupted by a change to the table, "
			   "dumping again (%d of %d)",
			   try + 1, GUISE_NL_DUMP_TRIES);
		if (restart)
			restart(data);
	}
}

static int mcast_group_cb(const struct nlattr *attr, void *data)
{
	struct guise_nl *nl = data;
	const struct nlattr *tb[CTRL_ATTR_MCAST_GRP_MAX + 1] = { NULL };
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, attr) {
		unsigned int type = mnl_attr_get_type(a);

		if (type <= CTRL_ATTR_MCAST_GRP_MAX)
			tb[type] = a;
	}
	if (!tb[CTRL_ATTR_MCAST_GRP_NAME] || !tb[CTRL_ATTR_MCAST_GRP_ID] ||
	    mnl_attr_validate(tb[CTRL_ATTR_MCAST_GRP_NAME],
			      MNL_TYPE_NUL_STRING) ||
	    mnl_attr_validate(tb[CTRL_ATTR_MCAST_GRP_ID], MNL_TYPE_U32))
		return MNL_CB_OK;
	if (!strcmp(mnl_attr_get_str(tb[CTRL_ATTR_MCAST_GRP_NAME]),
		    GUISE_MCGRP_EVENTS))
		nl->events_group = mnl_attr_get_u32(tb[CTRL_ATTR_MCAST_GRP_ID]);
	return MNL_CB_OK;
}

static int family_attr_cb(const struct nlattr *attr, void *data)
{
	struct guise_nl *nl = data;
	const struct nlattr *grp;

	switch (mnl_attr_get_type(attr)) {
	case CTRL_ATTR_FAMILY_ID:
		if (mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
			nl->family = mnl_attr_get_u16(attr);
		break;
	case CTRL_ATTR_MCAST_GROUPS:
		mnl_attr_for_each_nested(grp, attr) {
			mcast_group_cb(grp, nl);
		}
		break;
	}
	return MNL_CB_OK;
}

static int family_reply_cb(const struct nlmsghdr *nlh, void *data)
{
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct genlmsghdr))
		return -EBADMSG;
	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), family_attr_cb, data);
	return 0;
}

static int resolve_family(struct guise_nl *nl)
{
	char buf[256] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh;
	int err;

	nlh = genl_msg_start(buf, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1,
			     NLM_F_REQUEST | NLM_F_ACK);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, GUISE_FAMILY_NAME);
	err = guise_nl_talk(nl, nlh, family_reply_cb, nl);
	if (err)
		return err;
	return nl->family ? 0 : -EPROTO;
}

int guise_nl_open(struct guise_nl **nlp)
{
	struct guise_nl *nl;
	int one = 1;
	int err;

	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	nl->sock = mnl_socket_open(NETLINK_GENERIC);
	if (!nl->sock) {
		err = -errno;
		goto fail;
	}
	if (mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one,
				  sizeof(one)) ||
	    mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one,
				  sizeof(one)) ||
	    mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID)) {
		err = -errno;
		goto fail;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	err = resolve_family(nl);
	if (err)
		goto fail;
	*nlp = nl;
	return 0;
fail:
	guise_nl_close(nl);
	return err;
}

int guise_nl_refresh(struct guise_nl *nl)
{
	nl->family = 0;
	nl->events_group = 0;
	return resolve_family(nl);
}

void guise_nl_close(struct guise_nl *nl)
{
	if (!nl)
		return;
	if (nl->sock)
		mnl_socket_close(nl->sock);
	free(nl);
}

uint16_t guise_nl_family(const struct guise_nl *nl)
{
	return nl->family;
}

uint32_t guise_nl_events_group(const struct guise_nl *nl)
{
	return nl->events_group;
}

struct mnl_socket *guise_nl_mnl(const struct guise_nl *nl)
{
	return nl->sock;
}

const char *guise_nl_extack(const struct guise_nl *nl)
{
	return nl->extack;
}

int guise_nl_fd(const struct guise_nl *nl)
{
	return mnl_socket_get_fd(nl->sock);
}

int guise_nl_subscribe(struct guise_nl *nl)
{
	int group = (int)nl->events_group;

	if (!group)
		return -ENOENT;
	if (mnl_socket_setsockopt(nl->sock, NETLINK_ADD_MEMBERSHIP, &group,
				  sizeof(group)) < 0)
		return -errno;
	return 0;
}

int guise_nl_recv_events(struct guise_nl *nl, guise_nl_reply_cb cb, void *data)
{
	const struct nlmsghdr *nlh;
	ssize_t len;
	int len_left, err;

	len = mnl_socket_recvfrom(nl->sock, nl->rx, sizeof(nl->rx));
	if (len < 0)
		return -errno;
	len_left = (int)len;
	for (nlh = (const struct nlmsghdr *)nl->rx; mnl_nlmsg_ok(nlh, len_left);
	     nlh = mnl_nlmsg_next(nlh, &len_left)) {
		if (nlh->nlmsg_type != nl->family)
			continue;
		err = cb(nlh, data);
		if (err)
			return err;
	}
	return 0;
}
