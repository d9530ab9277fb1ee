// SPDX-License-Identifier: GPL-2.0
// LDLIBS: -lmnl
/*
 * config_atomic: CONFIG_SET is all or nothing and readers only ever see
 * whole snapshots. A writer process flips the configuration between two
 * complete states as fast as it can while this process reads it back; every
 * reply must be exactly one of the two. A rejected CONFIG_SET must change
 * nothing and carry an extended-ack message. Each test runs in a fresh
 * network namespace.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/guise.h>

#include "kselftest_harness.h"

struct snap {
	uint8_t enabled;
	uint32_t qlen, timeout, max_leases;
	int nr_vprefixes;
	char vprefix[4][INET6_ADDRSTRLEN + 4];
};

static const struct snap state_a = {
	1, 16, 500, 1000, 1, { "2001:db8:a::/48" },
};
static const struct snap state_b = {
	0, 32, 900, 2000, 2, { "2001:db8:b::/48", "fd00:b::/64" },
};

struct nl {
	struct mnl_socket *sk;
	uint16_t family;
	unsigned int seq;
	char extack[256];
	char buf[32768];
};

static struct nlmsghdr *nl_req(struct nl *nl, uint16_t type, uint8_t cmd)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(nl->buf);
	struct genlmsghdr *g;

	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	h->nlmsg_seq = ++nl->seq;
	g = mnl_nlmsg_put_extra_header(h, sizeof(*g));
	g->cmd = cmd;
	g->version = GUISE_FAMILY_VERSION;
	return h;
}

/* What the callbacks of one nl_talk() share. */
struct talk {
	struct nl *nl;
	mnl_cb_t cb;
	void *data;
};

static int nl_extack_cb(const struct nlattr *a, void *data)
{
	struct nl *nl = data;

	if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG)
		snprintf(nl->extack, sizeof(nl->extack), "%s",
			 mnl_attr_get_str(a));
	return MNL_CB_OK;
}

static int nl_err_cb(const struct nlmsghdr *h, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
	struct talk *t = data;

	/* With NETLINK_CAP_ACK the TLVs follow the request's header. */
	if (h->nlmsg_flags & NLM_F_ACK_TLVS)
		mnl_attr_parse(h, sizeof(*e), nl_extack_cb, t->nl);
	errno = -e->error;
	return e->error ? MNL_CB_ERROR : MNL_CB_STOP;
}

static int nl_data_cb(const struct nlmsghdr *h, void *data)
{
	struct talk *t = data;

	return t->cb ? t->cb(h, t->data) : MNL_CB_OK;
}

/* Send @h and run @cb on each reply; returns 0 or -errno. */
static int nl_talk(struct nl *nl, struct nlmsghdr *h, mnl_cb_t cb, void *data)
{
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = nl_err_cb };
	struct talk t = { nl, cb, data };
	int ret;

	nl->extack[0] = 0;
	if (mnl_socket_sendto(nl->sk, h, h->nlmsg_len) < 0)
		return -errno;
	do {
		ret = mnl_socket_recvfrom(nl->sk, nl->buf, sizeof(nl->buf));
		if (ret < 0)
			return -errno;
		ret = mnl_cb_run2(nl->buf, ret, nl->seq, 0, nl_data_cb, &t, ctl,
				  NLMSG_MIN_TYPE);
	} while (ret > 0);
	return ret < 0 ? -errno : 0;
}

static int family_cb(const struct nlmsghdr *h, void *data)
{
	struct nlattr *a;

	mnl_attr_for_each(a, h, sizeof(struct genlmsghdr))
		if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID)
			*(uint16_t *)data = mnl_attr_get_u16(a);
	return MNL_CB_OK;
}

