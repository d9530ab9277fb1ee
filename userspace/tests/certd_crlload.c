// SPDX-License-Identifier: GPL-2.0
/*
 * guise-certd loads a large CRL off its event loop (certd_crlload.sh):
 * validations are answered while it loads, duplicates and newer CRL
 * numbers arriving meanwhile are handled as before. This program is the
 * test driver (no arguments: shell_test.h runs the script with the
 * sanitized daemon) and the script's helper:
 *
 *   certd_crlload mknote CA.crt CA.key ENTRIES NUMBER SERIAL OUT.cms OUT.crl
 *                        [LOCATION]
 *
 * makes a CRL of CA (ENTRIES random serials and SERIAL, all hex; CRL
 * number NUMBER), signed by CA.key, into OUT.crl (DER), and a "CRL
 * issued" notification carrying it, signed by the CA, into OUT.cms. With
 * ENTRIES "none" the notification (small) carries no CRL but SERIAL in
 * "revoked", and OUT.crl is not written. With LOCATION the notification
 * carries nothing but names LOCATION as where to fetch the CRL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "crlnote.h"
#include "shell_test.h"

static ASN1_INTEGER *random_serial(void)
{
	unsigned char b[16];
	ASN1_INTEGER *i = ASN1_INTEGER_new();

	if (!i || RAND_bytes(b, sizeof(b)) != 1)
		abort();
	b[0] = (unsigned char)((b[0] & 0x7f) | 0x01);
	if (!ASN1_STRING_set(i, b, sizeof(b)))
		abort();
	return i;
}

static int write_file(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "wb");

	if (!fp || fwrite(data, 1, len, fp) != len) {
		if (fp)
			fclose(fp);
		return -1;
	}
	return fclose(fp) ? -1 : 0;
}

static int add_revoked(X509_CRL *crl, ASN1_INTEGER *serial, const ASN1_TIME *t)
{
	X509_REVOKED *r = X509_REVOKED_new();

	if (!r || !X509_REVOKED_set_serialNumber(r, serial) ||
	    !X509_REVOKED_set_revocationDate(r, (ASN1_TIME *)t) ||
	    !X509_CRL_add0_revoked(crl, r)) {
		X509_REVOKED_free(r);
		return -1;
	}
	return 0;
}

static int mknote(char **argv)
{
	long i, n = atol(argv[3]);
	FILE *fp = fopen(argv[1], "r");
	X509 *ca = fp ? PEM_read_X509(fp, NULL, NULL, NULL) : NULL;
	EVP_PKEY *key = NULL;
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *last = ASN1_TIME_set(NULL, time(NULL) - 60);
	ASN1_TIME *next = ASN1_TIME_set(NULL, time(NULL) + 7 * 86400);
	struct crlnote note = { 0 };
	unsigned char *der = NULL, *cms = NULL;
	size_t cms_len = 0;
	ASN1_INTEGER *s;
	int len;

	if (fp)
		fclose(fp);
	if (!strcmp(argv[3], "none"))
		n = 0;
	fp = fopen(argv[2], "r");
	key = fp ? PEM_read_PrivateKey(fp, NULL, NULL, NULL) : NULL;
	if (fp)
		fclose(fp);
	note.number = crlnote_hex_int(argv[4]);
	s = crlnote_hex_int(argv[5]);
	if (!ca || !key || !crl || !last || !next || !note.number || !s ||
	    !X509_CRL_set_version(crl, 1) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) ||
	    !X509_CRL_set1_lastUpdate(crl, last) ||
	    !X509_CRL_set1_nextUpdate(crl, next) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, note.number, 0, 0) ||
	    add_revoked(crl, s, last)) {
		fprintf(stderr, "mknote: bad arguments\n");
		return 1;
	}
	ASN1_INTEGER_free(s);
	for (i = 0; i < n; i++) {
		s = random_serial();
		if (add_revoked(crl, s, last))
			return 1;
		ASN1_INTEGER_free(s);
	}
	note.issuer = X509_NAME_dup(X509_get_subject_name(ca));
	note.issued_at = time(NULL);
	if (argv[8] && !(note.location = strdup(argv[8])))
		return 1;
	if (!strcmp(argv[3], "none")) {
		note.revoked = sk_ASN1_INTEGER_new_null();
		s = crlnote_hex_int(argv[5]);
		if (!note.revoked || !s ||
		    !sk_ASN1_INTEGER_push(note.revoked, s))
			return 1;
		X509_CRL_free(crl);
	} else {
		X509_CRL_sort(crl);
		if (!X509_CRL_sign(crl, key, EVP_sha256()) ||
		    (len = i2d_X509_CRL(crl, &der)) <= 0 ||
		    write_file(argv[7], der, (size_t)len))
			return 1;
		if (note.location)
			X509_CRL_free(crl);
		else
			note.crl = crl;
	}
	if (!note.issuer || crlnote_sign(&note, ca, key, &cms, &cms_len) ||
	    write_file(argv[6], cms, cms_len))
		return 1;
	crlnote_free(&note);
	OPENSSL_free(der);
	free(cms);
	ASN1_TIME_free(last);
	ASN1_TIME_free(next);
	EVP_PKEY_free(key);
	X509_free(ca);
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const progs[] = { "certd_crlload", NULL };

	if ((argc == 9 || argc == 10) && !strcmp(argv[1], "mknote"))
		return mknote(argv + 1);
	if (argc > 1) {
		fprintf(stderr, "usage: certd_crlload [mknote CA.crt CA.key "
				"ENTRIES NUMBER SERIAL OUT.cms OUT.crl "
				"[LOCATION]]\n");
		return 2;
	}
	return shell_test("certd_crlload.sh", progs);
}
