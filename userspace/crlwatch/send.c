// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "crlnote.h"
#include "crlwatch.h"
#include "log.h"

static size_t discard(char *data, size_t size, size_t n, void *arg)
{
	(void)data;
	(void)arg;
	return size * n;
}

/*
 * Each subscriber has a handle of its own (its TLS session for
 * resumption); the connections are kept in the multi handle's pool, so
 * the next notification needs no new handshake. The requests to all
 * subscribers run at once (perform_all): one that does not answer holds
 * up the others by nothing.
 */
static CURL *sub_handle(struct crlwatch *cw, struct sub *s)
{
	const struct watch_opts *o = cw->o;
	CURL *c = s->curl;

	if (c)
		return c;
	c = s->curl = curl_easy_init();
	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if (o->keepalive)
		curl_easy_setopt(c, CURLOPT_MAXAGE_CONN, (long)o->keepalive);
	else
		curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	if (o->ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, o->ca);
	if (o->cert)
		curl_easy_setopt(c, CURLOPT_SSLCERT, o->cert);
	if (o->key)
		curl_easy_setopt(c, CURLOPT_SSLKEY, o->key);
	return c;
}

static CURLM *multi(struct crlwatch *cw)
{
	if (!cw->multi) {
		cw->multi = curl_multi_init();
		if (cw->multi)
			curl_multi_setopt(cw->multi, CURLMOPT_MAXCONNECTS,
					  1024L);
	}
	return cw->multi;
}

/*
 * Run the requests prepared on the handles of @subs[0..@n) at once and
 * wait for all of them (each bounded by its CURLOPT_TIMEOUT); their
 * results into @res.
 */
static void perform_all(struct crlwatch *cw, struct sub **subs, CURLcode *res,
			size_t n)
{
	CURLM *m = multi(cw);
	int running = 0, left;
	struct CURLMsg *msg;
	size_t i;

	for (i = 0; i < n; i++) {
		res[i] = CURLE_FAILED_INIT;
		if (m && curl_multi_add_handle(m, subs[i]->curl) == CURLM_OK)
			running = 1;
	}
	while (running) {
		if (curl_multi_perform(m, &running) != CURLM_OK ||
		    (running &&
		     curl_multi_poll(m, NULL, 0, 1000, NULL) != CURLM_OK))
			break;
	}
	while (m && (msg = curl_multi_info_read(m, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		for (i = 0; i < n; i++)
			if (subs[i]->curl == msg->easy_handle)
				res[i] = msg->data.result;
	}
	for (i = 0; m && i < n; i++)
		curl_multi_remove_handle(m, subs[i]->curl);
}

static time_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + 1; /* never 0: "not yet" */
}

/* @s answered a request over its connection. */
static void sub_used(struct sub *s)
{
	s->used = mono_now();
	s->warm_after = 0;
	s->warm_backoff = 0;
}

static void sub_close(struct sub *s)
{
	curl_easy_cleanup(s->curl);
	s->curl = NULL;
	s->used = s->warm_after = s->warm_backoff = 0;
}

void watch_disconnect(struct crlwatch *cw)
{
	size_t i;

	for (i = 0; i < cw->n_subs; i++) {
		sub_close(&cw->subs[i]);
		/* What they owe: re-sent at once (watch_retry_arm()). */
		cw->subs[i].retry_ms = 0;
		if (cw->subs[i].n_pend)
			cw->subs[i].retry_at = 1;
	}
	curl_multi_cleanup(cw->multi); /* closes the pool's connections */
	cw->multi = NULL;
}

/* The notify URL's server, path /v1/health?keepalive=1 (malloc'd). */
static char *warm_url(const char *notify)
{
	CURLU *u = curl_url();
	char *out = NULL, *s = NULL;

	if (u && !curl_url_set(u, CURLUPART_URL, notify, 0) &&
	    !curl_url_set(u, CURLUPART_PATH, "/v1/health", 0) &&
	    !curl_url_set(u, CURLUPART_QUERY, "keepalive=1", 0) &&
	    !curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) &&
	    !curl_url_get(u, CURLUPART_URL, &s, 0))
		out = strdup(s);
	curl_free(s);
	curl_url_cleanup(u);
	return out;
}

