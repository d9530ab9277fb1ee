// SPDX-License-Identifier: GPL-2.0
/*
 * Protected multicast content: decrypt on receive, encrypt on local send.
 *
 * A UDP datagram to a protected (group, port) carries
 *   struct guise_content_hdr | AEAD ciphertext | 16-byte tag
 * with nonce = 4-byte key salt || 64-bit sequence and AAD = the header.
 * Receive (PREROUTING, after defragmentation, for local delivery and for
 * forwarding alike) finds the key by (group, port, key id), rejects a
 * replayed or too old sequence, decrypts in place and hands on a plain
 * UDP datagram with correct lengths, its checksum left to the device
 * (CHECKSUM_PARTIAL): the verified tag proves the payload. Send
 * (LOCAL_OUT) does the reverse for datagrams of local sockets, so any
 * multicast sender becomes a protected one. Drops are counted per reason.
 * GSO and GRO skbs, several datagrams each, are handled in content_gso.c
 * with the helpers here.
 *
 * Only whole datagrams are opened, so whatever could reach a protected
 * flow without passing PREROUTING as one is refused: fragments that
 * nf_defrag_ipv6 left alone (the stack would reassemble them after the
 * hook) and routing headers (which can make a group the destination
 * after PREROUTING); LOCAL_IN and FORWARD check the same
 * (guise_content_rx_late()).
 */
#include <asm/simd.h>
#include <asm/unaligned.h>
#include <crypto/aead.h>
#include <crypto/internal/simd.h>
#include <linux/scatterlist.h>
#include <linux/timekeeping.h>
#include <linux/udp.h>
#include <net/ip6_checksum.h>
#include <net/ipv6.h>

#include "content.h"

#define GUISE_NONCE_LEN		12

static_assert(sizeof(struct guise_content_hdr) == 16);

/* What guise_content_walk() found in the extension headers. */
#define GUISE_WALK_FRAG		BIT(0)	/* a fragment, first or not */
#define GUISE_WALK_RTHDR	BIT(1)	/* a routing header */

/*
 * Walk the extension headers of @skb as ipv6_skip_exthdr() does, and
 * note in *@seen a fragment header with an offset or the more-fragments
 * flag (any of them: an atomic fragment is a whole datagram) and a
 * routing header. The offset of the UDP header, or -1: none, not
 * reachable (a non-first fragment), or truncated headers.
 */
static int guise_content_walk(const struct sk_buff *skb, unsigned int *seen)
{
	u8 nexthdr = ipv6_hdr(skb)->nexthdr;
	int off = skb_network_offset(skb) + sizeof(struct ipv6hdr);
	const struct ipv6_opt_hdr *hp;
	const struct frag_hdr *fh;
	struct ipv6_opt_hdr _hdr;
	struct frag_hdr _fh;

	*seen = 0;
	while (ipv6_ext_hdr(nexthdr)) {
		if (nexthdr == NEXTHDR_NONE)
			return -1;
		hp = skb_header_pointer(skb, off, sizeof(_hdr), &_hdr);
		if (!hp)
			return -1;
		switch (nexthdr) {
		case NEXTHDR_FRAGMENT:
			fh = skb_header_pointer(skb, off, sizeof(_fh), &_fh);
			if (!fh)
				return -1;
			if (fh->frag_off & htons(IP6_OFFSET | IP6_MF))
				*seen |= GUISE_WALK_FRAG;
			if (fh->frag_off & htons(IP6_OFFSET))
				return -1;
			off += sizeof(_fh);
			break;
		case NEXTHDR_AUTH:
			off += ipv6_authlen(hp);
			break;
		case NEXTHDR_ROUTING:
			*seen |= GUISE_WALK_RTHDR;
			fallthrough;
		default:
			off += ipv6_optlen(hp);
		}
		nexthdr = hp->nexthdr;
	}
	return nexthdr == IPPROTO_UDP ? off : -1;
}

/*
 * The flow of the UDP datagram at @off, or NULL (@off < 0: none).
 * Caller holds RCU.
 */
static struct guise_flow *guise_content_lookup(struct guise_net *gn,
					       const struct sk_buff *skb,
					       int off)
{
	const struct udphdr *uh;
	struct udphdr _uh;

	if (off < 0)
		return NULL;
	uh = skb_header_pointer(skb, off, sizeof(_uh), &_uh);
	if (!uh)
		return NULL;
	return guise_flow_lookup(gn, &ipv6_hdr(skb)->daddr, uh->dest);
}

