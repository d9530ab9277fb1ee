// SPDX-License-Identifier: GPL-2.0
/*
 * guise-leased group commit: concurrent rents share commits and are all
 * durable once acknowledged (kill -9); [store] batch_max = 1 commits each
 * write alone; a COMMIT that fails (the disk fills: RLIMIT_FSIZE) answers
 * every write of its batch 500 and leaves nothing behind, in the store or
 * in memory (rate-limit tokens, counters).
 */
#include "leased_lib.h"

#define BURST 48

/* One rent in a curl multi transfer. */
struct xfer {
	CURL *c;
	struct curl_slist *hdr;
	struct resp r;
	char body[128];
};

static size_t xfer_body(char *data, size_t size, size_t n, void *arg)
{
	return on_body(data, size, n, arg);
}

static CURL *xfer_new(const struct daemon *d, const char *who, const char *peer,
		      struct xfer *x)
{
	char url[128], ca[512], cert[512], key[512];

	memset(x, 0, sizeof(*x));
	x->c = curl_easy_init();
	if (!x->c)
		return NULL;
	snprintf(url, sizeof(url), "https://[::1]:%u/v1/rent", d->port);
	snprintf(x->body, sizeof(x->body), "{\"peer\":\"%s\"}", peer);
	path(ca, sizeof(ca), "ca", ".crt");
	path(cert, sizeof(cert), who, ".crt");
	path(key, sizeof(key), who, ".key");
	x->hdr = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(x->c, CURLOPT_URL, url);
	curl_easy_setopt(x->c, CURLOPT_CAINFO, ca);
	curl_easy_setopt(x->c, CURLOPT_SSLCERT, cert);
	curl_easy_setopt(x->c, CURLOPT_SSLKEY, key);
	curl_easy_setopt(x->c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(x->c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->c, CURLOPT_HTTPHEADER, x->hdr);
	curl_easy_setopt(x->c, CURLOPT_POSTFIELDS, x->body);
	curl_easy_setopt(x->c, CURLOPT_WRITEFUNCTION, xfer_body);
	curl_easy_setopt(x->c, CURLOPT_WRITEDATA, &x->r);
	return x->c;
}

/* 409 answers of the last rent_burst(). */
static unsigned int burst_conflicts;

/*
 * BURST rents at once (host1 and host2 alternating, peers from @base;
 * with @dup, every fourth from @dup instead: a peer already leased), on
 * @m (its connections are reused by the next call). The virtual
 * addresses acknowledged go to @virt; the number of 201 answers.
 */
static unsigned int rent_burst_dup(const struct daemon *d, CURLM *m,
				   unsigned int base, unsigned int dup,
				   char virt[][64])
{
	static struct xfer x[BURST];
	unsigned int i, ok = 0;
	int running, left;
	char peer[64];
	CURLMsg *msg;

	burst_conflicts = 0;
	for (i = 0; i < BURST; i++) {
		snprintf(peer, sizeof(peer), "2001:db8:7::%x:%x",
			 dup && i % 4 == 3 ? dup : base, i);
		if (xfer_new(d, i % 2 ? "host2" : "host1", peer, &x[i]))
			curl_multi_add_handle(m, x[i].c);
	}
	/* Each transfer's result (a transport error keeps code 0). */
	do {
		if (curl_multi_perform(m, &running) != CURLM_OK ||
		    (running && curl_multi_poll(m, NULL, 0, 1000, NULL)))
			break;
		while ((msg = curl_multi_info_read(m, &left)))
			for (i = 0; i < BURST; i++)
				if (msg->msg == CURLMSG_DONE &&
				    x[i].c == msg->easy_handle)
					x[i].r.rc = msg->data.result;
	} while (running);
	for (i = 0; i < BURST; i++) {
		virt[i][0] = '\0';
		if (!x[i].c)
			continue;
		curl_easy_getinfo(x[i].c, CURLINFO_RESPONSE_CODE, &x[i].r.code);
		x[i].r.json = json_loadb(x[i].r.body, x[i].r.len, 0, NULL);
		if (x[i].r.code == 201) {
			ok++;
			snprintf(virt[i], 64, "%s", jstr(&x[i].r, "virtual"));
		} else if (dup && i % 4 == 3 && x[i].r.code == 409) {
			burst_conflicts++;
		} else {
			printf("# rent %u: HTTP %ld, curl %d\n", i, x[i].r.code,
			       (int)x[i].r.rc);
		}
		resp_free(&x[i].r);
		curl_multi_remove_handle(m, x[i].c);
		curl_easy_cleanup(x[i].c);
		curl_slist_free_all(x[i].hdr);
	}
	return ok;
}

/* How many of @virt (n, "" skipped) the store of @name holds. */
static unsigned int rent_burst(const struct daemon *d, CURLM *m,
			       unsigned int base, char virt[][64])
{
	return rent_burst_dup(d, m, base, 0, virt);
}

static unsigned int in_store(const char *name, char virt[][64], unsigned int n)
{
	unsigned int i, found = 0;
	char sql[256];

	for (i = 0; i < n; i++) {
		if (!virt[i][0])
			continue;
		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM leases WHERE virtual = '%.63s';",
			 virt[i]);
		found += db_int(name, sql) == 1;
	}
	return found;
}