#define WARM_BACKOFF_MAX 3600u

/* Prepare @s's handle for GET /v1/health?keepalive=1. 0 or -1. */
static int warm_prepare(struct sub *s)
{
	char *url = warm_url(s->url);

	if (!url)
		return -1;
	curl_easy_setopt(s->curl, CURLOPT_URL, url); /* copied */
	curl_easy_setopt(s->curl, CURLOPT_HTTPGET, 1L);
	/* A subscriber that is down must not hold up the scans for long. */
	curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
	curl_easy_setopt(s->curl, CURLOPT_TIMEOUT, 5L);
	free(url);
	return 0;
}

static int warm_done(struct sub *s, CURLcode rc)
{
	long code = 0;

	if (rc == CURLE_OK)
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK || code != 200) {
		/* Warned once per outage; retried after 1, 2, 4 ... s, at
		 * most hourly (a subscriber starting with us is warm soon). */
		if (!s->warm_backoff)
			guise_warn("pre-warm %s: %s (retrying with backoff)",
				   s->url,
				   rc != CURLE_OK ? curl_easy_strerror(rc) :
						    "refused");
		s->warm_backoff = s->warm_backoff ? 2 * s->warm_backoff : 1;
		if (s->warm_backoff > WARM_BACKOFF_MAX)
			s->warm_backoff = WARM_BACKOFF_MAX;
		s->warm_after = mono_now() + s->warm_backoff;
		s->used = 0; /* no connection to keep */
		return -1;
	}
	if (s->warm_backoff)
		guise_info("pre-warm %s: connected again", s->url);
	sub_used(s);
	return 0;
}

unsigned int watch_prewarm(struct crlwatch *cw, bool idle_only)
{
	const time_t now = mono_now(), stale = cw->o->keepalive / 2;
	struct sub **todo = calloc(cw->n_subs + 1, sizeof(*todo));
	CURLcode *res = calloc(cw->n_subs + 1, sizeof(*res));
	size_t i, n = 0, ok = 0;
	time_t next = 0;
	struct sub *s;

	for (i = 0; todo && res && i < cw->n_subs; i++) {
		s = &cw->subs[i];
		if (s->warm_after <= now &&
		    !(s->used && (idle_only || now - s->used < stale)) &&
		    sub_handle(cw, s) && !warm_prepare(s))
			todo[n++] = s;
	}
	perform_all(cw, todo, res, n);
	for (i = 0; i < n; i++)
		ok += !warm_done(todo[i], res[i]);
	for (i = 0; i < cw->n_subs; i++) {
		s = &cw->subs[i];
		/* Not connected yet, backing off: its next try. */
		if (!s->used && s->warm_after &&
		    (!next || s->warm_after < next))
			next = s->warm_after;
	}
	if (n)
		guise_debug("pre-warmed %zu of %zu subscriber connections", ok,
			    n);
	free(todo);
	free(res);
	return next ? (unsigned int)(next > now ? next - now : 0) + 1 : 0;
}

/* ---- Notifications: made once, delivered until acknowledged ---- */

/* Re-send backoff: 1 s doubling to 60 s, each wait drawn in [b/2, b]. */
#define RETRY_MIN_MS 1000u
#define RETRY_MAX_MS 60000u
/* A Retry-After (429, 503) is honoured up to this. */
#define RETRY_AFTER_MAX_S 600

struct note {
	unsigned int refs;
	size_t key;
	unsigned char *der;
	size_t len;
	char *number; /* hex, for the logs */
	bool serials; /* lists serials: exact against the CRL before it */
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + 1;
}

static struct note *note_ref(struct note *n)
{
	n->refs++;
	return n;
}

static void note_unref(struct note *n)
{
	if (!n || --n->refs)
		return;
	free(n->der);
	free(n->number);
	free(n);
}

/* @n signed, for key @k (one reference), or NULL. */
static struct note *note_make(struct crlwatch *cw, const struct crlnote *n,
			      size_t k)
{
	struct note *nt = calloc(1, sizeof(*nt));

	if (!nt)
		return NULL;
	nt->refs = 1;
	nt->key = k;
	nt->serials = n->revoked && sk_ASN1_INTEGER_num(n->revoked) > 0;
	nt->number = crlnote_int_hex(n->number);
	if (!nt->number ||
	    crlnote_sign(n, cw->sign_cert, cw->sign_key, &nt->der, &nt->len)) {
		note_unref(nt);
		return NULL;
	}
	return nt;
}

