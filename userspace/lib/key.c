// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>

#include "key.h"

static const char *const alg_names[] = {
	[GUISE_ALG_CHACHA20_POLY1305] = "chacha20-poly1305",
	[GUISE_ALG_AES128_GCM] = "aes128-gcm",
	[GUISE_ALG_AES256_GCM] = "aes256-gcm",
};

static const char *const dir_names[] = {
	[GUISE_KEY_DIR_RX] = "rx",
	[GUISE_KEY_DIR_TX] = "tx",
};

const char *guise_alg_name(unsigned int alg)
{
	return alg && alg <= GUISE_ALG_MAX ? alg_names[alg] : NULL;
}

int guise_alg_parse(const char *s)
{
	unsigned int i;

	for (i = 1; i <= GUISE_ALG_MAX; i++)
		if (!strcmp(s, alg_names[i]))
			return (int)i;
	return -EINVAL;
}

size_t guise_alg_key_len(unsigned int alg)
{
	return alg == GUISE_ALG_AES128_GCM ? 16 : 32;
}

const char *guise_key_dir_name(unsigned int dir)
{
	return dir && dir <= GUISE_KEY_DIR_MAX ? dir_names[dir] : NULL;
}

int guise_key_dir_parse(const char *s)
{
	unsigned int i;

	for (i = 1; i <= GUISE_KEY_DIR_MAX; i++)
		if (!strcmp(s, dir_names[i]))
			return (int)i;
	return -EINVAL;
}

int guise_hex_parse(const char *s, uint8_t *out, size_t len)
{
	size_t i;

	if (strlen(s) != 2 * len)
		return -EINVAL;
	for (i = 0; i < 2 * len; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0' :
			c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			c >= 'A' && c <= 'F' ? c - 'A' + 10 :
					       -1;

		if (v < 0)
			return -EINVAL;
		if (i % 2)
			out[i / 2] |= (uint8_t)v;
		else
			out[i / 2] = (uint8_t)(v << 4);
	}
	return 0;
}

void guise_hex_format(const uint8_t *b, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 0xf];
	}
	out[2 * len] = '\0';
}

void guise_key_wipe(struct guise_key *k)
{
	explicit_bzero(k->secret, sizeof(k->secret));
	explicit_bzero(k->salt, sizeof(k->salt));
	k->secret_len = 0;
}

int guise_key_put(struct nlmsghdr *nlh, size_t buflen,
		  const struct guise_key *k)
{
	struct nlattr *nest;
	bool ok;

	nest = mnl_attr_nest_start_check(nlh, buflen, GUISE_A_KEY);
	if (!nest)
		return -EMSGSIZE;
#define PUT_IF(attr, expr) (!guise_key_has(k, attr) || (expr))
	ok = PUT_IF(GUISE_A_KEY_GROUP,
		    mnl_attr_put_check(nlh, buflen, GUISE_A_KEY_GROUP,
				       sizeof(k->group), &k->group)) &&
	     PUT_IF(GUISE_A_KEY_PORT,
		    mnl_attr_put_u16_check(nlh, buflen, GUISE_A_KEY_PORT,
					   k->port)) &&
	     PUT_IF(GUISE_A_KEY_ID,
		    mnl_attr_put_u32_check(nlh, buflen, GUISE_A_KEY_ID,
					   k->id)) &&
	     PUT_IF(GUISE_A_KEY_ALG,
		    mnl_attr_put_u8_check(nlh, buflen, GUISE_A_KEY_ALG,
					  k->alg)) &&
	     PUT_IF(GUISE_A_KEY_DIR,
		    mnl_attr_put_u8_check(nlh, buflen, GUISE_A_KEY_DIR,
					  k->dir)) &&
	     PUT_IF(GUISE_A_KEY_SECRET,
		    mnl_attr_put_check(nlh, buflen, GUISE_A_KEY_SECRET,
				       k->secret_len, k->secret)) &&
	     PUT_IF(GUISE_A_KEY_SALT,
		    mnl_attr_put_check(nlh, buflen, GUISE_A_KEY_SALT,
				       sizeof(k->salt), k->salt)) &&
	     PUT_IF(GUISE_A_KEY_NOT_BEFORE,
		    mnl_attr_put_u64_check(nlh, buflen, GUISE_A_KEY_NOT_BEFORE,
					   k->not_before)) &&
	     PUT_IF(GUISE_A_KEY_NOT_AFTER,
		    mnl_attr_put_u64_check(nlh, buflen, GUISE_A_KEY_NOT_AFTER,
					   k->not_after)) &&
	     PUT_IF(GUISE_A_KEY_REPLAY_WINDOW,
		    mnl_attr_put_u32_check(nlh, buflen,
					   GUISE_A_KEY_REPLAY_WINDOW,
					   k->replay_window)) &&
	     PUT_IF(GUISE_A_KEY_REPLACE,
		    mnl_attr_put_check(nlh, buflen, GUISE_A_KEY_REPLACE, 0,
				       NULL));
#undef PUT_IF
	if (!ok)
		return -EMSGSIZE;
	mnl_attr_nest_end(nlh, nest);
	return 0;
}

