/* SPDX-License-Identifier: GPL-2.0 */
/* GUISE_A_LEASE: one lease, encoded for requests and decoded from replies
 * and events. */
#ifndef GUISE_LEASE_H
#define GUISE_LEASE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>
#include <linux/guise.h>

struct guise_lease_counters {
	uint64_t tx_packets, tx_bytes, rx_packets, rx_bytes;
	uint64_t drop_rate, drop_smtp;
};

struct guise_lease {
	uint32_t present; /* bit (1 << GUISE_A_LEASE_*) per field given */
	struct in6_addr real, peer, virt;
	uint32_t flags; /* GUISE_LEASE_F_* */
	uint32_t lifetime; /* seconds, requests only */
	uint64_t expires_ms; /* replies only */
	uint32_t rate_pps, rate_burst;
	struct guise_lease_counters stats; /* replies only */
};

static inline bool guise_lease_has(const struct guise_lease *l,
				   unsigned int attr)
{
	return l->present & (1U << attr);
}

static inline void guise_lease_mark(struct guise_lease *l, unsigned int attr)
{
	l->present |= 1U << attr;
}

/* Append a GUISE_A_LEASE nest with the fields present in @l. 0 or
 * -EMSGSIZE. */
int guise_lease_put(struct nlmsghdr *nlh, size_t buflen,
		    const struct guise_lease *l);

/* Decode the GUISE_A_LEASE nest of a reply or event into @l (cleared
 * first). Returns 0, or -EINVAL for a malformed or missing nest. */
int guise_lease_parse(const struct nlmsghdr *nlh, struct guise_lease *l);

/* "egress,ingress,block-smtp" style; returns buf. */
char *guise_lease_flags_format(uint32_t flags, char *buf, size_t size);
/* Parse a comma-separated flag list; 0 or -EINVAL. */
int guise_lease_flags_parse(const char *s, uint32_t *flags);

/* "90", "90s", "15m", "12h", "30d" to seconds, at least 1 (digits and
 * a unit only: no sign or blank); 0 or -EINVAL (also for zero) / -ERANGE. */
int guise_duration_parse(const char *s, uint32_t *seconds);

#endif