static int nl_open(struct nl *nl)
{
	struct nlmsghdr *h;
	int one = 1;

	nl->sk = mnl_socket_open(NETLINK_GENERIC);
	if (!nl->sk || mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	mnl_socket_setsockopt(nl->sk, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sk, NETLINK_CAP_ACK, &one, sizeof(one));
	h = nl_req(nl, GENL_ID_CTRL, CTRL_CMD_GETFAMILY);
	mnl_attr_put_strz(h, CTRL_ATTR_FAMILY_NAME, GUISE_FAMILY_NAME);
	return nl_talk(nl, h, family_cb, &nl->family);
}

static void put_prefix(struct nlmsghdr *h, int idx, const char *text)
{
	char addr[INET6_ADDRSTRLEN + 4], *slash;
	struct in6_addr a;
	struct nlattr *n;

	snprintf(addr, sizeof(addr), "%s", text);
	slash = strchr(addr, '/');
	*slash = 0;
	inet_pton(AF_INET6, addr, &a);
	n = mnl_attr_nest_start(h, idx);
	mnl_attr_put(h, GUISE_A_PREFIX_ADDR, sizeof(a), &a);
	mnl_attr_put_u8(h, GUISE_A_PREFIX_LEN, atoi(slash + 1));
	mnl_attr_nest_end(h, n);
}

static int config_set(struct nl *nl, const struct snap *s, int bad_qlen)
{
	struct nlmsghdr *h = nl_req(nl, nl->family, GUISE_CMD_CONFIG_SET);
	struct nlattr *cfg, *list;
	int i;

	cfg = mnl_attr_nest_start(h, GUISE_A_CONFIG);
	mnl_attr_put_u8(h, GUISE_A_CONFIG_ENABLED, s->enabled);
	mnl_attr_put_u32(h, GUISE_A_CONFIG_MAX_LEASES, s->max_leases);
	mnl_attr_put_u32(h, GUISE_A_CONFIG_UPCALL_TIMEOUT_MS, s->timeout);
	list = mnl_attr_nest_start(h, GUISE_A_CONFIG_VPREFIXES);
	for (i = 0; i < s->nr_vprefixes; i++)
		put_prefix(h, i + 1, s->vprefix[i]);
	mnl_attr_nest_end(h, list);
	mnl_attr_put_u32(h, GUISE_A_CONFIG_UPCALL_QLEN,
			 bad_qlen ? GUISE_MAX_UPCALL_QLEN + 1 : s->qlen);
	mnl_attr_nest_end(h, cfg);
	return nl_talk(nl, h, NULL, NULL);
}

static int prefix_cb(const struct nlattr *a, void *data)
{
	struct snap *s = data;
	const void *addr = NULL;
	char text[INET6_ADDRSTRLEN];
	struct nlattr *m;
	int len = -1;

	mnl_attr_for_each_nested(m, a) {
		if (mnl_attr_get_type(m) == GUISE_A_PREFIX_ADDR)
			addr = mnl_attr_get_payload(m);
		else if (mnl_attr_get_type(m) == GUISE_A_PREFIX_LEN)
			len = mnl_attr_get_u8(m);
	}
	if (!addr || len < 0 || s->nr_vprefixes == 4)
		return MNL_CB_ERROR;
	inet_ntop(AF_INET6, addr, text, sizeof(text));
	snprintf(s->vprefix[s->nr_vprefixes++], sizeof(s->vprefix[0]), "%s/%d",
		 text, len);
	return MNL_CB_OK;
}

static int config_cb(const struct nlmsghdr *h, void *data)
{
	struct nlattr *top, *a, *e;
	struct snap *s = data;

	memset(s, 0, sizeof(*s));
	mnl_attr_for_each(top, h, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(top) != GUISE_A_CONFIG)
			continue;
		mnl_attr_for_each_nested(a, top) {
			switch (mnl_attr_get_type(a)) {
			case GUISE_A_CONFIG_ENABLED:
				s->enabled = mnl_attr_get_u8(a);
				break;
			case GUISE_A_CONFIG_MAX_LEASES:
				s->max_leases = mnl_attr_get_u32(a);
				break;
			case GUISE_A_CONFIG_UPCALL_QLEN:
				s->qlen = mnl_attr_get_u32(a);
				break;
			case GUISE_A_CONFIG_UPCALL_TIMEOUT_MS:
				s->timeout = mnl_attr_get_u32(a);
				break;
			case GUISE_A_CONFIG_VPREFIXES:
				mnl_attr_for_each_nested(e, a)
					if (prefix_cb(e, s) != MNL_CB_OK)
						return MNL_CB_ERROR;
				break;
			}
		}
	}
	return MNL_CB_OK;
}

