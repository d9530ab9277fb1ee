// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "tls.h"

static void tls_log_errors(const char *what, const char *path)
{
	char buf[256];
	unsigned long e = ERR_get_error();

	ERR_error_string_n(e, buf, sizeof(buf));
	guise_err("tls: %s %s: %s", what, path, e ? buf : "failed");
	ERR_clear_error();
}

SSL_CTX *tls_server_ctx(const char *cert, const char *key, const char *ca)
{
	STACK_OF(X509_NAME) * names;
	SSL_CTX *ctx;

	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		tls_log_errors("context", "");
		return NULL;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
		tls_log_errors("protocol version", "");
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE);
	/*
	 * With client verification, OpenSSL refuses to resume a session of a
	 * context without an id ("internal error" alert), so a client's second
	 * connection failed whenever it offered its ticket.
	 */
	if (!SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"guise",
					    5)) {
		tls_log_errors("session id context", "");
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		tls_log_errors("certificate", cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		tls_log_errors("key", key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_log_errors("key does not match", cert);
		goto fail;
	}
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		tls_log_errors("client CA", ca);
		goto fail;
	}
	names = SSL_load_client_CA_file(ca);
	if (!names) {
		tls_log_errors("client CA names", ca);
		goto fail;
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	SSL_CTX_set_verify(
		ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

void tls_server_full_handshakes(SSL_CTX *ctx)
{
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 0); /* TLS 1.3 */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
}

int tls_peer_address(SSL *ssl, struct in6_addr *addr)
{
	GENERAL_NAMES *names;
	X509 *cert;
	int i, found = 0;

	cert = SSL_get0_peer_certificate(ssl);
	if (!cert || SSL_get_verify_result(ssl) != X509_V_OK)
		return -EACCES;
	names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	if (!names)
		return -ENOENT;
	for (i = 0; i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);

		if (gn->type != GEN_IPADD ||
		    ASN1_STRING_length(gn->d.iPAddress) != 16)
			continue;
		memcpy(addr, ASN1_STRING_get0_data(gn->d.iPAddress), 16);
		found++;
	}
	GENERAL_NAMES_free(names);
	return found == 1 ? 0 : -ENOENT;
}
