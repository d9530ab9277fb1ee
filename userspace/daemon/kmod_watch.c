// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink controller multicasts CTRL_CMD_NEWFAMILY and
 * CTRL_CMD_DELFAMILY, in every namespace for a family like guise's that
 * is netns-aware, to its "notify" group. That group's id is GENL_ID_CTRL:
 * the controller's groups are numbered from its own family id (Linux
 * 3.10 on), which is how iproute2's `genl monitor` joins it too.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/guise.h>

#include "kmod_watch.h"
#include "log.h"

struct kmod_watch {
	struct mnl_socket *sock;
	struct event *ev;
	kmod_watch_cb cb;
	void *arg;
	/* Controller notifications are small: a burst of them fits. */
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
};

static int name_cb(const struct nlattr *attr, void *data)
{
	const char **name = data;

	if (mnl_attr_get_type(attr) == CTRL_ATTR_FAMILY_NAME &&
	    !mnl_attr_validate(attr, MNL_TYPE_NUL_STRING))
		*name = mnl_attr_get_str(attr);
	return MNL_CB_OK;
}

/* The guise family's (un)registration in one message, or nothing. */
static void watch_msg(struct kmod_watch *w, const struct nlmsghdr *nlh)
{
	const struct genlmsghdr *genl = mnl_nlmsg_get_payload(nlh);
	const char *name = NULL;

	if (nlh->nlmsg_type != GENL_ID_CTRL ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*genl) ||
	    (genl->cmd != CTRL_CMD_NEWFAMILY &&
	     genl->cmd != CTRL_CMD_DELFAMILY))
		return;
	mnl_attr_parse(nlh, sizeof(*genl), name_cb, &name);
	if (name && !strcmp(name, GUISE_FAMILY_NAME))
		w->cb(w->arg, genl->cmd == CTRL_CMD_NEWFAMILY);
}

static void watch_read(evutil_socket_t fd, short what, void *arg)
{
	struct kmod_watch *w = arg;
	const struct nlmsghdr *nlh;
	ssize_t n;
	int left;

	(void)fd;
	(void)what;
	for (;;) {
		n = mnl_socket_recvfrom(w->sock, w->buf, sizeof(w->buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				guise_warn("module watch: notifications lost");
				w->cb(w->arg, true);
				continue;
			}
			return; /* EAGAIN: drained */
		}
		left = (int)n;
		for (nlh = (const struct nlmsghdr *)w->buf;
		     mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
			watch_msg(w, nlh);
	}
}

int kmod_watch_start(struct event_base *base, kmod_watch_cb cb, void *arg,
		     struct kmod_watch **wp)
{
	struct kmod_watch *w = calloc(1, sizeof(*w));
	int group = GENL_ID_CTRL, fd, err;

	if (!w)
		return -ENOMEM;
	w->cb = cb;
	w->arg = arg;
	w->sock = mnl_socket_open(NETLINK_GENERIC);
	if (!w->sock || mnl_socket_bind(w->sock, 0, MNL_SOCKET_AUTOPID) ||
	    mnl_socket_setsockopt(w->sock, NETLINK_ADD_MEMBERSHIP, &group,
				  sizeof(group))) {
		err = -errno;
		goto fail;
	}
	fd = mnl_socket_get_fd(w->sock);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)) {
		err = -errno;
		goto fail;
	}
	w->ev = event_new(base, fd, EV_READ | EV_PERSIST, watch_read, w);
	if (!w->ev || event_add(w->ev, NULL)) {
		err = -ENOMEM;
		goto fail;
	}
	*wp = w;
	return 0;
fail:
	guise_err("module watch: %s", strerror(-err));
	kmod_watch_stop(w);
	return err;
}

void kmod_watch_stop(struct kmod_watch *w)
{
	if (!w)
		return;
	if (w->ev)
		event_free(w->ev);
	if (w->sock)
		mnl_socket_close(w->sock);
	free(w);
}