/* Is @skb to a group for which this namespace holds content keys? */
static bool guise_content_maybe(struct guise_net *gn,
				const struct sk_buff *skb)
{
	return ipv6_addr_is_multicast(&ipv6_hdr(skb)->daddr) &&
	       atomic_read(&gn->nr_keys);
}

/* The sequence bytes are copied as they are: chunks of GSO skbs need not
 * be aligned.
 */
static void guise_content_nonce(u8 *nonce, const struct guise_key *k,
				const struct guise_content_hdr *h)
{
	memcpy(nonce, k->salt, GUISE_KEY_SALT_LEN);
	memcpy(nonce + GUISE_KEY_SALT_LEN, &h->seq, sizeof(h->seq));
}

/*
 * Run the AEAD over @len bytes at @data in place (AAD = first 16), with
 * the key's SIMD-only instance when this context may use SIMD, else its
 * portable one (key.c). The request is this CPU's: bottom halves stay off
 * while it is in use (send runs in process context).
 */
static int guise_content_crypt(struct guise_key *k, u8 *data,
			       unsigned int len, unsigned int cryptlen,
			       const u8 *nonce, bool enc)
{
	struct crypto_aead *tfm = k->tfm;
	struct aead_request *req;
	struct scatterlist sg;
	int ret;

	sg_init_one(&sg, data, len);
	local_bh_disable();
	if (k->simd_tfm && crypto_simd_usable())
		tfm = k->simd_tfm;
	req = this_cpu_ptr(k->req);
	aead_request_set_tfm(req, tfm);
	aead_request_set_callback(req, 0, NULL, NULL);
	aead_request_set_crypt(req, &sg, &sg, cryptlen, (u8 *)nonce);
	aead_request_set_ad(req, GUISE_CONTENT_HDR_LEN);
	/* Synchronous instances (see key.c) never return -EINPROGRESS. */
	ret = enc ? crypto_aead_encrypt(req) : crypto_aead_decrypt(req);
	local_bh_enable();
	return ret;
}

/*
 * Find the key a content header names and pre-check its sequence against
 * the replay window: GUISE_CONTENT_OK and *@kp, or the drop reason (a
 * replay also counted on the key). @h may be unaligned.
 */
enum guise_stat guise_content_rx_key(struct guise_flow *f,
				     const struct guise_content_hdr *h,
				     u64 now, struct guise_key **kp)
{
	struct guise_key *k;

	if (h->magic != GUISE_CONTENT_MAGIC ||
	    h->version != GUISE_CONTENT_VERSION ||
	    h->type != GUISE_CONTENT_TYPE_DATA)
		return GUISE_STAT_DROP_BAD_HEADER;
	k = guise_key_find_rx(f, get_unaligned_be32(&h->key_id), now);
	if (!k)
		return GUISE_STAT_DROP_NO_KEY;
	if (h->alg != k->alg)
		return GUISE_STAT_DROP_BAD_HEADER;
	if (!guise_replay_check(&k->replay, get_unaligned_be64(&h->seq))) {
		guise_key_count_drop(k, true);
		return GUISE_STAT_DROP_REPLAY;
	}
	*kp = k;
	return GUISE_CONTENT_OK;
}

/*
 * Open the @len bytes at @data (header | ciphertext | tag) in place with
 * @k and record the sequence: GUISE_CONTENT_OK (counted on the key), or
 * the drop reason (auth and replay also counted on the key).
 */
enum guise_stat guise_content_open(struct guise_key *k, u8 *data,
				   unsigned int len)
{
	const struct guise_content_hdr *h = (const void *)data;
	u8 nonce[GUISE_NONCE_LEN];

	guise_content_nonce(nonce, k, h);
	if (guise_content_crypt(k, data, len, len - GUISE_CONTENT_HDR_LEN,
				nonce, false)) {
		guise_key_count_drop(k, false);
		return GUISE_STAT_DROP_AUTH;
	}
	if (!guise_replay_update(&k->replay, get_unaligned_be64(&h->seq))) {
		guise_key_count_drop(k, true);
		return GUISE_STAT_DROP_REPLAY;
	}
	guise_key_count(k, len - GUISE_CONTENT_OVERHEAD);
	return GUISE_CONTENT_OK;
}

