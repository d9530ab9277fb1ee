// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>

#include "lease.h"
#include "num.h"

static const struct {
	uint32_t flag;
	const char *name;
} lease_flags[] = {
	{ GUISE_LEASE_F_EGRESS, "egress" },
	{ GUISE_LEASE_F_INGRESS, "ingress" },
	{ GUISE_LEASE_F_BLOCK_SMTP, "block-smtp" },
};

#define N_FLAGS (sizeof(lease_flags) / sizeof(lease_flags[0]))

static bool put_addr_if(struct nlmsghdr *nlh, size_t buflen,
			const struct guise_lease *l, uint16_t type,
			const struct in6_addr *a)
{
	return !guise_lease_has(l, type) ||
	       mnl_attr_put_check(nlh, buflen, type, sizeof(*a), a);
}

static bool put_u32_if(struct nlmsghdr *nlh, size_t buflen,
		       const struct guise_lease *l, uint16_t type, uint32_t v)
{
	return !guise_lease_has(l, type) ||
	       mnl_attr_put_u32_check(nlh, buflen, type, v);
}

int guise_lease_put(struct nlmsghdr *nlh, size_t buflen,
		    const struct guise_lease *l)
{
	struct nlattr *nest;

	nest = mnl_attr_nest_start_check(nlh, buflen, GUISE_A_LEASE);
	if (!nest ||
	    !put_addr_if(nlh, buflen, l, GUISE_A_LEASE_REAL, &l->real) ||
	    !put_addr_if(nlh, buflen, l, GUISE_A_LEASE_PEER, &l->peer) ||
	    !put_addr_if(nlh, buflen, l, GUISE_A_LEASE_VIRT, &l->virt) ||
	    !put_u32_if(nlh, buflen, l, GUISE_A_LEASE_FLAGS, l->flags) ||
	    !put_u32_if(nlh, buflen, l, GUISE_A_LEASE_LIFETIME, l->lifetime) ||
	    !put_u32_if(nlh, buflen, l, GUISE_A_LEASE_RATE_PPS, l->rate_pps) ||
	    !put_u32_if(nlh, buflen, l, GUISE_A_LEASE_RATE_BURST,
			l->rate_burst))
		return -EMSGSIZE;
	mnl_attr_nest_end(nlh, nest);
	return 0;
}

static int parse_stats(const struct nlattr *nest, struct guise_lease *l)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, nest) {
		uint64_t *dst;

		switch (mnl_attr_get_type(a)) {
		case GUISE_A_LEASE_STATS_TX_PACKETS:
			dst = &l->stats.tx_packets;
			break;
		case GUISE_A_LEASE_STATS_TX_BYTES:
			dst = &l->stats.tx_bytes;
			break;
		case GUISE_A_LEASE_STATS_RX_PACKETS:
			dst = &l->stats.rx_packets;
			break;
		case GUISE_A_LEASE_STATS_RX_BYTES:
			dst = &l->stats.rx_bytes;
			break;
		case GUISE_A_LEASE_STATS_DROP_RATE:
			dst = &l->stats.drop_rate;
			break;
		case GUISE_A_LEASE_STATS_DROP_SMTP:
			dst = &l->stats.drop_smtp;
			break;
		default:
			continue;
		}
		if (mnl_attr_validate(a, MNL_TYPE_U64) < 0)
			return -EINVAL;
		*dst = mnl_attr_get_u64(a);
	}
	return 0;
}

static uint32_t *lease_u32_field(struct guise_lease *l, unsigned int type)
{
	switch (type) {
	case GUISE_A_LEASE_FLAGS:
		return &l->flags;
	case GUISE_A_LEASE_RATE_PPS:
		return &l->rate_pps;
	case GUISE_A_LEASE_RATE_BURST:
		return &l->rate_burst;
	default:
		return &l->lifetime;
	}
}

static int parse_member(const struct nlattr *a, struct guise_lease *l)
{
	unsigned int type = mnl_attr_get_type(a);
	struct in6_addr *addr = NULL;

	switch (type) {
	case GUISE_A_LEASE_REAL:
		addr = &l->real;
		break;
	case GUISE_A_LEASE_PEER:
		addr = &l->peer;
		break;
	case GUISE_A_LEASE_VIRT:
		addr = &l->virt;
		break;
	case GUISE_A_LEASE_FLAGS:
	case GUISE_A_LEASE_RATE_PPS:
	case GUISE_A_LEASE_RATE_BURST:
	case GUISE_A_LEASE_LIFETIME:
		if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
			return -EINVAL;
		*lease_u32_field(l, type) = mnl_attr_get_u32(a);
		break;
	case GUISE_A_LEASE_EXPIRES_MS:
		if (mnl_attr_validate(a, MNL_TYPE_U64) < 0)
			return -EINVAL;
		l->expires_ms = mnl_attr_get_u64(a);
		break;
	case GUISE_A_LEASE_STATS:
		if (mnl_attr_validate(a, MNL_TYPE_NESTED) < 0 ||
		    parse_stats(a, l))
			return -EINVAL;
		break;
	default:
		return 0; /* newer kernel: skip */
	}
	if (addr) {
		if (mnl_attr_get_payload_len(a) != sizeof(*addr))
			return -EINVAL;
		memcpy(addr, mnl_attr_get_payload(a), sizeof(*addr));
	}
	guise_lease_mark(l, type);
	return 0;
}

int guise_lease_parse(const struct nlmsghdr *nlh, struct guise_lease *l)
{
	const struct nlattr *top, *a;
	bool found = false;

	memset(l, 0, sizeof(*l));
	mnl_attr_for_each(top, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(top) != GUISE_A_LEASE)
			continue;
		if (mnl_attr_validate(top, MNL_TYPE_NESTED) < 0)
			return -EINVAL;
		found = true;
		mnl_attr_for_each_nested(a, top) {
			if (parse_member(a, l))
				return -EINVAL;
		}
	}
	return found ? 0 : -EINVAL;
}

char *guise_lease_flags_format(uint32_t flags, char *buf, size_t size)
{
	size_t used = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < N_FLAGS; i++) {
		if (!(flags & lease_flags[i].flag))
			continue;
		used += snprintf(buf + used, used < size ? size - used : 0,
				 "%s%s", used ? "," : "", lease_flags[i].name);
		flags &= ~lease_flags[i].flag;
	}
	if (flags)
		snprintf(buf + used, used < size ? size - used : 0, "%s0x%x",
			 used ? "," : "", flags);
	return buf;
}

int guise_lease_flags_parse(const char *s, uint32_t *flags)
{
	char copy[128], *tok, *save;
	unsigned int i;

	if (strlen(s) >= sizeof(copy) || !*s)
		return -EINVAL;
	strcpy(copy, s);
	*flags = 0;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < N_FLAGS; i++)
			if (!strcmp(tok, lease_flags[i].name))
				break;
		if (i == N_FLAGS)
			return -EINVAL;
		*flags |= lease_flags[i].flag;
	}
	return 0;
}

int guise_duration_parse(const char *s, uint32_t *seconds)
{
	uint64_t v, mult = 1;
	const char *end;
	int err = guise_digits_parse(s, &end, &v);

	if (err == -EINVAL || (*end && end[1]))
		return -EINVAL;
	switch (*end) {
	case '\0':
	case 's':
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	default:
		return -EINVAL;
	}
	if (err)
		return err;
	if (!v)
		return -EINVAL;
	if (v > UINT32_MAX / mult)
		return -ERANGE;
	*seconds = (uint32_t)(v * mult);
	return 0;
}
