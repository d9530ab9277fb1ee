// SPDX-License-Identifier: GPL-2.0
/*
 * leased_load: drive guise-leased's API over mutual TLS as THREADS
 * closed-loop clients (one libcurl easy handle each, the connection kept
 * alive): phase 1 rents N leases (distinct peers), phase 2 returns them.
 * Prints one line per phase, for bench/leased_bench.sh:
 *
 *   rent N SECONDS OPS_PER_S P50_MS P99_MS ERRORS
 *   return N SECONDS OPS_PER_S P50_MS P99_MS ERRORS
 *   client_cpu_ms MS   (all client threads, both phases: on a shared
 *                       host the clients compete with the server)
 *
 * Usage: leased_load URL CERTDIR THREADS N
 *   URL      https://[::1]:PORT
 *   CERTDIR  a directory made by userspace/tests/leased_certs.sh: clients
 *            alternate between host1 and host2
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <curl/curl.h>

struct reply {
	char buf[1024];
	size_t len;
};

struct worker {
	pthread_t tid;
	unsigned int id, n; /* its share of the N leases */
	const char *url, *certdir;
	pthread_barrier_t *barrier;
	char (*virt)[64]; /* the virtual addresses it rented */
	double *lat[2]; /* ms per request, per phase */
	unsigned int errors[2];
};

/* Peers differ from one run to the next on the same database. */
static unsigned int run_tag;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t len = size * n, room = sizeof(r->buf) - 1 - r->len;

	memcpy(r->buf + r->len, data, len < room ? len : room);
	r->len += len < room ? len : room;
	r->buf[r->len] = '\0';
	return len;
}

/* POST @body to @api; the HTTP code (0: transport error). */
static long post(CURL *c, const char *url, const char *api, const char *body,
		 struct reply *r)
{
	char full[256];
	long code = 0;

	snprintf(full, sizeof(full), "%s%s", url, api);
	r->len = 0;
	r->buf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, full);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	if (curl_easy_perform(c) != CURLE_OK)
		return 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	return code;
}

/* The "virtual" of a JSON answer (the daemon writes it compactly). */
static void take_virtual(const char *json, char *out)
{
	const char *p = strstr(json, "\"virtual\":");
	size_t len;

	out[0] = '\0';
	if (!p || !(p = strchr(p + 10, '"')))
		return;
	p++;
	len = strcspn(p, "\"");
	if (len < 64) {
		memcpy(out, p, len);
		out[len] = '\0';
	}
}

static CURL *client(const struct worker *w, struct curl_slist **hdr,
		    struct reply *r)
{
	char ca[512], cert[512], key[512];
	const char *who = w->id % 2 ? "host2" : "host1";
	CURL *c = curl_easy_init();

	if (!c)
		return NULL;
	snprintf(ca, sizeof(ca), "%s/ca.crt", w->certdir);
	snprintf(cert, sizeof(cert), "%s/%s.crt", w->certdir, who);
	snprintf(key, sizeof(key), "%s/%s.key", w->certdir, who);
	*hdr = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
	curl_easy_setopt(c, CURLOPT_SSLKEY, key);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdr);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	return c;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct curl_slist *hdr = NULL;
	struct reply r;
	char body[160];
	unsigned int i;
	double t;
	long code;
	CURL *c = client(w, &hdr, &r);

	/* Connect (TLS handshake) before the clock starts. */
	if (c)
		post(c, w->url, "/v1/renew", "{}", &r);
	pthread_barrier_wait(w->barrier);
	for (i = 0; i < w->n; i++) {
		snprintf(body, sizeof(body),
			 "{\"peer\":\"2001:db8:%x:%x::%x\",\"lifetime\":3600}",
			 run_tag, w->id, i);
		t = now_s();
		code = c ? post(c, w->url, "/v1/rent", body, &r) : 0;
		w->lat[0][i] = (now_s() - t) * 1e3;
		if (code == 201)
			take_virtual(r.buf, w->virt[i]);
		else
			w->errors[0]++;
	}
	pthread_barrier_wait(w->barrier);
	pthread_barrier_wait(w->barrier);
	for (i = 0; i < w->n; i++) {
		snprintf(body, sizeof(body), "{\"virtual\":\"%s\"}",
			 w->virt[i]);
		t = now_s();
		code = c && w->virt[i][0] ?
			       post(c, w->url, "/v1/return", body, &r) :
			       0;
		w->lat[1][i] = (now_s() - t) * 1e3;
		if (code != 200)
			w->errors[1]++;
	}
	pthread_barrier_wait(w->barrier);
	if (c)
		curl_easy_cleanup(c);
	curl_slist_free_all(hdr);
	return NULL;
}