/*
 * Seal @len bytes at @data in place: the plaintext starts at
 * @data + GUISE_CONTENT_HDR_LEN and is followed by room for the tag; the
 * header is written here with sequence @seq. Counted on the key.
 */
int guise_content_seal(struct guise_key *k, u8 *data, unsigned int len,
		       u64 seq)
{
	struct guise_content_hdr *h = (void *)data;
	u8 nonce[GUISE_NONCE_LEN];
	int ret;

	h->magic = GUISE_CONTENT_MAGIC;
	h->version = GUISE_CONTENT_VERSION;
	h->type = GUISE_CONTENT_TYPE_DATA;
	h->alg = k->alg;
	put_unaligned_be32(k->id, &h->key_id);
	put_unaligned_be64(seq, &h->seq);
	guise_content_nonce(nonce, k, h);
	ret = guise_content_crypt(k, data, len,
				  len - GUISE_CONTENT_OVERHEAD, nonce, true);
	if (!ret)
		guise_key_count(k, len - GUISE_CONTENT_OVERHEAD);
	return ret;
}

/*
 * Reserve @n consecutive sequence numbers of tx key @k at once, so that
 * the datagrams of one GSO skb are numbered in order and no number is
 * ever used twice, whatever other CPUs send with the key. U64_MAX is
 * never used: tx_seq reaching it means exhausted.
 */
bool guise_content_seq_reserve(struct guise_key *k, unsigned int n,
			       u64 *first)
{
	s64 old = atomic64_read(&k->tx_seq);

	do {
		if ((u64)old > U64_MAX - n)
			return false;
	} while (!atomic64_try_cmpxchg(&k->tx_seq, &old, old + n));
	*first = old;
	return true;
}

/* Bytes of extension headers between the IPv6 header and UDP at @uoff. */
unsigned int guise_content_ext_len(const struct sk_buff *skb,
				   unsigned int uoff)
{
	return uoff - skb_network_offset(skb) - sizeof(struct ipv6hdr);
}

/* The UDP datagram at @uoff now holds @ulen bytes: fix the lengths. */
void guise_content_fix_len(struct sk_buff *skb, unsigned int uoff,
			   unsigned int ulen)
{
	struct udphdr *uh = (struct udphdr *)(skb->data + uoff);

	ipv6_hdr(skb)->payload_len = htons(skb->len - skb_network_offset(skb) -
					   sizeof(struct ipv6hdr));
	uh->len = htons(ulen);
}

/* The full UDP checksum, in software: the fallback. */
static void guise_content_csum_sw(struct sk_buff *skb, unsigned int uoff,
				  unsigned int ulen)
{
	const struct ipv6hdr *ip6 = ipv6_hdr(skb);
	struct udphdr *uh = (struct udphdr *)(skb->data + uoff);
	__wsum csum;

	uh->check = 0;
	csum = skb_checksum(skb, uoff, ulen, 0);
	uh->check = csum_ipv6_magic(&ip6->saddr, &ip6->daddr, ulen,
				    IPPROTO_UDP, csum);
	if (!uh->check)
		uh->check = CSUM_MANGLED_0;
}

/*
 * Leave the UDP checksum to whoever completes a CHECKSUM_PARTIAL skb:
 * the device, or skb_checksum_help() in validate_xmit_skb() and
 * ip6_fragment(); a local receiver takes it as verified
 * (skb_csum_unnecessary()). uh->check holds the pseudo-header sum, as
 * udp6_set_csum() leaves it. False if the offsets do not fit.
 *
 * Set by hand, not with skb_partial_csum_set(), which also points the
 * transport header at the UDP header: on receive it must stay at the
 * first header after the IPv6 header (ipv6_rcv() put it there), where
 * ip6_protocol_deliver_rcu() starts parsing the extension headers, else
 * a Destination Options header is read from the UDP header and the
 * datagram dropped. The checks are skb_partial_csum_set()'s.
 */
