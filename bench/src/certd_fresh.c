// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 7 (a): revocation freshness. Time from a CRL's publication to
 * every validation server holding it, pushed (guise-crlwatch → certd's
 * forwarding lists), against polling every PERIOD seconds (modelled).
 *
 * Every server in PORTS (one API port a line, on [::1]) is followed
 * through its revocation event stream (GET /v1/events, mutual TLS with
 * CA CERT KEY): certd writes a "revoked" line in the event loop turn in
 * which the new CRL enters its cache. Once every server has shown it,
 * each one's GET /v1/health gives "loaded_at", the CLOCK_REALTIME at which
 * its newest CRL entered the cache: the server's own account, which the
 * bench's scheduling on a busy machine does not delay.
 *
 * Each of ROUNDS publications:
 *   1. `PREPARE ROUND` (sh -c) revokes a certificate with `openssl ca`,
 *      writes the new CRL to NEW with `openssl ca -gencrl` and prints the
 *      revoked serial (hex);
 *   2. t0; rename(NEW, DST): the CRL appears in the watched repository;
 *   3. `HOOK` (sh -c, not waited for; "" for none) runs, e.g.
 *      `guise-crlwatch --once` as the hook after `openssl ca -gencrl`;
 *   4. wait until every stream has shown a "revoked" line with the
 *      serial (at most 20 s), then read the loaded_at times; the newest
 *      file of SAVED (guise-crlwatch --save) dates the notification;
 *   5. GAP seconds (default 0.5) before the next.
 * Then the polling model: every server fetches the CRL every PERIOD s at
 * an independent uniform phase, so a server holds a CRL published at a
 * uniform moment U(0, PERIOD) later (fetch and load time not added);
 * MODEL publications of N servers are drawn.
 *
 * Usage: certd_fresh PORTS CA CERT KEY ROUNDS PREPARE NEW DST HOOK
 *                    [PERIOD [SAVED [GAP]]]
 * Output: one line a round, then the summary lines (times in ms).
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <dirent.h>
#include <sys/stat.h>
#include <curl/curl.h>
#include <jansson.h>

#define MAX_SERVERS 1024
#define MAX_ROUNDS 1000
#define MODEL 100000

extern char **environ;

struct stream {
	CURL *c;
	CURL *h; /* GET /v1/health */
	char *body;
	size_t body_len;
	double loaded; /* this round: the newest CRL's loaded_at, 0 none */
	int idx;
	char line[65536];
	size_t len;
	int hello; /* saw the hello line */
	double got; /* this round: seconds since t0, < 0 not yet */
};

static struct stream st[MAX_SERVERS];
static int n_st;
static double t0, t0r; /* the publication, CLOCK_MONOTONIC / REALTIME */
static char want[128]; /* this round's serial, leading zeros stripped */
static int waiting; /* streams that have not seen it yet */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct stream *s = arg;
	size_t len = size * n;
	char *p = realloc(s->body, s->body_len + len + 1);

	if (!p)
		return 0;
	s->body = p;
	memcpy(s->body + s->body_len, data, len);
	s->body_len += len;
	s->body[s->body_len] = '\0';
	return len;
}

/* The newest "loaded_at" of the CRLs in a /v1/health answer; 0 if none. */
static double newest_loaded(const char *body)
{
	json_t *o = body ? json_loads(body, 0, NULL) : NULL, *c;
	double best = 0, t;
	size_t i;

	json_array_foreach(json_object_get(o, "crls"), i, c) {
		t = json_number_value(json_object_get(c, "loaded_at"));
		if (t > best)
			best = t;
	}
	json_decref(o);
	return best;
}

/*
 * Ask every server when its newest CRL entered its cache (the daemon's
 * own clock, so the bench's scheduling does not matter). 0 or -1.
 */
