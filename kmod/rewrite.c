// SPDX-License-Identifier: GPL-2.0
/*
 * The address rewrite. Egress: R->P with a live EGRESS lease leaves as
 * V->P. Ingress: P->V with a live INGRESS lease becomes P->R; anything else
 * to a served virtual address is dropped. ICMPv6 errors are matched on the
 * packet they quote, whose addresses are rewritten too, so path MTU
 * discovery keeps working. L4 checksums are fixed incrementally (also for
 * CHECKSUM_PARTIAL skbs); non-first fragments carry no L4 header and only
 * change address. A first fragment must hold the whole header chain, the
 * upper-layer header included (RFC 7112): one that does not is dropped.
 * Packets with a routing header pass unmodified (the address the checksum
 * covers is then the final segment, not the header's), or are dropped
 * when the namespace's routing-header policy says so.
 */
#include <linux/icmpv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <net/ip6_checksum.h>
#include <net/ipv6.h>
#include <net/ndisc.h>
#include <linux/netfilter.h>

#include "lease.h"

#define GUISE_MAX_EXTHDRS	8

struct guise_pkt {
	unsigned int nhoff;	/* IPv6 header, from skb->data */
	unsigned int thoff;	/* L4 header, from skb->data */
	unsigned int len;	/* IPv6 header + payload, as the header says */
	u8 proto;		/* final next header */
	bool has_l4;		/* false for non-first fragments and NONE */
	bool routing;		/* a routing header is present */
	bool first_frag;	/* fragment header, offset 0, more to come */
};

/* Walk the extension headers of the IPv6 packet at @nhoff. */
static int guise_parse(const struct sk_buff *skb, unsigned int nhoff,
		       struct guise_pkt *p)
{
	struct ipv6hdr _ip6;
	const struct ipv6hdr *ip6;
	unsigned int off, n = 0;
	u8 nexthdr;

	ip6 = skb_header_pointer(skb, nhoff, sizeof(_ip6), &_ip6);
	if (!ip6 || ip6->version != 6)
		return -EINVAL;
	p->nhoff = nhoff;
	p->len = sizeof(*ip6) + ntohs(ip6->payload_len);
	/* BIG TCP: a GSO packet over 64 KiB says payload length 0 and
	 * carries a jumbo option right after the header; its length is the
	 * skb's. Anything else with length 0 stays too short to parse.
	 */
	if (!ip6->payload_len && nhoff == skb_network_offset(skb) &&
	    ipv6_has_hopopt_jumbo(skb))
		p->len = skb->len - nhoff;
	p->routing = false;
	p->first_frag = false;
	p->has_l4 = true;
	off = nhoff + sizeof(*ip6);
	nexthdr = ip6->nexthdr;

	while (ipv6_ext_hdr(nexthdr)) {
		struct ipv6_opt_hdr _h;
		const struct ipv6_opt_hdr *h;
		unsigned int hlen;

		if (nexthdr == NEXTHDR_NONE || ++n > GUISE_MAX_EXTHDRS) {
			if (nexthdr != NEXTHDR_NONE)
				return -EINVAL;
			p->has_l4 = false;
			break;
		}
		h = skb_header_pointer(skb, off, sizeof(_h), &_h);
		if (!h)
			return -EINVAL;
		if (nexthdr == NEXTHDR_ROUTING)
			p->routing = true;
		if (nexthdr == NEXTHDR_FRAGMENT) {
			__be16 _fo;
			const __be16 *fo;

			fo = skb_header_pointer(skb, off +
						offsetof(struct frag_hdr,
							 frag_off),
						sizeof(_fo), &_fo);
			if (!fo)
				return -EINVAL;
			if (*fo & htons(IP6_OFFSET))
				p->has_l4 = false;
			else if (*fo & htons(IP6_MF))
				p->first_frag = true;
			hlen = sizeof(struct frag_hdr);
		} else if (nexthdr == NEXTHDR_AUTH) {
			hlen = ipv6_authlen(h);
		} else {
			hlen = ipv6_optlen(h);
		}
		nexthdr = h->nexthdr;
		off += hlen;
		if (!p->has_l4)
			break;
	}
	p->proto = nexthdr;
	p->thoff = off;
	if (off > nhoff + p->len)
		return -EINVAL;
	return 0;
}

static int guise_csum_offset(u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return offsetof(struct tcphdr, check);
	case IPPROTO_UDP:
		return offsetof(struct udphdr, check);
	case IPPROTO_ICMPV6:
		return offsetof(struct icmp6hdr, icmp6_cksum);
	}
	return -1;
}

