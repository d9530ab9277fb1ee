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
 * No session resumption on @ctx (no tickets, no session cache): every
 * connection is a full handshake. For servers that read the client's
 * intermediate certificates (certd is asked about the whole chain, and
 * the chain is kept for re-validation): OpenSSL does not keep the peer's
 * chain in a session, so on a resumed one SSL_get_peer_cert_chain() has
 * none, and certd, asked about the leaf alone, may call it invalid.
 */
void tls_server_full_handshakes(SSL_CTX *ctx);

/*
 * The address a verified client proved: the one IPv6 iPAddress
 * subjectAltName of its certificate. 0, -EACCES (no verified certificate)
 * or -ENOENT (no IPv6 address, or more than one).
 */
int tls_peer_address(SSL *ssl, struct in6_addr *addr);

#endif