static int issuer_id(X509_NAME *name, unsigned char id[32])
{
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int len = i2d_X509_NAME(name, &der), ok;

	ok = len > 0 &&
	     EVP_Digest(der, (size_t)len, id, &mdlen, EVP_sha256(), NULL) &&
	     mdlen == 32;
	OPENSSL_free(der);
	return ok ? 0 : -1;
}

static void hex(const unsigned char *b, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* The key of (@id, @delta), added if new; SIZE_MAX if out of memory. */
static size_t key_find(struct crlwatch *cw, const unsigned char id[32],
		       bool delta)
{
	struct notekey *v;
	size_t i;

	for (i = 0; i < cw->n_keys; i++)
		if (cw->keys[i].delta == delta &&
		    !memcmp(cw->keys[i].id, id, 32))
			return i;
	v = realloc(cw->keys, (cw->n_keys + 1) * sizeof(*v));
	if (!v)
		return SIZE_MAX;
	cw->keys = v;
	v[cw->n_keys] = (struct notekey){ .delta = delta };
	memcpy(v[cw->n_keys].id, id, 32);
	return cw->n_keys++;
}

/*
 * Write @len bytes as DIR/@name: a temporary file then rename(), so
 * that no reader sees half of it; @sync: fsync()ed, and the directory
 * after the rename (the --state marks). 0 or -1.
 */
static int write_atomic(const char *dir, const char *name, const void *data,
			size_t len, bool sync)
{
	char path[4096], tmp[4096];
	const char *p = data;
	size_t left = len;
	ssize_t w;
	int fd, ok;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
		    sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >=
		    sizeof(tmp))
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0644);
	if (fd < 0)
		return -1;
	while (left) {
		w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		p += w;
		left -= (size_t)w;
	}
	ok = !left && (!sync || !fsync(fd));
	ok = !close(fd) && ok && !rename(tmp, path);
	if (!ok) {
		unlink(tmp);
		return -1;
	}
	if (sync) {
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			fsync(fd);
			close(fd);
		}
	}
	return 0;
}

/* --save: DIR/<issuer SHA-256, 16 hex>-<full|delta>-<number>.cms. */
static void save(struct crlwatch *cw, const struct note *nt)
{
	const struct notekey *k = &cw->keys[nt->key];
	char id[17], name[512];

	hex(k->id, 8, id);
	snprintf(name, sizeof(name), "%s-%s-%s.cms", id,
		 k->delta ? "delta" : "full", nt->number);
	if (write_atomic(cw->o->save, name, nt->der, nt->len, false))
		guise_warn("%s/%s: cannot save the notification: %s",
			   cw->o->save, name, strerror(errno));
}

/* ---- --state: the marks ---- */

static void state_name(const struct notekey *k, char *name)
{
	hex(k->id, 32, name);
	strcpy(name + 64, k->delta ? ".delta" : ".full");
}

/* Key @k is acknowledged by every subscriber up to k->latest: the mark. */
static void mark(struct crlwatch *cw, size_t k)
{
	struct notekey *key = &cw->keys[k];
	char name[80], line[160], *num;
	ASN1_INTEGER *m;
	size_t i, j;

	if (!cw->o->state || !key->latest ||
	    (key->mark && ASN1_INTEGER_cmp(key->latest, key->mark) <= 0))
		return;
	for (i = 0; i < cw->n_subs; i++)
		for (j = 0; j < cw->subs[i].n_pend; j++)
			if (cw->subs[i].pend[j].key == k)
				return;
	m = ASN1_INTEGER_dup(key->latest);
	num = crlnote_int_hex(key->latest);
	state_name(key, name);
	if (!m || !num) {
		ASN1_INTEGER_free(m);
		free(num);
		return;
	}
	snprintf(line, sizeof(line), "%s\n", num);
	if (strlen(num) > 140 ||
	    write_atomic(cw->o->state, name, line, strlen(line), true)) {
		guise_warn("%s/%s: cannot write the mark: %s", cw->o->state,
			   name, strerror(errno));
		ASN1_INTEGER_free(m);
	} else {
		ASN1_INTEGER_free(key->mark);
		key->mark = m;
	}
	free(num);
}