/*
 * Replace the source or destination address of the IPv6 packet described
 * by @p with @to and fix its L4 checksum if that is in the skb. For a
 * quoted packet inside an ICMPv6 error the checksum may be cut off; then
 * only the address changes.
 */
static int guise_set_addr(struct sk_buff *skb, const struct guise_pkt *p,
			  bool src, const struct in6_addr *to)
{
	unsigned int addr_off = p->nhoff + (src ?
			offsetof(struct ipv6hdr, saddr) :
			offsetof(struct ipv6hdr, daddr));
	int csoff = p->has_l4 ? guise_csum_offset(p->proto) : -1;
	struct in6_addr *addr;
	__sum16 *check;

	if (csoff >= 0 && skb->len < p->thoff + csoff + sizeof(__sum16))
		csoff = -1;
	if (skb_ensure_writable(skb, csoff >= 0 ? p->thoff + csoff + 2 :
				addr_off + sizeof(*addr)))
		return -ENOMEM;

	addr = (struct in6_addr *)(skb->data + addr_off);
	if (csoff >= 0) {
		check = (__sum16 *)(skb->data + p->thoff + csoff);
		/* A zero UDP checksum means none (RFC 6935 tunnels): keep. */
		if (p->proto != IPPROTO_UDP || *check ||
		    skb->ip_summed == CHECKSUM_PARTIAL) {
			inet_proto_csum_replace16(check, skb, addr->s6_addr32,
						  to->s6_addr32, true);
			if (p->proto == IPPROTO_UDP && !*check)
				*check = CSUM_MANGLED_0;
		}
	}
	*addr = *to;
	return 0;
}

static bool guise_icmp_is_error(const struct sk_buff *skb,
				const struct guise_pkt *p)
{
	u8 _type;
	const u8 *type;

	if (p->proto != IPPROTO_ICMPV6 || !p->has_l4)
		return false;
	type = skb_header_pointer(skb, p->thoff, sizeof(_type), &_type);
	return type && *type >= ICMPV6_DEST_UNREACH &&
	       *type <= ICMPV6_PARAMPROB;
}

/* The ICMPv6 checksum after the quoted packet changed: recompute it. */
static int guise_icmp_recsum(struct sk_buff *skb, const struct guise_pkt *p)
{
	unsigned int len = p->nhoff + p->len - p->thoff;
	struct icmp6hdr *ic;
	struct ipv6hdr *ip6;
	__wsum csum;

	if (skb_ensure_writable(skb, p->thoff + sizeof(*ic)) ||
	    p->nhoff + p->len > skb->len)
		return -EINVAL;
	ic = (struct icmp6hdr *)(skb->data + p->thoff);
	ip6 = (struct ipv6hdr *)(skb->data + p->nhoff);
	ic->icmp6_cksum = 0;
	csum = skb_checksum(skb, p->thoff, len, 0);
	ic->icmp6_cksum = csum_ipv6_magic(&ip6->saddr, &ip6->daddr, len,
					  IPPROTO_ICMPV6, csum);
	skb->ip_summed = CHECKSUM_NONE;
	return 0;
}

/* Parse the packet quoted by the ICMPv6 error described by @p. */
static int guise_parse_quoted(const struct sk_buff *skb,
			      const struct guise_pkt *p, struct guise_pkt *q,
			      struct in6_addr *qsrc, struct in6_addr *qdst)
{
	struct ipv6hdr _ip6;
	const struct ipv6hdr *ip6;
	unsigned int nhoff = p->thoff + sizeof(struct icmp6hdr);

	ip6 = skb_header_pointer(skb, nhoff, sizeof(_ip6), &_ip6);
	if (!ip6)
		return -EINVAL;
	*qsrc = ip6->saddr;
	*qdst = ip6->daddr;
	/* A quoted packet is usually truncated: use what is there. */
	if (guise_parse(skb, nhoff, q)) {
		q->nhoff = nhoff;
		q->has_l4 = false;
		q->routing = false;
		q->first_frag = false;
	}
	return 0;
}

static unsigned int guise_drop(struct guise_net *gn, enum guise_stat why)
{
	guise_stat_inc(gn, why);
	return NF_DROP;
}

/*
 * A routing header on a packet a lease would rewrite. Rewriting it is not
 * something a lease does (the checksum covers the final segment, not the
 * address in the IPv6 header), so by default it passes unmodified, which
 * on egress shows R; the drop policy drops it instead.
 */
