// SPDX-License-Identifier: GPL-2.0
/* DEMM and announcement codecs: layouts in Documentation/keying.rst. */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <linux/guise.h>

#include "keying.h"

#define INFO_SEAL "guise keyd v1 demm seal"
#define INFO_TAG "guise keyd v1 demm tag"

static void put16(uint8_t *p, uint16_t v)
{
	v = htobe16(v);
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return be16toh(v);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return be64toh(v);
}

static bool is_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	while (n--)
		acc |= *p++;
	return !acc;
}

/* HKDF-SHA256 without salt. */
static int hkdf(const uint8_t *ikm, size_t ikmlen, const uint8_t *info,
		size_t infolen, uint8_t *out, size_t outlen)
{
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	size_t len = outlen;
	int ok;

	if (!pctx)
		return -EIO;
	ok = EVP_PKEY_derive_init(pctx) > 0 &&
	     EVP_PKEY_CTX_set_hkdf_md(pctx, EVP_sha256()) > 0 &&
	     EVP_PKEY_CTX_set1_hkdf_key(pctx, ikm, (int)ikmlen) > 0 &&
	     EVP_PKEY_CTX_add1_hkdf_info(pctx, info, (int)infolen) > 0 &&
	     EVP_PKEY_derive(pctx, out, &len) > 0 && len == outlen;
	EVP_PKEY_CTX_free(pctx);
	return ok ? 0 : -EIO;
}

int guise_client_keys_init(struct guise_client_keys *ck,
			   const uint8_t km[GUISE_KEYING_KEY_LEN])
{
	memset(ck, 0, sizeof(*ck));
	memcpy(ck->km, km, GUISE_KEYING_KEY_LEN);
	return hkdf(km, GUISE_KEYING_KEY_LEN, (const uint8_t *)INFO_SEAL,
		    strlen(INFO_SEAL), ck->seal, sizeof(ck->seal));
}

void guise_client_keys_wipe(struct guise_client_keys *ck)
{
	explicit_bzero(ck, sizeof(*ck));
}

int guise_client_tag(struct guise_client_keys *ck, uint32_t epoch,
		     uint8_t tag[GUISE_DEMM_CLIENT_TAG_LEN])
{
	uint8_t info[sizeof(INFO_TAG) - 1 + 4];
	int err;

	if (!ck->have_tag || ck->tag_epoch != epoch) {
		memcpy(info, INFO_TAG, sizeof(INFO_TAG) - 1);
		put32(info + sizeof(INFO_TAG) - 1, epoch);
		err = hkdf(ck->km, sizeof(ck->km), info, sizeof(info), ck->tag,
			   sizeof(ck->tag));
		if (err)
			return err;
		ck->tag_epoch = epoch;
		ck->have_tag = true;
	}
	memcpy(tag, ck->tag, GUISE_DEMM_CLIENT_TAG_LEN);
	return 0;
}

bool guise_keying_alg_ok(unsigned int alg)
{
	return alg == GUISE_ALG_CHACHA20_POLY1305 ||
	       alg == GUISE_ALG_AES256_GCM;
}

/* One context per thread, reused: allocating one per message halves the
 * rate (bench/keyd_bench.sh). Both AEADs default to 12-byte nonces. */
static __thread EVP_CIPHER_CTX *aead_ctx;

int guise_keying_aead(bool seal, uint8_t alg, const uint8_t *key,
		      const uint8_t *nonce, const uint8_t *aad, size_t aadlen,
		      const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
	const EVP_CIPHER *cipher = alg == GUISE_ALG_AES256_GCM ?
					   EVP_aes_256_gcm() :
					   EVP_chacha20_poly1305();
	EVP_CIPHER_CTX *ctx = aead_ctx;
	int outl, ok;

	if (!ctx) {
		ctx = aead_ctx = EVP_CIPHER_CTX_new();
		if (!ctx)
			return -EIO;
	}
	ok = EVP_CipherInit_ex(ctx, cipher, NULL, key, nonce, seal) &&
	     EVP_CipherUpdate(ctx, NULL, &outl, aad, (int)aadlen) &&
	     (!len || EVP_CipherUpdate(ctx, out, &outl, in, (int)len));
	if (ok && !seal)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG,
					 GUISE_KEYING_TAG_LEN, tag);
	if (ok)
		ok = EVP_CipherFinal_ex(ctx, out + len, &outl);
	if (ok && seal)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG,
					 GUISE_KEYING_TAG_LEN, tag);
	if (!ok && !seal) {
		explicit_bzero(out, len);
		return -EBADMSG;
	}
	return ok ? 0 : -EIO;
}

