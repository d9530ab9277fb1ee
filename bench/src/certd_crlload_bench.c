// SPDX-License-Identifier: GPL-2.0
/*
 * Validation latency while guise-certd loads a large CRL (issue 7,
 * benchmark (c), second half), against a running daemon over its mTLS API.
 *
 *   certd_crlload_bench mkcrl CA.crt CA.key ENTRIES NUMBER SERIAL \
 *       OUT.crl OUT.cms
 *     A CRL of CA: ENTRIES random 16-octet serials and SERIAL (hex), CRL
 *     number NUMBER (hex), signed with CA.key: OUT.crl (DER); and a "CRL
 *     issued" notification carrying it, signed by CA: OUT.cms.
 *
 *   certd_crlload_bench run URL TLSCA CLIENT.crt CLIENT.key LEAF.crt \
 *       hup PID CRLFILE NEWFILE | notify NOTE.cms
 *     One thread validates LEAF (POST /v1/validate, one keep-alive
 *     connection, back to back) and times every answer. After 1 s (the
 *     idle reference) the load starts: "hup" renames NEWFILE over CRLFILE
 *     (the daemon's [trust] crl) and sends SIGHUP to PID; "notify" POSTs
 *     the notification on another connection. LEAF must be revoked by the
 *     new CRL: the load is over at the first "revoked" answer. Printed:
 *     the load time (trigger to that answer) and the latency of the
 *     validations answered in between: count, p50, p99, max.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "crlnote.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "certd_crlload_bench: %s\n", what);
	exit(1);
}

/* ---- mkcrl ---- */

static void add_revoked(X509_CRL *crl, ASN1_INTEGER *serial,
			const ASN1_TIME *t)
{
	X509_REVOKED *r = X509_REVOKED_new();

	if (!r || !X509_REVOKED_set_serialNumber(r, serial) ||
	    !X509_REVOKED_set_revocationDate(r, (ASN1_TIME *)t) ||
	    !X509_CRL_add0_revoked(crl, r))
		die("out of memory");
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "wb");

	if (!fp || fwrite(data, 1, len, fp) != len || fclose(fp))
		die("cannot write a file");
}

static int mkcrl(char **argv)
{
	long i, n = atol(argv[2]);
	FILE *fp;
	X509 *ca;
	EVP_PKEY *key;
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *last = ASN1_TIME_set(NULL, time(NULL) - 60);
	ASN1_TIME *next = ASN1_TIME_set(NULL, time(NULL) + 7 * 86400);
	struct crlnote note = { 0 };
	unsigned char *der = NULL, *cms = NULL, b[16];
	size_t cms_len;
	ASN1_INTEGER *s;
	int len;

	fp = fopen(argv[0], "r");
	ca = fp ? PEM_read_X509(fp, NULL, NULL, NULL) : NULL;
	if (fp)
		fclose(fp);
	fp = fopen(argv[1], "r");
	key = fp ? PEM_read_PrivateKey(fp, NULL, NULL, NULL) : NULL;
	if (fp)
		fclose(fp);
	note.number = crlnote_hex_int(argv[3]);
	s = crlnote_hex_int(argv[4]);
	if (!ca || !key || !crl || !note.number || !s ||
	    !X509_CRL_set_version(crl, 1) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) ||
	    !X509_CRL_set1_lastUpdate(crl, last) ||
	    !X509_CRL_set1_nextUpdate(crl, next) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, note.number, 0, 0))
		die("mkcrl: bad arguments");
	add_revoked(crl, s, last);
	ASN1_INTEGER_free(s);
	for (i = 0; i < n; i++) {
		s = ASN1_INTEGER_new();
		RAND_bytes(b, sizeof(b));
		b[0] = (unsigned char)((b[0] & 0x7f) | 0x01);
		if (!s || !ASN1_STRING_set(s, b, sizeof(b)))
			die("out of memory");
		add_revoked(crl, s, last);
		ASN1_INTEGER_free(s);
	}
	X509_CRL_sort(crl);
	if (!X509_CRL_sign(crl, key, EVP_sha256()) ||
	    (len = i2d_X509_CRL(crl, &der)) <= 0)
		die("cannot sign the CRL");
	write_file(argv[5], der, (size_t)len);
	note.issuer = X509_NAME_dup(X509_get_subject_name(ca));
	note.issued_at = time(NULL);
	note.crl = crl;
	if (!note.issuer || crlnote_sign(&note, ca, key, &cms, &cms_len))
		die("cannot sign the notification");
	write_file(argv[6], cms, cms_len);
	printf("CRL of %ld entries: %d bytes DER, notification %zu bytes\n",
	       n + 1, len, cms_len);
	return 0;
}

