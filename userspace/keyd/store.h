/* SPDX-License-Identifier: GPL-2.0 */
/* guise-keyd server state in SQLite (WAL): clients with Km, channels with
 * Kc, contents with Ks, entitlements. The file is the secret: mode 0600. */
#ifndef KEYD_STORE_H
#define KEYD_STORE_H

#include <sqlite3.h>

#include "keyd.h"

struct store;
struct revalidate_cert;

/* @pass (NULL: none): the secret that seals Km, Kc and Ks in the file
 * (PBKDF2-SHA256 + ChaCha20-Poly1305). A store sealed once needs it. */
int store_open(const char *path, const char *pass, size_t passlen,
	       struct store **stp);
void store_close(struct store *st);
sqlite3 *store_db(struct store *st);
/* Load everything into @d (its arrays empty). 0 or -EIO/-ENOMEM. */
int store_load(struct store *st, struct keyd *d);

int store_client_put(struct store *st, const struct kclient *c);
int store_client_del(struct store *st, const char *id);
int store_channel_put(struct store *st, const struct kchannel *ch);
int store_channel_del(struct store *st, uint32_t id);
int store_content_put(struct store *st, const struct kcontent *ct);
int store_content_del(struct store *st, uint32_t id);
int store_entitle(struct store *st, const char *client, uint32_t channel,
		  bool on);
int store_next_key_id(struct store *st, uint32_t next);
/* Revocation: the certificate (base64 DER issuer, canonical serial, see
 * daemon/revocation.h) @client enrolled with, and its @chain
 * (daemon/revalidate.h; NULL: none) for re-validation; the client of one
 * (its id into @id), 0, -ENOENT or -EIO. */
int store_client_cert_set(struct store *st, const char *client,
			  const char *issuer, const char *serial,
			  const unsigned char *chain, size_t len);
/* Re-validation: once each, the certificates with a chain that clients
 * holding at least one entitlement enrolled with. 0 or -EIO/-ENOMEM. */
int store_entitled_cert_chains(struct store *st, struct revalidate_cert **out,
			       size_t *n);
int store_client_by_cert(struct store *st, const char *issuer,
			 const char *serial, char *id, size_t idlen);

#endif
