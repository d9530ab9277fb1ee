// SPDX-License-Identifier: GPL-2.0
/*
 * Validation latency while guise-certd loads a large CRL (issue 7,
 * benchmark (c), second half), against a running daemon over its mTLS API.
 *
 *   certd_crlload_bench mkcrl CA.crt CA.key ENTRIES NUMBER SERIAL \
 *       OUT.crl OUT.cms [K]
 *     A CRL of CA: ENTRIES random 16-octet serials and SERIAL (hex), CRL
 *     number NUMBER (hex), signed with CA.key: OUT.crl (DER); and a "CRL
 *     issued" notification carrying it, signed by CA: OUT.cms. With K,
 *     also OUT.crl.k and OUT.cms.k (k = 1..K) for "cycle" (see there).
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
 *
 *   certd_crlload_bench run URL TLSCA CLIENT.crt CLIENT.key LEAF.crt \
 *       cycle-hup PID CRLFILE IDLE K PREFIX | cycle-notify IDLE K PREFIX
 *     K loads of PREFIX.k, each after IDLE seconds: see cycle() below.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
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

static ASN1_INTEGER *g_mark_serial; /* SERIAL */

static void add_revoked(X509_CRL *crl, ASN1_INTEGER *serial, const ASN1_TIME *t)
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

/*
 * For "cycle": K more CRLs of the same entries, CRL numbers NUMBER + k
 * (k = 1..K), SERIAL left out of the even ones (so b_good's status flips
 * with every load): OUT.crl.k and OUT.cms.k.
 */
static void mkcycle(X509_CRL *crl, X509 *ca, EVP_PKEY *key,
		    const ASN1_INTEGER *number, int k_max, const char *crl_out,
		    const char *cms_out)
{
	STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);
	X509_REVOKED *mark = sk_X509_REVOKED_value(rev, 0);
	const ASN1_INTEGER *serial = X509_REVOKED_get0_serialNumber(mark);
	struct crlnote note = { 0 };
	char path[4096];
	int k, i;

	/* After the sort: find SERIAL's entry again. */
	for (i = 0; i < sk_X509_REVOKED_num(rev); i++) {
		X509_REVOKED *r = sk_X509_REVOKED_value(rev, i);

		if (!ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(r),
				      g_mark_serial)) {
			mark = r;
			break;
		}
	}
	(void)serial;
	note.issuer = X509_NAME_dup(X509_get_subject_name(ca));
	for (k = 1; k <= k_max; k++) {
		unsigned char *der = NULL, *cms = NULL;
		size_t cms_len;
		int len;

		note.number = ASN1_INTEGER_new();
		if (!note.number ||
		    !ASN1_INTEGER_set_int64(note.number,
					    ASN1_INTEGER_get(number) + k) ||
		    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, note.number, 0,
					   X509V3_ADD_REPLACE))
			die("mkcrl: cycle number");
		if (k % 2 == 0)
			sk_X509_REVOKED_delete_ptr(rev, mark);
		else if (k > 1 && !X509_CRL_add0_revoked(crl, mark))
			die("out of memory");
		X509_CRL_sort(crl);
		if (!X509_CRL_sign(crl, key, EVP_sha256()) ||
		    (len = i2d_X509_CRL(crl, &der)) <= 0)
			die("cannot sign the CRL");
		snprintf(path, sizeof(path), "%s.%d", crl_out, k);
		write_file(path, der, (size_t)len);
		note.issued_at = time(NULL);
		note.crl = crl;
		if (crlnote_sign(&note, ca, key, &cms, &cms_len))
			die("cannot sign the notification");
		snprintf(path, sizeof(path), "%s.%d", cms_out, k);
		write_file(path, cms, cms_len);
		OPENSSL_free(der);
		OPENSSL_free(cms);
		ASN1_INTEGER_free(note.number);
	}
	/* The CRL (freed by the caller's exit) must hold mark again. */
	if (k_max % 2 == 0 && !X509_CRL_add0_revoked(crl, mark))
		die("out of memory");
	X509_NAME_free(note.issuer);
}

static int mkcrl(int argc, char **argv)
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
	g_mark_serial = s;
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
	if (argc > 7)
		mkcycle(crl, ca, key, note.number, atoi(argv[7]), argv[5],
			argv[6]);
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
	       what, n, v[n / 2] * 1e3,
	       v[(size_t)((double)(n - 1) * 0.99)] * 1e3, v[n - 1] * 1e3);
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