/* DIR/<64 hex>.full|.delta: its mark into a key. */
static void state_read(struct crlwatch *cw, const char *name)
{
	unsigned char id[32];
	char path[4096], buf[160], *end;
	const char *dot = strchr(name, '.');
	ASN1_INTEGER *num;
	size_t k, i, n;
	FILE *fp;

	if (!dot || dot - name != 64 ||
	    (strcmp(dot, ".full") && strcmp(dot, ".delta")))
		return;
	for (i = 0; i < 32; i++) {
		char two[3] = { name[2 * i], name[2 * i + 1], 0 };

		id[i] = (unsigned char)strtoul(two, &end, 16);
		if (*end || !isxdigit((unsigned char)two[0]))
			return;
	}
	snprintf(path, sizeof(path), "%s/%s", cw->o->state, name);
	fp = fopen(path, "re");
	n = fp ? fread(buf, 1, sizeof(buf) - 1, fp) : 0;
	if (fp)
		fclose(fp);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	num = crlnote_hex_int(buf);
	k = num ? key_find(cw, id, !strcmp(dot, ".delta")) : SIZE_MAX;
	if (k == SIZE_MAX) {
		guise_warn("%s: not a CRL number: ignored", path);
		ASN1_INTEGER_free(num);
		return;
	}
	ASN1_INTEGER_free(cw->keys[k].mark);
	cw->keys[k].mark = num;
}

