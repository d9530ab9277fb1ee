// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "base64.h"
#include "certio.h"
#include "log.h"

static int is_pem(const unsigned char *data, size_t len)
{
	return memmem(data, len, "-----BEGIN", 10) != NULL;
}

X509 *certio_cert(const unsigned char *data, size_t len)
{
	const unsigned char *p = data;
	X509 *x = NULL;
	BIO *bio;

	if (!len || len > CERTIO_MAX_CERT)
		return NULL;
	if (is_pem(data, len)) {
		bio = BIO_new_mem_buf(data, (int)len);
		if (bio)
			x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		BIO_free(bio);
	} else {
		x = d2i_X509(NULL, &p, (long)len);
		if (x && p != data + len) {
			X509_free(x);
			x = NULL;
		}
	}
	ERR_clear_error();
	return x;
}

X509 *certio_cert_text(const char *text)
{
	size_t len = strlen(text), dlen;
	unsigned char *der;
	X509 *x;

	if (is_pem((const unsigned char *)text, len))
		return certio_cert((const unsigned char *)text, len);
	if (len > CERTIO_MAX_CERT * 4 / 3 + 4)
		return NULL;
	der = b64_decode(text, len, &dlen);
	if (!der)
		return NULL;
	x = certio_cert(der, dlen);
	free(der);
	return x;
}

CERTD_CRL *certio_crl(const unsigned char *data, size_t len)
{
	CERTD_CRL *crl = NULL;
	BIO *bio;

	if (!len || len > INT32_MAX)
		return NULL;
	if (is_pem(data, len < 4096 ? len : 4096)) {
		bio = BIO_new_mem_buf(data, (int)len);
		if (bio)
			crl = certd_crl_pem(bio);
		BIO_free(bio);
	} else {
		crl = certd_crl_d2i(data, len);
	}
	ERR_clear_error();
	return crl;
}

int certio_read_file(const char *path, size_t max, unsigned char **out,
		     size_t *len)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *buf = NULL, *p;
	size_t n = 0, cap = 0, r;

	if (!fp)
		return -1;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			if (cap > max + 1)
				cap = max + 1;
			p = realloc(buf, cap);
			if (!p)
				goto fail;
			buf = p;
		}
		r = fread(buf + n, 1, cap - n, fp);
		n += r;
		if (n > max)
			goto fail;
		if (!r)
			break;
	}
	if (ferror(fp))
		goto fail;
	fclose(fp);
	*out = buf;
	*len = n;
	return 0;
fail:
	free(buf);
	fclose(fp);
	return -1;
}

int certio_load_certs(const char *path, STACK_OF(X509) * sk)
{
	BIO *bio = BIO_new_file(path, "r");
	int count = 0;
	X509 *x;

	if (!bio) {
		guise_err("%s: cannot open", path);
		return -1;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			break;
		}
		count++;
	}
	BIO_free(bio);
	ERR_clear_error();
	if (!count) {
		guise_err("%s: no PEM certificate", path);
		return -1;
	}
	return 0;
}

int certio_load_crls(const char *path, STACK_OF(CERTD_CRL) * sk)
{
	unsigned char *data;
	CERTD_CRL *crl;
	size_t len;
	BIO *bio;
	int n = 0;

	if (certio_read_file(path, 1u << 30, &data, &len)) {
		guise_err("%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	if (is_pem(data, len < 4096 ? len : 4096)) {
		bio = BIO_new_mem_buf(data, (int)len);
		while (bio && (crl = certd_crl_pem(bio))) {
			if (!sk_CERTD_CRL_push(sk, crl)) {
				CERTD_CRL_free(crl);
				break;
			}
			n++;
		}
		BIO_free(bio);
		ERR_clear_error();
	} else if ((crl = certio_crl(data, len))) {
		if (sk_CERTD_CRL_push(sk, crl))
			n++;
		else
			CERTD_CRL_free(crl);
	}
	free(data);
	if (!n) {
		guise_err("%s: no PEM or DER CRL", path);
		return -1;
	}
	return 0;
}

int certio_load_x509_crls(const char *path, STACK_OF(X509_CRL) * sk)
{
	const unsigned char *p;
	unsigned char *data;
	X509_CRL *crl;
	size_t len;
	BIO *bio;
	int n = 0;

	if (certio_read_file(path, 1u << 30, &data, &len)) {
		guise_err("%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	if (is_pem(data, len < 4096 ? len : 4096)) {
		bio = BIO_new_mem_buf(data, (int)len);
		while (bio &&
		       (crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL))) {
			if (!sk_X509_CRL_push(sk, crl)) {
				X509_CRL_free(crl);
				break;
			}
			n++;
		}
		BIO_free(bio);
	} else if (len <= INT32_MAX) {
		p = data;
		crl = d2i_X509_CRL(NULL, &p, (long)len);
		if (crl && p == data + len && sk_X509_CRL_push(sk, crl))
			n++;
		else
			X509_CRL_free(crl);
	}
	ERR_clear_error();
	free(data);
	if (!n) {
		guise_err("%s: no PEM or DER CRL", path);
		return -1;
	}
	return 0;
}