static double get_metric(const struct daemon *d, const char *name)
{
	struct resp r;
	double v;

	request(d, "operator", "/v1/metrics", NULL, &r);
	v = r.code == 200 ? metric(&r, name) : -1;
	resp_free(&r);
	return v;
}

static void test_concurrent(void)
{
	static char virt[3 * BURST][64];
	struct daemon d = { .name = "group" };
	double commits, writes;
	unsigned int ok1, ok2, ok3;
	long long count;
	CURLM *m;

	if (!tap_ok(write_config("group", POOL, 100000,
				 "[pool]\nrent_rate = 0\n") == 0 &&
			    daemon_start(&d),
		    "group commit daemon starts"))
		return;
	m = curl_multi_init();
	if (!tap_ok(m != NULL, "curl multi"))
		return;
	/* 16 connections carry the 48 rents: fewer TLS handshakes at once
	 * (the sanitized daemon on a loaded machine may take longer than its
	 * 10 s timeout for 48), still 16 rents in flight. */
	curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, 16L);
	ok1 = rent_burst(&d, m, 1, virt);
	/* Again on the open connections: the requests arrive together. */
	ok2 = rent_burst(&d, m, 2, virt + BURST);
	/* Refusals in the same batches as rents: each refused alone. */
	ok3 = rent_burst_dup(&d, m, 3, 1, virt + 2 * BURST);
	curl_multi_cleanup(m);
	tap_ok(ok1 == BURST && ok2 == BURST,
	       "%u + %u of 2 x %d concurrent rents acknowledged", ok1, ok2,
	       BURST);
	tap_ok(ok3 == BURST - BURST / 4 && burst_conflicts == BURST / 4,
	       "with a leased peer among them: %u rents acknowledged, %u "
	       "refused (409)",
	       ok3, burst_conflicts);
	commits = get_metric(&d, "guise_leased_group_commits_total");
	writes = get_metric(&d, "guise_leased_group_commit_writes_total");
	tap_ok(writes == 3 * BURST && commits >= 1 && commits < writes,
	       "%.0f writes in %.0f commits", writes, commits);
	tap_ok(get_metric(&d, "guise_leased_rents_total") ==
		       3 * BURST - BURST / 4,
	       "rents_total counts each rent once");

	daemon_stop(&d, SIGKILL);
	tap_ok(in_store("group", virt, 3 * BURST) == ok1 + ok2 + ok3,
	       "kill -9: every acknowledged rent is in the store");
	count = db_int("group", "SELECT count(*) FROM leases;");
	tap_ok(count == 3 * BURST - BURST / 4, "and nothing more (%lld leases)",
	       count);
	tap_ok(daemon_start(&d) && daemon_stop(&d, SIGTERM) == 0,
	       "restart and clean exit");
}

/* [store] batch_max = 1: a commit per write, batching off. */
static void test_batch_max(void)
{
	static char virt[BURST][64];
	struct daemon d = { .name = "single" };
	double commits, writes;
	unsigned int ok;
	CURLM *m;

	if (!tap_ok(write_config("single", POOL, 100000,
				 "[pool]\nrent_rate = 0\n"
				 "[store]\nbatch_max = 1\n") == 0 &&
			    daemon_start(&d),
		    "daemon with batch_max = 1 starts"))
		return;
	m = curl_multi_init();
	if (m)
		curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, 16L);
	ok = m ? rent_burst(&d, m, 3, virt) : 0;
	curl_multi_cleanup(m);
	commits = get_metric(&d, "guise_leased_group_commits_total");
	writes = get_metric(&d, "guise_leased_group_commit_writes_total");
	tap_ok(ok == BURST && writes == BURST && commits == writes,
	       "batch_max = 1: %.0f rents, %.0f commits", writes, commits);
	tap_ok(daemon_stop(&d, SIGTERM) == 0, "batch_max daemon exits");
}