int guise_keying_peek(const uint8_t *buf, size_t len,
		      struct guise_keying_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if (len < GUISE_KEYING_CLEAR_LEN + GUISE_KEYING_TAG_LEN ||
	    len > GUISE_KEYING_MAX_MSG || buf[0] != GUISE_KEYING_MAGIC ||
	    buf[1] != GUISE_KEYING_VERSION || !guise_keying_alg_ok(buf[3]))
		return -EINVAL;
	h->type = buf[2];
	h->alg = buf[3];
	switch (h->type) {
	case GUISE_KEYING_TYPE_DEMM:
		h->tag_epoch = get32(buf + 4);
		memcpy(h->client_tag, buf + 8, GUISE_DEMM_CLIENT_TAG_LEN);
		return 0;
	case GUISE_KEYING_TYPE_ANNOUNCE:
		h->channel = get32(buf + 4);
		h->key_epoch = get32(buf + 8);
		return is_zero(buf + 12, 4) ? 0 : -EINVAL;
	default:
		return -EINVAL;
	}
}

static void put_hdr(uint8_t *out, uint8_t type, uint8_t alg)
{
	out[0] = GUISE_KEYING_MAGIC;
	out[1] = GUISE_KEYING_VERSION;
	out[2] = type;
	out[3] = alg;
}

/*
 * Nonces: 8 random bytes drawn once per thread (and again every 2^32
 * messages) and a 32-bit counter. Unique under any key with overwhelming
 * probability across restarts, without a DRBG call per message (which
 * costs as much as the AEAD itself).
 */
static __thread uint8_t nonce_prefix[8];
static __thread uint32_t nonce_count;
static __thread bool nonce_ready;

static int next_nonce(uint8_t *nonce)
{
	if (!nonce_ready || nonce_count == UINT32_MAX) {
		if (RAND_bytes(nonce_prefix, sizeof(nonce_prefix)) != 1)
			return -EIO;
		nonce_count = 0;
		nonce_ready = true;
	}
	memcpy(nonce, nonce_prefix, sizeof(nonce_prefix));
	put32(nonce + sizeof(nonce_prefix), nonce_count++);
	return 0;
}

/* Nonce into the clear part, then AEAD the body in place after it. */
static int seal_body(uint8_t alg, const uint8_t *key, const uint8_t *nonce,
		     uint8_t *out, size_t bodylen)
{
	int err;

	if (nonce)
		memcpy(out + GUISE_KEYING_HDR_LEN, nonce,
		       GUISE_KEYING_NONCE_LEN);
	else if (next_nonce(out + GUISE_KEYING_HDR_LEN))
		return -EIO;
	err = guise_keying_aead(true, alg, key, out + GUISE_KEYING_HDR_LEN, out,
				GUISE_KEYING_CLEAR_LEN,
				out + GUISE_KEYING_CLEAR_LEN, bodylen,
				out + GUISE_KEYING_CLEAR_LEN,
				out + GUISE_KEYING_CLEAR_LEN + bodylen);
	if (err)
		explicit_bzero(out, GUISE_KEYING_CLEAR_LEN + bodylen);
	return err;
}

static int open_body(uint8_t alg, const uint8_t *key, const uint8_t *buf,
		     size_t len, uint8_t *plain)
{
	size_t bodylen = len - GUISE_KEYING_CLEAR_LEN - GUISE_KEYING_TAG_LEN;

	return guise_keying_aead(
		false, alg, key, buf + GUISE_KEYING_HDR_LEN, buf,
		GUISE_KEYING_CLEAR_LEN, buf + GUISE_KEYING_CLEAR_LEN, bodylen,
		plain, (uint8_t *)buf + GUISE_KEYING_CLEAR_LEN + bodylen);
}

