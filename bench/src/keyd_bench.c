// SPDX-License-Identifier: GPL-2.0
/*
 * guise-keyd benchmark (host, no VM): libguise's DEMM and announcement
 * seal+open rate on one core against raw OpenSSL EVP AEAD on the same
 * sizes, and the cost of revoking one client among N of one channel:
 * control messages, bytes on the wire and time until every remaining
 * client can hold the new Kc under the control cap (the naive one-DEMM-
 * per-member re-key that a group re-key scheme will be measured against).
 *
 * Usage: keyd_bench [SECONDS]   (per rate measurement, default 2)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <linux/guise.h>

#include "keying.h"

#define WIRE 62 /* Ethernet + IPv6 + UDP, as keyd's sender charges */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void demm_fixture(struct guise_demm *d, unsigned int n)
{
	unsigned int i;

	memset(d, 0, sizeof(*d));
	d->serial = 1;
	d->not_before = 1700000000;
	d->not_after = 1700000060;
	d->count = n;
	for (i = 0; i < n; i++) {
		d->e[i].channel = 1;
		d->e[i].epoch = i + 1;
		d->e[i].group.s6_addr[0] = 0xff;
		d->e[i].group.s6_addr[1] = 0x3e;
		d->e[i].port = 5000;
		d->e[i].not_before = 1;
		d->e[i].not_after = 2;
		memset(d->e[i].key, (int)i, 32);
	}
}

/* Raw EVP: one reused context, seal then open @body bytes, AAD 28. */
static double raw_rate(const EVP_CIPHER *c, size_t body, double secs)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	unsigned char key[32] = { 1 }, iv[12] = { 2 }, aad[28] = { 3 };
	unsigned char in[1232] = { 4 }, out[1232], back[1232], tag[16];
	double t0 = now(), t;
	unsigned long n = 0;
	int l;

	do {
		EVP_EncryptInit_ex(ctx, c, NULL, key, iv);
		EVP_EncryptUpdate(ctx, NULL, &l, aad, sizeof(aad));
		EVP_EncryptUpdate(ctx, out, &l, in, (int)body);
		EVP_EncryptFinal_ex(ctx, out + l, &l);
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag);
		EVP_DecryptInit_ex(ctx, c, NULL, key, iv);
		EVP_DecryptUpdate(ctx, NULL, &l, aad, sizeof(aad));
		EVP_DecryptUpdate(ctx, back, &l, out, (int)body);
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, tag);
		if (EVP_DecryptFinal_ex(ctx, back + l, &l) != 1)
			abort();
		n++;
		t = now();
	} while (t - t0 < secs);
	EVP_CIPHER_CTX_free(ctx);
	return n / (t - t0);
}

static double demm_rate(unsigned int entries, double secs)
{
	struct guise_client_keys ck;
	uint8_t km[32] = { 7 }, buf[GUISE_KEYING_MAX_MSG];
	struct guise_demm d, got;
	double t0 = now(), t;
	unsigned long n = 0;
	ssize_t len;

	guise_client_keys_init(&ck, km);
	demm_fixture(&d, entries);
	do {
		len = guise_demm_seal(&ck, GUISE_ALG_CHACHA20_POLY1305, 1, &d,
				      NULL, buf, sizeof(buf));
		if (len < 0 || guise_demm_open(&ck, buf, (size_t)len, &got))
			abort();
		n++;
		t = now();
	} while (t - t0 < secs);
	return n / (t - t0);
}

static double announce_rate(double secs)
{
	uint8_t kc[32] = { 9 }, buf[GUISE_ANNOUNCE_LEN];
	struct guise_announce a, got;
	double t0 = now(), t;
	unsigned long n = 0;
	ssize_t len;

	memset(&a, 0, sizeof(a));
	a.channel = 1;
	a.content = 10;
	a.key_id = 5;
	a.group.s6_addr[0] = 0xff;
	a.port = 5000;
	a.alg = GUISE_ALG_CHACHA20_POLY1305;
	a.not_before = 1;
	a.not_after = 2;
	do {
		len = guise_announce_seal(kc, GUISE_ALG_CHACHA20_POLY1305, 1,
					  &a, NULL, buf, sizeof(buf));
		if (len < 0 || guise_announce_open(kc, buf, (size_t)len, &got))
			abort();
		n++;
		t = now();
	} while (t - t0 < secs);
	return n / (t - t0);
}

