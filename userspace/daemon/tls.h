/* SPDX-License-Identifier: GPL-2.0 */
/* Server TLS: TLS 1.2+, client certificates required and verified, and the
 * client's real address read from its certificate. */
#ifndef GUISE_DAEMON_TLS_H
#define GUISE_DAEMON_TLS_H

#include <netinet/in.h>
#include <openssl/ssl.h>

/* A server context from PEM files; NULL after logging why. */
SSL_CTX *tls_server_ctx(const char *cert, const char *key, const char *ca);

/*
 * The address a verified client proved: the one IPv6 iPAddress
 * subjectAltName of its certificate. 0, -EACCES (no verified certificate)
 * or -ENOENT (no IPv6 address, or more than one).
 */
int tls_peer_address(SSL *ssl, struct in6_addr *addr);

#endif
