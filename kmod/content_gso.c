// SPDX-License-Identifier: GPL-2.0
/*
 * Protected content in GSO and GRO skbs: one skb, several datagrams.
 *
 * A UDP GSO skb (SKB_GSO_UDP_L4) carries, after one IPv6 and one UDP
 * header, the payloads of its datagrams back to back: every one
 * gso_size bytes long but the last, which may be shorter, as
 * __udp_gso_segment() cuts them and udp_gro_receive_segment() merges
 * them. Each such chunk is one guise datagram of its own, so
 *
 * - send (a local socket with UDP_SEGMENT): every chunk becomes
 *   header | ciphertext | tag with its own sequence number, reserved
 *   for the whole skb at once; gso_size grows by the 32 bytes of
 *   overhead and the stack or the device cuts the skb into datagrams
 *   that are each one guise datagram;
 * - receive (GRO on the device, with rx-udp-gro-forwarding or for a
 *   UDP_GRO socket, or a GSO skb handed on whole by veth, a bridge or
 *   loopback): every chunk is checked and opened like a datagram of its
 *   own; the plaintexts are packed together, so the skb stays a GSO skb
 *   with gso_size 32 bytes less, and a chunk that fails is removed and
 *   counted for its reason while its neighbours go on.
 *
 * Both linearise the skb once (GRO and GSO skbs are paged; the datagram
 * path does the same for reassembled datagrams) and then work in place:
 * no allocation per datagram. The result is CHECKSUM_PARTIAL at the UDP
 * header, which is what __udp_gso_segment() needs both on output and in
 * udp_rcv_segment() on local delivery.
 */
#include <linux/netfilter.h>
#include <linux/timekeeping.h>
#include <linux/udp.h>
#include <net/ipv6.h>

#include "content.h"

/* The GSO types a UDP socket or UDP GRO builds (DODGY: from a VM/tap). */
#define GUISE_GSO_RX_TYPES	(SKB_GSO_UDP_L4 | SKB_GSO_FRAGLIST | \
				 SKB_GSO_DODGY)

static unsigned int guise_gso_drop(struct guise_net *gn, enum guise_stat why,
				   unsigned int n)
{
	guise_stat_add(gn, why, n);
	return NF_DROP;
}

/*
 * Check and open one chunk of @clen bytes at @c in place: GUISE_CONTENT_OK
 * or the drop reason. A chunk that would leave no plaintext is refused
 * (drop_truncated), unlike the same datagram alone: a GSO skb cannot
 * carry an empty datagram. A sender's GSO skb never holds one; GRO
 * merges one as the last of a burst.
 */
static enum guise_stat guise_gso_open_one(struct guise_flow *f, u8 *c,
					  unsigned int clen, u64 now)
{
	struct guise_key *k;
	enum guise_stat why;

	if (clen <= GUISE_CONTENT_OVERHEAD)
		return GUISE_STAT_DROP_TRUNCATED;
	why = guise_content_rx_key(f, (const void *)c, now, &k);
	if (why != GUISE_CONTENT_OK)
		return why;
	return guise_content_open(k, c, clen);
}

/*
 * Open the @plen bytes of chunks at @src, cut at @mss, and pack the
 * plaintexts from @src + GUISE_CONTENT_HDR_LEN on (where the first
 * chunk's plaintext already is). The packing never overtakes the chunk
 * being read: every chunk shrinks by more than the 16 bytes of offset.
 * Each failed chunk is counted for its reason. Returns the number of
 * good chunks, and in *@ptlen the bytes of plaintext.
 */
static unsigned int guise_gso_open_all(struct guise_net *gn,
				       struct guise_flow *f, u8 *src,
				       unsigned int plen, unsigned int mss,
				       unsigned int *ptlen)
{
	u8 *dst = src + GUISE_CONTENT_HDR_LEN, *start = dst;
	u64 now = ktime_get_real_seconds();
	unsigned int good = 0, clen, len;
	enum guise_stat why;

	for (; plen; src += clen, plen -= clen) {
		clen = min(plen, mss);
		why = guise_gso_open_one(f, src, clen, now);
		if (why != GUISE_CONTENT_OK) {
			guise_stat_inc(gn, why);
			continue;
		}
		len = clen - GUISE_CONTENT_OVERHEAD;
		if (dst != src + GUISE_CONTENT_HDR_LEN)
			memmove(dst, src + GUISE_CONTENT_HDR_LEN, len);
		dst += len;
		good++;
	}
	*ptlen = dst - start;
	return good;
}

