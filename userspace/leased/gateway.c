// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>

#include "gateway.h"
#include "kernel.h"
#include "lease.h"
#include "log.h"
#include "nl.h"
#include "request.h"

/* Events handled per wake-up of the loop, so the API stays responsive. */
#define GATEWAY_BATCH 64

struct gateway {
	struct leased *d;
	struct guise_nl *nl;
	struct event *ev;
};

/* After the commit: re-install what the kernel lost, or log why not. */
static void gateway_rent_done(struct leased *d, struct lease_op *op)
{
	char r[INET6_ADDRSTRLEN], p[INET6_ADDRSTRLEN];
	int64_t left;

	if (op->err == -EEXIST) {
		/* The store has it and the kernel lost it. */
		left = op->l.expires - time(NULL);
		if (left > 0 && d->kernel &&
		    kernel_install(d->kernel, &op->l, (uint32_t)left))
			d->m.kernel_errors++;
	} else if (op->err) {
		guise_warn("gateway: no lease for %s -> %s: %s",
			   inet_ntop(AF_INET6, &op->real, r, sizeof(r)),
			   inet_ntop(AF_INET6, &op->addr, p, sizeof(p)),
			   strerror(-op->err));
	}
	free(op);
}

/* Rent for one miss (installed once committed). */
static void gateway_miss(struct gateway *gw, const struct in6_addr *real,
			 const struct in6_addr *peer)
{
	struct leased *d = gw->d;
	struct lease_op *op;

	d->m.gateway_misses++;
	/* As the API refuses them: an address of a pool, or of a class no
	 * lease is for (v4-mapped, loopback...), is no R or P. */
	if (pools_contains(&d->pools, real) ||
	    pools_contains(&d->pools, peer) || !api_addr_usable(real) ||
	    !api_addr_usable(peer)) {
		d->m.gateway_dropped++;
		return;
	}
	op = calloc(1, sizeof(*op));
	if (!op) {
		d->m.gateway_dropped++;
		return;
	}
	op->kind = LEASE_OP_RENT;
	op->real = *real;
	op->addr = *peer;
	op->lifetime = d->conf->default_lifetime;
	op->flags = LEASED_GATEWAY_FLAGS;
	op->done = gateway_rent_done;
	leases_submit(d, op);
}

static int gateway_event_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct genlmsghdr *genl = mnl_nlmsg_get_payload(nlh);
	struct guise_lease l;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*genl) ||
	    genl->cmd != GUISE_CMD_LEASE_MISS)
		return 0;
	if (!guise_lease_parse(nlh, &l) &&
	    guise_lease_has(&l, GUISE_A_LEASE_REAL) &&
	    guise_lease_has(&l, GUISE_A_LEASE_PEER))
		gateway_miss(data, &l.real, &l.peer);
	return 0;
}

static void gateway_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gateway *gw = arg;
	int i, err;

	(void)fd;
	(void)what;
	for (i = 0; i < GATEWAY_BATCH; i++) {
		err = guise_nl_recv_events(gw->nl, gateway_event_cb, gw);
		if (err == -EAGAIN || err == -EWOULDBLOCK)
			return;
		/* -ENOBUFS: events were lost; held flows time out in the
		 * kernel and the next packet asks again. */
		if (err && err != -EINTR) {
			gw->d->m.gateway_dropped++;
			return;
		}
	}
}

int gateway_start(struct event_base *base, struct leased *d,
		  struct gateway **gwp)
{
	struct gateway *gw = calloc(1, sizeof(*gw));
	int err, fd;

	if (!gw)
		return -ENOMEM;
	gw->d = d;
	err = guise_nl_open(&gw->nl);
	if (!err)
		err = guise_nl_subscribe(gw->nl);
	if (err) {
		guise_err("gateway: events: %s", strerror(-err));
		goto fail;
	}
	fd = guise_nl_fd(gw->nl);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)) {
		err = -errno;
		guise_err("gateway: %s", strerror(errno));
		goto fail;
	}
	gw->ev = event_new(base, fd, EV_READ | EV_PERSIST, gateway_read_cb, gw);
	if (!gw->ev || event_add(gw->ev, NULL)) {
		err = -ENOMEM;
		guise_err("gateway: cannot watch the events socket");
		goto fail;
	}
	*gwp = gw;
	return 0;
fail:
	gateway_stop(gw);
	return err;
}

int gateway_resubscribe(struct gateway *gw)
{
	int err = guise_nl_refresh(gw->nl);

	return err ? err : guise_nl_subscribe(gw->nl);
}

void gateway_stop(struct gateway *gw)
{
	if (!gw)
		return;
	if (gw->ev)
		event_free(gw->ev);
	if (gw->nl)
		guise_nl_close(gw->nl);
	free(gw);
}
