/* SPDX-License-Identifier: GPL-2.0 */
/* GUISE_A_KEY: one content key, encoded for requests (secrets included)
 * and decoded from replies and events (which never carry secrets). */
#ifndef GUISE_KEY_H
#define GUISE_KEY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>
#include <linux/guise.h>

#define GUISE_KEY_SECRET_MAX 32

struct guise_key_counters {
	uint64_t packets, bytes, drop_auth, drop_replay;
};

struct guise_key {
	uint32_t present; /* bit (1 << GUISE_A_KEY_*) per field given */
	struct in6_addr group;
	uint16_t port;
	uint32_t id;
	uint8_t alg, dir;
	uint8_t secret[GUISE_KEY_SECRET_MAX];
	size_t secret_len;
	uint8_t salt[GUISE_KEY_SALT_LEN];
	uint64_t not_before, not_after; /* seconds since the epoch */
	uint32_t replay_window;
	uint64_t tx_seq; /* replies only */
	struct guise_key_counters stats; /* replies only */
};

static inline bool guise_key_has(const struct guise_key *k, unsigned int attr)
{
	return k->present & (1U << attr);
}

static inline void guise_key_mark(struct guise_key *k, unsigned int attr)
{
	k->present |= 1U << attr;
}

/* Wipe the secret material of @k. */
void guise_key_wipe(struct guise_key *k);

/* Append a GUISE_A_KEY nest with the fields present. 0 or -EMSGSIZE. */
int guise_key_put(struct nlmsghdr *nlh, size_t buflen,
		  const struct guise_key *k);
/* Decode the GUISE_A_KEY nest of a reply or event. 0 or -EINVAL. */
int guise_key_parse(const struct nlmsghdr *nlh, struct guise_key *k);

const char *guise_alg_name(unsigned int alg);
int guise_alg_parse(const char *s); /* enum guise_alg or -EINVAL */
size_t guise_alg_key_len(unsigned int alg);
const char *guise_key_dir_name(unsigned int dir);
int guise_key_dir_parse(const char *s); /* enum guise_key_dir or -EINVAL */

/* Parse exactly @len bytes of hex; 0 or -EINVAL. */
int guise_hex_parse(const char *s, uint8_t *out, size_t len);
/* @len bytes as lower-case hex into @out (2 * @len + 1 bytes, NUL). */
void guise_hex_format(const uint8_t *b, size_t len, char *out);

#endif
