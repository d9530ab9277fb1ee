// SPDX-License-Identifier: GPL-2.0
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "base64.h"
#include "http.h"
#include "log.h"
#include "ocsp.h"

#define OCSP_MAX_REQUEST 65536
/*
 * Signed answers to requests without a nonce (RFC 5019's profile; what
 * caching clients and most TLS stacks send) are reused, byte for byte, for
 * the same request while the CRL cache has not changed and for at most
 * OCSP_CACHE_TTL seconds (never past the answer's nextUpdate): signing is
 * the responder's main cost. A hit costs a hash of the request, a compare
 * and one copy of the DER into the HTTP output buffer; the HTTP caching
 * headers (RFC 5019 section 6.2) are formatted once, when the answer is
 * signed. Everything here runs on the event loop thread, as do the CRL
 * cache changes that bump d->crls.generation: no locking.
 */
#define OCSP_CACHE_SLOTS 1024
#define OCSP_CACHE_TTL 60
#define OCSP_CACHE_MAX_REQ 512
/* Candidate starts of the base64 in a GET path (after a prefix). */
#define OCSP_GET_TRIES 8

struct ocsp_cached {
	unsigned char *req, *resp;
	size_t req_len, resp_len;
	uint64_t generation;
	time_t made; /* the answer's thisUpdate */
	time_t expires; /* made + OCSP_CACHE_TTL, at most its nextUpdate */
	char etag[35]; /* "32 hex digits of the SHA-256 of resp" */
	char last_modified[32], expires_hdr[32];
};

struct ocsp_cache {
	struct ocsp_cached slot[OCSP_CACHE_SLOTS];
};

static unsigned int cache_slot(const unsigned char *req, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ req[i]) * 16777619u;
	return h % OCSP_CACHE_SLOTS;
}

/* The cached answer to @req, valid until the next cache_put(). */
static const struct ocsp_cached *
cache_find(struct certd *d, const unsigned char *req, size_t len, time_t now)
{
	const struct ocsp_cached *c;

	if (!d->ocsp_cache || !len || len > OCSP_CACHE_MAX_REQ)
		return NULL;
	c = &d->ocsp_cache->slot[cache_slot(req, len)];
	if (!c->req || c->req_len != len || memcmp(c->req, req, len) ||
	    c->generation != d->crls.generation || now < c->made ||
	    now >= c->expires)
		return NULL;
	return c;
}

static void http_date(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) ||
	    !strftime(buf, size, "%a, %d %b %Y %H:%M:%S GMT", &tm))
		buf[0] = '\0';
}

static void cache_put(struct certd *d, const unsigned char *req, size_t len,
		      const unsigned char *resp, size_t resp_len, time_t now,
		      time_t next)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	struct ocsp_cached *c;
	unsigned char *r, *a;
	size_t i;

	if (!d->ocsp_cache || len > OCSP_CACHE_MAX_REQ)
		return;
	r = malloc(len);
	a = malloc(resp_len);
	if (!r || !a) {
		free(r);
		free(a);
		return;
	}
	memcpy(r, req, len);
	memcpy(a, resp, resp_len);
	c = &d->ocsp_cache->slot[cache_slot(req, len)];
	free(c->req);
	free(c->resp);
	memset(c, 0, sizeof(*c));
	c->req = r;
	c->resp = a;
	c->req_len = len;
	c->resp_len = resp_len;
	c->generation = d->crls.generation;
	c->made = now;
	c->expires = now + OCSP_CACHE_TTL;
	if (next && next < c->expires)
		c->expires = next;
	SHA256(resp, resp_len, md);
	c->etag[0] = '"';
	for (i = 0; i < 16; i++)
		snprintf(c->etag + 1 + 2 * i, 3, "%02x", md[i]);
	c->etag[33] = '"';
	c->etag[34] = '\0';
	http_date(now, c->last_modified, sizeof(c->last_modified));
	http_date(c->expires, c->expires_hdr, sizeof(c->expires_hdr));
}

static EVP_PKEY *load_key(const char *path)
{
	BIO *bio = BIO_new_file(path, "r");
	EVP_PKEY *k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) :
			    NULL;

	BIO_free(bio);
	return k;
}