/* User + system CPU time of the whole process (every thread), in ms. */
static double cpu_ms(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *name, struct worker *w, unsigned int threads,
		   unsigned int phase, double secs)
{
	unsigned int i, j, n = 0, errors = 0;
	double *all;

	for (i = 0; i < threads; i++)
		n += w[i].n;
	all = calloc(n ? n : 1, sizeof(*all));
	if (!all)
		exit(1);
	for (i = 0, n = 0; i < threads; i++) {
		for (j = 0; j < w[i].n; j++)
			all[n++] = w[i].lat[phase][j];
		errors += w[i].errors[phase];
	}
	qsort(all, n, sizeof(*all), cmp_double);
	printf("%s %u %.3f %.0f %.2f %.2f %u\n", name, n, secs, n / secs,
	       n ? all[n / 2] : 0, n ? all[(size_t)(n * 0.99)] : 0, errors);
	free(all);
}

int main(int argc, char **argv)
{
	unsigned int threads, n, i;
	pthread_barrier_t barrier;
	struct worker *w;
	double t0, t1, t2, t3, c0, c1;

	if (argc != 5 || !(threads = (unsigned int)atoi(argv[3])) ||
	    !(n = (unsigned int)atoi(argv[4]))) {
		fprintf(stderr,
			"usage: leased_load URL CERTDIR THREADS N\n");
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return 1;
	run_tag = 0x100 + (unsigned int)(getpid() & 0xefff);
	w = calloc(threads, sizeof(*w));
	if (!w || pthread_barrier_init(&barrier, NULL, threads + 1))
		return 1;
	for (i = 0; i < threads; i++) {
		w[i].id = i;
		w[i].n = n / threads + (i < n % threads);
		w[i].url = argv[1];
		w[i].certdir = argv[2];
		w[i].barrier = &barrier;
		w[i].virt = calloc(w[i].n + 1, sizeof(*w[i].virt));
		w[i].lat[0] = calloc(w[i].n + 1, sizeof(double));
		w[i].lat[1] = calloc(w[i].n + 1, sizeof(double));
		if (!w[i].virt || !w[i].lat[0] || !w[i].lat[1] ||
		    pthread_create(&w[i].tid, NULL, work, &w[i]))
			return 1;
	}
	pthread_barrier_wait(&barrier);
	t0 = now_s();
	c0 = cpu_ms();
	pthread_barrier_wait(&barrier);
	t1 = now_s();
	pthread_barrier_wait(&barrier);
	t2 = now_s();
	pthread_barrier_wait(&barrier);
	t3 = now_s();
	c1 = cpu_ms();
	for (i = 0; i < threads; i++)
		pthread_join(w[i].tid, NULL);
	report("rent", w, threads, 0, t1 - t0);
	report("return", w, threads, 1, t3 - t2);
	printf("client_cpu_ms %.0f\n", c1 - c0);
	for (i = 0; i < threads; i++) {
		free(w[i].virt);
		free(w[i].lat[0]);
		free(w[i].lat[1]);
	}
	free(w);
	pthread_barrier_destroy(&barrier);
	curl_global_cleanup();
	return 0;
}
