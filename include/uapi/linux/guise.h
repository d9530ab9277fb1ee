/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * guise: per-peer virtual IPv6 source addresses and in-kernel decryption of
 * protected multicast content.
 *
 * This header is the whole kernel/user ABI. It is shared by guise.ko and
 * libguise and is described, name for name and value for value, by
 * Documentation/netlink/specs/guise.yaml (a test fails if they disagree).
 *
 * Generic netlink family GUISE_FAMILY_NAME, version GUISE_FAMILY_VERSION,
 * one multicast group GUISE_MCGRP_EVENTS. Every command needs
 * CAP_NET_ADMIN in the user namespace owning the network namespace
 * (GENL_UNS_ADMIN_PERM): leases and keys are private data.
 *
 * Attribute tree (every command carries one top-level nest):
 *
 *   GUISE_CMD_CONFIG_GET / GUISE_CMD_CONFIG_SET
 *     GUISE_A_CONFIG: NLA_NESTED
 *       GUISE_A_CONFIG_ENABLED: NLA_U8 (0 or 1)
 *       GUISE_A_CONFIG_VPREFIXES: NLA_NESTED, indexed array, replaces all
 *         0..n: NLA_NESTED
 *           GUISE_A_PREFIX_ADDR: 16 bytes
 *           GUISE_A_PREFIX_LEN: NLA_U8 (1..128)
 *       GUISE_A_CONFIG_MISS_RULES: NLA_NESTED, indexed array, replaces all
 *         0..n: NLA_NESTED
 *           GUISE_A_PREFIX_ADDR: 16 bytes (a real prefix)
 *           GUISE_A_PREFIX_LEN: NLA_U8 (0..128)
 *           GUISE_A_PREFIX_MISS_POLICY: NLA_U8 (enum guise_miss_policy)
 *       GUISE_A_CONFIG_MAX_LEASES: NLA_U32
 *       GUISE_A_CONFIG_UPCALL_QLEN: NLA_U32 (packets held per flow)
 *       GUISE_A_CONFIG_UPCALL_TIMEOUT_MS: NLA_U32
 *       GUISE_A_CONFIG_LEASE_COUNT: NLA_U32 (read only)
 *       GUISE_A_CONFIG_KEY_COUNT: NLA_U32 (read only)
 *       GUISE_A_CONFIG_ROUTING_HEADER: NLA_U8 (enum guise_rthdr_policy)
 *
 *   GUISE_CMD_LEASE_NEW / _DEL / _GET (do and dump) / _FLUSH,
 *   events GUISE_CMD_LEASE_EXPIRED and GUISE_CMD_LEASE_MISS
 *     GUISE_A_LEASE: NLA_NESTED
 *       GUISE_A_LEASE_REAL: 16 bytes, the host's real address R
 *       GUISE_A_LEASE_PEER: 16 bytes, the communication peer P
 *       GUISE_A_LEASE_VIRT: 16 bytes, the leased virtual address V
 *       GUISE_A_LEASE_FLAGS: NLA_U32 (GUISE_LEASE_F_*)
 *       GUISE_A_LEASE_LIFETIME: NLA_U32, seconds (NEW only)
 *       GUISE_A_LEASE_EXPIRES_MS: NLA_U64, milliseconds left (read only)
 *       GUISE_A_LEASE_RATE_PPS: NLA_U32, 0 = unlimited
 *       GUISE_A_LEASE_RATE_BURST: NLA_U32, packets
 *       GUISE_A_LEASE_STATS: NLA_NESTED (read only)
 *         GUISE_A_LEASE_STATS_*: NLA_U64
 *
 *   GUISE_CMD_KEY_NEW / _DEL / _GET (do and dump) / _FLUSH,
 *   event GUISE_CMD_KEY_EXPIRED
 *     GUISE_A_KEY: NLA_NESTED
 *       GUISE_A_KEY_GROUP: 16 bytes, IPv6 multicast group
 *       GUISE_A_KEY_PORT: NLA_U16, UDP destination port (host order)
 *       GUISE_A_KEY_ID: NLA_U32, key id (= content id)
 *       GUISE_A_KEY_ALG: NLA_U8 (enum guise_alg)
 *       GUISE_A_KEY_DIR: NLA_U8 (enum guise_key_dir)
 *       GUISE_A_KEY_SECRET: 16 or 32 bytes (write only, never returned)
 *       GUISE_A_KEY_SALT: 4 bytes (write only, never returned)
 *       GUISE_A_KEY_NOT_BEFORE: NLA_U64, seconds since the epoch (realtime)
 *       GUISE_A_KEY_NOT_AFTER: NLA_U64, seconds since the epoch (realtime)
 *       GUISE_A_KEY_REPLAY_WINDOW: NLA_U32 (GUISE_REPLAY_WINDOW_MIN..MAX)
 *       GUISE_A_KEY_TX_SEQ: NLA_U64, next sequence number (read only)
 *       GUISE_A_KEY_STATS: NLA_NESTED (read only)
 *         GUISE_A_KEY_STATS_*: NLA_U64
 *       GUISE_A_KEY_REPLACE: NLA_FLAG (KEY_NEW only)
 *     KEY_NEW of an installed (group, port, id, dir): EEXIST; with
 *     GUISE_A_KEY_REPLACE only its NOT_BEFORE/NOT_AFTER change, in place
 *     (same ALG and SALT required; replay state kept), and a key not
 *     installed is installed. (Generic netlink refuses NLM_F_REPLACE.)
 *
 *   GUISE_CMD_STATS_GET
 *     GUISE_A_STATS: NLA_NESTED (read only)
 *       attribute type = enum guise_stat + 1: NLA_U64
 */
