// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "log.h"
#include "nl.h"

/* One request; a dump the kernel marks interrupted is done again, after
 * @restart(@data). */
static int kernel_request(struct kernel *k, uint8_t cmd, uint16_t flags,
			  const struct guise_lease *l, guise_nl_reply_cb cb,
			  void (*restart)(void *data), void *data)
{
	char buf[GUISE_NL_MSG_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh;

	nlh = guise_msg_start(buf, guise_nl_family(k->nl), cmd,
			      NLM_F_REQUEST | NLM_F_ACK | flags);
	if (l && guise_lease_put(nlh, sizeof(buf), l))
		return -EMSGSIZE;
	if (flags & NLM_F_DUMP)
		return guise_nl_dump(k->nl, nlh, cb, restart, data);
	return guise_nl_talk(k->nl, nlh, cb, data);
}

int kernel_install(struct kernel *k, const struct lease_rec *l,
		   uint32_t lifetime)
{
	char v[INET6_ADDRSTRLEN];
	struct guise_lease gl;
	int err;

	memset(&gl, 0, sizeof(gl));
	gl.real = l->real;
	gl.peer = l->peer;
	gl.virt = l->virt;
	gl.flags = l->flags ? l->flags :
			      GUISE_LEASE_F_EGRESS | GUISE_LEASE_F_INGRESS;
	gl.lifetime = lifetime;
	guise_lease_mark(&gl, GUISE_A_LEASE_REAL);
	guise_lease_mark(&gl, GUISE_A_LEASE_PEER);
	guise_lease_mark(&gl, GUISE_A_LEASE_VIRT);
	guise_lease_mark(&gl, GUISE_A_LEASE_FLAGS);
	guise_lease_mark(&gl, GUISE_A_LEASE_LIFETIME);
	err = kernel_request(k, GUISE_CMD_LEASE_NEW, 0, &gl, NULL, NULL, NULL);
	if (err)
		guise_err("kernel: install %s: %s%s%s",
			  inet_ntop(AF_INET6, &l->virt, v, sizeof(v)),
			  strerror(-err), guise_nl_extack(k->nl)[0] ? ": " : "",
			  guise_nl_extack(k->nl));
	return err;
}

int kernel_remove(struct kernel *k, const struct in6_addr *virt)
{
	char v[INET6_ADDRSTRLEN];
	struct guise_lease gl;
	int err;

	memset(&gl, 0, sizeof(gl));
	gl.virt = *virt;
	guise_lease_mark(&gl, GUISE_A_LEASE_VIRT);
	err = kernel_request(k, GUISE_CMD_LEASE_DEL, 0, &gl, NULL, NULL, NULL);
	if (err == -ENOENT)
		return 0;
	if (err)
		guise_err("kernel: remove %s: %s%s%s",
			  inet_ntop(AF_INET6, virt, v, sizeof(v)),
			  strerror(-err), guise_nl_extack(k->nl)[0] ? ": " : "",
			  guise_nl_extack(k->nl));
	return err;
}

struct dump {
	struct guise_lease *v;
	size_t n, cap;
};

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump *d = data;
	struct guise_lease *nv;

	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 64;
		nv = reallocarray(d->v, d->cap, sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		d->v = nv;
	}
	if (guise_lease_parse(nlh, &d->v[d->n]))
		return -EPROTO;
	d->n++;
	return 0;
}

/* The dump was interrupted: it starts over. */
static void dump_restart(void *data)
{
	struct dump *d = data;

	d->n = 0;
}

int kernel_dump(struct kernel *k, struct guise_lease **out, size_t *n)
{
	struct dump d = { 0 };
	int err;

	err = kernel_request(k, GUISE_CMD_LEASE_GET, NLM_F_DUMP, NULL, dump_cb,
			     dump_restart, &d);
	if (err) {
		if (err == -EINTR)
			guise_err(
				"kernel: lease dump: the table kept changing (%d dumps interrupted)",
				GUISE_NL_DUMP_TRIES);
		else
			guise_err("kernel: lease dump: %s", strerror(-err));
		free(d.v);
		return err;
	}
	*out = d.v;
	*n = d.n;
	return 0;
}