/* Revoke one of @n members: the server's messages, their bytes, the
 * sealing time measured, and the time the cap needs to send them. */
static void revocation(unsigned long n, double cap)
{
	uint8_t km[32] = { 5 }, buf[GUISE_KEYING_MAX_MSG];
	struct guise_client_keys ck;
	struct guise_demm d;
	unsigned long i, msgs = 0;
	double bytes = 0, t0, seal;

	guise_client_keys_init(&ck, km);
	t0 = now();
	/* The revoked client's DEMM: no channel left. */
	demm_fixture(&d, 0);
	bytes += guise_demm_seal(&ck, 1, 1, &d, NULL, buf, sizeof(buf)) + WIRE;
	msgs++;
	/* Every remaining member: new and previous Kc. */
	demm_fixture(&d, 2);
	for (i = 1; i < n; i++) {
		d.serial = i + 1;
		bytes +=
			guise_demm_seal(&ck, 1, 1, &d, NULL, buf, sizeof(buf)) +
			WIRE;
		msgs++;
	}
	/* One content: its new Ks under the new Kc, and the old one while
	 * the sender switches. */
	bytes += 2 * (GUISE_ANNOUNCE_LEN + WIRE);
	msgs += 2;
	seal = now() - t0;
	printf("  N=%-7lu messages %-7lu bytes %-10.0f seal %.3f s  "
	       "on the wire at %.0f B/s: %.1f s\n",
	       n, msgs, bytes, seal, cap, bytes / cap);
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2.0, r, raw;
	unsigned long ns[] = { 10, 1000, 100000 };
	size_t i;

	printf("guise-keyd benchmark (one core; %.1f s per rate)\n\n", secs);
	printf("seal+open per second, libguise vs raw EVP (reused context):\n");
	r = demm_rate(2, secs);
	raw = raw_rate(EVP_chacha20_poly1305(),
		       GUISE_DEMM_LEN(2) - GUISE_KEYING_CLEAR_LEN -
			       GUISE_KEYING_TAG_LEN,
		       secs);
	printf("  DEMM, 2 entries (%zu bytes): %.0f/s vs %.0f/s = %.2fx\n",
	       (size_t)GUISE_DEMM_LEN(2), r, raw, r / raw);
	r = demm_rate(GUISE_DEMM_MAX_ENTRIES, secs);
	raw = raw_rate(EVP_chacha20_poly1305(),
		       GUISE_DEMM_LEN(GUISE_DEMM_MAX_ENTRIES) -
			       GUISE_KEYING_CLEAR_LEN - GUISE_KEYING_TAG_LEN,
		       secs);
	printf("  DEMM, %u entries (%zu bytes): %.0f/s vs %.0f/s = %.2fx\n",
	       GUISE_DEMM_MAX_ENTRIES,
	       (size_t)GUISE_DEMM_LEN(GUISE_DEMM_MAX_ENTRIES), r, raw, r / raw);
	r = announce_rate(secs);
	raw = raw_rate(EVP_chacha20_poly1305(), GUISE_ANNOUNCE_BODY_LEN, secs);
	printf("  announcement (%d bytes): %.0f/s vs %.0f/s = %.2fx\n\n",
	       GUISE_ANNOUNCE_LEN, r, raw, r / raw);

	printf("revoking one client among N of one channel (one content),\n"
	       "default cap 100 kbit/s = 12500 B/s (no content bandwidth "
	       "set):\n");
	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		revocation(ns[i], 12500);
	return 0;
}
