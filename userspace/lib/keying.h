/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guise-keyd control messages (Documentation/keying.rst): the DEMM,
 * sealed per client with a key derived from its master key Km, carries the
 * channel keys Kc of every channel the client is entitled to; the
 * announcement, sealed per channel with its current Kc, carries a content
 * key Ks. Only the kernel's content format is in the uapi header: the
 * kernel never parses these.
 */
#ifndef GUISE_KEYING_H
#define GUISE_KEYING_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define GUISE_KEYING_MAGIC 0x47 /* 'G', as the content header */
#define GUISE_KEYING_VERSION 1
#define GUISE_KEYING_TYPE_DEMM 2 /* content data is type 1 */
#define GUISE_KEYING_TYPE_ANNOUNCE 3

#define GUISE_KEYING_HDR_LEN 16
#define GUISE_KEYING_NONCE_LEN 12
#define GUISE_KEYING_TAG_LEN 16
#define GUISE_KEYING_CLEAR_LEN (GUISE_KEYING_HDR_LEN + GUISE_KEYING_NONCE_LEN)
#define GUISE_KEYING_KEY_LEN 32 /* Km, Kc and the Ks field */
#define GUISE_DEMM_CLIENT_TAG_LEN 8
/* Blinded client tags change every hour. */
#define GUISE_DEMM_EPOCH_SECONDS 3600

#define GUISE_DEMM_BODY_LEN 28
#define GUISE_DEMM_ENTRY_LEN 76
#define GUISE_ANNOUNCE_BODY_LEN 84
/* One unfragmented datagram on any IPv6 link: 1280 - 40 - 8. */
#define GUISE_KEYING_MAX_MSG 1232
#define GUISE_DEMM_MAX_ENTRIES                            \
	((GUISE_KEYING_MAX_MSG - GUISE_KEYING_CLEAR_LEN - \
	  GUISE_DEMM_BODY_LEN - GUISE_KEYING_TAG_LEN) /   \
	 GUISE_DEMM_ENTRY_LEN)
#define GUISE_ANNOUNCE_LEN                                  \
	(GUISE_KEYING_CLEAR_LEN + GUISE_ANNOUNCE_BODY_LEN + \
	 GUISE_KEYING_TAG_LEN)
#define GUISE_DEMM_LEN(n)                               \
	(GUISE_KEYING_CLEAR_LEN + GUISE_DEMM_BODY_LEN + \
	 (size_t)(n)*GUISE_DEMM_ENTRY_LEN + GUISE_KEYING_TAG_LEN)

/* The clear part of either message. */
struct guise_keying_hdr {
	uint8_t type, alg; /* alg: the sealing AEAD, enum guise_alg */
	union {
		struct { /* DEMM */
			uint32_t tag_epoch;
			uint8_t client_tag[GUISE_DEMM_CLIENT_TAG_LEN];
		};
		struct { /* announcement */
			uint32_t channel, key_epoch;
		};
	};
};

/* One entitled channel: its key Kc of one epoch. */
struct guise_demm_entry {
	uint32_t channel, epoch;
	struct in6_addr group; /* where the channel's content and */
	uint16_t port; /* announcements go (control port: configured) */
	uint64_t not_before, not_after;
	uint8_t key[GUISE_KEYING_KEY_LEN];
};

struct guise_demm {
	uint64_t serial; /* strictly increasing per client */
	uint64_t not_before, not_after; /* seconds since the epoch */
	unsigned int count; /* 0: revoke everything */
	struct guise_demm_entry e[GUISE_DEMM_MAX_ENTRIES];
};

struct guise_announce {
	uint32_t channel, content, key_id;
	struct in6_addr group;
	uint16_t port;
	uint8_t alg; /* the content's enum guise_alg */
	uint64_t not_before, not_after;
	uint8_t salt[4];
	uint8_t key[GUISE_KEYING_KEY_LEN]; /* 16 bytes used for AES-128-GCM */
};

/* The keys a client's Km yields (Km itself is used only for HKDF). */
struct guise_client_keys {
	uint8_t km[GUISE_KEYING_KEY_LEN];
	uint8_t seal[GUISE_KEYING_KEY_LEN]; /* DEMM AEAD key */
	uint32_t tag_epoch; /* cached tag */
	uint8_t tag[GUISE_DEMM_CLIENT_TAG_LEN];
	bool have_tag;
};

/* HKDF-SHA256 derivations; 0 or -EIO. */
int guise_client_keys_init(struct guise_client_keys *ck,
			   const uint8_t km[GUISE_KEYING_KEY_LEN]);
void guise_client_keys_wipe(struct guise_client_keys *ck);
/* The blinded tag of @epoch (cached for the last epoch asked). */
int guise_client_tag(struct guise_client_keys *ck, uint32_t epoch,
		     uint8_t tag[GUISE_DEMM_CLIENT_TAG_LEN]);
static inline uint32_t guise_demm_epoch(uint64_t now)
{
	return (uint32_t)(now / GUISE_DEMM_EPOCH_SECONDS);
}

/* A sealing algorithm the codecs accept (ChaCha20-Poly1305, AES-256-GCM). */
bool guise_keying_alg_ok(unsigned int alg);

/*
 * Read the clear header of @buf: 0, or -EINVAL (too short, too long,
 * unknown magic, version, type, algorithm, non-zero reserved bytes).
 */
int guise_keying_peek(const uint8_t *buf, size_t len,
		      struct guise_keying_hdr *h);

/*
 * Seal @d for the client of @ck under @alg in tag epoch @epoch into @out.
 * @nonce: NULL for a fresh one (known-answer tests give theirs). Returns
 * the length, or -EINVAL (bad fields), -EMSGSIZE, -EIO.
 */
ssize_t guise_demm_seal(struct guise_client_keys *ck, uint8_t alg,
			uint32_t epoch, const struct guise_demm *d,
			const uint8_t *nonce, uint8_t *out, size_t outlen);
/*
 * Open a DEMM: -ENOENT when its tag is not ours (someone else's DEMM),
 * -EINVAL when malformed, -EBADMSG when the AEAD tag does not verify.
 * Semantics (serial, validity) are the caller's: guise_demm_check().
 */
int guise_demm_open(struct guise_client_keys *ck, const uint8_t *buf,
		    size_t len, struct guise_demm *d);
/* 0, -ESTALE (serial not above @last_serial), -ETIME (outside its
 * validity at @now). */
int guise_demm_check(const struct guise_demm *d, uint64_t last_serial,
		     uint64_t now);

ssize_t guise_announce_seal(const uint8_t kc[GUISE_KEYING_KEY_LEN], uint8_t alg,
			    uint32_t key_epoch, const struct guise_announce *a,
			    const uint8_t *nonce, uint8_t *out, size_t outlen);
/* -EINVAL malformed (also: inner channel differs from the header's),
 * -EBADMSG forged. */
int guise_announce_open(const uint8_t kc[GUISE_KEYING_KEY_LEN],
			const uint8_t *buf, size_t len,
			struct guise_announce *a);

/* The AEAD both use: 0 or -EBADMSG/-EIO. Exposed for benchmarks. */
int guise_keying_aead(bool seal, uint8_t alg, const uint8_t *key,
		      const uint8_t *nonce, const uint8_t *aad, size_t aadlen,
		      const uint8_t *in, size_t len, uint8_t *out,
		      uint8_t *tag);

#endif