static unsigned int guise_routing(struct guise_net *gn,
				  const struct guise_config *cfg)
{
	if (cfg->rthdr_policy == GUISE_RTHDR_DROP)
		return guise_drop(gn, GUISE_STAT_DROP_ROUTING);
	return NF_ACCEPT;
}

/*
 * A first fragment (offset 0, more fragments to come) that does not hold
 * its whole upper-layer header, against RFC 7112: the ports the SMTP block
 * reads or the checksum that must follow the address would be in a later
 * fragment, where they can be neither read nor fixed. Only the fixed part
 * counts: TCP 20 bytes, UDP 8, ICMPv6 8 for errors and echo, else 4.
 * Other upper layers are not looked at.
 */
static bool guise_first_frag_short(const struct sk_buff *skb,
				   const struct guise_pkt *p)
{
	unsigned int end = min(skb->len, p->nhoff + p->len);
	unsigned int need;
	u8 _type;
	const u8 *type;

	if (!p->first_frag || !p->has_l4)
		return false;
	switch (p->proto) {
	case IPPROTO_TCP:
		need = sizeof(struct tcphdr);
		break;
	case IPPROTO_UDP:
		need = sizeof(struct udphdr);
		break;
	case IPPROTO_ICMPV6:
		need = offsetof(struct icmp6hdr, icmp6_dataun);
		type = skb_header_pointer(skb, p->thoff, sizeof(_type), &_type);
		if (type && (!(*type & ICMPV6_INFOMSG_MASK) ||
			     *type == ICMPV6_ECHO_REQUEST ||
			     *type == ICMPV6_ECHO_REPLY))
			need = sizeof(struct icmp6hdr);
		break;
	default:
		return false;
	}
	return end < p->thoff + need;
}

/*
 * No lease for R->P. Miss rules are about R talking to the world: traffic
 * that stays inside the rule's own prefix (the gateway's neighbour
 * discovery towards its hosts, say), link-local and multicast traffic is
 * never held or dropped here. *@leased: see guise_miss_hold().
 */
static unsigned int guise_egress_miss(struct guise_net *gn,
				      const struct guise_config *cfg,
				      struct sk_buff *skb,
				      const struct nf_hook_state *state,
				      struct guise_lease **leased)
{
	const struct ipv6hdr *ip6 = ipv6_hdr(skb);
	const struct guise_prefix *rule;

	rule = guise_config_miss_rule(cfg, &ip6->saddr);
	if (!rule || guise_prefix_match(rule, &ip6->daddr) ||
	    (ipv6_addr_type(&ip6->daddr) &
	     (IPV6_ADDR_MULTICAST | IPV6_ADDR_LINKLOCAL)) ||
	    (ipv6_addr_type(&ip6->saddr) & IPV6_ADDR_LINKLOCAL))
		return NF_ACCEPT;

	switch (rule->miss_policy) {
	case GUISE_MISS_DROP:
		return guise_drop(gn, GUISE_STAT_MISS_DROP);
	case GUISE_MISS_UPCALL:
		return guise_miss_hold(gn, cfg, skb, state, leased);
	default:
		guise_stat_inc(gn, GUISE_STAT_MISS_PASS);
		return NF_ACCEPT;
	}
}

static bool guise_is_smtp(const struct sk_buff *skb, const struct guise_pkt *p)
{
	__be16 _port;
	const __be16 *dport;

	if (p->proto != IPPROTO_TCP || !p->has_l4)
		return false;
	dport = skb_header_pointer(skb, p->thoff + offsetof(struct tcphdr, dest),
				   sizeof(_port), &_port);
	return dport && *dport == htons(25);
}

/*
 * An ICMPv6 error to P that no lease matches by its own addresses: one
 * the gateway itself (hop limit, Packet Too Big, address unreachable) or
 * a router between it and R sends about a packet P sent to V, which
 * ingress had already made P->R. Its quote would tell P the real address:
 * matched on the quote, (R, P), the quoted destination becomes V again
 * (the quoted L4 checksum with it), or, the lease expired, the error is
 * dropped. NF_ACCEPT when @skb is no such error; the caller goes on.
 */
static unsigned int guise_egress_quote(struct guise_net *gn,
				       const struct guise_config *cfg,
				       struct sk_buff *skb, bool *done)
{
	struct in6_addr qsrc, qdst;
	struct guise_lease *l;
	struct guise_pkt p, q;
	u8 nexthdr = ipv6_hdr(skb)->nexthdr;

