// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/guise.h>

#include "stats.h"

/* Lower case of the enum name after GUISE_STAT_. */
static const char *const stat_names[] = {
	[GUISE_STAT_LEASE_TX] = "lease_tx",
	[GUISE_STAT_LEASE_RX] = "lease_rx",
	[GUISE_STAT_LEASE_ICMP] = "lease_icmp",
	[GUISE_STAT_DROP_NOT_PEER] = "drop_not_peer",
	[GUISE_STAT_DROP_EXPIRED] = "drop_expired",
	[GUISE_STAT_DROP_UNLEASED] = "drop_unleased",
	[GUISE_STAT_DROP_RATE] = "drop_rate",
	[GUISE_STAT_DROP_SMTP] = "drop_smtp",
	[GUISE_STAT_DROP_MALFORMED] = "drop_malformed",
	[GUISE_STAT_MISS_PASS] = "miss_pass",
	[GUISE_STAT_MISS_DROP] = "miss_drop",
	[GUISE_STAT_MISS_QUEUED] = "miss_queued",
	[GUISE_STAT_MISS_RELEASED] = "miss_released",
	[GUISE_STAT_MISS_TIMEOUT] = "miss_timeout",
	[GUISE_STAT_MISS_OVERFLOW] = "miss_overflow",
	[GUISE_STAT_MISS_EVENT] = "miss_event",
	[GUISE_STAT_CONTENT_DECRYPTED] = "content_decrypted",
	[GUISE_STAT_CONTENT_ENCRYPTED] = "content_encrypted",
	[GUISE_STAT_DROP_NO_KEY] = "drop_no_key",
	[GUISE_STAT_DROP_AUTH] = "drop_auth",
	[GUISE_STAT_DROP_REPLAY] = "drop_replay",
	[GUISE_STAT_DROP_TRUNCATED] = "drop_truncated",
	[GUISE_STAT_DROP_BAD_HEADER] = "drop_bad_header",
	[GUISE_STAT_DROP_SEQ_EXHAUSTED] = "drop_seq_exhausted",
	[GUISE_STAT_DROP_NOMEM] = "drop_nomem",
	[GUISE_STAT_DROP_TOO_BIG] = "drop_too_big",
	[GUISE_STAT_DROP_DIRECT] = "drop_direct",
	[GUISE_STAT_DROP_ROUTING] = "drop_routing",
	[GUISE_STAT_DROP_FRAGMENT] = "drop_fragment",
};

_Static_assert(sizeof(stat_names) / sizeof(stat_names[0]) == __GUISE_STAT_MAX,
	       "a name for every enum guise_stat value");

const char *guise_stat_name(unsigned int id)
{
	return id < __GUISE_STAT_MAX ? stat_names[id] : NULL;
}

static int stats_append(struct guise_stats *st, unsigned int id, uint64_t value)
{
	struct guise_stat_value *v;

	v = realloc(st->v, (st->count + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	st->v = v;
	st->v[st->count].id = id;
	st->v[st->count].value = value;
	st->count++;
	return 0;
}

int guise_stats_parse(const struct nlmsghdr *nlh, struct guise_stats *st)
{
	const struct nlattr *top, *a;
	int err;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct genlmsghdr))
		return -EINVAL;
	mnl_attr_for_each(top, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(top) != GUISE_A_STATS)
			continue;
		mnl_attr_for_each_nested(a, top) {
			unsigned int type = mnl_attr_get_type(a);

			if (type == 0) /* reserved, e.g. alignment padding */
				continue;
			if (mnl_attr_get_payload_len(a) != sizeof(uint64_t))
				return -EINVAL;
			err = stats_append(st, type - 1, mnl_attr_get_u64(a));
			if (err)
				return err;
		}
	}
	return 0;
}

void guise_stats_free(struct guise_stats *st)
{
	free(st->v);
	st->v = NULL;
	st->count = 0;
}