static int health_all(CURLM *m)
{
	double deadline = now() + 20;
	int i, running = 1, q;
	CURLMsg *msg;

	for (i = 0; i < n_st; i++) {
		free(st[i].body);
		st[i].body = NULL;
		st[i].body_len = 0;
		st[i].loaded = 0;
		curl_multi_add_handle(m, st[i].h);
	}
	while (running && now() < deadline) {
		curl_multi_perform(m, &running);
		if (running)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	while ((msg = curl_multi_info_read(m, &q)))
		;
	for (i = 0; i < n_st; i++) {
		curl_multi_remove_handle(m, st[i].h);
		st[i].loaded = newest_loaded(st[i].body);
		if (!st[i].loaded)
			return -1;
	}
	return 0;
}

/* The newest modification time in @dir (the notification saved). */
static double newest_mtime(const char *dir)
{
	char path[4096];
	struct dirent *de;
	struct stat sb;
	double best = 0, t;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d))) {
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (de->d_name[0] == '.' || stat(path, &sb))
			continue;
		t = (double)sb.st_mtim.tv_sec + (double)sb.st_mtim.tv_nsec / 1e9;
		if (t > best)
			best = t;
	}
	if (d)
		closedir(d);
	return best;
}

static void on_line(struct stream *s, const char *l)
{
	if (strstr(l, "\"type\":\"hello\"")) {
		s->hello = 1;
		return;
	}
	if (!want[0] || s->got >= 0 || !strstr(l, "\"type\":\"revoked\""))
		return;
	if (!strcasestr(l, want))
		return;
	s->got = now() - t0;
	waiting--;
}

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct stream *s = arg;
	size_t len = size * n, i;

	for (i = 0; i < len; i++) {
		if (data[i] == '\n') {
			s->line[s->len] = '\0';
			on_line(s, s->line);
			s->len = 0;
		} else if (s->len < sizeof(s->line) - 1) {
			s->line[s->len++] = data[i];
		}
	}
	return len;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The p-quantile (nearest rank) of @v (sorted in place). */
static double quantile(double *v, int n, double p)
{
	int k;

	qsort(v, n, sizeof(*v), cmp_double);
	k = (int)(p * n + 0.999999) - 1;
	if (k < 0)
		k = 0;
	if (k >= n)
		k = n - 1;
	return v[k];
}

/* Drive the transfers until @done() or @deadline; -1 on a dead stream. */
static int pump(CURLM *m, double deadline, int (*done)(void))
{
	int running, q;
	CURLMsg *msg;

	while (!done() && now() < deadline) {
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &q)))
			if (msg->msg == CURLMSG_DONE) {
				fprintf(stderr, "certd_fresh: a stream ended: %s\n",
					curl_easy_strerror(msg->data.result));
				return -1;
			}
		if (done())
			break;
		curl_multi_poll(m, NULL, 0, 2, NULL);
	}
	return done() ? 0 : -1;
}

static int all_hello(void)
{
	int i;

	for (i = 0; i < n_st; i++)
		if (!st[i].hello)
			return 0;
	return 1;
}

static int all_got(void)
{
	return waiting == 0;
}

static int never(void)
{
	return 0;
}

static double urand(void)
{
	return (double)random() / ((double)RAND_MAX + 1.0);
}