int watch_state_load(struct crlwatch *cw)
{
	const char *dir = cw->o->state;
	struct dirent *de;
	char path[4096];
	DIR *d;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		guise_err("--state %s: %s", dir, strerror(errno));
		return -1;
	}
	d = opendir(dir);
	if (!d) {
		guise_err("--state %s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)))
		state_read(cw, de->d_name);
	closedir(d);
	snprintf(path, sizeof(path), "%s/started", dir);
	cw->state_started = !access(path, F_OK);
	guise_info("--state %s: %zu marks%s", dir, cw->n_keys,
		   cw->state_started ?
			   "; CRLs above them are notified at start" :
			   "; first start: the CRLs found are the marks");
	return 0;
}

void watch_state_started(struct crlwatch *cw, bool notified)
{
	unsigned char id[32];
	size_t i, k;

	if (!cw->o->state)
		return;
	for (i = 0; !notified && i < cw->n_w; i++) {
		const struct watched *w = &cw->w[i];

		if (!w->number || issuer_id(w->issuer, id))
			continue;
		k = key_find(cw, id, w->delta);
		if (k == SIZE_MAX)
			continue;
		if (!cw->keys[k].latest ||
		    ASN1_INTEGER_cmp(w->number, cw->keys[k].latest) > 0) {
			ASN1_INTEGER_free(cw->keys[k].latest);
			cw->keys[k].latest = ASN1_INTEGER_dup(w->number);
		}
		mark(cw, k);
	}
	if (!cw->state_started &&
	    write_atomic(cw->o->state, "started", "", 0, true))
		guise_warn("%s/started: cannot write: %s", cw->o->state,
			   strerror(errno));
	cw->state_started = true;
}

/* ---- Pending notifications ---- */

static struct pending *pend_find(struct sub *s, size_t k)
{
	size_t i;

	for (i = 0; i < s->n_pend; i++)
		if (s->pend[i].key == k)
			return &s->pend[i];
	return NULL;
}

/* @nt pending for @s, replacing the older one of its key. 0 or -1. */
static int pend_set(struct sub *s, struct note *nt)
{
	struct pending *p = pend_find(s, nt->key);

	if (p) {
		note_unref(p->note);
		p->note = note_ref(nt);
		return 0;
	}
	p = realloc(s->pend, (s->n_pend + 1) * sizeof(*p));
	if (!p)
		return -1;
	s->pend = p;
	p[s->n_pend++] = (struct pending){ nt->key, note_ref(nt) };
	return 0;
}

/* @s acknowledged @nt: no longer pending (a newer one of its key
 * stays). */
static void pend_ack(struct sub *s, const struct note *nt)
{
	size_t i;

	for (i = 0; i < s->n_pend; i++) {
		if (s->pend[i].note != nt)
			continue;
		note_unref(s->pend[i].note);
		memmove(&s->pend[i], &s->pend[i + 1],
			(s->n_pend - i - 1) * sizeof(*s->pend));
		s->n_pend--;
		return;
	}
}

/* @nt's entry to the end of @s's list: a notification that keeps failing
 * (one issuer's refused) holds up the others of @s by one turn only. */
static void pend_rotate(struct sub *s, const struct note *nt)
{
	struct pending p;
	size_t i;

	for (i = 0; i + 1 < s->n_pend; i++) {
		if (s->pend[i].note != nt)
			continue;
		p = s->pend[i];
		memmove(&s->pend[i], &s->pend[i + 1],
			(s->n_pend - i - 1) * sizeof(*s->pend));
		s->pend[s->n_pend - 1] = p;
		return;
	}
}

static void pend_free(struct sub *s)
{
	size_t i;

	for (i = 0; i < s->n_pend; i++)
		note_unref(s->pend[i].note);
	free(s->pend);
	s->pend = NULL;
	s->n_pend = 0;
	s->retry_at = 0;
	s->retry_ms = 0;
	s->failing = false;
}

size_t watch_pending(const struct crlwatch *cw)
{
	size_t i, n = 0;

	for (i = 0; i < cw->n_subs; i++)
		n += cw->subs[i].n_pend;
	return n;
}

void watch_retry_arm(struct crlwatch *cw)
{
	uint64_t next = 0, now = mono_ms(), ms;
	struct timeval tv;
	size_t i;

	for (i = 0; i < cw->n_subs; i++) {
		const struct sub *s = &cw->subs[i];

		if (s->n_pend && (!next || s->retry_at < next))
			next = s->retry_at;
	}
	if (!cw->retry_ev)
		return;
	if (!next) {
		evtimer_del(cw->retry_ev);
		return;
	}
	ms = next > now ? next - now : 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(cw->retry_ev, &tv);
}

/* A wait in [b/2, b] ms. */
static uint64_t jitter(unsigned int b)
{
	unsigned int r = 0;

	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (unsigned int)mono_ms();
	return b / 2 + r % (b / 2 + 1);
}

/* Prepare @s's handle to POST @nt. */
static void post_prepare(struct sub *s, struct curl_slist *hdr,
			 const struct note *nt)
{
	curl_easy_setopt(s->curl, CURLOPT_URL, s->url);
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, nt->der);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE,
			 (curl_off_t)nt->len);
	curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, 0L);
	curl_easy_setopt(s->curl, CURLOPT_TIMEOUT, 10L);
}

/*
 * The POST to @s is over (@rc; @prepared: it was sent at all): 0 if
 * answered 2xx (*@kept: over a connection already open), else -1 with
 * @why and *@retry_after (s, 0: none).
 */
static int post_done(struct sub *s, bool prepared, CURLcode rc, bool *kept,
		     char *why, size_t whylen, long *retry_after)
{
	long code = 0, conns = 1;
	curl_off_t ra = -1;

	*retry_after = 0;
	if (!prepared) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (rc == CURLE_OK) {
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_getinfo(s->curl, CURLINFO_NUM_CONNECTS, &conns);
		curl_easy_getinfo(s->curl, CURLINFO_RETRY_AFTER, &ra);
	}
	/* The handle keeps pointers to these: not past this POST. */
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, NULL);
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s", curl_easy_strerror(rc));
		return -1;
	}
	if (code < 200 || code > 299) {
		snprintf(why, whylen, "HTTP %ld", code);
		if (ra > 0)
			*retry_after = ra > RETRY_AFTER_MAX_S ?
					       RETRY_AFTER_MAX_S :
					       (long)ra;
		return -1;
	}
	*kept = conns == 0;
	sub_used(s);
	return 0;
}

/*
 * POST to each of @subs[0..@n) its @notes[i] at once (each a pending
 * notification of it); acknowledged ones leave its pending list, the
 * others are re-sent after its backoff. The keys settled get their
 * marks. Returns how many were acknowledged; *@kept: of those, over a
 * connection already open.
 */
