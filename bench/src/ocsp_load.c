// SPDX-License-Identifier: GPL-2.0
/*
 * OCSP load generator: THREADS threads send the DER request in REQFILE to
 * URL for SECONDS seconds and count answers with HTTP 200 and a DER body.
 * MODE "new" (the default) opens a new connection per request, as most
 * OCSP clients do; "keep" keeps one HTTP/1.1 connection per thread while
 * the server allows it. METHOD "post" (the default) posts the request;
 * "get" sends GET URL (the caller appends the url-encoded base64 request,
 * RFC 6960 A.1 / RFC 5019) and REQFILE is only read for its size.
 * Prints responses/s on stdout; answers, failures and the number of
 * connections opened on stderr.
 * Usage: ocsp_load URL REQFILE SECONDS THREADS [new|keep] [post|get]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>

static const char *url;
static char req[65536];
static long req_len;
static double deadline;
static long total, failed, connects;
static int keep, get;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t sink(char *d, size_t s, size_t n, void *arg)
{
	*(size_t *)arg += s * n;
	(void)d;
	return s * n;
}

static void *run(void *arg)
{
	struct curl_slist *hdr = curl_slist_append(
		NULL, "Content-Type: application/ocsp-request");
	CURL *c = curl_easy_init();
	long ok = 0, bad = 0, code, conns = 0, n;
	size_t got;

	(void)arg;
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (!get) {
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, req_len);
	}
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, keep ? 0L : 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
	while (now() < deadline) {
		got = 0;
		code = 0;
		n = 0;
		if (curl_easy_perform(c) == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &n);
		conns += n;
		if (code == 200 && got > 5)
			ok++;
		else
			bad++;
	}
	pthread_mutex_lock(&lock);
	total += ok;
	failed += bad;
	connects += conns;
	pthread_mutex_unlock(&lock);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdr);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[64];
	double secs, t0;
	int i, n;
	FILE *fp;

	if (argc < 5 || argc > 7)
		return 2;
	url = argv[1];
	fp = fopen(argv[2], "rb");
	if (!fp)
		return 2;
	req_len = (long)fread(req, 1, sizeof(req), fp);
	fclose(fp);
	secs = atof(argv[3]);
	n = atoi(argv[4]);
	if (n < 1 || n > 64)
		return 2;
	keep = argc > 5 && !strcmp(argv[5], "keep");
	get = argc > 6 && !strcmp(argv[6], "get");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	t0 = now();
	deadline = t0 + secs;
	for (i = 0; i < n; i++)
		pthread_create(&th[i], NULL, run, NULL);
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	printf("%.0f\n", total / (now() - t0));
	fprintf(stderr, "answers %ld, failures %ld, connections %ld\n", total,
		failed, connects);
	return 0;
}
