// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the DEMM decoder. The input is tried twice: as a
 * datagram from the network (mostly stopped by the tag or the AEAD), and
 * with its body sealed under the harness's Km first, so the fuzzer reaches
 * the parser behind the AEAD. Whatever opens must re-seal to the same
 * length and re-open to the same fields.
 */
#include <stdint.h>
#include <string.h>
#include <linux/guise.h>

#include "keying.h"

static struct guise_client_keys ck;

static void check(const uint8_t *buf, size_t len)
{
	uint8_t out[GUISE_KEYING_MAX_MSG];
	struct guise_demm d, again;
	struct guise_keying_hdr h;
	ssize_t n;

	if (guise_demm_open(&ck, buf, len, &d))
		return;
	if (guise_keying_peek(buf, len, &h))
		__builtin_trap();
	n = guise_demm_seal(&ck, h.alg, h.tag_epoch, &d, NULL, out,
			    sizeof(out));
	if (n != (ssize_t)len || guise_demm_open(&ck, out, (size_t)n, &again) ||
	    memcmp(&d, &again, sizeof(d)))
		__builtin_trap();
	guise_demm_check(&d, 5, 1700000000);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[GUISE_KEYING_MAX_MSG];
	size_t body;

	if (!ck.seal[0]) {
		uint8_t km[32];
		unsigned int i;

		for (i = 0; i < 32; i++)
			km[i] = (uint8_t)i;
		guise_client_keys_init(&ck, km);
	}
	check(data, size);

	/* Header fields from the input; our tag; the rest sealed. */
	if (size < GUISE_KEYING_CLEAR_LEN + GUISE_KEYING_TAG_LEN ||
	    size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	buf[0] = GUISE_KEYING_MAGIC;
	buf[1] = GUISE_KEYING_VERSION;
	buf[2] = GUISE_KEYING_TYPE_DEMM;
	buf[3] = data[3] & 1 ? GUISE_ALG_CHACHA20_POLY1305 :
			       GUISE_ALG_AES256_GCM;
	guise_client_tag(&ck,
			 (uint32_t)buf[4] << 24 | buf[5] << 16 | buf[6] << 8 |
				 buf[7],
			 buf + 8);
	body = size - GUISE_KEYING_CLEAR_LEN - GUISE_KEYING_TAG_LEN;
	if (guise_keying_aead(true, buf[3], ck.seal, buf + GUISE_KEYING_HDR_LEN,
			      buf, GUISE_KEYING_CLEAR_LEN,
			      buf + GUISE_KEYING_CLEAR_LEN, body,
			      buf + GUISE_KEYING_CLEAR_LEN,
			      buf + GUISE_KEYING_CLEAR_LEN + body))
		return 0;
	check(buf, size);
	return 0;
}