static size_t deliver(struct crlwatch *cw, struct sub **subs,
		      struct note **notes, size_t n, size_t *kept)
{
	struct curl_slist *hdr =
		curl_slist_append(NULL, "Content-Type: application/cms");
	CURLcode *res = calloc(n + 1, sizeof(*res));
	bool *ready = calloc(n + 1, sizeof(*ready));
	struct sub **todo = calloc(n + 1, sizeof(*todo));
	size_t i, nt = 0, ok = 0, j;
	char why[128];
	long ra;
	bool k;

	*kept = 0;
	for (i = 0; hdr && res && ready && todo && i < n; i++) {
		if (sub_handle(cw, subs[i])) {
			post_prepare(subs[i], hdr, notes[i]);
			ready[i] = true;
			todo[nt++] = subs[i];
		}
	}
	perform_all(cw, todo, res, nt);
	for (i = 0, j = 0; i < n; i++) {
		struct sub *s = subs[i];
		uint64_t now = mono_ms(), wait;
		bool prepared = ready && ready[i];
		CURLcode rc = prepared ? res[j++] : CURLE_FAILED_INIT;

		k = false;
		if (!post_done(s, prepared, rc, &k, why, sizeof(why), &ra)) {
			ok++;
			*kept += k;
			pend_ack(s, notes[i]);
			if (s->failing)
				guise_info("POST %s: CRL number %s delivered "
					   "after retrying (%zu more pending)",
					   s->url, notes[i]->number, s->n_pend);
			s->failing = false;
			s->retry_ms = 0;
			/* Its other pending ones: at once. */
			s->retry_at = s->n_pend ? now : 0;
			continue;
		}
		pend_rotate(s, notes[i]);
		s->retry_ms = s->retry_ms ? 2 * s->retry_ms : RETRY_MIN_MS;
		if (s->retry_ms > RETRY_MAX_MS)
			s->retry_ms = RETRY_MAX_MS;
		wait = jitter(s->retry_ms);
		if ((uint64_t)ra * 1000 > wait)
			wait = (uint64_t)ra * 1000;
		s->retry_at = now + wait;
		if (!s->failing)
			guise_warn("POST %s: %s; CRL number %s kept for it, "
				   "re-sent in %.1f s, then with backoff "
				   "(%zu pending for it)",
				   s->url, why, notes[i]->number,
				   (double)wait / 1e3, s->n_pend);
		else
			guise_debug("POST %s: %s; CRL number %s re-sent in "
				    "%.1f s (%zu pending for it)",
				    s->url, why, notes[i]->number,
				    (double)wait / 1e3, s->n_pend);
		s->failing = true;
	}
	for (i = 0; i < n; i++)
		mark(cw, notes[i]->key);
	curl_slist_free_all(hdr);
	free(todo);
	free(ready);
	free(res);
	return ok;
}

void watch_retry(struct crlwatch *cw)
{
	struct sub **subs = calloc(cw->n_subs + 1, sizeof(*subs));
	struct note **notes = calloc(cw->n_subs + 1, sizeof(*notes));
	uint64_t now = mono_ms();
	size_t i, n = 0, ok, kept;

	for (i = 0; subs && notes && i < cw->n_subs; i++) {
		struct sub *s = &cw->subs[i];

		if (s->n_pend && s->retry_at <= now) {
			subs[n] = s;
			/* Held through the POST (a newer one may not
			 * replace it meanwhile, but be safe). */
			notes[n++] = note_ref(s->pend[0].note);
		}
	}
	if (n) {
		ok = deliver(cw, subs, notes, n, &kept);
		cw->notes_sent += ok;
		cw->notes_retried += ok;
		cw->notes_kept += kept;
		guise_debug("re-sent %zu pending notifications, %zu delivered; "
			    "%zu pending",
			    n, ok, watch_pending(cw));
	}
	for (i = 0; i < n; i++)
		note_unref(notes[i]);
	free(subs);
	free(notes);
	watch_retry_arm(cw);
}