/*
 * Receive: the skb (non-linear from GRO; SKB_GSO_FRAGLIST ones are
 * linearised too, as __udp_gso_segment() does with a fraglist skb whose
 * geometry changed) keeps its headers and becomes the GSO skb of the
 * good datagrams' plaintexts, or a plain datagram when one is left.
 */
unsigned int guise_content_rx_gso(struct guise_net *gn, struct guise_flow *f,
				  struct sk_buff *skb, unsigned int uoff)
{
	unsigned int mss = skb_shinfo(skb)->gso_size, plen, n, good, ptlen;
	const unsigned int type = skb_shinfo(skb)->gso_type;
	const unsigned int hend = uoff + sizeof(struct udphdr);
	struct skb_shared_info *shinfo;
	const struct udphdr *uh;
	struct udphdr _uh;
	unsigned int ulen;

	if (skb->len <= hend)
		return guise_gso_drop(gn, GUISE_STAT_DROP_TRUNCATED, 1);
	plen = skb->len - hend;
	n = DIV_ROUND_UP(plen, mss);
	/* UFO and tunnel GSO types: not datagrams of this flow to cut. */
	if (!(type & SKB_GSO_UDP_L4) || (type & ~GUISE_GSO_RX_TYPES))
		return guise_gso_drop(gn, GUISE_STAT_DROP_MALFORMED, n);
	if (mss <= GUISE_CONTENT_OVERHEAD)
		return guise_gso_drop(gn, GUISE_STAT_DROP_TRUNCATED, n);
	/* Before the copy below: a GRO skb's UDP length covers it all. */
	uh = skb_header_pointer(skb, uoff, sizeof(_uh), &_uh);
	if (!uh || ntohs(uh->len) != sizeof(*uh) + plen)
		return guise_gso_drop(gn, GUISE_STAT_DROP_TRUNCATED, n);
	/*
	 * One copy of the whole skb into one buffer, up to about 64 KiB:
	 * a large GFP_ATOMIC allocation that can fail on a fragmented
	 * host (counted, every datagram of the skb lost), as for a
	 * reassembled datagram of that size. Documentation/content.rst,
	 * "Limits".
	 */
	if (skb_linearize_cow(skb))
		return guise_gso_drop(gn, GUISE_STAT_DROP_NOMEM, n);

	good = guise_gso_open_all(gn, f, skb->data + hend, plen, mss, &ptlen);
	if (!good)
		return NF_DROP;

	/* As for one datagram: the headers move over the first content
	 * header, the plaintexts stay packed behind them.
	 */
	guise_content_pull_hdr(skb, hend);
	__skb_trim(skb, hend + ptlen);
	ulen = sizeof(*uh) + ptlen;
	guise_content_fix_len(skb, uoff, ulen);
	if (good == 1) {
		skb_gso_reset(skb);
		guise_content_rx_csum(skb, uoff, ulen);
	} else {
		/* Linearising moved the shared info with the head. */
		shinfo = skb_shinfo(skb);
		shinfo->gso_size = mss - GUISE_CONTENT_OVERHEAD;
		shinfo->gso_segs = good;
		shinfo->gso_type &= ~SKB_GSO_FRAGLIST;
		/*
		 * Both udp_rcv_segment() and segmentation on output want
		 * CHECKSUM_PARTIAL at the UDP header, extension headers or
		 * not: each segment then gets its own pseudo-header sum.
		 */
		if (!guise_content_csum_partial(skb, uoff, ulen))
			return guise_gso_drop(gn, GUISE_STAT_DROP_MALFORMED,
					      good);
	}
	guise_stat_add(gn, GUISE_STAT_CONTENT_DECRYPTED, good);
	return NF_ACCEPT;
}

/*
 * Make @skb private and linear with @grow bytes of tailroom past its
 * data: at most one allocation and one copy of the payload (UDP GSO
 * skbs keep their payload in page fragments).
 */