#ifndef _UAPI_LINUX_GUISE_H
#define _UAPI_LINUX_GUISE_H

#include <linux/types.h>

#define GUISE_FAMILY_NAME	"guise"
#define GUISE_FAMILY_VERSION	1
#define GUISE_MCGRP_EVENTS	"events"

enum guise_cmd {
	GUISE_CMD_UNSPEC,
	GUISE_CMD_CONFIG_GET,
	GUISE_CMD_CONFIG_SET,
	GUISE_CMD_LEASE_NEW,
	GUISE_CMD_LEASE_DEL,
	GUISE_CMD_LEASE_GET,
	GUISE_CMD_LEASE_FLUSH,
	GUISE_CMD_LEASE_EXPIRED,	/* event */
	GUISE_CMD_LEASE_MISS,		/* event */
	GUISE_CMD_KEY_NEW,
	GUISE_CMD_KEY_DEL,
	GUISE_CMD_KEY_GET,
	GUISE_CMD_KEY_FLUSH,
	GUISE_CMD_KEY_EXPIRED,		/* event */
	GUISE_CMD_STATS_GET,

	__GUISE_CMD_MAX,
};

#define GUISE_CMD_MAX (__GUISE_CMD_MAX - 1)

enum guise_miss_policy {
	GUISE_MISS_PASS,	/* forward unchanged (the default) */
	GUISE_MISS_DROP,	/* drop and count */
	GUISE_MISS_UPCALL,	/* hold, emit LEASE_MISS, release on LEASE_NEW */

	__GUISE_MISS_MAX,
};

#define GUISE_MISS_MAX (__GUISE_MISS_MAX - 1)

/*
 * What the hooks do with a packet carrying a routing header that they
 * would otherwise rewrite (R->P with a live egress lease, or to a served
 * virtual address with a live ingress lease).
 */
enum guise_rthdr_policy {
	GUISE_RTHDR_PASS,	/* forward unmodified (the default): leaks R */
	GUISE_RTHDR_DROP,	/* drop and count (drop_routing) */

	__GUISE_RTHDR_MAX,
};

#define GUISE_RTHDR_MAX (__GUISE_RTHDR_MAX - 1)

/* GUISE_A_LEASE_FLAGS */
#define GUISE_LEASE_F_EGRESS		(1U << 0) /* rewrite R->P to V->P */
#define GUISE_LEASE_F_INGRESS		(1U << 1) /* rewrite P->V to P->R */
#define GUISE_LEASE_F_BLOCK_SMTP	(1U << 2) /* drop outbound TCP/25 */
#define GUISE_LEASE_F_ALL \
	(GUISE_LEASE_F_EGRESS | GUISE_LEASE_F_INGRESS | GUISE_LEASE_F_BLOCK_SMTP)

/* Defaults and bounds of the per-netns configuration and of leases. */
#define GUISE_DEFAULT_MAX_LEASES	1048576U
#define GUISE_MAX_MAX_LEASES		16777216U
#define GUISE_DEFAULT_UPCALL_QLEN	8U
#define GUISE_DEFAULT_UPCALL_TIMEOUT_MS	200U
#define GUISE_MAX_UPCALL_QLEN		256U
#define GUISE_MAX_UPCALL_TIMEOUT_MS	10000U
#define GUISE_MAX_VPREFIXES		64U
#define GUISE_MAX_MISS_RULES		64U
#define GUISE_MAX_LEASE_LIFETIME	(366U * 24 * 3600) /* seconds */

enum guise_alg {
	GUISE_ALG_UNSPEC,
	GUISE_ALG_CHACHA20_POLY1305,	/* 32-byte key */
	GUISE_ALG_AES128_GCM,		/* 16-byte key */
	GUISE_ALG_AES256_GCM,		/* 32-byte key */