/* POST the notification in @path; die unless accepted. */
static void post_note(const char *path)
{
	struct buf b = { 0 }, nb = { 0 };
	CURL *c = handle("/v1/notify", &b);
	struct curl_slist *h =
		curl_slist_append(NULL, "Content-Type: application/cms");
	FILE *fp = fopen(path, "rb");
	char chunk[65536];
	size_t k;

	if (!fp)
		die("cannot read the notification");
	while ((k = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		on_data(chunk, 1, k, &nb);
	fclose(fp);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, nb.p);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)nb.len);
	if (curl_easy_perform(c) != CURLE_OK || !b.p ||
	    !strstr(b.p, "\"accepted\""))
		die("the notification was not accepted");
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	free(b.p);
	free(nb.p);
}

/*
 * The scheduler's account of a thread of the daemon (hup: its PID known):
 * /proc/PID/task/TID/schedstat = CPU time, time waiting on a run queue
 * (runnable, no CPU), time slices; all in ns but the last.
 */
struct sst {
	double cpu, wait;
};

static pid_t g_pid, g_loader_tid;

static struct sst sst_read(pid_t tid)
{
	struct sst v = { 0, 0 };
	char path[64];
	unsigned long long c, w;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", (int)g_pid,
		 (int)tid);
	fp = fopen(path, "r");
	if (fp && fscanf(fp, "%llu %llu", &c, &w) == 2) {
		v.cpu = (double)c / 1e9;
		v.wait = (double)w / 1e9;
	}
	if (fp)
		fclose(fp);
	return v;
}

/* Add to @acc what thread @tid (0: none) used since @last; @last = now. */
static void sst_account(pid_t tid, struct sst *last, struct sst *acc)
{
	struct sst now;

	if (!tid)
		return;
	now = sst_read(tid);
	acc->cpu += now.cpu - last->cpu;
	acc->wait += now.wait - last->wait;
	*last = now;
}

/* The loader thread (named "crl-loader"), 0 if not found. */
static pid_t find_loader(void)
{
	char path[64], comm[32];
	FILE *fp;
	int tid;

	for (tid = (int)g_pid + 1; tid < (int)g_pid + 64; tid++) {
		snprintf(path, sizeof(path), "/proc/%d/task/%d/comm",
			 (int)g_pid, tid);
		fp = fopen(path, "r");
		if (!fp)
			continue;
		if (fgets(comm, sizeof(comm), fp) &&
		    !strncmp(comm, "crl-loader", 10)) {
			fclose(fp);
			return tid;
		}
		fclose(fp);
	}
	return 0;
}

/* A group of latencies: count, p50, p99, max, answers over 1 ms. */
static void stats_group(const char *what, double *v, size_t n, double secs)
{
	size_t i, slow = 0;

	for (i = 0; i < n; i++)
		slow += v[i] > 1e-3;
	if (!n) {
		printf("%-22s none\n", what);
		return;
	}
	qsort(v, n, sizeof(*v), cmp_double);
	printf("%-22s %6.1f s %7zu   p50 %6.3f  p99 %6.3f  max %7.3f ms   "
	       ">1ms %4zu (%.2f/1000)\n",
	       what, secs, n, v[n / 2] * 1e3,
	       v[(size_t)((double)(n - 1) * 0.99)] * 1e3, v[n - 1] * 1e3, slow,
	       1000.0 * (double)slow / (double)n);
}

/*
 * "cycle": K loads, each after IDLE seconds of idle validations; load k
 * (PREFIX.k, made by mkcrl ... K) revokes LEAF if k is odd, lifts it if
 * even, so each load is over at the first answer that flips. Groups:
 * idle (the windows before each load), load (trigger to in force), after
 * (0.5 s after in force: the loader frees what the load replaced).
 */
