// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/err.h>

#include "base64.h"
#include "crlnote.h"

void crlnote_free(struct crlnote *n)
{
	X509_NAME_free(n->issuer);
	ASN1_INTEGER_free(n->number);
	free(n->location);
	X509_CRL_free(n->crl);
	X509_CRL_free(n->delta);
	free(n->crl_der);
	free(n->delta_der);
	sk_ASN1_INTEGER_pop_free(n->revoked, ASN1_INTEGER_free);
	memset(n, 0, sizeof(*n));
}

char *crlnote_int_hex(const ASN1_INTEGER *i)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(i, NULL);
	char *hex, *out;

	if (!bn)
		return NULL;
	hex = BN_bn2hex(bn);
	BN_free(bn);
	if (!hex)
		return NULL;
	out = strdup(hex);
	OPENSSL_free(hex);
	return out;
}

ASN1_INTEGER *crlnote_hex_int(const char *hex)
{
	const char *p = hex[0] == '-' ? hex + 1 : hex;
	ASN1_INTEGER *i;
	BIGNUM *bn = NULL;
	size_t len = strlen(p);

	if (!len || len > 64 || strspn(p, "0123456789abcdefABCDEF") != len)
		return NULL;
	if (BN_hex2bn(&bn, hex) != (int)strlen(hex)) {
		BN_free(bn);
		return NULL;
	}
	i = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	return i;
}

/* base64 of the DER of @obj through @i2d; NULL on error. */
#define DER_B64(i2d, obj)                                            \
	({                                                           \
		unsigned char *_der = NULL;                          \
		int _len = i2d(obj, &_der);                          \
		char *_b = _len > 0 ? b64_encode(_der, _len) : NULL; \
		OPENSSL_free(_der);                                  \
		_b;                                                  \
	})

static int set_b64(json_t *o, const char *key, char *b64)
{
	int err;

	if (!b64)
		return -1;
	err = json_object_set_new(o, key, json_string(b64));
	free(b64);
	return err;
}

char *crlnote_to_json(const struct crlnote *n)
{
	json_t *o = json_object(), *arr;
	char *hex, *text = NULL, name[512];
	int i, err = 0;

	if (!o || !n->issuer || !n->number)
		goto out;
	X509_NAME_oneline(n->issuer, name, sizeof(name));
	err |= json_object_set_new(o, "v", json_integer(CRLNOTE_VERSION));
	err |= json_object_set_new(o, "type", json_string("crl-issued"));
	err |= set_b64(o, "issuer", DER_B64(i2d_X509_NAME, n->issuer));
	err |= json_object_set_new(o, "issuer_text", json_string(name));
	hex = crlnote_int_hex(n->number);
	err |= hex ? json_object_set_new(o, "crl_number", json_string(hex)) :
		     -1;
	free(hex);
	err |= json_object_set_new(o, "issued_at", json_integer(n->issued_at));
	if (n->is_delta)
		err |= json_object_set_new(o, "kind", json_string("delta"));
	if (n->location)
		err |= json_object_set_new(o, "location",
					   json_string(n->location));
	if (n->crl)
		err |= set_b64(o, "crl", DER_B64(i2d_X509_CRL, n->crl));
	if (n->delta)
		err |= set_b64(o, "delta", DER_B64(i2d_X509_CRL, n->delta));
	if (n->revoked) {
		arr = json_array();
		err |= json_object_set_new(o, "revoked", arr);
		for (i = 0; arr && i < sk_ASN1_INTEGER_num(n->revoked); i++) {
			hex = crlnote_int_hex(
				sk_ASN1_INTEGER_value(n->revoked, i));
			err |= hex ? json_array_append_new(arr,
							   json_string(hex)) :
				     -1;
			free(hex);
		}
	}
	if (!err)
		text = json_dumps(o, JSON_COMPACT);
out:
	json_decref(o);
	return text;
}

#define FAIL(...)                                   \
	do {                                        \
		snprintf(err, errlen, __VA_ARGS__); \
		goto fail;                          \
	} while (0)

static X509_CRL *crl_from_b64(const char *b64)
{
	unsigned char *der;
	const unsigned char *p;
	X509_CRL *crl;
	size_t len;

	der = b64_decode(b64, strlen(b64), &len);
	if (!der)
		return NULL;
	p = der;
	crl = d2i_X509_CRL(NULL, &p, (long)len);
	if (crl && p != der + len) {
		X509_CRL_free(crl);
		crl = NULL;
	}
	free(der);
	return crl;
}

int crlnote_from_json(const char *text, size_t len, struct crlnote *n,
		      char *err, size_t errlen)
{
	return crlnote_from_json_ex(text, len, 0, n, err, errlen);
}

int crlnote_from_json_ex(const char *text, size_t len, unsigned int flags,
			 struct crlnote *n, char *err, size_t errlen)
{
	const char *type = NULL, *issuer = NULL, *number = NULL;
	const char *location = NULL, *crl = NULL, *delta = NULL, *kind = NULL;
	json_t *root, *revoked = NULL, *v;
	json_int_t ver = 0, issued_at = 0;
	unsigned char *der = NULL;
	const unsigned char *p;
	json_error_t jerr;
	size_t dlen, i;

