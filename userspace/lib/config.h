/* SPDX-License-Identifier: GPL-2.0 */
/* GUISE_A_CONFIG: the per-netns configuration, encoded and decoded. */
#ifndef GUISE_CONFIG_H
#define GUISE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>
#include <linux/guise.h>

#include "addr.h"

struct guise_miss_rule {
	struct guise_prefix prefix;
	uint8_t policy; /* enum guise_miss_policy */
};

struct guise_config {
	uint32_t present; /* bit (1 << GUISE_A_CONFIG_*) per field given */
	bool enabled;
	unsigned int n_vprefixes;
	struct guise_prefix vprefixes[GUISE_MAX_VPREFIXES];
	unsigned int n_miss_rules;
	struct guise_miss_rule miss_rules[GUISE_MAX_MISS_RULES];
	uint32_t max_leases;
	uint32_t upcall_qlen;
	uint32_t upcall_timeout_ms;
	uint32_t lease_count; /* read only */
	uint32_t key_count; /* read only */
	uint8_t rthdr_policy; /* enum guise_rthdr_policy */
};

static inline bool guise_config_has(const struct guise_config *cfg,
				    unsigned int attr)
{
	return cfg->present & (1U << attr);
}

static inline void guise_config_mark(struct guise_config *cfg,
				     unsigned int attr)
{
	cfg->present |= 1U << attr;
}

/*
 * Append a GUISE_A_CONFIG nest with the writable fields present in @cfg
 * (an empty list is sent as an empty nest: it clears). @buflen is the size
 * of the buffer holding @nlh. Returns 0 or -EMSGSIZE.
 */
int guise_config_put(struct nlmsghdr *nlh, size_t buflen,
		     const struct guise_config *cfg);

/*
 * Decode a CONFIG_GET reply (genl header and attributes) into @cfg, which
 * is cleared first. Unknown attributes are skipped; malformed known ones
 * give -EINVAL, lists over the ABI maximum -E2BIG.
 */
int guise_config_parse(const struct nlmsghdr *nlh, struct guise_config *cfg);

/* "pass", "drop", "upcall"; NULL for a value this build does not know. */
const char *guise_miss_policy_name(unsigned int policy);
/* enum guise_miss_policy for a name, or -EINVAL. */
int guise_miss_policy_parse(const char *name);

/* "pass", "drop"; NULL for a value this build does not know. */
const char *guise_rthdr_policy_name(unsigned int policy);
/* enum guise_rthdr_policy for a name, or -EINVAL. */
int guise_rthdr_policy_parse(const char *name);

#endif
