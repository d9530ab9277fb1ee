/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Generic netlink client for the guise family: one socket, one request at a
 * time, errors as negative errno plus the kernel's extended-ack text.
 */
#ifndef GUISE_NL_H
#define GUISE_NL_H

#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>

/* Room for any request libguise builds (a full CONFIG_SET is ~5 KiB). */
#define GUISE_NL_MSG_SIZE 8192

struct guise_nl;
struct mnl_socket;

/* Called once per reply message; returns 0 or a negative errno. */
typedef int (*guise_nl_reply_cb)(const struct nlmsghdr *nlh, void *data);

/*
 * Open a socket (extended and capped acks on) and resolve the family.
 * Returns 0, -ENOENT when the family is not registered (module not
 * loaded), or another negative errno.
 */
int guise_nl_open(struct guise_nl **nlp);
void guise_nl_close(struct guise_nl *nl);
/*
 * Resolve the family again, as guise_nl_open() did: a reloaded module has
 * a new family id and new group ids. Group memberships are not renewed.
 * Until it succeeds, every request fails with -ENOENT.
 */
int guise_nl_refresh(struct guise_nl *nl);

uint16_t guise_nl_family(const struct guise_nl *nl);
/* Id of the GUISE_MCGRP_EVENTS multicast group, 0 if not advertised. */
uint32_t guise_nl_events_group(const struct guise_nl *nl);

/*
 * Start a request in buf (GUISE_NL_MSG_SIZE bytes, 4-byte aligned): a
 * netlink header of @family, a genl header of @cmd, GUISE_FAMILY_VERSION.
 */
struct nlmsghdr *guise_msg_start(void *buf, uint16_t family, uint8_t cmd,
				 uint16_t flags);

/*
 * Send @req and process replies until the ack, the error or the end of a
 * dump, calling @cb (may be NULL) for each reply message. Returns 0, the
 * kernel's error, or the first error of @cb; for a dump that the kernel
 * marked interrupted (NLM_F_DUMP_INTR: the table changed in a way that
 * may have repeated or missed entries), -EINTR once it is read to its end
 * (@cb is not called after the mark).
 */
int guise_nl_talk(struct guise_nl *nl, struct nlmsghdr *req,
		  guise_nl_reply_cb cb, void *data);

/* Dumps guise_nl_dump() tries before it reports -EINTR. */
#define GUISE_NL_DUMP_TRIES 5

/*
 * Send the dump request @req (NLM_F_DUMP) as guise_nl_talk() does, and
 * while the kernel marks the dump interrupted, call @restart (may be
 * NULL) to forget what @cb gathered and dump again, GUISE_NL_DUMP_TRIES
 * times in all. Returns what the last guise_nl_talk() did: -EINTR if
 * every dump was interrupted.
 */
int guise_nl_dump(struct guise_nl *nl, struct nlmsghdr *req,
		  guise_nl_reply_cb cb, void (*restart)(void *data),
		  void *data);

/* The socket, for an event loop to watch (with O_NONBLOCK set by the
 * caller, guise_nl_recv_events() returns -EAGAIN when drained). */
int guise_nl_fd(const struct guise_nl *nl);

/* Join the events multicast group; 0, -ENOENT or a negative errno. */
int guise_nl_subscribe(struct guise_nl *nl);

/*
 * Block for one datagram of events and call @cb for each guise message in
 * it. Returns 0, a negative errno (-EINTR on a signal), or @cb's error.
 */
int guise_nl_recv_events(struct guise_nl *nl, guise_nl_reply_cb cb, void *data);

/*
 * Decode an NLMSG_ERROR message: returns 0 for an ack, the kernel's
 * negative errno, or -EBADMSG when truncated; copies the extended-ack
 * message to @extack ("" if none). An ack's message is logged as a warning.
 */
int guise_nl_parse_ack(const struct nlmsghdr *nlh, char *extack, size_t size);

/* The libmnl socket, for the pipelined requests of nl_batch.c. */
struct mnl_socket *guise_nl_mnl(const struct guise_nl *nl);

/* Extended-ack message of the last guise_nl_talk(), "" if none. */
const char *guise_nl_extack(const struct guise_nl *nl);

#endif
