// SPDX-License-Identifier: GPL-2.0
/*
 * OCSP load generator: THREADS threads POST the DER request in REQFILE to
 * URL for SECONDS seconds, a new connection per request (as most OCSP
 * clients do), and count answers with HTTP 200 and a DER body.
 * Usage: ocsp_load URL REQFILE SECONDS THREADS
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <curl/curl.h>

static const char *url;
static char req[65536];
static long req_len;
static double deadline;
static long total, failed;
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
	struct curl_slist *hdr =
		curl_slist_append(NULL, "Content-Type: application/ocsp-request");
	CURL *c = curl_easy_init();
	long ok = 0, bad = 0, code;
	size_t got;

	(void)arg;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, req);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, req_len);
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
	while (now() < deadline) {
		got = 0;
		code = 0;
		if (curl_easy_perform(c) == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (code == 200 && got > 5)
			ok++;
		else
			bad++;
	}
	pthread_mutex_lock(&lock);
	total += ok;
	failed += bad;
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

	if (argc != 5)
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
	curl_global_init(CURL_GLOBAL_DEFAULT);
	t0 = now();
	deadline = t0 + secs;
	for (i = 0; i < n; i++)
		pthread_create(&th[i], NULL, run, NULL);
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	printf("%.0f\n", total / (now() - t0));
	fprintf(stderr, "answers %ld, failures %ld\n", total, failed);
	return 0;
}
