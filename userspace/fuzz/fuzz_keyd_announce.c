// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the announcement decoder: the input as received,
 * then with its body sealed under the harness's Kc (to reach the parser
 * behind the AEAD). What opens must re-seal and re-open identically.
 */
#include <stdint.h>
#include <string.h>
#include <linux/guise.h>

#include "keying.h"

static const uint8_t kc[32] = {
	0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a,
	0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95,
	0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f
};

static void check(const uint8_t *buf, size_t len)
{
	uint8_t out[GUISE_ANNOUNCE_LEN];
	struct guise_announce a, again;
	struct guise_keying_hdr h;
	ssize_t n;

	if (guise_announce_open(kc, buf, len, &a))
		return;
	if (guise_keying_peek(buf, len, &h) || h.channel != a.channel)
		__builtin_trap();
	n = guise_announce_seal(kc, h.alg, h.key_epoch, &a, NULL, out,
				sizeof(out));
	if (n != (ssize_t)len ||
	    guise_announce_open(kc, out, (size_t)n, &again) ||
	    memcmp(&a, &again, sizeof(a)))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[GUISE_KEYING_MAX_MSG];
	size_t body;

	check(data, size);
	if (size < GUISE_KEYING_CLEAR_LEN + GUISE_KEYING_TAG_LEN ||
	    size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	buf[0] = GUISE_KEYING_MAGIC;
	buf[1] = GUISE_KEYING_VERSION;
	buf[2] = GUISE_KEYING_TYPE_ANNOUNCE;
	buf[3] = data[3] & 1 ? GUISE_ALG_CHACHA20_POLY1305 :
			       GUISE_ALG_AES256_GCM;
	body = size - GUISE_KEYING_CLEAR_LEN - GUISE_KEYING_TAG_LEN;
	if (guise_keying_aead(true, buf[3], kc, buf + GUISE_KEYING_HDR_LEN, buf,
			      GUISE_KEYING_CLEAR_LEN,
			      buf + GUISE_KEYING_CLEAR_LEN, body,
			      buf + GUISE_KEYING_CLEAR_LEN,
			      buf + GUISE_KEYING_CLEAR_LEN + body))
		return 0;
	check(buf, size);
	return 0;
}
