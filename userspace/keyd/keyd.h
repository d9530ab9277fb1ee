/* SPDX-License-Identifier: GPL-2.0 */
/* guise-keyd's server-side model: clients, channels, contents. */
#ifndef KEYD_KEYD_H
#define KEYD_KEYD_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "conf.h"
#include "keying.h"

#define KEYD_ID_MAX 64
/* Channels per client: one DEMM datagram (revisit with multi-part DEMMs). */
#define KEYD_MAX_ENTITLED GUISE_DEMM_MAX_ENTRIES
/* HTTP status codes counted: 100..599. */
#define KEYD_HTTP_CODES 600

/* Send priorities: revocations first, then changes, then refreshes. */
enum keyd_prio { PRIO_REVOKE, PRIO_CHANGE, PRIO_REFRESH, PRIO_NONE };

struct qitem {
	TAILQ_ENTRY(qitem) node;
	enum keyd_prio prio; /* PRIO_NONE: not queued */
	bool is_demm;
	uint32_t cost; /* wire bytes charged to the backlog while queued */
};
TAILQ_HEAD(qhead, qitem);

struct kclient {
	struct qitem q; /* first: a qitem is its client */
	char id[KEYD_ID_MAX];
	struct in6_addr addr; /* the certificate address that may enrol */
	struct guise_client_keys ck;
	uint64_t serial; /* the last DEMM serial sent */
	uint32_t channels[KEYD_MAX_ENTITLED];
	unsigned int nchannels;
	/* Groups it was recently revoked from: its DEMM still goes there. */
	struct in6_addr gone[KEYD_MAX_ENTITLED];
	uint64_t gone_until[KEYD_MAX_ENTITLED];
	unsigned int ngone;
};

struct kc {
	uint32_t epoch;
	uint8_t key[GUISE_KEYING_KEY_LEN];
	uint64_t not_before, not_after;
};

struct kchannel {
	uint32_t id;
	struct in6_addr group;
	uint16_t port;
	uint32_t kc_period, bandwidth_kbps;
	struct kc cur, prev; /* prev.epoch 0: none */
	uint64_t next_rotation;
};

struct ks {
	uint32_t key_id; /* 0: none */
	uint8_t key[GUISE_KEYING_KEY_LEN];
	uint8_t salt[4];
	uint64_t not_before, not_after, tx_from;
};

struct kcontent {
	struct qitem q; /* first: a qitem is its content */
	uint32_t id, channel;
	uint8_t alg;
	uint32_t ks_period;
	struct ks cur, prev;
	uint64_t next_rotation, prev_del; /* when the old tx key goes */
	/* cur went into the kernel once: never add it again (a new key's
	 * sequence starts at 0, server_kernel_resync()) */
	bool cur_added;
};

struct keyd_counters {
	uint64_t demms_sent, announces_sent, bytes_sent, send_errors;
	uint64_t kc_rotations, ks_rotations, revocations, deferred;
	uint64_t certs_revoked; /* clients revoked by certd (events and
				 * re-validation) */
	uint64_t revalidation_ended; /* of which by re-validation */
	uint64_t certd_events; /* revoked certificates certd reported */
	uint64_t kernel_errors, store_errors;
	uint64_t kernel_resyncs; /* keys installed again after a reload */
	/* API replies by HTTP status code (metrics.c) */
	uint64_t api_replies[KEYD_HTTP_CODES];
};

struct certcheck;
struct revalidate;
struct store;
struct kernel;
struct sender;

struct keyd {
	struct keyd_conf *conf;
	struct store *store;
	struct kernel *kernel; /* NULL: [kernel] sync = off */
	struct sender *sender;
	struct kclient **clients;
	size_t nclients, capclients;
	struct kchannel *channels;
	size_t nchannels;
	struct kcontent **contents;
	size_t ncontents;
	uint32_t next_key_id;
	uint64_t next_refresh;
	struct keyd_counters m;
	struct certcheck *cc; /* [certd] check (certcheck.h); NULL: off */
	struct revalidate *rv; /* [certd] url (revalidate.h); NULL: off */
};

#endif