static int cycle(bool hup, const char *pid, const char *crlfile, double idle_s,
		 int k_max, const char *prefix)
{
	double *t_trig = calloc((size_t)k_max + 1, sizeof(double));
	double *t_end = calloc((size_t)k_max + 1, sizeof(double));
	double *grp[3], secs[3] = { 0, 0, 0 };
	size_t ng[3] = { 0, 0, 0 }, i, seen = 0;
	static const char *const names[3] = { "idle windows", "during loads",
					      "0.5 s after each" };
	char path[4096];
	int k, j;
	/* Per group: the loop thread's and the loader's CPU and run-queue
	 * wait (hup only). */
	struct sst lp[3] = { { 0, 0 } }, ld[3] = { { 0, 0 } };
	struct sst a = { 0, 0 }, la = { 0, 0 };

	if (hup) {
		g_pid = (pid_t)atol(pid);
		g_loader_tid = find_loader();
	}
	for (k = 1; k <= k_max; k++) {
		a = g_pid ? sst_read(g_pid) : a;
		la = g_loader_tid ? sst_read(g_loader_tid) : la;
		usleep((useconds_t)(idle_s * 1e6));
		sst_account(g_pid, &a, &lp[0]);
		sst_account(g_loader_tid, &la, &ld[0]);
		snprintf(path, sizeof(path), "%s.%d", prefix, k);
		t_trig[k] = now();
		if (hup) {
			if (rename(path, crlfile) ||
			    kill((pid_t)atol(pid), SIGHUP))
				die("cannot trigger the reload");
		} else {
			post_note(path);
		}
		for (;;) {
			size_t n = __atomic_load_n(&g.n, __ATOMIC_ACQUIRE);

			for (i = seen; i < n; i++)
				if (g.start[i] >= t_trig[k] &&
				    g.revoked[i] == (k % 2))
					break;
			if (i < n) {
				t_end[k] = g.start[i] + g.lat[i];
				seen = i;
				break;
			}
			seen = n;
			if (now() - t_trig[k] > 600)
				die("a CRL never came into force");
			usleep(1000);
		}
		sst_account(g_pid, &a, &lp[1]);
		sst_account(g_loader_tid, &la, &ld[1]);
		printf("load %d: %.3f s\n", k, t_end[k] - t_trig[k]);
		usleep(500000);
		sst_account(g_pid, &a, &lp[2]);
		sst_account(g_loader_tid, &la, &ld[2]);
	}
	g.stop = 1;
	for (j = 0; j < 3; j++)
		if (!(grp[j] = malloc(g.n * sizeof(double))))
			die("out of memory");
	for (k = 1; k <= k_max; k++) {
		/* Idle: from 0.5 s after the previous load's end (or the
		 * client's start) to the trigger. */
		double from = k > 1 ? t_end[k - 1] + 0.5 : g.start[0];

		secs[0] += t_trig[k] - from;
		secs[1] += t_end[k] - t_trig[k];
		secs[2] += 0.5;
		for (i = 0; i < g.n; i++) {
			double s = g.start[i], e = s + g.lat[i];

			if (s >= from && e < t_trig[k])
				grp[0][ng[0]++] = g.lat[i];
			else if (e >= t_trig[k] && s <= t_end[k])
				grp[1][ng[1]++] = g.lat[i];
			else if (s > t_end[k] && s <= t_end[k] + 0.5)
				grp[2][ng[2]++] = g.lat[i];
		}
	}
	printf("%-22s %8s %7s\n", "validations", "time", "count");
	for (j = 0; j < 3; j++) {
		stats_group(names[j], grp[j], ng[j], secs[j]);
		free(grp[j]);
	}
	/* Run-queue wait: runnable but without a CPU (other threads and
	 * processes had it); per second of the group's time. */
	for (j = 0; g_pid && j < 3; j++)
		printf("  %-20s loop thread: CPU %6.1f ms/s, run-queue wait "
		       "%6.1f ms/s; loader: CPU %6.1f ms/s, wait %6.1f ms/s\n",
		       names[j], 1e3 * lp[j].cpu / secs[j],
		       1e3 * lp[j].wait / secs[j], 1e3 * ld[j].cpu / secs[j],
		       1e3 * ld[j].wait / secs[j]);
	if (g_pid && !g_loader_tid)
		printf("  (no thread named crl-loader: an older daemon)\n");
	if (g_loader_tid) {
		/* sched_getscheduler(): 0 SCHED_OTHER, 5 SCHED_IDLE. */
		int pol = sched_getscheduler(g_loader_tid);

		printf("  loader thread %d: policy %s\n", (int)g_loader_tid,
		       pol == SCHED_IDLE  ? "SCHED_IDLE" :
		       pol == SCHED_OTHER ? "SCHED_OTHER" :
					    "other");
	}
	free(t_trig);
	free(t_end);
	return 0;
}

static void loop_max(void);

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
	if (!strcmp(argv[5], "cycle-hup") || !strcmp(argv[5], "cycle-notify")) {
		hup = !strcmp(argv[5], "cycle-hup");
		if (argc < (hup ? 11 : 9))
			die("run cycle: [PID CRLFILE] IDLE K PREFIX");
		argv += hup ? 6 : 4;
		cycle(hup, argv[0], argv[1], atof(argv[2]), atoi(argv[3]),
		      argv[4]);
		pthread_join(th, NULL);
		loop_max();
		return 0;
	}
	sleep(1);
	t_trigger = now();
	if (hup) {
		if (rename(argv[8], argv[7]) ||
		    kill((pid_t)atol(argv[6]), SIGHUP))
			die("cannot trigger the reload");
	} else {
		post_note(argv[6]);
		printf("notification answered      %.3f s after the POST\n",
		       now() - t_trigger);
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
	loop_max();
	free(idle);
	free(during);
	return 0;
}

static void loop_max(void)
{
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
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "mkcrl") && (argc == 9 || argc == 10))
		return mkcrl(argc - 2, argv + 2);
	if (argc > 1 && !strcmp(argv[1], "run")) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		return run(argc - 2, argv + 2);
	}
	fprintf(stderr, "usage: see bench/src/certd_crlload_bench.c\n");
	return 2;
}