static int guise_gso_linearize(struct sk_buff *skb, unsigned int grow)
{
	int need = skb->data_len + grow -
		   (skb_end_pointer(skb) - skb_tail_pointer(skb));

	if ((need > 0 || skb_cloned(skb)) &&
	    pskb_expand_head(skb, 0, max(need, 0), GFP_ATOMIC))
		return -ENOMEM;
	return __skb_linearize(skb);
}

/*
 * Spread the @n chunks of @plen bytes at @base (cut at @mss) to a stride
 * of @mss + 32, from the last one down so that none is overwritten before
 * it moved, and seal chunk i with sequence @seq + i.
 */
static int guise_gso_seal_all(struct guise_key *k, u8 *base,
			      unsigned int plen, unsigned int mss,
			      unsigned int n, u64 seq)
{
	unsigned int i = n, clen = plen - (n - 1) * mss;
	u8 *c;

	while (i--) {
		c = base + i * (mss + GUISE_CONTENT_OVERHEAD);
		memmove(c + GUISE_CONTENT_HDR_LEN, base + i * mss, clen);
		if (guise_content_seal(k, c, clen + GUISE_CONTENT_OVERHEAD,
				       seq + i))
			return -EINVAL;
		clen = mss;
	}
	return 0;
}

/*
 * Send: a local socket's UDP GSO skb (udp_v6_send_skb(): CHECKSUM_PARTIAL,
 * at most UDP_MAX_SEGMENTS segments, each fitting the path MTU). Each
 * segment grows by 32 bytes and keeps the same place in the burst. What
 * no longer fits 16-bit IPv6 and UDP lengths is refused; a segment that
 * no longer fits the MTU is fragmented by the stack
 * (ip6_finish_output_gso_slowpath_drop()), as a datagram without GSO
 * that outgrew it is by ip6_fragment().
 */
unsigned int guise_content_tx_gso(struct guise_net *gn, struct guise_key *k,
				  struct sk_buff *skb, unsigned int uoff)
{
	unsigned int mss = skb_shinfo(skb)->gso_size, plen, n, ulen, grow;
	const unsigned int hend = uoff + sizeof(struct udphdr);
	u64 seq;

	if (skb->len <= hend)
		return guise_gso_drop(gn, GUISE_STAT_DROP_TRUNCATED, 1);
	plen = skb->len - hend;
	n = DIV_ROUND_UP(plen, mss);
	if ((skb_shinfo(skb)->gso_type & ~SKB_GSO_DODGY) != SKB_GSO_UDP_L4)
		return guise_gso_drop(gn, GUISE_STAT_DROP_MALFORMED, n);
	grow = n * GUISE_CONTENT_OVERHEAD;
	if (guise_content_ext_len(skb, uoff) + sizeof(struct udphdr) + plen +
	    grow > IPV6_MAXPLEN)
		return guise_gso_drop(gn, GUISE_STAT_DROP_TOO_BIG, n);
	if (guise_gso_linearize(skb, grow))
		return guise_gso_drop(gn, GUISE_STAT_DROP_NOMEM, n);
	ulen = ntohs(((struct udphdr *)(skb->data + uoff))->len);
	if (ulen != sizeof(struct udphdr) + plen)
		return guise_gso_drop(gn, GUISE_STAT_DROP_TRUNCATED, n);
	if (!guise_content_seq_reserve(k, n, &seq))
		return guise_gso_drop(gn, GUISE_STAT_DROP_SEQ_EXHAUSTED, n);

	__skb_put(skb, grow);
	if (guise_gso_seal_all(k, skb->data + hend, plen, mss, n, seq))
		return guise_gso_drop(gn, GUISE_STAT_DROP_NOMEM, n);
	ulen += grow;
	guise_content_fix_len(skb, uoff, ulen);
	if (n == 1) {
		/* Segmentation refuses a GSO skb of one segment. */
		skb_gso_reset(skb);
	} else {
		/* Not cached: linearising moved it with the head. */
		skb_shinfo(skb)->gso_size = mss + GUISE_CONTENT_OVERHEAD;
		skb_shinfo(skb)->gso_segs = n;
	}
	if (!guise_content_csum_partial(skb, uoff, ulen))
		return guise_gso_drop(gn, GUISE_STAT_DROP_MALFORMED, n);
	guise_stat_add(gn, GUISE_STAT_CONTENT_ENCRYPTED, n);
	return NF_ACCEPT;
}