/* ---- run ---- */

struct buf {
	char *p;
	size_t len;
};

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t len = size * n;
	char *p = realloc(b->p, b->len + len + 1);

	if (!p)
		return 0;
	memcpy(p + b->len, data, len);
	b->len += len;
	p[b->len] = '\0';
	b->p = p;
	return len;
}

static const char *g_url, *g_ca, *g_cert, *g_key;

static CURL *handle(const char *path, struct buf *b)
{
	char url[512];
	CURL *c = curl_easy_init();

	if (!c)
		die("curl");
	snprintf(url, sizeof(url), "%s%s", g_url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, g_ca);
	curl_easy_setopt(c, CURLOPT_SSLCERT, g_cert);
	curl_easy_setopt(c, CURLOPT_SSLKEY, g_key);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 300L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	return c;
}

#define MAX_SAMPLES (1 << 22)

static struct {
	double *start, *lat;
	int *revoked;
	size_t n;
	volatile int stop;
	char *body;
} g;

static void *validator(void *arg)
{
	struct buf b = { 0 };
	CURL *c = handle("/v1/validate", &b);
	struct curl_slist *h =
		curl_slist_append(NULL, "Content-Type: application/json");
	double t0;

	(void)arg;
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, g.body);
	while (!g.stop && g.n < MAX_SAMPLES) {
		b.len = 0;
		t0 = now();
		if (curl_easy_perform(c) != CURLE_OK || !b.p)
			die("validation failed");
		g.lat[g.n] = now() - t0;
		g.start[g.n] = t0;
		g.revoked[g.n] = strstr(b.p, "\"status\":\"revoked\"") != NULL;
		__atomic_store_n(&g.n, g.n + 1, __ATOMIC_RELEASE);
	}
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	free(b.p);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void stats(const char *what, double *v, size_t n)
{
	if (!n) {
		printf("%-28s none\n", what);
		return;
	}
	qsort(v, n, sizeof(*v), cmp_double);
	printf("%-28s %6zu   p50 %8.3f ms   p99 %8.3f ms   max %8.3f ms\n",
	       what, n, v[n / 2] * 1e3, v[(size_t)((double)(n - 1) * 0.99)] * 1e3,
	       v[n - 1] * 1e3);
}

static char *b64_file(const char *path)
{
	FILE *fp = fopen(path, "r");
	X509 *x = fp ? PEM_read_X509(fp, NULL, NULL, NULL) : NULL;
	unsigned char *der = NULL;
	char *out, *json;
	int len;

	if (fp)
		fclose(fp);
	if (!x || (len = i2d_X509(x, &der)) <= 0)
		die("cannot read the leaf");
	out = malloc(4 * ((size_t)len / 3 + 1) + 1);
	json = malloc(4 * ((size_t)len / 3 + 1) + 32);
	if (!out || !json)
		die("out of memory");
	EVP_EncodeBlock((unsigned char *)out, der, len);
	sprintf(json, "{\"cert\":\"%s\"}", out);
	free(out);
	OPENSSL_free(der);
	X509_free(x);
	return json;
}