int ocsp_init(struct certd *d)
{
	const struct conf_list *l = &d->conf->ocsp_signers;
	size_t i;
	int j;

	d->signers = calloc(l->n ? l->n : 1, sizeof(*d->signers));
	d->ocsp_cache = calloc(1, sizeof(*d->ocsp_cache));
	if (!d->signers || !d->ocsp_cache)
		return -1;
	for (i = 0; i < l->n; i++) {
		struct ocsp_signer *s = &d->signers[d->n_signers];
		char *cert = strdup(l->v[i]), *key;
		BIO *bio;

		if (!cert)
			return -1;
		key = strchr(cert, ' ');
		*key++ = '\0';
		key += strspn(key, " ");
		bio = BIO_new_file(cert, "r");
		s->cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
		s->key = load_key(key);
		if (!s->cert || !s->key ||
		    X509_check_private_key(s->cert, s->key) != 1) {
			guise_err("[ocsp] signer %s / %s: cannot load", cert,
				  key);
			free(cert);
			X509_free(s->cert);
			EVP_PKEY_free(s->key);
			return -1;
		}
		for (j = 0; j < sk_X509_num(d->crls.cas); j++) {
			X509 *ca = sk_X509_value(d->crls.cas, j);

			if (X509_check_issued(ca, s->cert) == X509_V_OK) {
				s->ca = ca;
				X509_up_ref(ca);
				break;
			}
		}
		if (!s->ca)
			guise_err("[ocsp] signer %s: its issuer is not a "
				  "configured CA",
				  cert);
		else if (!(X509_get_extended_key_usage(s->cert) &
			   XKU_OCSP_SIGN))
			guise_warn("[ocsp] signer %s: no OCSPSigning usage",
				   cert);
		free(cert);
		if (!s->ca) {
			X509_free(s->cert);
			EVP_PKEY_free(s->key);
			return -1;
		}
		d->n_signers++;
	}
	ERR_clear_error();
	return 0;
}

void ocsp_exit(struct certd *d)
{
	size_t i;

	for (i = 0; i < d->n_signers; i++) {
		X509_free(d->signers[i].cert);
		X509_free(d->signers[i].ca);
		EVP_PKEY_free(d->signers[i].key);
	}
	free(d->signers);
	d->signers = NULL;
	d->n_signers = 0;
	for (i = 0; d->ocsp_cache && i < OCSP_CACHE_SLOTS; i++) {
		free(d->ocsp_cache->slot[i].req);
		free(d->ocsp_cache->slot[i].resp);
	}
	free(d->ocsp_cache);
	d->ocsp_cache = NULL;
}

/* The signer whose CA issued the certificate @cid names. */
static struct ocsp_signer *find_signer(struct certd *d, OCSP_CERTID *cid)
{
	ASN1_OBJECT *md_obj = NULL;
	const EVP_MD *md;
	size_t i;

	if (!OCSP_id_get0_info(NULL, &md_obj, NULL, NULL, cid))
		return NULL;
	md = EVP_get_digestbyobj(md_obj);
	if (!md)
		return NULL;
	for (i = 0; i < d->n_signers; i++) {
		OCSP_CERTID *ca_id =
			OCSP_cert_to_id(md, NULL, d->signers[i].ca);
		int cmp = ca_id ? OCSP_id_issuer_cmp(ca_id, cid) : -1;

		OCSP_CERTID_free(ca_id);
		if (!cmp)
			return &d->signers[i];
	}
	return NULL;
}

static int respond_status(int status, unsigned char **out, size_t *out_len)
{
	OCSP_RESPONSE *resp = OCSP_response_create(status, NULL);
	unsigned char *der = NULL;
	int len = resp ? i2d_OCSP_RESPONSE(resp, &der) : -1;

	OCSP_RESPONSE_free(resp);
	if (len <= 0)
		return -1;
	*out = malloc(len);
	if (*out)
		memcpy(*out, der, len);
	*out_len = len;
	OPENSSL_free(der);
	return *out ? 0 : -1;
}

/* Add @cid's status; *@next_min: the earliest nextUpdate so far (0: none). */
static int add_status(struct certd *d, OCSP_BASICRESP *bs, OCSP_CERTID *cid,
		      const struct ocsp_signer *s, time_t now, time_t *next_min)
{
	const struct crl_serial *hit = NULL;
	ASN1_TIME *this_upd, *next_upd = NULL, *rev = NULL;
	ASN1_INTEGER *serial = NULL;
	int status = V_OCSP_CERTSTATUS_UNKNOWN, reason = -1, ok;
	time_t next = 0;

	if (s && OCSP_id_get0_info(NULL, NULL, NULL, &serial, cid)) {
		switch (crl_cache_lookup(&d->crls, X509_get_subject_name(s->ca),
					 serial, now, &hit, &next)) {
		case CRL_GOOD:
			status = V_OCSP_CERTSTATUS_GOOD;
			break;
		case CRL_REVOKED:
			status = V_OCSP_CERTSTATUS_REVOKED;
			reason = hit->reason == 0xff ?
					 OCSP_REVOKED_STATUS_NOSTATUS :
					 hit->reason;
			rev = ASN1_TIME_set(NULL, (time_t)hit->date);
			break;
		case CRL_UNKNOWN:
			break;
		}
	}
	this_upd = ASN1_TIME_set(NULL, now);
	if (next)
		next_upd = ASN1_TIME_set(NULL, next);
	if (next && (!*next_min || next < *next_min))
		*next_min = next;
	ok = this_upd && OCSP_basic_add1_status(bs, cid, status, reason, rev,
						this_upd, next_upd);
	ASN1_TIME_free(this_upd);
	ASN1_TIME_free(next_upd);
	ASN1_TIME_free(rev);
	return ok ? 0 : -1;
}