int main(int argc, char **argv)
{
	static double all[MAX_ROUNDS], first[MAX_ROUNDS],
		per[MAX_ROUNDS * MAX_SERVERS], snt[MAX_ROUNDS],
		net[MAX_ROUNDS], seen[MAX_ROUNDS];
	static double m_all[MODEL], m_per[MODEL];
	const char *ca, *cert, *key, *prepare, *newf, *dst, *hook,
		*saved = NULL;
	char url[256], cmd[8192], serial[128], *p;
	int rounds, r, i, k, nr = 0, n_per = 0, port, status;
	int missed_rounds = 0, missed_servers = 0;
	double period = 60, gap = 0.5;
	FILE *fp;
	CURLM *m, *mh;
	pid_t pid;

	if (argc < 10 || argc > 13) {
		fprintf(stderr, "usage: certd_fresh PORTS CA CERT KEY ROUNDS "
				"PREPARE NEW DST HOOK [PERIOD [SAVED [GAP]]]\n");
		return 2;
	}
	ca = argv[2];
	cert = argv[3];
	key = argv[4];
	rounds = atoi(argv[5]);
	prepare = argv[6];
	newf = argv[7];
	dst = argv[8];
	hook = argv[9];
	if (argc >= 11)
		period = atof(argv[10]);
	if (argc >= 12 && argv[11][0])
		saved = argv[11];
	if (argc >= 13)
		gap = atof(argv[12]);
	if (rounds < 1 || rounds > MAX_ROUNDS || period <= 0 || gap < 0)
		return 2;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	m = curl_multi_init();
	mh = curl_multi_init();
	fp = fopen(argv[1], "r");
	if (!fp || !m || !mh)
		return 2;
	while (n_st < MAX_SERVERS && fscanf(fp, "%d", &port) == 1) {
		struct stream *s = &st[n_st];
		CURL *c[2];
		int k;

		s->idx = n_st++;
		s->got = -1;
		s->c = c[0] = curl_easy_init();
		s->h = c[1] = curl_easy_init();
		if (!c[0] || !c[1])
			return 2;
		for (k = 0; k < 2; k++) {
			snprintf(url, sizeof(url), "https://[::1]:%d/v1/%s",
				 port, k ? "health" : "events");
			curl_easy_setopt(c[k], CURLOPT_URL, url);
			curl_easy_setopt(c[k], CURLOPT_CAINFO, ca);
			curl_easy_setopt(c[k], CURLOPT_SSLCERT, cert);
			curl_easy_setopt(c[k], CURLOPT_SSLKEY, key);
			curl_easy_setopt(c[k], CURLOPT_NOSIGNAL, 1L);
			curl_easy_setopt(c[k], CURLOPT_WRITEFUNCTION,
					 k ? on_body : on_data);
			curl_easy_setopt(c[k], CURLOPT_WRITEDATA, s);
		}
		curl_easy_setopt(s->h, CURLOPT_TIMEOUT, 20L);
		curl_multi_add_handle(m, s->c);
	}
	fclose(fp);
	if (!n_st)
		return 2;
	if (pump(m, now() + 30, all_hello)) {
		fprintf(stderr, "certd_fresh: not every event stream said hello\n");
		return 1;
	}
	for (r = 1; r <= rounds; r++) {
		snprintf(cmd, sizeof(cmd), "%s %d", prepare, r);
		fp = popen(cmd, "r");
		if (!fp || !fgets(serial, sizeof(serial), fp) || pclose(fp)) {
			fprintf(stderr, "certd_fresh: %s failed\n", cmd);
			return 1;
		}
		serial[strcspn(serial, "\r\n")] = '\0';
		for (p = serial; *p == '0' && p[1]; p++)
			;
		snprintf(want, sizeof(want), "%s", p);
		for (i = 0; i < n_st; i++)
			st[i].got = -1;
		waiting = n_st;
		/* Publication. */
		t0 = now();
		t0r = now_real();
		if (rename(newf, dst)) {
			perror(dst);
			return 1;
		}
		pid = 0;
		if (hook[0]) {
			char *av[] = { "sh", "-c", (char *)hook, NULL };

			if (posix_spawn(&pid, "/bin/sh", NULL, NULL, av,
					environ)) {
				perror("posix_spawn");
				return 1;
			}
		}
		if (pump(m, now() + 20, all_got)) {
			/* A lost forward: certd does not retry one. */
			printf("round %2d: %d of %d servers not reached in 20 s "
			       "(left out of the statistics)\n",
			       r, waiting, n_st);
			missed_rounds++;
			missed_servers += waiting;
			if (pid)
				waitpid(pid, &status, 0);
			want[0] = '\0';
			pump(m, now() + gap, never);
			continue;
		}
		if (pid && (waitpid(pid, &status, 0) != pid ||
			    !WIFEXITED(status) || WEXITSTATUS(status)))
			fprintf(stderr, "certd_fresh: round %d: the hook "
					"failed (the servers were reached)\n",
				r);
		/* As the bench saw it, then as each server's clock says. */
		k = nr++;
		seen[k] = 0;
		for (i = 0; i < n_st; i++)
			if (st[i].got * 1e3 > seen[k])
				seen[k] = st[i].got * 1e3;
		if (health_all(mh)) {
			fprintf(stderr, "certd_fresh: round %d: no loaded_at "
					"in /v1/health\n", r);
			return 1;
		}
		first[k] = 1e12;
		all[k] = 0;
		for (i = 0; i < n_st; i++) {
			double g = (st[i].loaded - t0r) * 1e3;

			st[i].got = g;
			per[n_per++] = g;
			if (g < first[k])
				first[k] = g;
			if (g > all[k])
				all[k] = g;
		}
		snt[k] = saved ? (newest_mtime(saved) - t0r) * 1e3 : 0;
		net[k] = all[k] - snt[k];
		printf("round %2d: ", r);
		if (saved)
			printf("notification made %.1f ms, ", snt[k]);
		printf("first server %.1f ms, all %d servers %.1f ms",
		       first[k], n_st, all[k]);
		if (saved)
			printf(" (%.1f after the notification)", net[k]);
		printf("; bench saw the last at %.1f ms\n", seen[k]);
		if (getenv("FRESH_VERBOSE")) {
			for (i = 0; i < n_st; i++)
				printf(" %d:%.0f", i + 1, st[i].got);
			printf("\n");
		}
		fflush(stdout);
		/* Let the forwarding threads settle. */
		want[0] = '\0';
		pump(m, now() + gap, never);
	}
	/* The polling model. */
	srandom(7);
	for (r = 0; r < MODEL; r++) {
		double mx = 0, u;

		for (i = 0; i < n_st; i++) {
			u = urand() * period;
			if (u > mx)
				mx = u;
			if (i == 0)
				m_per[r] = u;
		}
		m_all[r] = mx * 1e3;
		m_per[r] *= 1e3;
	}
	if (missed_rounds)
		printf("lost   %d of %d publications did not reach every server "
		       "in 20 s (%d servers missed them in all)\n",
		       missed_rounds, rounds, missed_servers);
	if (!nr)
		return 1;
	printf("push   published -> all %d hold it  p50 %7.1f ms  max %7.1f "
	       "ms  (first server p50 %.1f; any server p50 %.1f max %.1f)\n",
	       n_st, quantile(all, nr, 0.5), quantile(all, nr, 1.0),
	       quantile(first, nr, 0.5), quantile(per, n_per, 0.5),
	       quantile(per, n_per, 1.0));
	if (saved)
		printf("push   notified  -> all %d hold it  p50 %7.1f ms  max "
		       "%7.1f ms  (published -> notification made p50 %.1f "
		       "max %.1f)\n",
		       n_st, quantile(net, nr, 0.5),
		       quantile(net, nr, 1.0), quantile(snt, nr, 0.5),
		       quantile(snt, nr, 1.0));
	printf("poll   published -> all %d hold it  p50 %7.0f ms  max %7.0f "
	       "ms  (modelled: every %g s at independent uniform phases, %d "
	       "publications; any server p50 %.0f max %.0f)\n",
	       n_st, quantile(m_all, MODEL, 0.5), quantile(m_all, MODEL, 1.0),
	       period, MODEL, quantile(m_per, MODEL, 0.5),
	       quantile(m_per, MODEL, 1.0));
	printf("ratio  poll / push, published -> all %d: p50 %.0fx, max %.0fx\n",
	       n_st, quantile(m_all, MODEL, 0.5) / quantile(all, nr, 0.5),
	       quantile(m_all, MODEL, 1.0) / quantile(all, nr, 1.0));
	for (i = 0; i < n_st; i++) {
		curl_multi_remove_handle(m, st[i].c);
		curl_easy_cleanup(st[i].c);
		curl_easy_cleanup(st[i].h);
		free(st[i].body);
	}
	curl_multi_cleanup(m);
	curl_multi_cleanup(mh);
	curl_global_cleanup();
	return 0;
}