static int parse_stats(const struct nlattr *nest, struct guise_key *k)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, nest) {
		uint64_t *dst;

		switch (mnl_attr_get_type(a)) {
		case GUISE_A_KEY_STATS_PACKETS:
			dst = &k->stats.packets;
			break;
		case GUISE_A_KEY_STATS_BYTES:
			dst = &k->stats.bytes;
			break;
		case GUISE_A_KEY_STATS_DROP_AUTH:
			dst = &k->stats.drop_auth;
			break;
		case GUISE_A_KEY_STATS_DROP_REPLAY:
			dst = &k->stats.drop_replay;
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

static int get_u32(const struct nlattr *a, uint32_t *v)
{
	if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
		return -EINVAL;
	*v = mnl_attr_get_u32(a);
	return 0;
}

static int get_u64(const struct nlattr *a, uint64_t *v)
{
	if (mnl_attr_validate(a, MNL_TYPE_U64) < 0)
		return -EINVAL;
	*v = mnl_attr_get_u64(a);
	return 0;
}

static int get_u8(const struct nlattr *a, uint8_t *v)
{
	if (mnl_attr_validate(a, MNL_TYPE_U8) < 0)
		return -EINVAL;
	*v = mnl_attr_get_u8(a);
	return 0;
}

static int parse_member(const struct nlattr *a, struct guise_key *k)
{
	unsigned int type = mnl_attr_get_type(a);
	int err;

	switch (type) {
	case GUISE_A_KEY_GROUP:
		err = mnl_attr_get_payload_len(a) != sizeof(k->group);
		if (!err)
			memcpy(&k->group, mnl_attr_get_payload(a),
			       sizeof(k->group));
		break;
	case GUISE_A_KEY_PORT:
		err = mnl_attr_validate(a, MNL_TYPE_U16) < 0;
		if (!err)
			k->port = mnl_attr_get_u16(a);
		break;
	case GUISE_A_KEY_ID:
		err = get_u32(a, &k->id);
		break;
	case GUISE_A_KEY_REPLAY_WINDOW:
		err = get_u32(a, &k->replay_window);
		break;
	case GUISE_A_KEY_ALG:
		err = get_u8(a, &k->alg);
		break;
	case GUISE_A_KEY_DIR:
		err = get_u8(a, &k->dir);
		break;
	case GUISE_A_KEY_NOT_BEFORE:
		err = get_u64(a, &k->not_before);
		break;
	case GUISE_A_KEY_NOT_AFTER:
		err = get_u64(a, &k->not_after);
		break;
	case GUISE_A_KEY_TX_SEQ:
		err = get_u64(a, &k->tx_seq);
		break;
	case GUISE_A_KEY_STATS:
		err = mnl_attr_validate(a, MNL_TYPE_NESTED) < 0 ||
		      parse_stats(a, k);
		break;
	default:
		return 0; /* secrets never come back; newer kernels: skip */
	}
	if (err)
		return -EINVAL;
	guise_key_mark(k, type);
	return 0;
}

int guise_key_parse(const struct nlmsghdr *nlh, struct guise_key *k)
{
	const struct nlattr *top, *a;
	bool found = false;

	memset(k, 0, sizeof(*k));
	mnl_attr_for_each(top, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(top) != GUISE_A_KEY)
			continue;
		if (mnl_attr_validate(top, MNL_TYPE_NESTED) < 0)
			return -EINVAL;
		found = true;
		mnl_attr_for_each_nested(a, top) {
			if (parse_member(a, k))
				return -EINVAL;
		}
	}
	return found ? 0 : -EINVAL;
}
