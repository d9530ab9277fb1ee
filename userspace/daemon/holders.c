// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "holders.h"
#include "key.h"

int holders_add(struct holders *h, const char *who)
{
	char **v, *dup;

	/* The configuration holds it for good: a client's hold would add
	 * nothing but a count against its subscription limit. */
	if (h->configured || holders_has(h, who))
		return 0;
	if (h->n >= HOLDERS_MAX)
		return -ENOSPC;
	dup = strdup(who);
	if (!dup)
		return -ENOMEM;
	v = realloc(h->v, (h->n + 1) * sizeof(*v));
	if (!v) {
		free(dup);
		return -ENOMEM;
	}
	h->v = v;
	v[h->n++] = dup;
	return 0;
}

bool holders_has(const struct holders *h, const char *who)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (!strcmp(h->v[i], who))
			return true;
	return false;
}

int holders_drop(struct holders *h, const char *who)
{
	size_t i;

	for (i = 0; i < h->n; i++) {
		if (strcmp(h->v[i], who))
			continue;
		free(h->v[i]);
		h->v[i] = h->v[--h->n];
		return h->n || h->configured ? -EBUSY : 0;
	}
	/* Configured: nothing of @who's to let go (holders_add() kept
	 * none), and the configuration keeps it. */
	return h->configured ? -EBUSY : -EPERM;
}

void holders_free(struct holders *h)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		free(h->v[i]);
	free(h->v);
	h->v = NULL;
	h->n = 0;
}

int holders_id(X509 *x, char *buf, size_t len)
{
	unsigned char *subject = NULL, *issuer = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int slen, ilen, ret = -1;
	EVP_MD_CTX *ctx;

	slen = i2d_X509_NAME(X509_get_subject_name(x), &subject);
	ilen = i2d_X509_NAME(X509_get_issuer_name(x), &issuer);
	ctx = EVP_MD_CTX_new();
	if (slen > 0 && ilen > 0 && ctx && len >= 7 + 2 * 32 + 1 &&
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(ctx, subject, (size_t)slen) &&
	    EVP_DigestUpdate(ctx, issuer, (size_t)ilen) &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen == 32) {
		memcpy(buf, "sha256:", 7);
		guise_hex_format(md, mdlen, buf + 7);
		ret = 0;
	}
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(subject);
	OPENSSL_free(issuer);
	return ret;
}

X509 *holders_peer(struct evhttp_request *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev =
		conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
	X509 *x = ssl ? SSL_get0_peer_certificate(ssl) : NULL;

	if (!x || SSL_get_verify_result(ssl) != X509_V_OK)
		return NULL;
	return x;
}

int holders_caller(struct evhttp_request *req, char *buf, size_t len)
{
	X509 *x = holders_peer(req);

	return x ? holders_id(x, buf, len) : -1;
}