	memset(n, 0, sizeof(*n));
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, errlen, "bad JSON: %s", jerr.text);
		return -1;
	}
	if (json_unpack_ex(root, &jerr, JSON_STRICT,
			   "{s:I, s:s, s:s, s?s, s:s, s:I, s?s, s?s, s?s, s?o, "
			   "s?s}",
			   "v", &ver, "type", &type, "issuer", &issuer,
			   "issuer_text", &(const char *){ NULL }, "crl_number",
			   &number, "issued_at", &issued_at, "location",
			   &location, "crl", &crl, "delta", &delta, "revoked",
			   &revoked, "kind", &kind))
		FAIL("bad notification: %s", jerr.text);
	if (ver != CRLNOTE_VERSION || strcmp(type, "crl-issued"))
		FAIL("unsupported notification version or type");
	if (kind && strcmp(kind, "full") && strcmp(kind, "delta"))
		FAIL("bad kind");
	n->is_delta = kind && !strcmp(kind, "delta");
	der = b64_decode(issuer, strlen(issuer), &dlen);
	p = der;
	if (!der || !(n->issuer = d2i_X509_NAME(NULL, &p, (long)dlen)) ||
	    p != der + dlen)
		FAIL("bad issuer");
	n->number = crlnote_hex_int(number);
	if (!n->number)
		FAIL("bad crl_number");
	n->issued_at = issued_at;
	if (location) {
		if (strlen(location) > CRLNOTE_MAX_URL ||
		    (strncmp(location, "http://", 7) &&
		     strncmp(location, "https://", 8) &&
		     strncmp(location, "file://", 7)))
			FAIL("bad location");
		n->location = strdup(location);
		if (!n->location)
			FAIL("out of memory");
	}
	if (flags & CRLNOTE_DER) {
		if (crl && !(n->crl_der = b64_decode(crl, strlen(crl),
						     &n->crl_der_len)))
			FAIL("bad crl");
		if (delta && !(n->delta_der = b64_decode(delta, strlen(delta),
							 &n->delta_der_len)))
			FAIL("bad delta");
	} else {
		if (crl && !(n->crl = crl_from_b64(crl)))
			FAIL("bad crl");
		if (delta && !(n->delta = crl_from_b64(delta)))
			FAIL("bad delta");
	}
	if (revoked) {
		if (!json_is_array(revoked) ||
		    json_array_size(revoked) > CRLNOTE_MAX_SERIALS)
			FAIL("bad revoked list");
		n->revoked = sk_ASN1_INTEGER_new_null();
		if (!n->revoked)
			FAIL("out of memory");
		json_array_foreach(revoked, i, v) {
			ASN1_INTEGER *s =
				json_is_string(v) ?
					crlnote_hex_int(json_string_value(v)) :
					NULL;

			if (!s || !sk_ASN1_INTEGER_push(n->revoked, s)) {
				ASN1_INTEGER_free(s);
				FAIL("bad revoked serial");
			}
		}
	}
	free(der);
	json_decref(root);
	return 0;
fail:
	free(der);
	json_decref(root);
	crlnote_free(n);
	return -1;
}

int crlnote_sign(const struct crlnote *n, X509 *cert, EVP_PKEY *key,
		 unsigned char **out, size_t *out_len)
{
	char *text = crlnote_to_json(n);
	CMS_ContentInfo *cms = NULL;
	unsigned char *der = NULL;
	BIO *in = NULL;
	int len, ret = -1;

	if (!text)
		return -1;
	in = BIO_new_mem_buf(text, (int)strlen(text));
	if (in)
		cms = CMS_sign(cert, key, NULL, in,
			       CMS_BINARY | CMS_NOSMIMECAP);
	if (cms) {
		len = i2d_CMS_ContentInfo(cms, &der);
		if (len > 0) {
			*out = malloc(len);
			if (*out) {
				memcpy(*out, der, len);
				*out_len = len;
				ret = 0;
			}
		}
	}
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	free(text);
	ERR_clear_error();
	return ret;
}

int crlnote_open(const unsigned char *der, size_t len, struct crlnote *n,
		 X509 **signer, char *err, size_t errlen)
{
	return crlnote_open_ex(der, len, 0, n, signer, err, errlen);
}

int crlnote_open_ex(const unsigned char *der, size_t len, unsigned int flags,
		    struct crlnote *n, X509 **signer, char *err, size_t errlen)
{
	const unsigned char *p = der;
	STACK_OF(X509) *signers = NULL;
	CMS_ContentInfo *cms = NULL;
	BIO *out = NULL;
	char *text;
	long tlen;
	int ret = -1;

	memset(n, 0, sizeof(*n));
	*signer = NULL;
	if (!len || len > CRLNOTE_MAX_SIZE) {
		snprintf(err, errlen, "bad size");
		return -1;
	}
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (!cms || p != der + len) {
		snprintf(err, errlen, "not a DER CMS message");
		goto out;
	}
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		snprintf(err, errlen, "not a CMS SignedData");
		goto out;
	}
	out = BIO_new(BIO_s_mem());
	/* Who signed is checked by the caller against its own lists. */
	if (!out || CMS_verify(cms, NULL, NULL, NULL, out,
			       CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY) != 1) {
		snprintf(err, errlen, "bad signature");
		goto out;
	}
	signers = CMS_get0_signers(cms);
	if (sk_X509_num(signers) != 1) {
		snprintf(err, errlen, "exactly one signer expected");
		goto out;
	}
	tlen = BIO_get_mem_data(out, &text);
	if (tlen <= 0 ||
	    crlnote_from_json_ex(text, (size_t)tlen, flags, n, err, errlen))
		goto out;
	*signer = sk_X509_value(signers, 0);
	X509_up_ref(*signer);
	ret = 0;
out:
	sk_X509_free(signers);
	BIO_free(out);
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
	return ret;
}