static bool group_ok(const struct in6_addr *g)
{
	return IN6_IS_ADDR_MULTICAST(g);
}

static bool entry_ok(const struct guise_demm_entry *e)
{
	return group_ok(&e->group) && e->port && e->not_before < e->not_after;
}

ssize_t guise_demm_seal(struct guise_client_keys *ck, uint8_t alg,
			uint32_t epoch, const struct guise_demm *d,
			const uint8_t *nonce, uint8_t *out, size_t outlen)
{
	size_t len, i;
	uint8_t *p;
	int err;

	if (!guise_keying_alg_ok(alg) || d->count > GUISE_DEMM_MAX_ENTRIES ||
	    !d->serial || d->not_before >= d->not_after)
		return -EINVAL;
	for (i = 0; i < d->count; i++)
		if (!entry_ok(&d->e[i]))
			return -EINVAL;
	len = GUISE_DEMM_LEN(d->count);
	if (outlen < len)
		return -EMSGSIZE;
	memset(out, 0, len);
	put_hdr(out, GUISE_KEYING_TYPE_DEMM, alg);
	put32(out + 4, epoch);
	err = guise_client_tag(ck, epoch, out + 8);
	if (err)
		return err;
	p = out + GUISE_KEYING_CLEAR_LEN;
	put64(p, d->serial);
	put64(p + 8, d->not_before);
	put64(p + 16, d->not_after);
	put16(p + 24, (uint16_t)d->count);
	p += GUISE_DEMM_BODY_LEN;
	for (i = 0; i < d->count; i++, p += GUISE_DEMM_ENTRY_LEN) {
		const struct guise_demm_entry *e = &d->e[i];

		put32(p, e->channel);
		put32(p + 4, e->epoch);
		memcpy(p + 8, &e->group, 16);
		put16(p + 24, e->port);
		put64(p + 28, e->not_before);
		put64(p + 36, e->not_after);
		memcpy(p + 44, e->key, GUISE_KEYING_KEY_LEN);
	}
	err = seal_body(alg, ck->seal, nonce, out,
			len - GUISE_KEYING_CLEAR_LEN - GUISE_KEYING_TAG_LEN);
	return err ? err : (ssize_t)len;
}

int guise_demm_open(struct guise_client_keys *ck, const uint8_t *buf,
		    size_t len, struct guise_demm *d)
{
	uint8_t plain[GUISE_KEYING_MAX_MSG], tag[GUISE_DEMM_CLIENT_TAG_LEN];
	struct guise_keying_hdr h;
	const uint8_t *p;
	unsigned int i;
	size_t n;
	int err;

	memset(d, 0, sizeof(*d));
	if (guise_keying_peek(buf, len, &h) ||
	    h.type != GUISE_KEYING_TYPE_DEMM || len < GUISE_DEMM_LEN(0) ||
	    (len - GUISE_DEMM_LEN(0)) % GUISE_DEMM_ENTRY_LEN)
		return -EINVAL;
	n = (len - GUISE_DEMM_LEN(0)) / GUISE_DEMM_ENTRY_LEN;
	err = guise_client_tag(ck, h.tag_epoch, tag);
	if (err)
		return err;
	if (memcmp(tag, h.client_tag, sizeof(tag)))
		return -ENOENT;
	err = open_body(h.alg, ck->seal, buf, len, plain);
	if (err)
		return err;
	err = -EINVAL;
	d->serial = get64(plain);
	d->not_before = get64(plain + 8);
	d->not_after = get64(plain + 16);
	d->count = get16(plain + 24);
	if (d->count != n || !is_zero(plain + 26, 2) || !d->serial ||
	    d->not_before >= d->not_after)
		goto bad;
	p = plain + GUISE_DEMM_BODY_LEN;
	for (i = 0; i < n; i++, p += GUISE_DEMM_ENTRY_LEN) {
		struct guise_demm_entry *e = &d->e[i];

		e->channel = get32(p);
		e->epoch = get32(p + 4);
		memcpy(&e->group, p + 8, 16);
		e->port = get16(p + 24);
		e->not_before = get64(p + 28);
		e->not_after = get64(p + 36);
		memcpy(e->key, p + 44, GUISE_KEYING_KEY_LEN);
		if (!is_zero(p + 26, 2) || !entry_ok(e))
			goto bad;
	}
	explicit_bzero(plain, sizeof(plain));
	return 0;
bad:
	explicit_bzero(plain, sizeof(plain));
	explicit_bzero(d, sizeof(*d));
	return err;
}