static int config_get(struct nl *nl, struct snap *s)
{
	return nl_talk(nl, nl_req(nl, nl->family, GUISE_CMD_CONFIG_GET),
		       config_cb, s);
}

static int snap_equal(const struct snap *x, const struct snap *y)
{
	int i;

	if (x->enabled != y->enabled || x->qlen != y->qlen ||
	    x->timeout != y->timeout || x->max_leases != y->max_leases ||
	    x->nr_vprefixes != y->nr_vprefixes)
		return 0;
	for (i = 0; i < x->nr_vprefixes; i++)
		if (strcmp(x->vprefix[i], y->vprefix[i]))
			return 0;
	return 1;
}

FIXTURE(config)
{
	struct nl nl;
};

FIXTURE_SETUP(config)
{
	memset(&self->nl, 0, sizeof(self->nl));
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	/* No guise family means the module is not loaded. */
	ASSERT_EQ(0, nl_open(&self->nl));
}

FIXTURE_TEARDOWN(config)
{
	mnl_socket_close(self->nl.sk);
}

TEST_F(config, readers_see_whole_snapshots)
{
	struct snap got;
	int i, torn = 0, seen_a = 0, seen_b = 0, status;
	pid_t writer;

	ASSERT_EQ(0, config_set(&self->nl, &state_a, 0));
	writer = fork();
	ASSERT_GE(writer, 0);
	if (!writer) {
		struct nl w = {};

		if (nl_open(&w))
			_exit(1);
		for (i = 0; i < 4000; i++)
			if (config_set(&w, i & 1 ? &state_a : &state_b, 0))
				_exit(2);
		_exit(0);
	}
	for (i = 0; i < 4000; i++) {
		ASSERT_EQ(0, config_get(&self->nl, &got));
		if (snap_equal(&got, &state_a))
			seen_a++;
		else if (snap_equal(&got, &state_b))
			seen_b++;
		else
			torn++;
	}
	ASSERT_EQ(writer, waitpid(writer, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	TH_LOG("%d reads of A, %d of B, %d torn", seen_a, seen_b, torn);
	EXPECT_EQ(0, torn);
	EXPECT_GT(seen_a + seen_b, 0);
}

TEST_F(config, rejected_set_changes_nothing)
{
	struct snap got;

	ASSERT_EQ(0, config_set(&self->nl, &state_a, 0));
	/* state B with an out-of-range queue length: nothing of B applies. */
	EXPECT_EQ(-ERANGE, config_set(&self->nl, &state_b, 1));
	EXPECT_NE(0, self->nl.extack[0]);
	TH_LOG("extack: %s", self->nl.extack);
	ASSERT_EQ(0, config_get(&self->nl, &got));
	EXPECT_TRUE(snap_equal(&got, &state_a));
}

TEST_F(config, fresh_namespace_has_defaults)
{
	struct snap got;

	ASSERT_EQ(0, config_get(&self->nl, &got));
	EXPECT_EQ(0, got.enabled);
	EXPECT_EQ(GUISE_DEFAULT_MAX_LEASES, got.max_leases);
	EXPECT_EQ(GUISE_DEFAULT_UPCALL_QLEN, got.qlen);
	EXPECT_EQ(GUISE_DEFAULT_UPCALL_TIMEOUT_MS, got.timeout);
	EXPECT_EQ(0, got.nr_vprefixes);
}

TEST_HARNESS_MAIN