static bool file_size(const char *name, const char *ext, off_t *size)
{
	char p[512];
	struct stat st;

	path(p, sizeof(p), name, ext);
	if (stat(p, &st))
		return false;
	*size = st.st_size;
	return true;
}

/* Renew @virt as host1 for @lifetime; the HTTP code, *@expires. */
static long renew(const struct daemon *d, const char *virt,
		  unsigned int lifetime, long long *expires)
{
	struct resp r;
	long code;

	post(d, "host1", "/v1/renew",
	     json_pack("{s:s, s:i}", "virtual", virt, "lifetime", lifetime),
	     &r);
	code = r.code;
	if (code == 200)
		*expires =
			json_integer_value(json_object_get(r.json, "expires"));
	else if (code == 500 && !*jstr(&r, "error"))
		code = -500; /* not the JSON error the API promises */
	resp_free(&r);
	return code;
}

static void test_commit_failure(void)
{
	struct daemon d = { .name = "full" };
	unsigned int i, renewed = 0, failed = 0, limited = 0, other = 0;
	long long expires = 0, acked = 0;
	char virt[64], sql[256];
	off_t size = 0;
	struct resp r;
	bool made;
	long code = 0;

	/* A first run makes the database; a clean exit folds the WAL in. */
	made = write_config("full", POOL, 64,
			    "[pool]\nrent_rate = 1\nrent_burst = 3\n") == 0 &&
	       daemon_start(&d) && daemon_stop(&d, SIGTERM) == 0 &&
	       file_size("full", ".db", &size);
	if (!tap_ok(made, "database made (%lld bytes)", (long long)size))
		return;
	/* Then room for a few commits only: the WAL grows until writes
	 * fail with EFBIG, at COMMIT (pages reach the WAL there). */
	d.fsize = (rlim_t)size + 48 * 1024;
	if (!tap_ok(daemon_start(&d), "daemon with a %llu-byte file limit",
		    (unsigned long long)d.fsize))
		return;
	tap_ok(rent(&d, "host1", PEER, &r), "rent while there is room");
	snprintf(virt, sizeof(virt), "%s", jstr(&r, "virtual"));
	acked = json_integer_value(json_object_get(r.json, "expires"));
	resp_free(&r);
	/* Renews (not rate limited) fill the WAL. */
	for (i = 0; i < 200; i++) {
		code = renew(&d, virt, 1000 + i, &expires);
		if (code == 200) {
			renewed++;
			acked = expires;
		} else {
			break;
		}
	}
	tap_ok(code == 500, "the disk fills: renew answered %ld after %u", code,
	       renewed);
	/* Every failed rent gives its rate-limit token back: with a burst
	 * of 3, six quick rents are all 500, never 429. */
	for (i = 0; i < 6; i++) {
		post(&d, "host2", "/v1/rent",
		     json_pack("{s:s}", "peer", "2001:db8:3::77"), &r);
		failed += r.code == 500 &&
			  !strcmp(jstr(&r, "error"), "store failure");
		limited += r.code == 429;
		other += r.code != 500 && r.code != 429;
		resp_free(&r);
	}
	tap_ok(failed == 6 && !limited && !other,
	       "rents of a failed commit: %u x 500 JSON, %u x 429, %u other",
	       failed, limited, other);
	tap_ok(get_metric(&d, "guise_leased_group_commit_failures_total") >= 7,
	       "group_commit_failures_total counts them");
	tap_ok(get_metric(&d, "guise_leased_rents_total") == 1 &&
		       get_metric(&d, "guise_leased_renews_total") == renewed &&
		       get_metric(&d, "guise_leased_leases") == 1,
	       "counters and the live lease count hold only what committed");
	daemon_stop(&d, SIGKILL);

	d.fsize = 0;
	tap_ok(daemon_start(&d), "restart with room");
	tap_ok(db_int("full", "SELECT count(*) FROM leases;") == 1,
	       "the store holds the one acknowledged rent, no orphan");
	snprintf(sql, sizeof(sql),
		 "SELECT expires FROM leases WHERE virtual = '%s';", virt);
	tap_ok(db_int("full", sql) == acked,
	       "its expiry is the last acknowledged renew's (%lld)", acked);
	tap_ok(rent(&d, "host2", "2001:db8:3::77", &r),
	       "host2 rents once the disk has room");
	resp_free(&r);
	tap_ok(daemon_stop(&d, SIGTERM) == 0, "exits cleanly");
}

int main(void)
{
	if (leased_test_setup()) {
		test_concurrent();
		test_batch_max();
		test_commit_failure();
	}
	return leased_test_done();
}
