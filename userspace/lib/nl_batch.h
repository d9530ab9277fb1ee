/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pipelined requests on a guise_nl socket: many requests per sendmsg()
 * (libmnl's mnl_nlmsg_batch), the kernel's refusals read back afterwards
 * and handed over with the tag of the request they answer.
 */
#ifndef GUISE_NL_BATCH_H
#define GUISE_NL_BATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/netlink.h>

struct guise_nl;
struct guise_nl_batch;

/* A refused request: its tag, the kernel's negative errno and extended-ack
 * message ("" if none). Called in the order of the requests. */
typedef void (*guise_nl_batch_err_cb)(unsigned long tag, int err,
				      const char *extack, void *data);

/* 0 or -ENOMEM. The batch uses @nl's socket until freed. */
int guise_nl_batch_open(struct guise_nl *nl, struct guise_nl_batch **bp);
void guise_nl_batch_free(struct guise_nl_batch *b);

/* True when the next request must wait for guise_nl_batch_flush(). */
bool guise_nl_batch_full(const struct guise_nl_batch *b);
/* Requests queued and not yet flushed. */
unsigned int guise_nl_batch_count(const struct guise_nl_batch *b);

/*
 * Start request @cmd of the guise family in the batch (not full): room for
 * GUISE_NL_MSG_SIZE bytes. Fill it, then queue it with guise_nl_batch_add().
 */
struct nlmsghdr *guise_nl_batch_msg(struct guise_nl_batch *b, uint8_t cmd,
				    unsigned long tag);
void guise_nl_batch_add(struct guise_nl_batch *b);

/*
 * Send the queued requests in one sendmsg() and read the replies: @cb
 * (may be NULL) for each refused one. Returns 0 once the kernel has
 * handled all of them, or a negative errno when their outcome is unknown
 * (the send failed, or the replies were lost: -ENOBUFS); the batch is
 * empty again either way, and unusable after an error.
 */
int guise_nl_batch_flush(struct guise_nl_batch *b, guise_nl_batch_err_cb cb,
			 void *data);

#endif
