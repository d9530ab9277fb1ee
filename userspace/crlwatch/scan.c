// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "crlwatch.h"
#include "log.h"

#define MAX_CRL_SIZE (256u << 20)

static X509_CRL *parse_crl(const unsigned char *data, size_t len)
{
	const unsigned char *p = data;
	X509_CRL *crl;
	BIO *bio;

	if (memmem(data, len < 4096 ? len : 4096, "-----BEGIN", 10)) {
		bio = BIO_new_mem_buf(data, (int)len);
		crl = bio ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
	} else {
		crl = d2i_X509_CRL(NULL, &p, (long)len);
	}
	ERR_clear_error();
	return crl;
}

static X509_CRL *read_crl_file(const char *path)
{
	unsigned char *buf;
	X509_CRL *crl = NULL;
	struct stat st;
	FILE *fp;

	if (stat(path, &st) || !S_ISREG(st.st_mode) || !st.st_size ||
	    (size_t)st.st_size > MAX_CRL_SIZE)
		return NULL;
	fp = fopen(path, "rb");
	buf = fp ? malloc(st.st_size) : NULL;
	if (buf && fread(buf, 1, st.st_size, fp) == (size_t)st.st_size)
		crl = parse_crl(buf, st.st_size);
	free(buf);
	if (fp)
		fclose(fp);
	return crl;
}

struct body {
	unsigned char *data;
	size_t len;
};

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t len = size * n;
	unsigned char *p;

	if (len > MAX_CRL_SIZE - b->len)
		return 0;
	p = realloc(b->data, b->len + len);
	if (!p)
		return 0;
	b->data = p;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return len;
}

static X509_CRL *fetch_crl(const struct watch_opts *o, const char *url)
{
	struct body b = { 0 };
	X509_CRL *crl = NULL;
	CURL *c = curl_easy_init();
	long code = 0;

	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (o->ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, o->ca);
	if (curl_easy_perform(c) == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (code >= 200 && code < 300 && b.len)
			crl = parse_crl(b.data, b.len);
	}
	curl_easy_cleanup(c);
	free(b.data);
	return crl;
}

static struct watched *find(struct crlwatch *cw, X509_CRL *crl, bool delta)
{
	struct watched *v;
	size_t i;

	for (i = 0; i < cw->n_w; i++)
		if (cw->w[i].delta == delta &&
		    !X509_NAME_cmp(cw->w[i].issuer, X509_CRL_get_issuer(crl)))
			return &cw->w[i];
	v = realloc(cw->w, (cw->n_w + 1) * sizeof(*v));
	if (!v)
		return NULL;
	cw->w = v;
	v = &cw->w[cw->n_w];
	memset(v, 0, sizeof(*v));
	v->delta = delta;
	v->issuer = X509_NAME_dup(X509_CRL_get_issuer(crl));
	if (!v->issuer)
		return NULL;
	cw->n_w++;
	return v;
}

/* A CRL seen at @location: notify if its number is new. */
static void consider(struct crlwatch *cw, X509_CRL *crl, const char *location,
		     bool notify)
{
	ASN1_INTEGER *num =
		X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	bool delta = X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0;
	struct watched *w;

	if (!num) {
		guise_warn("%s: CRL without a CRL number: ignored", location);
		return;
	}
	w = find(cw, crl, delta);
	if (!w || (w->number && ASN1_INTEGER_cmp(num, w->number) <= 0)) {
		ASN1_INTEGER_free(num);
		return;
	}
	cw->crls_new++;
	if (notify && watch_notify(cw, crl, location, w->crl))
		guise_warn("%s: notification not delivered everywhere",
			   location);
	ASN1_INTEGER_free(w->number);
	w->number = num;
	X509_CRL_free(w->crl);
	X509_CRL_up_ref(crl);
	w->crl = crl;
}

static bool crl_name(const char *name)
{
	const char *dot = strrchr(name, '.');

	return name[0] != '.' && dot &&
	       (!strcmp(dot, ".crl") || !strcmp(dot, ".pem") ||
		!strcmp(dot, ".der"));
}

int watch_scan(struct crlwatch *cw, bool notify)
{
	const struct watch_opts *o = cw->o;
	char path[1024], location[4096];
	struct dirent *de;
	X509_CRL *crl;
	DIR *dir;

	cw->scans++;
	if (o->url) {
		crl = fetch_crl(o, o->url);
		if (!crl)
			return -1;
		consider(cw, crl, o->url, notify);
		X509_CRL_free(crl);
		return 0;
	}
	dir = opendir(o->dir);
	if (!dir) {
		guise_err("%s: %s", o->dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(dir))) {
		if (!crl_name(de->d_name))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", o->dir,
				     de->d_name) >= sizeof(path))
			continue;
		crl = read_crl_file(path);
		if (!crl)
			continue;
		if (o->location_base)
			snprintf(location, sizeof(location), "%.2000s/%s",
				 o->location_base, de->d_name);
		else if (path[0] == '/')
			snprintf(location, sizeof(location), "file://%s", path);
		else
			snprintf(location, sizeof(location), "file://%s/%s",
				 cw->cwd, path);
		consider(cw, crl, location, notify);
		X509_CRL_free(crl);
	}
	closedir(dir);
	return 0;
}

void watch_free(struct crlwatch *cw)
{
	size_t i;

	for (i = 0; i < cw->n_w; i++) {
		X509_NAME_free(cw->w[i].issuer);
		ASN1_INTEGER_free(cw->w[i].number);
		X509_CRL_free(cw->w[i].crl);
	}
	free(cw->w);
	watch_disconnect(cw); /* their handles, before the subscribers */
	for (i = 0; i < cw->n_subs; i++) {
		free(cw->subs[i].url);
		holders_free(&cw->subs[i].holders);
	}
	free(cw->subs);
	X509_free(cw->sign_cert);
	EVP_PKEY_free(cw->sign_key);
}