/* Serials of @crl that @previous did not list. */
static STACK_OF(ASN1_INTEGER) * new_serials(X509_CRL *crl, X509_CRL *previous)
{
	STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);
	STACK_OF(ASN1_INTEGER) *out = sk_ASN1_INTEGER_new_null();
	X509_REVOKED *old;
	int i;

	for (i = 0; out && i < sk_X509_REVOKED_num(rev); i++) {
		const ASN1_INTEGER *s = X509_REVOKED_get0_serialNumber(
			sk_X509_REVOKED_value(rev, i));
		ASN1_INTEGER *dup;

		if (previous && X509_CRL_get0_by_serial(previous, &old,
							(ASN1_INTEGER *)s) == 1)
			continue;
		dup = ASN1_INTEGER_dup(s);
		if (!dup || !sk_ASN1_INTEGER_push(out, dup)) {
			ASN1_INTEGER_free(dup);
			sk_ASN1_INTEGER_pop_free(out, ASN1_INTEGER_free);
			return NULL;
		}
		if (sk_ASN1_INTEGER_num(out) >= CRLNOTE_MAX_SERIALS)
			break;
	}
	return out;
}

/*
 * --serials lists what is new since the CRL before (@previous). A
 * subscriber still owing the notification of that one (pending) has not
 * been told of it: for it, the list would not be the difference to what
 * it was last told. It gets a catch-up without the list instead (the
 * location, and with --carry the CRL itself, bring every serial), made
 * at most once per CRL.
 */
int watch_notify(struct crlwatch *cw, X509_CRL *crl, const char *location,
		 X509_CRL *previous)
{
	const struct watch_opts *o = cw->o;
	bool delta = X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0;
	struct sub **subs = calloc(cw->n_subs + 1, sizeof(*subs));
	struct note **notes = calloc(cw->n_subs + 1, sizeof(*notes));
	struct note *full = NULL, *plain = NULL;
	size_t i, k = SIZE_MAX, sent = 0, kept = 0, catchup = 0;
	STACK_OF(ASN1_INTEGER) * revoked;
	struct crlnote n = { 0 };
	char *num;
	unsigned char id[32];
	struct notekey *key;
	int rc = -1;

	n.issuer = X509_NAME_dup(X509_CRL_get_issuer(crl));
	n.number = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	if (n.issuer && n.number && !issuer_id(n.issuer, id))
		k = key_find(cw, id, delta);
	if (k == SIZE_MAX || !subs || !notes)
		goto fail;
	key = &cw->keys[k];
	if (!o->notify_existing && key->mark &&
	    ASN1_INTEGER_cmp(n.number, key->mark) <= 0) {
		guise_info("%s: CRL number %ld notified before (--state): "
			   "skipped",
			   location, ASN1_INTEGER_get(n.number));
		rc = 0;
		goto out;
	}
	n.location = strdup(location);
	n.issued_at = time(NULL);
	if (o->carry) {
		X509_CRL_up_ref(crl);
		if (delta)
			n.delta = crl;
		else
			n.crl = crl;
	}
	if (o->serials && !delta) {
		n.revoked = new_serials(crl, previous);
		if (!n.revoked)
			goto fail;
	}
	if (!n.location || !(full = note_make(cw, &n, k)))
		goto fail;
	if (o->save)
		save(cw, full);
	for (i = 0; i < cw->n_subs; i++) {
		struct sub *s = &cw->subs[i];
		struct note *nt = full;

		if (full->serials && pend_find(s, k)) {
			if (!plain) {
				revoked = n.revoked;
				n.revoked = NULL;
				plain = note_make(cw, &n, k);
				n.revoked = revoked;
			}
			nt = plain ? plain : full;
			catchup += nt == plain;
		}
		if (pend_set(s, nt))
			continue; /* out of memory: not tried, not kept */
		subs[sent] = s;
		notes[sent++] = nt;
	}
	ASN1_INTEGER_free(key->latest);
	key->latest = ASN1_INTEGER_dup(n.number);
	i = sent;
	sent = deliver(cw, subs, notes, i, &kept);
	cw->notes_sent += sent;
	cw->notes_failed += cw->n_subs - sent;
	cw->notes_kept += kept;
	num = i2s_ASN1_INTEGER(NULL, n.number); /* any size (BN) */
	guise_info("%s: CRL number %s notified to %zu of %zu (%zu over kept "
		   "connections%s); %zu pending",
		   location, num ? num : "?", sent, cw->n_subs, kept,
		   catchup ? ", a catch-up without --serials to some" : "",
		   watch_pending(cw));
	OPENSSL_free(num);
	if (!cw->n_subs)
		mark(cw, k);
	watch_retry_arm(cw);
	rc = sent == cw->n_subs ? 0 : -1;
	goto out;
fail:
	guise_err("%s: cannot make the notification", location);
out:
	note_unref(full);
	note_unref(plain);
	free(subs);
	free(notes);
	crlnote_free(&n);
	return rc;
}

