// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "holders.h"

int holders_add(struct holders *h, const char *who)
{
	char **v;
	size_t i;

	for (i = 0; i < h->n; i++)
		if (!strcmp(h->v[i], who))
			return 0;
	if (h->n >= HOLDERS_MAX)
		return -ENOSPC;
	v = realloc(h->v, (h->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	h->v = v;
	v[h->n] = strdup(who);
	if (!v[h->n])
		return -ENOMEM;
	h->n++;
	return 0;
}

int holders_drop(struct holders *h, const char *who)
{
	size_t i;

	if (h->configured)
		return -EPERM;
	for (i = 0; i < h->n; i++) {
		if (strcmp(h->v[i], who))
			continue;
		free(h->v[i]);
		h->v[i] = h->v[--h->n];
		return h->n ? -EBUSY : 0;
	}
	return -EPERM;
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

int holders_caller(struct evhttp_request *req, char *buf, size_t len)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev =
		conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
	X509 *x = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
	char subject[HOLDER_ID_MAX / 2], issuer[HOLDER_ID_MAX / 2];

	if (!x || SSL_get_verify_result(ssl) != X509_V_OK)
		return -1;
	X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
	X509_NAME_oneline(X509_get_issuer_name(x), issuer, sizeof(issuer));
	snprintf(buf, len, "%s | %s", subject, issuer);
	return 0;
}