	*done = false;
	if (nexthdr != IPPROTO_ICMPV6 && !ipv6_ext_hdr(nexthdr))
		return NF_ACCEPT;
	if (guise_parse(skb, skb_network_offset(skb), &p) ||
	    !guise_icmp_is_error(skb, &p) ||
	    guise_parse_quoted(skb, &p, &q, &qsrc, &qdst))
		return NF_ACCEPT;	/* not ours; the miss path decides */
	l = guise_lease_lookup_rp(gn, &qdst, &qsrc);
	if (!l || !(READ_ONCE(l->flags) & GUISE_LEASE_F_INGRESS))
		return NF_ACCEPT;
	/* Passed unmodified, a routing header goes on to the miss path. */
	if ((p.routing || q.routing) && cfg->rthdr_policy == GUISE_RTHDR_PASS)
		return NF_ACCEPT;
	*done = true;
	if (!guise_lease_live(l))
		return guise_drop(gn, GUISE_STAT_DROP_EXPIRED);
	if (p.routing || q.routing)
		return guise_routing(gn, cfg);
	if (guise_set_addr(skb, &q, false, &l->virt) ||
	    guise_icmp_recsum(skb, &p))
		return guise_drop(gn, GUISE_STAT_DROP_NOMEM);
	guise_stat_inc(gn, GUISE_STAT_LEASE_ICMP);
	return NF_ACCEPT;
}

unsigned int guise_egress(struct guise_net *gn, const struct guise_config *cfg,
			  struct sk_buff *skb, const struct nf_hook_state *state)
{
	const struct ipv6hdr *ip6 = ipv6_hdr(skb);
	struct in6_addr qsrc, qdst;
	struct guise_lease *l;
	struct guise_pkt p, q;
	unsigned int verdict;
	bool done;
	u32 flags;

	l = guise_lease_lookup_rp(gn, &ip6->saddr, &ip6->daddr);
	flags = l ? READ_ONCE(l->flags) : 0;
	if (!(flags & GUISE_LEASE_F_EGRESS) || !guise_lease_live(l)) {
		verdict = guise_egress_quote(gn, cfg, skb, &done);
		if (done)
			return verdict;
		l = NULL;
		verdict = guise_egress_miss(gn, cfg, skb, state, &l);
		if (!l)
			return verdict;
		/* The lease came in just after the lookup above: use it. */
		flags = READ_ONCE(l->flags);
	}

	if (guise_parse(skb, skb_network_offset(skb), &p))
		return guise_drop(gn, GUISE_STAT_DROP_MALFORMED);
	if (p.routing)
		return guise_routing(gn, cfg);
	if (guise_first_frag_short(skb, &p))
		return guise_drop(gn, GUISE_STAT_DROP_MALFORMED);
	if ((flags & GUISE_LEASE_F_BLOCK_SMTP) && guise_is_smtp(skb, &p)) {
		guise_lease_count_drop(l, true);
		return guise_drop(gn, GUISE_STAT_DROP_SMTP);
	}
	if (!guise_lease_rate_ok(l)) {
		guise_lease_count_drop(l, false);
		return guise_drop(gn, GUISE_STAT_DROP_RATE);
	}

	if (guise_icmp_is_error(skb, &p)) {
		/* R reports on a packet P sent to it: the quote is P->R. */
		if (guise_parse_quoted(skb, &p, &q, &qsrc, &qdst))
			return guise_drop(gn, GUISE_STAT_DROP_MALFORMED);
		if ((ipv6_addr_equal(&qdst, &l->rp.real) &&
		     guise_set_addr(skb, &q, false, &l->virt)) ||
		    guise_set_addr(skb, &p, true, &l->virt) ||
		    guise_icmp_recsum(skb, &p))
			return guise_drop(gn, GUISE_STAT_DROP_NOMEM);
		guise_stat_inc(gn, GUISE_STAT_LEASE_ICMP);
	} else if (guise_set_addr(skb, &p, true, &l->virt)) {
		return guise_drop(gn, GUISE_STAT_DROP_NOMEM);
	}

	guise_lease_count_tx(l, skb->len);
	guise_stat_inc(gn, GUISE_STAT_LEASE_TX);
	return NF_ACCEPT;
}