	__GUISE_ALG_MAX,
};

#define GUISE_ALG_MAX (__GUISE_ALG_MAX - 1)

enum guise_key_dir {
	GUISE_KEY_DIR_UNSPEC,
	GUISE_KEY_DIR_RX,	/* decrypt received datagrams */
	GUISE_KEY_DIR_TX,	/* encrypt locally sent datagrams */

	__GUISE_KEY_DIR_MAX,
};

#define GUISE_KEY_DIR_MAX (__GUISE_KEY_DIR_MAX - 1)

#define GUISE_KEY_SALT_LEN		4
#define GUISE_REPLAY_WINDOW_MIN		64U
#define GUISE_REPLAY_WINDOW_MAX		8192U
#define GUISE_REPLAY_WINDOW_DEFAULT	1024U

/*
 * Protected content on the wire: the UDP payload of a datagram to a
 * protected (group, port) is
 *
 *   struct guise_content_hdr | AEAD ciphertext | 16-byte tag
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  magic 0x47   |    version    |     type      |      alg      |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                     key id (= content id)                     |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                   sequence number (64 bits)                   |
 *   |                                                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * 16 bytes, naturally aligned, multi-byte fields big endian. Nonce
 * (12 bytes) = 4-byte per-key salt || sequence number. AAD = the 16-byte
 * header. Only magic, version, type, alg and key id are read before the
 * tag verifies (to find the key).
 */
#define GUISE_CONTENT_MAGIC	0x47	/* 'G' */
#define GUISE_CONTENT_VERSION	1
#define GUISE_CONTENT_TYPE_DATA	1
#define GUISE_CONTENT_TAG_LEN	16

struct guise_content_hdr {
	__u8 magic;
	__u8 version;
	__u8 type;
	__u8 alg;
	__be32 key_id;
	__be64 seq;
};

enum guise_attr {
	GUISE_A_UNSPEC,
	GUISE_A_CONFIG,
	GUISE_A_LEASE,
	GUISE_A_KEY,
	GUISE_A_STATS,

	__GUISE_A_MAX,
};

#define GUISE_A_MAX (__GUISE_A_MAX - 1)

enum guise_a_config {
	GUISE_A_CONFIG_UNSPEC,
	GUISE_A_CONFIG_ENABLED,
	GUISE_A_CONFIG_VPREFIXES,
	GUISE_A_CONFIG_MISS_RULES,
	GUISE_A_CONFIG_MAX_LEASES,
	GUISE_A_CONFIG_UPCALL_QLEN,
	GUISE_A_CONFIG_UPCALL_TIMEOUT_MS,
	GUISE_A_CONFIG_LEASE_COUNT,
	GUISE_A_CONFIG_KEY_COUNT,
	GUISE_A_CONFIG_ROUTING_HEADER,

	__GUISE_A_CONFIG_MAX,
};

#define GUISE_A_CONFIG_MAX (__GUISE_A_CONFIG_MAX - 1)

enum guise_a_prefix {
	GUISE_A_PREFIX_UNSPEC,
	GUISE_A_PREFIX_ADDR,
	GUISE_A_PREFIX_LEN,
	GUISE_A_PREFIX_MISS_POLICY,

	__GUISE_A_PREFIX_MAX,
};

#define GUISE_A_PREFIX_MAX (__GUISE_A_PREFIX_MAX - 1)

enum guise_a_lease {
	GUISE_A_LEASE_UNSPEC,
	GUISE_A_LEASE_PAD,
	GUISE_A_LEASE_REAL,
	GUISE_A_LEASE_PEER,
	GUISE_A_LEASE_VIRT,
	GUISE_A_LEASE_FLAGS,
	GUISE_A_LEASE_LIFETIME,
	GUISE_A_LEASE_EXPIRES_MS,
	GUISE_A_LEASE_RATE_PPS,
	GUISE_A_LEASE_RATE_BURST,
	GUISE_A_LEASE_STATS,

	__GUISE_A_LEASE_MAX,
};

#define GUISE_A_LEASE_MAX (__GUISE_A_LEASE_MAX - 1)

enum guise_a_lease_stats {
	GUISE_A_LEASE_STATS_UNSPEC,
	GUISE_A_LEASE_STATS_PAD,
	GUISE_A_LEASE_STATS_TX_PACKETS,	/* rewritten R->P to V->P */
	GUISE_A_LEASE_STATS_TX_BYTES,
	GUISE_A_LEASE_STATS_RX_PACKETS,	/* rewritten P->V to P->R */
	GUISE_A_LEASE_STATS_RX_BYTES,
	GUISE_A_LEASE_STATS_DROP_RATE,	/* over the rate limit */
	GUISE_A_LEASE_STATS_DROP_SMTP,	/* outbound TCP/25 blocked */