bool guise_content_csum_partial(struct sk_buff *skb, unsigned int uoff,
				unsigned int ulen)
{
	const struct ipv6hdr *ip6 = ipv6_hdr(skb);
	struct udphdr *uh = (struct udphdr *)(skb->data + uoff);
	const u32 start = skb_headroom(skb) + uoff;

	if (unlikely(start >= U16_MAX ||
		     uoff + sizeof(*uh) > skb_headlen(skb)))
		return false;
	skb->ip_summed = CHECKSUM_PARTIAL;
	skb->csum_start = start;
	skb->csum_offset = offsetof(struct udphdr, check);
	uh->check = ~csum_ipv6_magic(&ip6->saddr, &ip6->daddr, ulen,
				     IPPROTO_UDP, 0);
	return true;
}

/*
 * Move the link-layer (when set, in the headroom), IPv6, extension and
 * UDP headers, which end at @hend bytes from skb->data, forward over the
 * content header that follows them and pull it, so the payload stays
 * where it is (as ESP transport mode input does). The caller made the
 * skb private and linear.
 */
void guise_content_pull_hdr(struct sk_buff *skb, unsigned int hend)
{
	const unsigned int delta = GUISE_CONTENT_HDR_LEN;
	u8 *start = skb->data;

	if (skb_mac_header_was_set(skb) && skb_mac_header(skb) < start)
		start = skb_mac_header(skb);
	memmove(start + delta, start, skb->data + hend - start);
	if (skb_mac_header_was_set(skb))
		skb->mac_header += delta;
	skb->network_header += delta;
	if (skb_transport_header_was_set(skb))
		skb->transport_header += delta;
	__skb_pull(skb, delta);
}

static unsigned int guise_content_drop(struct guise_net *gn,
				       enum guise_stat why)
{
	guise_stat_inc(gn, why);
	return NF_DROP;
}

/*
 * The checksum of a decrypted datagram: left to whoever completes a
 * CHECKSUM_PARTIAL skb (see guise_content_csum_partial()), or, with
 * extension headers, which devices offering only NETIF_F_IPV6_CSUM may
 * not parse, computed in software and marked verified.
 */
void guise_content_rx_csum(struct sk_buff *skb, unsigned int uoff,
			   unsigned int ulen)
{
	if (guise_content_ext_len(skb, uoff) ||
	    !guise_content_csum_partial(skb, uoff, ulen)) {
		guise_content_csum_sw(skb, uoff, ulen);
		skb->ip_summed = CHECKSUM_UNNECESSARY;
		skb->csum_level = 0;
	}
}

/* Does @f hold a key of direction @dir, valid or not? Caller holds RCU. */
static bool guise_flow_has(const struct guise_flow *f, u8 dir)
{
	const struct guise_key *k;

	list_for_each_entry_rcu(k, &f->keys, node)
		if (k->dir == dir)
			return true;
	return false;
}