/* Parse, look up and sign: the uncached path of ocsp_answer(). */
static int sign_answer(struct certd *d, const unsigned char *req, size_t len,
		       time_t now, unsigned char **out, size_t *out_len)
{
	const unsigned char *p = req;
	struct ocsp_signer *s = NULL, *si;
	OCSP_BASICRESP *bs = NULL;
	OCSP_RESPONSE *resp = NULL;
	OCSP_REQUEST *r = NULL;
	unsigned char *der = NULL;
	time_t next = 0;
	int i, n, dlen, ret;

	if (len && len <= OCSP_MAX_REQUEST)
		r = d2i_OCSP_REQUEST(NULL, &p, (long)len);
	n = r ? OCSP_request_onereq_count(r) : 0;
	if (!r || p != req + len || n < 1 || n > 64) {
		d->m.ocsp_errors++;
		OCSP_REQUEST_free(r);
		ERR_clear_error();
		return respond_status(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST,
				      out, out_len);
	}
	bs = OCSP_BASICRESP_new();
	if (!bs)
		goto internal;
	for (i = 0; i < n; i++) {
		OCSP_CERTID *cid =
			OCSP_onereq_get0_id(OCSP_request_onereq_get0(r, i));

		si = find_signer(d, cid);
		/* One signature per response: the first CA's signer. */
		if (!s)
			s = si;
		if (add_status(d, bs, cid, si == s ? s : NULL, now, &next))
			goto internal;
	}
	if (!s) {
		d->m.ocsp_errors++;
		OCSP_BASICRESP_free(bs);
		OCSP_REQUEST_free(r);
		ERR_clear_error();
		return respond_status(OCSP_RESPONSE_STATUS_UNAUTHORIZED, out,
				      out_len);
	}
	OCSP_copy_nonce(bs, r);
	if (!OCSP_basic_sign(bs, s->cert, s->key, EVP_sha256(), NULL, 0))
		goto internal;
	resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
	dlen = resp ? i2d_OCSP_RESPONSE(resp, &der) : -1;
	if (dlen <= 0)
		goto internal;
	*out = malloc(dlen);
	if (!*out)
		goto internal;
	memcpy(*out, der, dlen);
	*out_len = dlen;
	if (OCSP_REQUEST_get_ext_by_NID(r, NID_id_pkix_OCSP_Nonce, -1) < 0)
		cache_put(d, req, len, *out, *out_len, now, next);
	ret = 0;
	goto out;
internal:
	d->m.ocsp_errors++;
	ret = respond_status(OCSP_RESPONSE_STATUS_INTERNALERROR, out, out_len);
out:
	OPENSSL_free(der);
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	OCSP_REQUEST_free(r);
	ERR_clear_error();
	return ret;
}

int ocsp_answer(struct certd *d, const unsigned char *req, size_t len,
		unsigned char **out, size_t *out_len)
{
	const struct ocsp_cached *c;
	time_t now = time(NULL);

	d->m.ocsp_requests++;
	c = cache_find(d, req, len, now);
	if (!c)
		return sign_answer(d, req, len, now, out, out_len);
	d->m.ocsp_cached++;
	*out = malloc(c->resp_len);
	if (!*out)
		return -1;
	memcpy(*out, c->resp, c->resp_len);
	*out_len = c->resp_len;
	return 0;
}

/* Whether @der is one DER SEQUENCE of exactly @len octets. */
static bool der_sequence(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	long body;
	int tag, cls, ret;

	if (len < 2 || len > OCSP_MAX_REQUEST)
		return false;
	ret = ASN1_get_object(&p, &body, &tag, &cls, (long)len);
	return !(ret & 0x80) && ret == V_ASN1_CONSTRUCTED &&
	       tag == V_ASN1_SEQUENCE && cls == V_ASN1_UNIVERSAL &&
	       (size_t)(p - der) + (size_t)body == len;
}