	__GUISE_A_LEASE_STATS_MAX,
};

#define GUISE_A_LEASE_STATS_MAX (__GUISE_A_LEASE_STATS_MAX - 1)

enum guise_a_key {
	GUISE_A_KEY_UNSPEC,
	GUISE_A_KEY_PAD,
	GUISE_A_KEY_GROUP,
	GUISE_A_KEY_PORT,
	GUISE_A_KEY_ID,
	GUISE_A_KEY_ALG,
	GUISE_A_KEY_DIR,
	GUISE_A_KEY_SECRET,
	GUISE_A_KEY_SALT,
	GUISE_A_KEY_NOT_BEFORE,
	GUISE_A_KEY_NOT_AFTER,
	GUISE_A_KEY_REPLAY_WINDOW,
	GUISE_A_KEY_TX_SEQ,
	GUISE_A_KEY_STATS,
	GUISE_A_KEY_REPLACE,

	__GUISE_A_KEY_MAX,
};

#define GUISE_A_KEY_MAX (__GUISE_A_KEY_MAX - 1)

enum guise_a_key_stats {
	GUISE_A_KEY_STATS_UNSPEC,
	GUISE_A_KEY_STATS_PAD,
	GUISE_A_KEY_STATS_PACKETS,	/* decrypted (rx) or encrypted (tx) */
	GUISE_A_KEY_STATS_BYTES,
	GUISE_A_KEY_STATS_DROP_AUTH,	/* tag did not verify */
	GUISE_A_KEY_STATS_DROP_REPLAY,	/* replayed or older than the window */

	__GUISE_A_KEY_STATS_MAX,
};

#define GUISE_A_KEY_STATS_MAX (__GUISE_A_KEY_STATS_MAX - 1)

/*
 * Global per-netns counters. In GUISE_A_STATS the attribute type of a
 * counter is its enum value + 1 (type 0 is reserved), each an NLA_U64.
 * New counters are only ever appended.
 */
enum guise_stat {
	GUISE_STAT_LEASE_TX,		/* egress packets rewritten R->V */
	GUISE_STAT_LEASE_RX,		/* ingress packets rewritten V->R */
	GUISE_STAT_LEASE_ICMP,		/* ICMPv6 errors rewritten */
	GUISE_STAT_DROP_NOT_PEER,	/* to a leased V from someone but P */
	GUISE_STAT_DROP_EXPIRED,	/* to a V whose lease expired */
	GUISE_STAT_DROP_UNLEASED,	/* to a pooled V with no lease */
	GUISE_STAT_DROP_RATE,		/* over a lease's rate limit */
	GUISE_STAT_DROP_SMTP,		/* outbound TCP/25 from a lease */
	GUISE_STAT_DROP_MALFORMED,	/* headers that could not be parsed */
	GUISE_STAT_MISS_PASS,		/* no lease, policy pass */
	GUISE_STAT_MISS_DROP,		/* no lease, policy drop */
	GUISE_STAT_MISS_QUEUED,		/* no lease, held for an upcall */
	GUISE_STAT_MISS_RELEASED,	/* held packets sent after LEASE_NEW */
	GUISE_STAT_MISS_TIMEOUT,	/* held packets dropped on timeout */
	GUISE_STAT_MISS_OVERFLOW,	/* held-packet queue full */
	GUISE_STAT_MISS_EVENT,		/* LEASE_MISS events sent */
	GUISE_STAT_CONTENT_DECRYPTED,
	GUISE_STAT_CONTENT_ENCRYPTED,
	GUISE_STAT_DROP_NO_KEY,		/* protected flow, unknown key id */
	GUISE_STAT_DROP_AUTH,		/* tag did not verify */
	GUISE_STAT_DROP_REPLAY,		/* replayed or too old */
	GUISE_STAT_DROP_TRUNCATED,	/* shorter than header + tag */
	GUISE_STAT_DROP_BAD_HEADER,	/* bad magic, version, type or alg */
	GUISE_STAT_DROP_SEQ_EXHAUSTED,	/* tx key would wrap */
	GUISE_STAT_DROP_NOMEM,		/* allocation or skb_cow failed */
	GUISE_STAT_DROP_TOO_BIG,	/* over 64 KiB once encrypted */
	GUISE_STAT_DROP_DIRECT,		/* P -> R itself while (R, P) leased */
	GUISE_STAT_DROP_ROUTING,	/* routing header: lease policy drop,
					 * or to a protected flow
					 */
	GUISE_STAT_DROP_FRAGMENT,	/* fragment to a protected group */

	__GUISE_STAT_MAX,
};

#define GUISE_STAT_MAX (__GUISE_STAT_MAX - 1)

#endif /* _UAPI_LINUX_GUISE_H */
