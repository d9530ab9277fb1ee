/* SPDX-License-Identifier: GPL-2.0 */
/* GUISE_A_STATS: the global per-netns counters. */
#ifndef GUISE_STATS_H
#define GUISE_STATS_H

#include <stdint.h>
#include <linux/netlink.h>

struct guise_stat_value {
	unsigned int id; /* enum guise_stat; may be newer than this build */
	uint64_t value;
};

struct guise_stats {
	unsigned int count;
	struct guise_stat_value *v;
};

/*
 * Append the counters of a STATS_GET reply to @st (zero-initialised before
 * the first call), in the order received. Returns 0, -EINVAL for a
 * malformed counter, -ENOMEM.
 */
int guise_stats_parse(const struct nlmsghdr *nlh, struct guise_stats *st);
void guise_stats_free(struct guise_stats *st);

/* "lease_tx", "drop_not_peer", ...; NULL for an id this build does not
 * know. */
const char *guise_stat_name(unsigned int id);

#endif
