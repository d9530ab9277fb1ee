/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control-message sender: three FIFO queues (revocations, changes,
 * refreshes) drained under the bitrate cap. The cap is strict over any
 * one-second window: a sliding window of what was sent in the last
 * second, charged with the bytes on the wire (payload + UDP + IPv6 +
 * Ethernet headers).
 */
#ifndef KEYD_SENDER_H
#define KEYD_SENDER_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>

#include "keyd.h"

#define KEYD_WIRE_OVERHEAD 62 /* Ethernet 14 + IPv6 40 + UDP 8 */

int sender_new(struct event_base *base, struct keyd *d, struct sender **sp);
void sender_free(struct sender *s);
/* Queue @it at @prio (or move it up if it waits at a lower one). */
void sender_enqueue(struct sender *s, struct qitem *it, enum keyd_prio prio);
void sender_dequeue(struct sender *s, struct qitem *it);
/* Send one datagram to [@group]:control port. 0 or -errno. */
int sender_send(struct sender *s, const struct in6_addr *group,
		const uint8_t *buf, size_t len);
/* The cap in bytes per second. */
uint64_t sender_rate(const struct sender *s);
/* Wire bytes queued at @prio or more urgent (server_item_cost() of each
 * item when it was queued or queued again). */
uint64_t sender_backlog(const struct sender *s, enum keyd_prio prio);
size_t sender_queued(const struct sender *s);
uint64_t sender_window_bytes(struct sender *s);

/* Provided by server.c: the wire bytes an item will cost, and emit it. */
uint64_t server_item_cost(struct keyd *d, struct qitem *it, uint64_t now);
void server_item_emit(struct keyd *d, struct qitem *it, uint64_t now);

#endif
