/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The OCSP responder (RFC 6960) on a plain HTTP listener: POST of a DER
 * request, or GET /<base64 request>. Answered from the CRL cache and
 * signed by a delegated OCSP signing certificate of the certificate's CA.
 */
#ifndef CERTD_OCSP_H
#define CERTD_OCSP_H

#include <stddef.h>
#include <event2/http.h>

#include "certd.h"

/* Load the configured signers (after validate_init). 0 or -1 (logged). */
int ocsp_init(struct certd *d);
void ocsp_exit(struct certd *d);

/*
 * The DER OCSPResponse for the DER request @req (malloc'ed in *@out),
 * always a well-formed response (malformedRequest, unauthorized...).
 */
int ocsp_answer(struct certd *d, const unsigned char *req, size_t len,
		unsigned char **out, size_t *out_len);

/*
 * The DER request of a GET request-target (RFC 6960 A.1, RFC 5019): the
 * url-encoded base64 of the request after an optional path prefix;
 * unescaped '/' in the base64 are accepted. malloc'ed, or NULL.
 */
unsigned char *ocsp_get_request(const char *uri, size_t *len);

/*
 * Serve OCSP on @http: POST and GET, HTTP/1.1 keep-alive (evhttp's), and
 * RFC 5019 caching headers (Cache-Control max-age, ETag, Last-Modified,
 * Expires; If-None-Match answered 304) on answers that may be reused.
 */
void ocsp_register(struct evhttp *http, struct certd *d);

#endif
