/* SPDX-License-Identifier: GPL-2.0 */
/* Building fake kernel replies in memory with libmnl. */
#ifndef GUISE_TEST_MSG_H
#define GUISE_TEST_MSG_H

#include <stdint.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/guise.h>

#include "addr.h"
#include "nl.h"

#define TEST_FAMILY 0x1d

struct test_buf {
	char b[GUISE_NL_MSG_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
};

static inline struct nlmsghdr *msg_reply(struct test_buf *buf, uint8_t cmd)
{
	return guise_msg_start(buf->b, TEST_FAMILY, cmd, 0);
}

/* One prefix nest; @policy < 0 leaves GUISE_A_PREFIX_MISS_POLICY out. */
static inline void msg_prefix(struct nlmsghdr *nlh, uint16_t index,
			      const char *text, int policy)
{
	struct guise_prefix p;
	struct nlattr *nest;

	guise_prefix_parse(text, &p, NULL);
	nest = mnl_attr_nest_start(nlh, index);
	mnl_attr_put(nlh, GUISE_A_PREFIX_ADDR, sizeof(p.addr), &p.addr);
	mnl_attr_put_u8(nlh, GUISE_A_PREFIX_LEN, p.len);
	if (policy >= 0)
		mnl_attr_put_u8(nlh, GUISE_A_PREFIX_MISS_POLICY, policy);
	mnl_attr_nest_end(nlh, nest);
}

#endif