unsigned int guise_content_rx(struct guise_net *gn, struct sk_buff *skb)
{
	struct guise_content_hdr _h;
	const struct guise_content_hdr *h;
	unsigned int uoff, ulen, len, seen;
	const struct udphdr *uh;
	enum guise_stat why;
	struct guise_flow *f;
	struct guise_key *k;
	int off;

	if (!guise_content_maybe(gn, skb))
		return NF_ACCEPT;
	off = guise_content_walk(skb, &seen);
	/*
	 * A fragment here was not reassembled by nf_defrag_ipv6 (the skb
	 * was untracked or already had conntrack state: notrack rules, a
	 * looped-back datagram of this host's): the stack would reassemble
	 * it after this hook and deliver it unopened. Whatever its port (a
	 * non-first fragment has none), it is refused.
	 */
	if ((seen & GUISE_WALK_FRAG) &&
	    guise_rx_group_has(gn, &ipv6_hdr(skb)->daddr))
		return guise_content_drop(gn, GUISE_STAT_DROP_FRAGMENT);
	f = guise_content_lookup(gn, skb, off);
	if (!f)
		return NF_ACCEPT;
	uoff = off;
	/*
	 * Send-only flow (tx keys only): not ours to open, as a
	 * receive-only one is not ours to seal. Among such datagrams: the
	 * host's own, looped back by IPV6_MULTICAST_LOOP after LOCAL_OUT
	 * sealed them.
	 */
	if (!guise_flow_has(f, GUISE_KEY_DIR_RX))
		return NF_ACCEPT;
	/* A routing header could still change the destination: refused. */
	if (seen & GUISE_WALK_RTHDR)
		return guise_content_drop(gn, GUISE_STAT_DROP_ROUTING);
	if (skb_is_gso(skb))
		return guise_content_rx_gso(gn, f, skb, uoff);

	if (skb_ensure_writable(skb, uoff + sizeof(*uh)))
		return guise_content_drop(gn, GUISE_STAT_DROP_NOMEM);
	uh = (const struct udphdr *)(skb->data + uoff);
	ulen = ntohs(uh->len);
	if (ulen < sizeof(*uh) + GUISE_CONTENT_OVERHEAD ||
	    uoff + ulen > skb->len)
		return guise_content_drop(gn, GUISE_STAT_DROP_TRUNCATED);
	len = ulen - sizeof(*uh);

	h = skb_header_pointer(skb, uoff + sizeof(*uh), sizeof(_h), &_h);
	if (!h)
		return guise_content_drop(gn, GUISE_STAT_DROP_BAD_HEADER);
	why = guise_content_rx_key(f, h, ktime_get_real_seconds(), &k);
	if (why != GUISE_CONTENT_OK)
		return guise_content_drop(gn, why);

	/* Padding past the UDP length goes; the rest must be one buffer. */
	if (pskb_trim(skb, uoff + ulen) || skb_linearize_cow(skb))
		return guise_content_drop(gn, GUISE_STAT_DROP_NOMEM);
	why = guise_content_open(k, skb->data + uoff + sizeof(*uh), len);
	if (why != GUISE_CONTENT_OK)
		return guise_content_drop(gn, why);

	/*
	 * The plaintext stays where it is: the headers move over the
	 * content header (as ESP transport mode input does) and the tag is
	 * trimmed off. The verified tag proves the payload, so its UDP
	 * checksum is not computed here (guise_content_rx_csum()).
	 */
	len -= GUISE_CONTENT_OVERHEAD;
	guise_content_pull_hdr(skb, uoff + sizeof(*uh));
	__skb_trim(skb, uoff + sizeof(*uh) + len);
	ulen = sizeof(*uh) + len;
	guise_content_fix_len(skb, uoff, ulen);
	guise_content_rx_csum(skb, uoff, ulen);

	guise_stat_inc(gn, GUISE_STAT_CONTENT_DECRYPTED);
	return NF_ACCEPT;
}