int guise_demm_check(const struct guise_demm *d, uint64_t last_serial,
		     uint64_t now)
{
	if (d->serial <= last_serial)
		return -ESTALE;
	if (now < d->not_before || now >= d->not_after)
		return -ETIME;
	return 0;
}

static bool announce_ok(const struct guise_announce *a)
{
	size_t klen;

	if (a->alg < 1 || a->alg > GUISE_ALG_MAX || !group_ok(&a->group) ||
	    !a->port || a->not_before >= a->not_after)
		return false;
	klen = a->alg == GUISE_ALG_AES128_GCM ? 16 : 32;
	return is_zero(a->key + klen, GUISE_KEYING_KEY_LEN - klen);
}

ssize_t guise_announce_seal(const uint8_t kc[GUISE_KEYING_KEY_LEN], uint8_t alg,
			    uint32_t key_epoch, const struct guise_announce *a,
			    const uint8_t *nonce, uint8_t *out, size_t outlen)
{
	uint8_t *p = out + GUISE_KEYING_CLEAR_LEN;
	int err;

	if (!guise_keying_alg_ok(alg) || !announce_ok(a))
		return -EINVAL;
	if (outlen < GUISE_ANNOUNCE_LEN)
		return -EMSGSIZE;
	memset(out, 0, GUISE_ANNOUNCE_LEN);
	put_hdr(out, GUISE_KEYING_TYPE_ANNOUNCE, alg);
	put32(out + 4, a->channel);
	put32(out + 8, key_epoch);
	put32(p, a->channel);
	put32(p + 4, a->content);
	put32(p + 8, a->key_id);
	memcpy(p + 12, &a->group, 16);
	put16(p + 28, a->port);
	p[30] = a->alg;
	put64(p + 32, a->not_before);
	put64(p + 40, a->not_after);
	memcpy(p + 48, a->salt, 4);
	memcpy(p + 52, a->key, GUISE_KEYING_KEY_LEN);
	err = seal_body(alg, kc, nonce, out, GUISE_ANNOUNCE_BODY_LEN);
	return err ? err : GUISE_ANNOUNCE_LEN;
}

int guise_announce_open(const uint8_t kc[GUISE_KEYING_KEY_LEN],
			const uint8_t *buf, size_t len,
			struct guise_announce *a)
{
	uint8_t p[GUISE_ANNOUNCE_BODY_LEN];
	struct guise_keying_hdr h;
	int err;

	memset(a, 0, sizeof(*a));
	if (guise_keying_peek(buf, len, &h) ||
	    h.type != GUISE_KEYING_TYPE_ANNOUNCE || len != GUISE_ANNOUNCE_LEN)
		return -EINVAL;
	err = open_body(h.alg, kc, buf, len, p);
	if (err)
		return err;
	a->channel = get32(p);
	a->content = get32(p + 4);
	a->key_id = get32(p + 8);
	memcpy(&a->group, p + 12, 16);
	a->port = get16(p + 28);
	a->alg = p[30];
	a->not_before = get64(p + 32);
	a->not_after = get64(p + 40);
	memcpy(a->salt, p + 48, 4);
	memcpy(a->key, p + 52, GUISE_KEYING_KEY_LEN);
	err = a->channel == h.channel && !p[31] && announce_ok(a) ? 0 : -EINVAL;
	explicit_bzero(p, sizeof(p));
	if (err)
		explicit_bzero(a, sizeof(*a));
	return err;
}
