// SPDX-License-Identifier: GPL-2.0
/*
 * The DEMM and announcement codecs of libguise (lib/keying.c):
 * known-answer vectors computed independently (tests/keyd_vectors.py,
 * python3-cryptography), round trips, and every rejection: truncated,
 * oversized, forged, someone else's, replayed, expired, cross-channel.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <linux/guise.h>

#include "key.h"
#include "keying.h"
#include "keyfile.h"
#include "tap.h"

static const char demm_kat[] =
	"470102010007349e3d6b98b93900f2e2a0a1a2a3a4a5a6a7a8a9aaab1f7cc48fdcfb18"
	"d3158be642a377bb97a1831291146acbecdb7e05375feb5ec40cea0686579189142bb1"
	"8d3dc41c67126bbe36b6ba833f0d534850825bc2e39131e84b1fd2062afba04da4c358"
	"29164c6d6626b16ca6355b14f8b1f2e14d79e18f3891588c39b38106c527a4a1816f16"
	"b445922fefbeb34734d8d9efb3eeb9ce0658f6387408b0dd671e5eabf746e255b37c9a"
	"767c849b3cc0b8478f0ead689923e2d2832070117f50d49ca5e47b6d775a7f2d5e5f1f"
	"3476a0614174ad7b49b64926d6c9";
static const char announce_kat[] =
	"47010303000000010000000300000000a0a1a2a3a4a5a6a7a8a9aaab000f70315ca093"
	"3a7e6f06fb7b3f8a86ad2a06b12f88822dc0a0c479135ed0dcce782eeabbf660d19ef9"
	"d68ee68cc86932fd858050064e5646e23b7bf74c7d2a1b1382bed40bcddd798b68d9e0"
	"a4947f6e057992648b0f22a6607f4d9663825b4324e40a";

#define EPOCH 472222
#define NB 1700000000ULL
#define NA 1700000060ULL

static void seq(uint8_t *p, uint8_t a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(a + i);
}

static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = strlen(s) / 2;

	if (guise_hex_parse(s, out, n))
		return 0;
	return n;
}

static void demm_fixture(struct guise_demm *d)
{
	memset(d, 0, sizeof(*d));
	d->serial = 7;
	d->not_before = NB;
	d->not_after = NA;
	d->count = 2;
	d->e[0].channel = 1;
	d->e[0].epoch = 3;
	inet_pton(AF_INET6, "ff3e::4242", &d->e[0].group);
	d->e[0].port = 5000;
	d->e[0].not_before = NB;
	d->e[0].not_after = NA + 3600;
	seq(d->e[0].key, 0x40, 32);
	d->e[1].channel = 2;
	d->e[1].epoch = 1;
	inet_pton(AF_INET6, "ff3e::4243", &d->e[1].group);
	d->e[1].port = 5002;
	d->e[1].not_before = NB;
	d->e[1].not_after = NA + 7200;
	seq(d->e[1].key, 0x60, 32);
}

static void announce_fixture(struct guise_announce *a)
{
	memset(a, 0, sizeof(*a));
	a->channel = 1;
	a->content = 10;
	a->key_id = 77;
	inet_pton(AF_INET6, "ff3e::4242", &a->group);
	a->port = 5000;
	a->alg = GUISE_ALG_CHACHA20_POLY1305;
	a->not_before = NB;
	a->not_after = NA;
	memcpy(a->salt, "\xc0\xc1\xc2\xc3", 4);
	seq(a->key, 0xb0, 32);
}

static void test_demm(void)
{
	uint8_t km[32], nonce[12], buf[GUISE_KEYING_MAX_MSG + 64];
	uint8_t kat[GUISE_KEYING_MAX_MSG], other[32];
	struct guise_client_keys ck, ck2;
	struct guise_demm d, got;
	struct guise_keying_hdr h;
	size_t katlen;
	ssize_t len;
	unsigned int i;

	seq(km, 0x00, 32);
	seq(nonce, 0xa0, 12);
	tap_ok(!guise_client_keys_init(&ck, km), "client keys derive");
	demm_fixture(&d);
	katlen = unhex(demm_kat, kat);
	len = guise_demm_seal(&ck, GUISE_ALG_CHACHA20_POLY1305, EPOCH, &d,
			      nonce, buf, sizeof(buf));
	tap_ok(len == (ssize_t)katlen && len == (ssize_t)GUISE_DEMM_LEN(2) &&
		       !memcmp(buf, kat, katlen),
	       "DEMM seal matches the known answer (%zd bytes)", len);
	tap_ok(!guise_demm_open(&ck, kat, katlen, &got) && got.serial == 7 &&
		       got.count == 2 && got.not_after == NA &&
		       !memcmp(&got.e[1], &d.e[1], sizeof(d.e[1])) &&
		       !memcmp(&got.e[0], &d.e[0], sizeof(d.e[0])),
	       "DEMM known answer opens to the same fields");
	tap_ok(!guise_keying_peek(kat, katlen, &h) &&
		       h.type == GUISE_KEYING_TYPE_DEMM && h.tag_epoch == EPOCH,
	       "DEMM clear header: type and tag epoch");

	/* A random nonce: the same DEMM never looks the same twice. */
	len = guise_demm_seal(&ck, GUISE_ALG_AES256_GCM, EPOCH, &d, NULL, buf,
			      sizeof(buf));
	tap_ok(len > 0 && !guise_demm_open(&ck, buf, (size_t)len, &got) &&
		       got.count == 2,
	       "AES-256-GCM DEMM with a fresh nonce round-trips");
	{
		uint8_t again[GUISE_KEYING_MAX_MSG];
		ssize_t l2 = guise_demm_seal(&ck, GUISE_ALG_AES256_GCM, EPOCH,
					     &d, NULL, again, sizeof(again));

		tap_ok(l2 == len &&
			       memcmp(buf + GUISE_KEYING_HDR_LEN,
				      again + GUISE_KEYING_HDR_LEN,
				      GUISE_KEYING_NONCE_LEN) &&
			       memcmp(buf, again, (size_t)len),
		       "sealing it again takes another nonce");
	}

	for (i = 1; i < katlen; i += 17)
		if (guise_demm_open(&ck, kat, i, &got) != -EINVAL)
			break;
	tap_ok(i >= katlen, "every truncation is rejected as malformed");
	memcpy(buf, kat, katlen);
	memset(buf + katlen, 0, 76);
	tap_ok(guise_demm_open(&ck, buf, katlen + 76, &got) == -EBADMSG,
	       "an appended entry breaks the tag");
	memset(buf, 0, sizeof(buf));
	memcpy(buf, kat, katlen);
	tap_ok(guise_demm_open(&ck, buf, GUISE_KEYING_MAX_MSG + 1, &got) ==
		       -EINVAL,
	       "oversized rejected");
	for (i = GUISE_KEYING_HDR_LEN; i < katlen; i += 13) {
		memcpy(buf, kat, katlen);
		buf[i] ^= 0x01;
		if (guise_demm_open(&ck, buf, katlen, &got) != -EBADMSG)
			break;
	}
	tap_ok(i >= katlen,
	       "a flipped bit in nonce, ciphertext or tag: forged");
	memcpy(buf, kat, katlen);
	buf[9] ^= 0x80;
	tap_ok(guise_demm_open(&ck, buf, katlen, &got) == -ENOENT,
	       "another client tag: not ours");
	memcpy(buf, kat, katlen);
	buf[7] ^= 0x01;
	tap_ok(guise_demm_open(&ck, buf, katlen, &got) == -ENOENT,
	       "another tag epoch: the tag no longer matches");
	seq(other, 0x01, 32);
	guise_client_keys_init(&ck2, other);
	tap_ok(guise_demm_open(&ck2, kat, katlen, &got) == -ENOENT,
	       "another client's Km does not claim it");
	{
		uint8_t t1[8], t2[8];

		guise_client_tag(&ck, EPOCH, t1);
		guise_client_tag(&ck, EPOCH + 1, t2);
		tap_ok(memcmp(t1, t2, 8) != 0,
		       "the blinded tag changes with the epoch");
	}
	memcpy(buf, kat, katlen);
	buf[3] = GUISE_ALG_AES128_GCM;
	tap_ok(guise_demm_open(&ck, buf, katlen, &got) == -EINVAL,
	       "AES-128-GCM refused as a sealing algorithm");

	demm_fixture(&d);
	tap_ok(!guise_demm_check(&d, 6, NB + 10), "serial 7 after 6: accepted");
	tap_ok(guise_demm_check(&d, 7, NB + 10) == -ESTALE,
	       "the same serial again (replay): rejected");
	tap_ok(guise_demm_check(&d, 9, NB + 10) == -ESTALE,
	       "an older serial (out of order): rejected");
	tap_ok(guise_demm_check(&d, 6, NA) == -ETIME &&
		       guise_demm_check(&d, 6, NB - 1) == -ETIME,
	       "outside its validity: rejected");

	d.count = 0;
	len = guise_demm_seal(&ck, GUISE_ALG_CHACHA20_POLY1305, EPOCH, &d, NULL,
			      buf, sizeof(buf));
	tap_ok(len == (ssize_t)GUISE_DEMM_LEN(0) &&
		       !guise_demm_open(&ck, buf, (size_t)len, &got) &&
		       got.count == 0,
	       "an empty DEMM (revoke all) round-trips");
	d.count = GUISE_DEMM_MAX_ENTRIES;
	for (i = 0; i < d.count; i++)
		d.e[i] = d.e[0];
	len = guise_demm_seal(&ck, GUISE_ALG_CHACHA20_POLY1305, EPOCH, &d, NULL,
			      buf, sizeof(buf));
	tap_ok(len > 0 && len <= GUISE_KEYING_MAX_MSG &&
		       !guise_demm_open(&ck, buf, (size_t)len, &got),
	       "%u entries fit one %d-byte datagram", GUISE_DEMM_MAX_ENTRIES,
	       GUISE_KEYING_MAX_MSG);
	d.count = GUISE_DEMM_MAX_ENTRIES + 1;
	tap_ok(guise_demm_seal(&ck, 1, EPOCH, &d, NULL, buf, sizeof(buf)) ==
		       -EINVAL,
	       "one entry more is refused at sealing");
	demm_fixture(&d);
	d.e[1].group.s6_addr[0] = 0x20;
	tap_ok(guise_demm_seal(&ck, 1, EPOCH, &d, NULL, buf, sizeof(buf)) ==
		       -EINVAL,
	       "a unicast channel group is refused");
	guise_client_keys_wipe(&ck);
	guise_client_keys_wipe(&ck2);
}