unsigned int guise_content_tx(struct guise_net *gn, struct sk_buff *skb)
{
	unsigned int uoff, ulen, len, seen;
	struct guise_flow *f;
	struct guise_key *k;
	u64 seq;
	u8 *data;
	int off;

	if (!guise_content_maybe(gn, skb))
		return NF_ACCEPT;
	off = guise_content_walk(skb, &seen);
	/* Already fragmented (a raw socket's): not a datagram to seal. */
	if (seen & GUISE_WALK_FRAG)
		return NF_ACCEPT;
	f = guise_content_lookup(gn, skb, off);
	if (!f)
		return NF_ACCEPT;
	uoff = off;
	k = guise_key_find_tx(f, ktime_get_real_seconds());
	if (!k) {
		/* Receive-only flow: not ours to touch. Expired tx keys:
		 * fail closed rather than send plaintext.
		 */
		if (!guise_flow_has(f, GUISE_KEY_DIR_TX))
			return NF_ACCEPT;
		return guise_content_drop(gn, GUISE_STAT_DROP_NO_KEY);
	}
	if (skb_is_gso(skb))
		return guise_content_tx_gso(gn, k, skb, uoff);

	/*
	 * A checksum left to the device elsewhere than at this UDP header
	 * (the inner packet of a UDP tunnel: VXLAN, Geneve, FOU) would be
	 * sealed unfinished, and an encapsulated skb would ask the device
	 * for inner offloads on ciphertext: complete it here, and the skb
	 * is no longer an encapsulation. The UDP checksum is then computed
	 * in software below.
	 */
	if (skb->ip_summed == CHECKSUM_PARTIAL &&
	    (skb->encapsulation || skb_checksum_start_offset(skb) != off)) {
		if (skb_checksum_help(skb))
			return guise_content_drop(gn, GUISE_STAT_DROP_NOMEM);
		skb->encapsulation = 0;
	}
	if (skb_linearize_cow(skb))
		return guise_content_drop(gn, GUISE_STAT_DROP_NOMEM);
	ulen = ntohs(((struct udphdr *)(skb->data + uoff))->len);
	if (ulen < sizeof(struct udphdr) || uoff + ulen != skb->len)
		return guise_content_drop(gn, GUISE_STAT_DROP_TRUNCATED);
	len = ulen - sizeof(struct udphdr);
	/* IPv6 payload and UDP lengths are 16 bits: no jumbograms. */
	if (guise_content_ext_len(skb, uoff) + ulen + GUISE_CONTENT_OVERHEAD >
	    IPV6_MAXPLEN)
		return guise_content_drop(gn, GUISE_STAT_DROP_TOO_BIG);
	if (!guise_content_seq_reserve(k, 1, &seq))
		return guise_content_drop(gn, GUISE_STAT_DROP_SEQ_EXHAUSTED);

	/*
	 * The payload moves up by the header's 16 bytes. Pushing the headers
	 * into the headroom instead would leave less than the device's
	 * link-layer reserve there (UDP sockets reserve LL_RESERVED_SPACE + 8
	 * bytes), and ip6_finish_output2() would copy the whole packet.
	 */
	if (skb_tailroom(skb) < GUISE_CONTENT_OVERHEAD &&
	    pskb_expand_head(skb, 0, GUISE_CONTENT_OVERHEAD, GFP_ATOMIC))
		return guise_content_drop(gn, GUISE_STAT_DROP_NOMEM);
	data = skb->data + uoff + sizeof(struct udphdr);
	skb_put(skb, GUISE_CONTENT_OVERHEAD);
	memmove(data + GUISE_CONTENT_HDR_LEN, data, len);
	if (guise_content_seal(k, data, GUISE_CONTENT_OVERHEAD + len, seq))
		return guise_content_drop(gn, GUISE_STAT_DROP_NOMEM);
	ulen += GUISE_CONTENT_OVERHEAD;
	guise_content_fix_len(skb, uoff, ulen);
	/*
	 * The socket chose CHECKSUM_PARTIAL when the device can checksum
	 * and the datagram has no extension headers: keep it so (a datagram
	 * that now needs fragmenting is completed by ip6_fragment()). Else
	 * the socket checksummed the plaintext in software; so do we.
	 */
	if (skb->ip_summed != CHECKSUM_PARTIAL ||
	    !guise_content_csum_partial(skb, uoff, ulen)) {
		guise_content_csum_sw(skb, uoff, ulen);
		skb->ip_summed = CHECKSUM_NONE;
	}

	guise_stat_inc(gn, GUISE_STAT_CONTENT_ENCRYPTED);
	return NF_ACCEPT;
}

/*
 * LOCAL_IN and FORWARD, for datagrams PREROUTING did not see as they
 * are now: a routing header processed on input (SRv6 with seg6_enabled,
 * RPL) rewrites the destination after PREROUTING, so that a packet to
 * one of this host's unicast addresses, its next segment a protected
 * group, reaches the group's sockets, or the multicast forwarding, after
 * a second routing lookup but no second PREROUTING. Such a datagram was
 * never opened: refused, as PREROUTING refuses one with a routing header
 * or a fragment (which is reassembled after this hook, see
 * guise_content_rx()). A datagram PREROUTING let through carries
 * neither, so this costs one test of the destination on the common
 * path.
 */
unsigned int guise_content_rx_late(struct guise_net *gn, struct sk_buff *skb)
{
	struct guise_flow *f;
	unsigned int seen;
	int off;

	if (!guise_content_maybe(gn, skb))
		return NF_ACCEPT;
	off = guise_content_walk(skb, &seen);
	if ((seen & GUISE_WALK_FRAG) &&
	    guise_rx_group_has(gn, &ipv6_hdr(skb)->daddr))
		return guise_content_drop(gn, GUISE_STAT_DROP_FRAGMENT);
	if (!(seen & GUISE_WALK_RTHDR))
		return NF_ACCEPT;
	f = guise_content_lookup(gn, skb, off);
	if (f && guise_flow_has(f, GUISE_KEY_DIR_RX))
		return guise_content_drop(gn, GUISE_STAT_DROP_ROUTING);
	return NF_ACCEPT;
}