/* The DER of the url-encoded base64 at @b64 (@len bytes), or NULL. */
static unsigned char *get_decode(const char *b64, size_t len, size_t *der_len)
{
	char *text = strndup(b64, len), *dec;
	unsigned char *der = NULL;
	size_t dlen;

	dec = text ? evhttp_uridecode(text, 0, &dlen) : NULL;
	free(text);
	if (dec && strlen(dec) == dlen)
		der = b64_decode(dec, dlen, der_len);
	free(dec);
	if (der && !der_sequence(der, *der_len)) {
		free(der);
		der = NULL;
	}
	ERR_clear_error();
	return der;
}

unsigned char *ocsp_get_request(const char *uri, size_t *len)
{
	const char *end, *s, *last;
	unsigned char *der;
	int tries = 0;

	/* The absolute form (through a proxy): from the path on. */
	if (uri && uri[0] != '/' && strstr(uri, "://"))
		uri = strchr(strstr(uri, "://") + 3, '/');
	if (!uri || uri[0] != '/')
		return NULL;
	end = uri + strcspn(uri, "?#");
	if ((size_t)(end - uri) > OCSP_MAX_REQUEST * 2)
		return NULL;
	/*
	 * The base64 may hold unescaped '/' (clients differ) and follow a
	 * path prefix: try the text after each of the first '/'s, then after
	 * the last one (the prefix-only form of earlier versions).
	 */
	for (s = uri; s && s < end && tries < OCSP_GET_TRIES; tries++) {
		while (s < end && *s == '/')
			s++;
		if (s == end)
			break;
		der = get_decode(s, (size_t)(end - s), len);
		if (der)
			return der;
		s = memchr(s, '/', (size_t)(end - s));
	}
	last = NULL;
	for (s = uri; s < end; s++)
		if (*s == '/')
			last = s;
	if (!last || last + 1 >= end)
		return NULL;
	return get_decode(last + 1, (size_t)(end - last - 1), len);
}

static bool etag_matches(struct evhttp_request *req, const char *etag)
{
	const char *inm = evhttp_find_header(
		evhttp_request_get_input_headers(req), "If-None-Match");

	return inm && (strstr(inm, etag) || !strcmp(inm, "*"));
}

static void ocsp_cb(struct evhttp_request *req, void *arg)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct evbuffer *body = evhttp_request_get_output_buffer(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const struct ocsp_cached *c;
	struct certd *d = arg;
	unsigned char *data = NULL, *out = NULL;
	size_t len = 0, out_len = 0;
	time_t now = time(NULL);
	char cc[80];
	int ret = 0;

	if (cmd == EVHTTP_REQ_POST) {
		len = evbuffer_get_length(in);
		if (len <= OCSP_MAX_REQUEST)
			data = evbuffer_pullup(in, -1);
	} else if (cmd == EVHTTP_REQ_GET) {
		data = ocsp_get_request(evhttp_request_get_uri(req), &len);
	} else {
		evhttp_add_header(h, "Allow", "GET, POST");
		http_reply_error(req, 405, "method not allowed");
		return;
	}
	if (!data)
		len = 0;
	d->m.ocsp_requests++;
	c = cache_find(d, data, len, now);
	if (c) {
		d->m.ocsp_cached++;
	} else {
		ret = sign_answer(d, data, len, now, &out, &out_len);
		/* Cached now if it may be reused (no nonce...). */
		c = ret ? NULL : cache_find(d, data, len, now);
	}
	if (cmd == EVHTTP_REQ_GET)
		free(data);
	if (ret) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	if (c) {
		/* RFC 5019 section 6.2: HTTP caches may keep the answer. */
		snprintf(cc, sizeof(cc),
			 "max-age=%lld, public, no-transform, must-revalidate",
			 (long long)(c->expires - now));
		evhttp_add_header(h, "Cache-Control", cc);
		evhttp_add_header(h, "ETag", c->etag);
		evhttp_add_header(h, "Last-Modified", c->last_modified);
		evhttp_add_header(h, "Expires", c->expires_hdr);
	} else {
		/* A nonce, or an error status: for this request only. */
		evhttp_add_header(h, "Cache-Control", "no-store");
	}
	evhttp_add_header(h, "Content-Type", "application/ocsp-response");
	if (c && cmd == EVHTTP_REQ_GET && etag_matches(req, c->etag)) {
		free(out);
		http_send(req, HTTP_NOTMODIFIED, "Not Modified", NULL);
		return;
	}
	if (c ? evbuffer_add(body, c->resp, c->resp_len) :
		evbuffer_add(body, out, out_len)) {
		free(out);
		evbuffer_drain(body, evbuffer_get_length(body));
		evhttp_clear_headers(h);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	free(out);
	http_send(req, HTTP_OK, "OK", NULL);
}

void ocsp_register(struct evhttp *http, struct certd *d)
{
	evhttp_set_gencb(http, ocsp_cb, d);
}
