/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guise: the protected content datapath, shared by content.c (one
 * datagram per skb) and content_gso.c (GSO and GRO skbs, several
 * datagrams each). The hooks call guise_content_rx() and
 * guise_content_tx() (guise.h); everything here runs under RCU.
 */
#ifndef _GUISE_CONTENT_H
#define _GUISE_CONTENT_H

#include <linux/skbuff.h>

#include "key.h"

#define GUISE_CONTENT_HDR_LEN	sizeof(struct guise_content_hdr)
#define GUISE_CONTENT_OVERHEAD	(GUISE_CONTENT_HDR_LEN + GUISE_CONTENT_TAG_LEN)

/* Not a drop reason: the datagram is good. */
#define GUISE_CONTENT_OK	__GUISE_STAT_MAX

/* content.c */
enum guise_stat guise_content_rx_key(struct guise_flow *f,
				     const struct guise_content_hdr *h,
				     u64 now, struct guise_key **kp);
enum guise_stat guise_content_open(struct guise_key *k, u8 *data,
				   unsigned int len);
int guise_content_seal(struct guise_key *k, u8 *data, unsigned int len,
		       u64 seq);
bool guise_content_seq_reserve(struct guise_key *k, unsigned int n,
			       u64 *first);
unsigned int guise_content_ext_len(const struct sk_buff *skb,
				   unsigned int uoff);
void guise_content_fix_len(struct sk_buff *skb, unsigned int uoff,
			   unsigned int ulen);
bool guise_content_csum_partial(struct sk_buff *skb, unsigned int uoff,
				unsigned int ulen);
void guise_content_rx_csum(struct sk_buff *skb, unsigned int uoff,
			   unsigned int ulen);
void guise_content_pull_hdr(struct sk_buff *skb, unsigned int hend);

/* content_gso.c */
unsigned int guise_content_rx_gso(struct guise_net *gn, struct guise_flow *f,
				  struct sk_buff *skb, unsigned int uoff);
unsigned int guise_content_tx_gso(struct guise_net *gn, struct guise_key *k,
				  struct sk_buff *skb, unsigned int uoff);

#endif /* _GUISE_CONTENT_H */