void watch_send_free(struct crlwatch *cw)
{
	size_t i;

	for (i = 0; i < cw->n_subs; i++)
		pend_free(&cw->subs[i]);
	for (i = 0; i < cw->n_keys; i++) {
		ASN1_INTEGER_free(cw->keys[i].latest);
		ASN1_INTEGER_free(cw->keys[i].mark);
	}
	free(cw->keys);
	cw->keys = NULL;
	cw->n_keys = 0;
}

/* ---- Subscriptions ---- */

/* How many subscriptions @who holds. */
static size_t holds(const struct crlwatch *cw, const char *who)
{
	size_t i, n = 0;

	for (i = 0; i < cw->n_subs; i++)
		n += holders_has(&cw->subs[i].holders, who);
	return n;
}

/* @s leaves the list: what it owed is dropped, its keys may settle. */
static void sub_remove(struct crlwatch *cw, size_t i)
{
	struct sub *s = &cw->subs[i];
	size_t j;

	sub_close(s);
	pend_free(s);
	free(s->url);
	holders_free(&s->holders);
	cw->subs[i] = cw->subs[--cw->n_subs];
	for (j = 0; j < cw->n_keys; j++)
		mark(cw, j);
	watch_retry_arm(cw);
}

int watch_subscribe(struct crlwatch *cw, const char *url, const char *who,
		    bool add)
{
	struct sub *v, *s;
	size_t i;
	int err;

	for (i = 0; i < cw->n_subs; i++) {
		s = &cw->subs[i];
		if (strcmp(s->url, url))
			continue;
		if (add && !who)
			s->holders.configured = true;
		if (add && (!who || holders_has(&s->holders, who)))
			return 0;
		if (add && holds(cw, who) >= cw->o->subscribe_limit)
			return -EDQUOT;
		if (add)
			return holders_add(&s->holders, who);
		err = holders_drop(&s->holders, who);
		if (err)
			return err;
		sub_remove(cw, i);
		return 0;
	}
	if (!add)
		return -ENOENT;
	if (who && holds(cw, who) >= cw->o->subscribe_limit)
		return -EDQUOT;
	if (cw->n_subs >= 1024)
		return -ENOSPC;
	v = realloc(cw->subs, (cw->n_subs + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	cw->subs = v;
	s = &v[cw->n_subs];
	*s = (struct sub){ .url = strdup(url) };
	s->holders.configured = !who;
	if (!s->url)
		return -ENOMEM;
	err = who ? holders_add(&s->holders, who) : 0;
	if (err) {
		free(s->url);
		holders_free(&s->holders);
		return err;
	}
	cw->n_subs++;
	cw->subscribed += !!who;
	return 0;
}

/* ---- Which URLs a client may subscribe ---- */

int watch_url_allowed(const struct watch_opts *o, const char *url, X509 *client,
		      const char **why)
{
	switch (urlpolicy_subscribe(&o->allow, url, client, NULL)) {
	case URLPOLICY_OK:
		return 0;
	case URLPOLICY_MALFORMED:
		*why = "expected {\"url\": \"https://host[:port]/path\"}: no "
		       "user, query, fragment or escaped dot, slash or "
		       "backslash";
		break;
	case URLPOLICY_NOT_LISTED:
		*why = "the URL is not under a --subscribe-allow prefix";
		break;
	case URLPOLICY_NOT_NAMED:
		*why = "without --subscribe-allow a client may subscribe only "
		       "https:// URLs of a host its certificate's "
		       "subjectAltName names";
		break;
	}
	return -1;
}