static void test_announce(void)
{
	uint8_t kc[32], kc2[32], nonce[12], kat[256], buf[256];
	struct guise_announce a, got;
	struct guise_keying_hdr h;
	size_t katlen;
	ssize_t len;
	unsigned int i;

	seq(kc, 0x80, 32);
	seq(nonce, 0xa0, 12);
	announce_fixture(&a);
	katlen = unhex(announce_kat, kat);
	len = guise_announce_seal(kc, GUISE_ALG_AES256_GCM, 3, &a, nonce, buf,
				  sizeof(buf));
	tap_ok(len == (ssize_t)katlen && len == GUISE_ANNOUNCE_LEN &&
		       !memcmp(buf, kat, katlen),
	       "announcement seal matches the known answer (%zd bytes)", len);
	tap_ok(!guise_announce_open(kc, kat, katlen, &got) &&
		       !memcmp(&got, &a, sizeof(a)),
	       "announcement known answer opens to the same fields");
	tap_ok(!guise_keying_peek(kat, katlen, &h) &&
		       h.type == GUISE_KEYING_TYPE_ANNOUNCE && h.channel == 1 &&
		       h.key_epoch == 3,
	       "announcement clear header: channel 1, key epoch 3");
	for (i = 0; i < katlen; i++)
		if (guise_announce_open(kc, kat, i, &got) != -EINVAL)
			break;
	tap_ok(i == katlen, "every truncation rejected");
	memcpy(buf, kat, katlen);
	buf[katlen] = 0;
	tap_ok(guise_announce_open(kc, buf, katlen + 1, &got) == -EINVAL,
	       "one byte too long rejected");
	for (i = GUISE_KEYING_HDR_LEN; i < katlen; i += 7) {
		memcpy(buf, kat, katlen);
		buf[i] ^= 0x10;
		if (guise_announce_open(kc, buf, katlen, &got) != -EBADMSG)
			break;
	}
	tap_ok(i >= katlen, "a flipped bit anywhere after the header: forged");
	memcpy(buf, kat, katlen);
	buf[7] = 2; /* header now claims channel 2 */
	tap_ok(guise_announce_open(kc, buf, katlen, &got) == -EBADMSG,
	       "header moved to another channel: forged (AAD)");
	seq(kc2, 0x81, 32);
	tap_ok(guise_announce_open(kc2, kat, katlen, &got) == -EBADMSG,
	       "another channel's Kc cannot open it");
	/* Sealed under channel 1's Kc, claiming channel 2 inside. */
	a.channel = 2;
	len = guise_announce_seal(kc, 3, 3, &a, NULL, buf, sizeof(buf));
	buf[7] = 1;
	tap_ok(len > 0 && guise_announce_open(kc, buf, (size_t)len, &got) ==
				  -EBADMSG,
	       "cross-channel header/body mismatch rejected");
	announce_fixture(&a);
	a.alg = GUISE_ALG_AES128_GCM;
	tap_ok(guise_announce_seal(kc, 1, 3, &a, NULL, buf, sizeof(buf)) ==
		       -EINVAL,
	       "AES-128 content key with 32 bytes set refused");
	memset(a.key + 16, 0, 16);
	len = guise_announce_seal(kc, 1, 3, &a, NULL, buf, sizeof(buf));
	tap_ok(len > 0 && !guise_announce_open(kc, buf, (size_t)len, &got) &&
		       got.alg == GUISE_ALG_AES128_GCM,
	       "AES-128 content key (16 bytes) round-trips");
	tap_ok(guise_announce_open(kc, (const uint8_t *)demm_kat, 128, &got) ==
		       -EINVAL,
	       "garbage rejected");
}

static void test_keyfile(void)
{
	uint8_t km[32], got[32], file[GUISE_KEYFILE_LEN];

	seq(km, 0x33, 32);
	tap_ok(!guise_keyfile_seal(km, "pass phrase", 11, 1000, file),
	       "Km sealed at rest (PBKDF2, 1000 iterations)");
	tap_ok(!guise_keyfile_open(file, sizeof(file), "pass phrase", 11,
				   got) &&
		       !memcmp(got, km, 32),
	       "and opened with the same passphrase");
	tap_ok(guise_keyfile_open(file, sizeof(file), "pass phrasE", 11, got) ==
		       -EBADMSG,
	       "a wrong passphrase fails");
	file[40] ^= 1;
	tap_ok(guise_keyfile_open(file, sizeof(file), "pass phrase", 11, got) ==
		       -EBADMSG,
	       "a tampered file fails");
	tap_ok(guise_keyfile_open(file, sizeof(file) - 1, "pass phrase", 11,
				  got) == -EINVAL,
	       "a truncated file fails");
}

int main(void)
{
	tap_start();
	test_demm();
	test_announce();
	test_keyfile();
	return tap_done();
}