static int run(int argc, char **argv)
{
	double t_trigger, t_end = 0, *idle, *during;
	size_t i, n, n_idle = 0, n_during = 0, first_revoked = 0;
	pthread_t th;
	bool hup;

	if (argc < 7)
		die("run: arguments");
	g_url = argv[0];
	g_ca = argv[1];
	g_cert = argv[2];
	g_key = argv[3];
	g.body = b64_file(argv[4]);
	hup = !strcmp(argv[5], "hup");
	if (hup && argc < 9)
		die("run hup: PID CRLFILE NEWFILE");
	g.start = calloc(MAX_SAMPLES, sizeof(double));
	g.lat = calloc(MAX_SAMPLES, sizeof(double));
	g.revoked = calloc(MAX_SAMPLES, sizeof(int));
	if (!g.start || !g.lat || !g.revoked)
		die("out of memory");
	if (pthread_create(&th, NULL, validator, NULL))
		die("thread");
	sleep(1);
	t_trigger = now();
	if (hup) {
		if (rename(argv[8], argv[7]) ||
		    kill((pid_t)atol(argv[6]), SIGHUP))
			die("cannot trigger the reload");
	} else {
		struct buf b = { 0 }, nb = { 0 };
		CURL *c = handle("/v1/notify", &b);
		struct curl_slist *h = curl_slist_append(
			NULL, "Content-Type: application/cms");
		FILE *fp = fopen(argv[6], "rb");
		char chunk[65536];
		size_t k;

		if (!fp)
			die("cannot read the notification");
		while ((k = fread(chunk, 1, sizeof(chunk), fp)) > 0)
			on_data(chunk, 1, k, &nb);
		fclose(fp);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, nb.p);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)nb.len);
		if (curl_easy_perform(c) != CURLE_OK || !b.p ||
		    !strstr(b.p, "\"accepted\""))
			die("the notification was not accepted");
		printf("notification answered      %.3f s after the POST\n",
		       now() - t_trigger);
		curl_easy_cleanup(c);
		curl_slist_free_all(h);
		free(b.p);
		free(nb.p);
	}
	/* Until the first "revoked", then 0.5 s more. */
	for (;;) {
		n = __atomic_load_n(&g.n, __ATOMIC_ACQUIRE);
		for (i = first_revoked; i < n; i++)
			if (g.revoked[i])
				break;
		if (i < n) {
			first_revoked = i;
			t_end = g.start[i] + g.lat[i];
			break;
		}
		first_revoked = n;
		if (now() - t_trigger > 600)
			die("the new CRL never came into force");
		usleep(1000);
	}
	usleep(500000);
	g.stop = 1;
	pthread_join(th, NULL);
	idle = malloc(g.n * sizeof(double));
	during = malloc(g.n * sizeof(double));
	if (!idle || !during)
		die("out of memory");
	for (i = 0; i < g.n; i++) {
		double end = g.start[i] + g.lat[i];

		if (end < t_trigger)
			idle[n_idle++] = g.lat[i];
		else if (g.start[i] <= t_end)
			during[n_during++] = g.lat[i];
	}
	printf("load (trigger -> in force)  %.3f s\n", t_end - t_trigger);
	stats("validations before, idle", idle, n_idle);
	stats("validations during the load", during, n_during);
	{
		/* The daemon's own measure of its loop-side steps. */
		struct buf b = { 0 };
		CURL *c = handle("/v1/metrics", &b);
		const char *m = "\nguise_certd_crl_loop_max_seconds ";
		const char *mc = "\nguise_certd_crl_loop_max_cpu_seconds ";
		char *p, *pc;

		if (curl_easy_perform(c) == CURLE_OK && b.p &&
		    (p = strstr(b.p, m)) && (pc = strstr(b.p, mc)))
			printf("longest loop-side step     %.3f ms, %.3f ms "
			       "of CPU (guise_certd_crl_loop_max_*)\n",
			       atof(p + strlen(m)) * 1e3,
			       atof(pc + strlen(mc)) * 1e3);
		curl_easy_cleanup(c);
		free(b.p);
	}
	free(idle);
	free(during);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "mkcrl") && argc == 9)
		return mkcrl(argv + 2);
	if (argc > 1 && !strcmp(argv[1], "run")) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		return run(argc - 2, argv + 2);
	}
	fprintf(stderr, "usage: see bench/src/certd_crlload_bench.c\n");
	return 2;
}