/* An ICMPv6 error from a router about a packet V sent to P. */
static unsigned int guise_ingress_icmp(struct guise_net *gn,
				       struct sk_buff *skb,
				       struct guise_lease *l,
				       const struct guise_pkt *p)
{
	struct in6_addr qsrc, qdst;
	struct guise_pkt q;

	if (guise_parse_quoted(skb, p, &q, &qsrc, &qdst))
		return guise_drop(gn, GUISE_STAT_DROP_MALFORMED);
	if (!ipv6_addr_equal(&qsrc, &l->virt) ||
	    !ipv6_addr_equal(&qdst, &l->rp.peer))
		return guise_drop(gn, GUISE_STAT_DROP_NOT_PEER);
	if (guise_set_addr(skb, &q, true, &l->rp.real) ||
	    guise_set_addr(skb, p, false, &l->rp.real) ||
	    guise_icmp_recsum(skb, p))
		return guise_drop(gn, GUISE_STAT_DROP_NOMEM);
	guise_lease_count_rx(l, skb->len);
	guise_stat_inc(gn, GUISE_STAT_LEASE_ICMP);
	return NF_ACCEPT;
}

/*
 * P -> R itself, R under a miss rule (a real prefix this gateway serves),
 * while (R, P) holds a live ingress lease: dropped. R's answers would
 * leave as V anyway, and an ICMPv6 error raised about the packet would
 * be rewritten as if P had sent it to V (guise_egress_quote()), telling
 * P that V is R without the audited reveal. Other destinations cost a
 * prefix compare, no lookup.
 */
static unsigned int guise_ingress_direct(struct guise_net *gn,
					 const struct guise_config *cfg,
					 const struct sk_buff *skb)
{
	const struct ipv6hdr *ip6 = ipv6_hdr(skb);
	struct guise_lease *l;

	if (!guise_config_miss_rule(cfg, &ip6->daddr))
		return NF_ACCEPT;
	l = guise_lease_lookup_rp(gn, &ip6->daddr, &ip6->saddr);
	if (!l || !(READ_ONCE(l->flags) & GUISE_LEASE_F_INGRESS) ||
	    !guise_lease_live(l))
		return NF_ACCEPT;
	return guise_drop(gn, GUISE_STAT_DROP_DIRECT);
}

/*
 * A neighbour solicitation for V is the gateway's to answer (proxy ND,
 * where the pool is on-link upstream): an on-link router's unicast
 * reachability probe comes from the router, not from P, and dropping it
 * would make the router's neighbour entry for V fail now and then. Hop
 * limit 255 proves it was not forwarded (RFC 4861); nothing is rewritten
 * and the answer is the gateway's own, whether V is leased or not.
 */
static bool guise_is_ns(const struct sk_buff *skb)
{
	const struct ipv6hdr *ip6 = ipv6_hdr(skb);
	u8 _type;
	const u8 *type;

	if (ip6->nexthdr != IPPROTO_ICMPV6 || ip6->hop_limit != 255)
		return false;
	type = skb_header_pointer(skb,
				  skb_network_offset(skb) + sizeof(*ip6),
				  sizeof(_type), &_type);
	return type && *type == NDISC_NEIGHBOUR_SOLICITATION;
}

unsigned int guise_ingress(struct guise_net *gn, const struct guise_config *cfg,
			   struct sk_buff *skb)
{
	const struct ipv6hdr *ip6 = ipv6_hdr(skb);
	struct guise_lease *l;
	struct guise_pkt p;

	if (!guise_config_is_virtual(cfg, &ip6->daddr))
		return guise_ingress_direct(gn, cfg, skb);
	if (guise_is_ns(skb))
		return NF_ACCEPT;

	l = guise_lease_lookup_v(gn, &ip6->daddr);
	if (!l || !(READ_ONCE(l->flags) & GUISE_LEASE_F_INGRESS))
		return guise_drop(gn, GUISE_STAT_DROP_UNLEASED);
	if (!guise_lease_live(l))
		return guise_drop(gn, GUISE_STAT_DROP_EXPIRED);

	if (guise_parse(skb, skb_network_offset(skb), &p))
		return guise_drop(gn, GUISE_STAT_DROP_MALFORMED);
	if (p.routing)
		return guise_routing(gn, cfg);
	if (guise_first_frag_short(skb, &p))
		return guise_drop(gn, GUISE_STAT_DROP_MALFORMED);

	/* Errors come from routers too; they are matched on their quote. */
	if (guise_icmp_is_error(skb, &p))
		return guise_ingress_icmp(gn, skb, l, &p);
	if (!ipv6_addr_equal(&ip6->saddr, &l->rp.peer))
		return guise_drop(gn, GUISE_STAT_DROP_NOT_PEER);

	if (guise_set_addr(skb, &p, false, &l->rp.real))
		return guise_drop(gn, GUISE_STAT_DROP_NOMEM);
	guise_lease_count_rx(l, skb->len);
	guise_stat_inc(gn, GUISE_STAT_LEASE_RX);
	return NF_ACCEPT;
}
