/* SPDX-License-Identifier: GPL-2.0 */
/* guise-certd's configuration file (inih); see guise-certd(8). */
#ifndef CERTD_CONF_H
#define CERTD_CONF_H

/* [network] keepalive default: seconds a forwarding connection to a peer
 * stays open after a POST (the server's TLS session lifetime). */
#define CERTD_KEEPALIVE 300

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "http.h"
#include "urlpolicy.h"

struct conf_list {
	char **v;
	size_t n;
};

struct certd_conf {
	struct sockaddr_storage listen, ocsp_listen;
	int listen_len, ocsp_listen_len; /* ocsp_listen_len 0: no OCSP */
	char *cert, *key, *ca; /* the mTLS API */
	char *client_cert, *client_key, *client_ca; /* outgoing requests */
	struct conf_list anchors, intermediates, crls, notifiers;
	struct conf_list ocsp_signers; /* "CERT KEY" pairs */
	struct conf_list forward, peers; /* notification and path URLs */
	bool stale_unknown;
	unsigned int fetch_timeout; /* seconds */
	unsigned int keepalive; /* seconds a forwarding connection stays open */
	bool prewarm; /* connect to the forward list ahead of notifications */
	unsigned int notify_rate; /* notifications per second accepted */
	/* subscriptions (both lists) one client certificate may hold */
	unsigned int subscribe_limit;
	/* URL prefixes a client may subscribe; none: https:// to a host its
	 * certificate's subjectAltName names (urlpolicy_subscribe()) */
	struct urlpolicy subscribe_allow;
	/* URL prefixes POST /v1/acquire may fetch; none: acquire is off */
	struct urlpolicy acquire_allow;
	size_t max_body;
	struct http_limits limits; /* max_connections[_per_client] */
};

int certd_conf_load(const char *path, struct certd_conf *c);
void certd_conf_free(struct certd_conf *c);

#endif
