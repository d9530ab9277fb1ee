// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "log.h"
#include "sender.h"

#define WINDOW_SLOTS 8192
#define DRAIN_US 5000

struct sent {
	uint64_t us;
	uint32_t bytes;
};

struct sender {
	struct keyd *d;
	int fd;
	struct event *drain;
	struct qhead q[PRIO_NONE];
	size_t queued;
	uint64_t backlog[PRIO_NONE]; /* wire bytes queued, per priority */
	struct sent win[WINDOW_SLOTS];
	size_t head, count; /* ring of the last second's sends */
	uint64_t win_bytes;
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void window_expire(struct sender *s, uint64_t now)
{
	while (s->count && s->win[s->head].us + 1000000 <= now) {
		s->win_bytes -= s->win[s->head].bytes;
		s->head = (s->head + 1) % WINDOW_SLOTS;
		s->count--;
	}
}

uint64_t sender_window_bytes(struct sender *s)
{
	window_expire(s, now_us());
	return s->win_bytes;
}

uint64_t sender_rate(const struct sender *s)
{
	const struct keyd_conf *c = s->d->conf;
	uint64_t cap = (uint64_t)c->max_kbps * 1000 / 8, content = 0, share;
	size_t i;

	for (i = 0; i < s->d->nchannels; i++)
		content += s->d->channels[i].bandwidth_kbps;
	if (content) {
		share = content * 1000 / 8 * c->share_percent / 100;
		if (share < cap)
			cap = share;
	}
	return cap ? cap : 1;
}

uint64_t sender_backlog(const struct sender *s, enum keyd_prio prio)
{
	uint64_t sum = 0;
	unsigned int p;

	for (p = 0; p <= prio && p < PRIO_NONE; p++)
		sum += s->backlog[p];
	return sum;
}

/* Charge @it to the backlog at its priority, at its cost now. */
static void charge(struct sender *s, struct qitem *it)
{
	uint64_t cost = server_item_cost(s->d, it, (uint64_t)time(NULL));

	it->cost = cost > UINT32_MAX ? UINT32_MAX : (uint32_t)cost;
	s->backlog[it->prio] += it->cost;
}

size_t sender_queued(const struct sender *s)
{
	return s->queued;
}

static void arm(struct sender *s)
{
	static const struct timeval tv = { 0, DRAIN_US };

	if (s->queued && !evtimer_pending(s->drain, NULL))
		evtimer_add(s->drain, &tv);
}

void sender_dequeue(struct sender *s, struct qitem *it)
{
	if (it->prio == PRIO_NONE)
		return;
	TAILQ_REMOVE(&s->q[it->prio], it, node);
	s->backlog[it->prio] -= it->cost;
	it->cost = 0;
	it->prio = PRIO_NONE;
	s->queued--;
}

void sender_enqueue(struct sender *s, struct qitem *it, enum keyd_prio prio)
{
	if (it->prio <= prio) {
		/* Already waiting, as urgent or more; what it will cost may
		 * have changed (channels, groups). */
		s->backlog[it->prio] -= it->cost;
		charge(s, it);
		return;
	}
	sender_dequeue(s, it);
	TAILQ_INSERT_TAIL(&s->q[prio], it, node);
	it->prio = prio;
	charge(s, it);
	s->queued++;
	arm(s);
}

int sender_send(struct sender *s, const struct in6_addr *group,
		const uint8_t *buf, size_t len)
{
	struct sockaddr_in6 sa = {
		.sin6_family = AF_INET6,
		.sin6_port = htons(s->d->conf->port),
		.sin6_addr = s->d->conf->have_unicast ? s->d->conf->unicast :
							*group,
		.sin6_scope_id = s->d->conf->ifindex,
	};
	size_t slot;

	if (sendto(s->fd, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa)) <
	    0) {
		s->d->m.send_errors++;
		guise_debug("send: %s", strerror(errno));
		return -errno;
	}
	s->d->m.bytes_sent += len + KEYD_WIRE_OVERHEAD;
	if (s->count == WINDOW_SLOTS) { /* on_drain() keeps room: never */
		s->win_bytes -= s->win[s->head].bytes;
		s->head = (s->head + 1) % WINDOW_SLOTS;
		s->count--;
	}
	slot = (s->head + s->count) % WINDOW_SLOTS;
	s->win[slot].us = now_us();
	s->win[slot].bytes = (uint32_t)(len + KEYD_WIRE_OVERHEAD);
	s->win_bytes += s->win[slot].bytes;
	s->count++;
	return 0;
}

static struct qitem *peek(struct sender *s)
{
	unsigned int p;

	for (p = 0; p < PRIO_NONE; p++)
		if (!TAILQ_EMPTY(&s->q[p]))
			return TAILQ_FIRST(&s->q[p]);
	return NULL;
}

static void on_drain(evutil_socket_t fd, short what, void *arg)
{
	struct sender *s = arg;
	uint64_t rate = sender_rate(s), now = (uint64_t)time(NULL);
	struct qitem *it;

	(void)fd;
	(void)what;
	window_expire(s, now_us());
	while ((it = peek(s))) {
		uint64_t cost = server_item_cost(s->d, it, now);

		/* Alone in an empty window, an item larger than the cap goes.
		 * An item is at most 2 * KEYD_MAX_ENTITLED datagrams: it
		 * waits while the window's ring could not record them all
		 * (never forget a send of the last second). */
		if ((s->win_bytes + cost > rate && s->count) ||
		    s->count + 2 * KEYD_MAX_ENTITLED > WINDOW_SLOTS) {
			s->d->m.deferred++;
			break;
		}
		sender_dequeue(s, it);
		server_item_emit(s->d, it, now); /* may free @it */
	}
	arm(s);
}

int sender_new(struct event_base *base, struct keyd *d, struct sender **sp)
{
	struct sender *s = calloc(1, sizeof(*s));
	int hops = (int)d->conf->hops, loop = 1,
	    ifindex = (int)d->conf->ifindex;
	unsigned int p;

	if (!s)
		return -ENOMEM;
	s->d = d;
	for (p = 0; p < PRIO_NONE; p++)
		TAILQ_INIT(&s->q[p]);
	s->fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->fd < 0 ||
	    setsockopt(s->fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops,
		       sizeof(hops)) ||
	    setsockopt(s->fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop,
		       sizeof(loop)) ||
	    (ifindex && setsockopt(s->fd, IPPROTO_IPV6, IPV6_MULTICAST_IF,
				   &ifindex, sizeof(ifindex)))) {
		guise_err("control socket: %s", strerror(errno));
		goto fail;
	}
	s->drain = evtimer_new(base, on_drain, s);
	if (!s->drain)
		goto fail;
	*sp = s;
	return 0;
fail:
	if (s->fd >= 0)
		close(s->fd);
	free(s);
	return -EIO;
}

void sender_free(struct sender *s)
{
	if (!s)
		return;
	if (s->drain)
		event_free(s->drain);
	close(s->fd);
	free(s);
}
