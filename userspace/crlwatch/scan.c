// SPDX-License-Identifier: GPL-2.0
/*
 * The input side: the CRLs of --dir (or --url), each checked against the
 * --issuer certificates; one newer than the last seen of its issuer is
 * notified (send.c). A file of --dir is read again only when it changed
 * (device, inode, size, mtime, ctime); what is wrong with it is logged
 * once per such version of it. A read that fails for a passing reason
 * (out of file descriptors or memory, an I/O error, a notification that
 * could not be made) records no version: the file is read again, after
 * a backoff, until it goes through.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "clock.h"
#include "crlnote.h"
#include "crlwatch.h"
#include "log.h"

/* A larger CRL could not be carried in a notification (crlnote.h). */
#define MAX_CRL_SIZE CRLNOTE_MAX_SIZE

/* Re-reads after a passing failure: 1 s, doubling up to 5 minutes. */
#define REREAD_FIRST_MS 1000u
#define REREAD_MAX_MS (300u * 1000u)

/* A file of --dir as last read: not read again while it stays so. */
struct seen_file {
	char *name;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	bool moved; /* into the next scan's list */
	/* Its last read failed for a passing reason (its version was not
	 * recorded): read again from reread_at (monotonic ms) on; the
	 * next wait reread_ms. 0: none due. */
	uint64_t reread_at;
	unsigned int reread_ms;
};

static bool pem_end(void)
{
	unsigned long e = ERR_peek_last_error();

	return ERR_GET_LIB(e) == ERR_LIB_PEM &&
	       ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}

/*
 * Drain OpenSSL's error queue: did an allocation fail? (Then a CRL that
 * did not parse may parse at the next try.)
 */
static bool errors_oom(void)
{
	unsigned long e;
	bool oom = false;

	while ((e = ERR_get_error()))
		oom |= !ERR_SYSTEM_ERROR(e) &&
		       ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE;
	return oom;
}

int watch_parse_crls(const unsigned char *data, size_t len,
		     STACK_OF(X509_CRL) * out, bool *bad)
{
	static const char begin[] = "-----BEGIN X509 CRL";
	const unsigned char *p = data, *end = data + len;
	X509_CRL *crl;
	int n = 0, left;
	bool oom = false;
	BIO *bio;

	*bad = false;
	if (len > INT_MAX) {
		*bad = true;
		return 0;
	}
	if (memmem(data, len, begin, sizeof(begin) - 1)) {
		bio = BIO_new_mem_buf(data, (int)len);
		oom |= !bio;
		while (bio) {
			left = BIO_pending(bio);
			crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
			if (!crl) {
				if (pem_end())
					break;
				*bad = true; /* a block that does not parse */
				oom |= errors_oom();
				if (BIO_pending(bio) >= left)
					break;
				continue;
			}
			if (!sk_X509_CRL_push(out, crl)) {
				X509_CRL_free(crl);
				oom = true;
				break;
			}
			n++;
		}
		BIO_free(bio);
	}
	if (!n && !oom) { /* DER (that happens to hold the PEM marker?) */
		*bad = false;
		while (p < end) {
			crl = d2i_X509_CRL(NULL, &p, (long)(end - p));
			if (crl && !sk_X509_CRL_push(out, crl))
				oom = true;
			if (!crl || oom) {
				X509_CRL_free(crl);
				*bad = true;
				break;
			}
			n++;
		}
	}
	oom |= errors_oom();
	return oom ? -1 : n;
}

int watch_load_issuers(struct crlwatch *cw)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	const char *file = NULL, *why = "out of memory";
	char name[256];
	size_t i;
	X509 *c;
	BIO *bio;
	int n;

	for (i = 0; sk && i < cw->o->n_issuers; i++) {
		file = cw->o->issuers[i];
		bio = BIO_new_file(file, "r");
		n = 0;
		while (bio && (c = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
			if (!sk_X509_push(sk, c)) {
				X509_free(c);
				BIO_free(bio);
				goto fail;
			}
			n++;
			if (!(X509_get_key_usage(c) & KU_CRL_SIGN)) {
				X509_NAME_oneline(X509_get_subject_name(c),
						  name, sizeof(name));
				guise_warn(
					"--issuer %s: %s: its keyUsage "
					"lacks cRLSign: its CRLs are refused",
					file, name);
			}
		}
		why = !bio ? "cannot open" :
		      !n   ? "no PEM certificate in it" :
			     "a certificate that does not parse";
		BIO_free(bio);
		if (!n || !pem_end())
			goto fail;
		ERR_clear_error();
	}
	if (!sk)
		goto fail;
	sk_X509_pop_free(cw->issuers, X509_free);
	cw->issuers = sk;
	/* Read every file again (what failed may verify now). */
	for (i = 0; i < cw->n_files; i++)
		free(cw->files[i].name);
	free(cw->files);
	cw->files = NULL;
	cw->n_files = 0;
	urlfetch_forget(cw->fetch);
	return 0;
fail:
	ERR_clear_error();
	guise_err("--issuer %s: %s", file ? file : "", why);
	sk_X509_pop_free(sk, X509_free);
	return -1;
}

/*
 * NULL if @crl is signed by an --issuer certificate of the subject its
 * issuer names, whose keyUsage (if any) allows signing CRLs; else why not.
 */
static const char *untrusted(const struct crlwatch *cw, X509_CRL *crl)
{
	const char *why = "its issuer is not among the --issuer certificates";
	const X509_NAME *name = X509_CRL_get_issuer(crl);
	EVP_PKEY *key;
	X509 *c;
	int i;

	for (i = 0; i < sk_X509_num(cw->issuers); i++) {
		c = sk_X509_value(cw->issuers, i);
		if (X509_NAME_cmp(X509_get_subject_name(c), name))
			continue;
		if (!(X509_get_key_usage(c) & KU_CRL_SIGN)) {
			why = "the --issuer certificate of its issuer lacks "
			      "the keyUsage cRLSign";
			continue;
		}
		key = X509_get0_pubkey(c);
		if (key && X509_CRL_verify(crl, key) == 1) {
			ERR_clear_error();
			return NULL;
		}
		why = "its signature does not verify with the key of its "
		      "issuer's --issuer certificate";
	}
	ERR_clear_error();
	return why;
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

/*
 * A CRL seen at @location (@what in the log: the file or URL): notify it
 * if an --issuer signed it and its number is new. Only such a CRL moves
 * its issuer's mark, and only once its notification was made: -1 if it
 * was not (out of memory, or watch_notify() could not make it), to be
 * tried again; else 0.
 */
static int consider(struct crlwatch *cw, X509_CRL *crl, const char *location,
		    const char *what, bool notify)
{
	bool delta = X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0;
	const char *why = untrusted(cw, crl);
	const unsigned char *p;
	X509_CRL *previous;
	ASN1_INTEGER *num;
	struct watched *w;
	unsigned char *der;
	char issuer[256], too_long[80];
	int len, rc;

	X509_NAME_oneline(X509_CRL_get_issuer(crl), issuer, sizeof(issuer));
	if (!why && strlen(location) > CRLNOTE_MAX_URL) {
		snprintf(too_long, sizeof(too_long),
			 "its location is longer than the %u bytes receivers "
			 "take",
			 CRLNOTE_MAX_URL);
		why = too_long;
	}
	if (why) {
		guise_warn("%s: a CRL of %s refused: %s", what, issuer, why);
		cw->crls_rejected++;
		return 0;
	}
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	if (!num) {
		guise_warn("%s: a CRL of %s without a CRL number: ignored",
			   what, issuer);
		ERR_clear_error();
		return 0;
	}
	w = find(cw, crl, delta);
	if (!w || (w->number && ASN1_INTEGER_cmp(num, w->number) <= 0)) {
		ASN1_INTEGER_free(num);
		return w ? 0 : -1;
	}
	cw->crls_new++;
	if (notify) {
		/* --serials: the previous full CRL, for the diff */
		p = w->der;
		previous = p ? d2i_X509_CRL(NULL, &p, (long)w->der_len) : NULL;
		/* (its POSTs go on on the loop: their failures are
		 * send.c's to count and re-send) */
		rc = watch_notify(cw, crl, location, previous);
		X509_CRL_free(previous);
		if (rc) {
			/* not made: the mark stays, the CRL is new at the
			 * next try */
			cw->notify_errors++;
			ASN1_INTEGER_free(num);
			return -1;
		}
	}
	ASN1_INTEGER_free(w->number);
	w->number = num;
	if (cw->o->serials && !delta) {
		OPENSSL_free(w->der);
		w->der = NULL;
		w->der_len = 0;
		der = NULL;
		len = i2d_X509_CRL(crl, &der);
		if (len > 0) {
			w->der = der;
			w->der_len = (size_t)len;
		}
	}
	return 0;
}

static bool crl_name(const char *name)
{
	const char *dot = strrchr(name, '.');

	return name[0] != '.' && dot &&
	       (!strcmp(dot, ".crl") || !strcmp(dot, ".pem") ||
		!strcmp(dot, ".der"));
}

static int seen_cmp(const void *a, const void *b)
{
	return strcmp(((const struct seen_file *)a)->name,
		      ((const struct seen_file *)b)->name);
}

static bool same_version(const struct seen_file *f, const struct stat *st)
{
	return f->dev == st->st_dev && f->ino == st->st_ino &&
	       f->size == st->st_size &&
	       f->mtime.tv_sec == st->st_mtim.tv_sec &&
	       f->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       f->ctime.tv_sec == st->st_ctim.tv_sec &&
	       f->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

static void set_version(struct seen_file *f, const struct stat *st)
{
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->size = st->st_size;
	f->mtime = st->st_mtim;
	f->ctime = st->st_ctim;
}

/* Read all of regular file @fd (at most MAX_CRL_SIZE); NULL with errno. */
static unsigned char *read_fd(int fd, size_t size, size_t *len)
{
	unsigned char *buf = malloc(size ? size : 1);
	ssize_t r;
	int err;

	*len = 0;
	while (buf && *len < size) {
		r = read(fd, buf + *len, size - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = errno;
			free(buf);
			errno = err;
			return NULL;
		}
		if (!r)
			break; /* shorter now: what there is */
		*len += (size_t)r;
	}
	return buf;
}

/*
 * Does errno @err say something about the file (its next version is
 * read anyway), not about this moment (out of descriptors or memory, an
 * I/O error: try again)?
 */
static bool lasting(int err)
{
	return err == EACCES || err == EPERM || err == ENOENT ||
	       err == ENOTDIR || err == ELOOP || err == ENXIO ||
	       err == ENODEV || err == EISDIR;
}

/*
 * Whatever @f's read came to: its version (@st) is recorded, and @why
 * (if any) logged once for it; or, with @again, it is not and the file
 * is read again after a backoff (1 s doubling to 5 minutes; each try
 * logged, so a lasting shortage is logged at that rate).
 */
static void read_done(struct crlwatch *cw, struct seen_file *f,
		      const struct stat *st, const char *path, const char *why,
		      bool again)
{
	if (why)
		cw->files_bad++;
	if (!again) {
		set_version(f, st);
		f->reread_at = 0;
		f->reread_ms = 0;
		if (why)
			guise_warn("%s: %s: skipped", path, why);
		return;
	}
	if (!f->reread_ms)
		f->reread_ms = REREAD_FIRST_MS;
	else if (f->reread_ms < REREAD_MAX_MS / 2)
		f->reread_ms *= 2;
	else
		f->reread_ms = REREAD_MAX_MS;
	f->reread_at = guise_mono_ms() + f->reread_ms;
	guise_warn("%s: %s: read again in %u s", path,
		   why ? why : "not notified yet", f->reread_ms / 1000);
}

/*
 * The location of --dir's file @name, a URL: --location-base/NAME, or
 * file:// and the file's absolute path. Every byte of the name (and of
 * the path) that is not unreserved is percent-encoded: a space, '#', '?'
 * or '%' would end the URL or name another file, and a name that is not
 * UTF-8 could not be carried in the notification's JSON. NULL: no
 * memory.
 */
static char *file_location(const struct crlwatch *cw, const char *name)
{
	const struct watch_opts *o = cw->o;
	char *esc, *path = NULL, *url = NULL, *cu = NULL;
	CURLU *u;
	int n;

	if (o->location_base) {
		esc = curl_easy_escape(NULL, name, 0);
		if (esc && asprintf(&url, "%s/%s", o->location_base, esc) < 0)
			url = NULL;
		curl_free(esc);
		return url;
	}
	if (o->dir[0] == '/')
		n = asprintf(&path, "%s/%s", o->dir, name);
	else
		n = asprintf(&path, "%s/%s/%s", cw->cwd, o->dir, name);
	if (n < 0)
		return NULL;
	u = curl_url();
	if (u && !curl_url_set(u, CURLUPART_URL, "file:///", 0) &&
	    !curl_url_set(u, CURLUPART_PATH, path, CURLU_URLENCODE) &&
	    !curl_url_get(u, CURLUPART_URL, &cu, 0))
		url = strdup(cu);
	curl_free(cu);
	curl_url_cleanup(u);
	free(path);
	return url;
}

/*
 * Read file @name of the directory @dfd (whose lstat is @st; its version
 * read into @f) and consider its CRLs. Not a symbolic link (not
 * followed), nor anything but a regular file (a FIFO is opened without
 * blocking and left).
 */
static void read_file(struct crlwatch *cw, int dfd, const char *name,
		      const struct stat *lst, struct seen_file *f, bool notify)
{
	const struct watch_opts *o = cw->o;
	STACK_OF(X509_CRL) *crls = NULL;
	char path[4096], *location = NULL;
	const char *why = NULL;
	char big[64];
	unsigned char *buf = NULL;
	struct stat st = *lst;
	size_t len = 0;
	int fd = -1, n = 0, i;
	bool bad = false, again = false;

	snprintf(path, sizeof(path), "%.2000s/%.1000s", o->dir, name);
	if (S_ISLNK(st.st_mode)) {
		why = "a symbolic link (not followed)";
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		why = "not a regular file";
		goto out;
	}
	fd = openat(dfd, name,
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		why = strerror(errno);
		again = !lasting(errno);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		why = "not a regular file";
		goto out;
	}
	if (!st.st_size) {
		/* Being written, most likely: read when it changes. */
		guise_debug("%s: empty", path);
		goto out;
	}
	if ((size_t)st.st_size > MAX_CRL_SIZE) {
		snprintf(big, sizeof(big), "too large (more than %u MiB)",
			 MAX_CRL_SIZE >> 20);
		why = big;
		goto out;
	}
	buf = read_fd(fd, (size_t)st.st_size, &len);
	if (!buf) {
		why = strerror(errno);
		again = !lasting(errno);
		goto out;
	}
	crls = sk_X509_CRL_new_null();
	n = crls ? watch_parse_crls(buf, len, crls, &bad) : -1;
	free(buf);
	if (n < 0) {
		why = "out of memory";
		again = true;
		goto out;
	}
	if (!n) {
		why = "not a CRL (DER, or PEM \"X509 CRL\" blocks)";
		goto out;
	}
	if (bad)
		guise_warn("%s: data beside its %d CRL(s) does not parse: "
			   "ignored",
			   path, n);
	location = file_location(cw, name);
	if (!location) {
		why = "out of memory";
		again = true;
		goto out;
	}
	/* A CRL not notified yet (the others are not new at the retry). */
	for (i = 0; i < n; i++)
		again |= consider(cw, sk_X509_CRL_value(crls, i), location,
				  path, notify) < 0;
out:
	free(location);
	if (fd >= 0)
		close(fd);
	read_done(cw, f, &st, path, why, again);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	/* A large CRL's thousands of small allocations: back to the
	 * system, not kept until the next one. */
	if (len > (1u << 20))
		malloc_trim(0);
}

bool watch_reread_due(const struct crlwatch *cw)
{
	uint64_t now = guise_mono_ms();
	size_t i;

	for (i = 0; i < cw->n_files; i++)
		if (cw->files[i].reread_at && now >= cw->files[i].reread_at)
			return true;
	return false;
}

static struct seen_file *seen_find(struct crlwatch *cw, const char *name)
{
	struct seen_file key = { .name = (char *)name };

	return cw->n_files ? bsearch(&key, cw->files, cw->n_files, sizeof(key),
				     seen_cmp) :
			     NULL;
}

/*
 * --url: a body fetched (urlfetch.c: off the loop, conditional GET) and
 * not taken yet. urlfetch.c logs failed fetches and hands over only
 * bodies that changed, so each is looked at (and logged) once; one that
 * could not be parsed or notified for want of memory (or a notification
 * that could not be made) is asked for again: the next poll fetches it
 * whole and hands it over.
 */
static int scan_url(struct crlwatch *cw, bool notify)
{
	const struct watch_opts *o = cw->o;
	STACK_OF(X509_CRL) *crls = NULL;
	unsigned char *data = NULL;
	size_t len = 0;
	int r = urlfetch_next(cw->fetch, &data, &len), n = 0, i;
	bool bad = false, again = false;

	if (r == 1) {
		crls = sk_X509_CRL_new_null();
		n = crls ? watch_parse_crls(data, len, crls, &bad) : -1;
	}
	free(data);
	if (r <= 0)
		return r;
	if (n < 0) {
		guise_err("%s: out of memory: fetched again at the next poll",
			  o->url);
		urlfetch_forget(cw->fetch);
		sk_X509_CRL_pop_free(crls, X509_CRL_free);
		return -1;
	}
	if (!n) {
		guise_err("%s: the body fetched is not a CRL", o->url);
		cw->files_bad++;
		sk_X509_CRL_pop_free(crls, X509_CRL_free);
		return -1;
	}
	if (bad)
		guise_warn("%s: data beside its %d CRL(s) does not parse: "
			   "ignored",
			   o->url, n);
	/* every CRL of the body (a full one and its delta, say), as a file
	 * of --dir; one not notified has the body fetched again */
	for (i = 0; i < n; i++)
		again |= consider(cw, sk_X509_CRL_value(crls, i), o->url,
				  o->url, notify) < 0;
	if (again)
		urlfetch_forget(cw->fetch);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	return 0;
}

int watch_scan(struct crlwatch *cw, bool notify)
{
	const struct watch_opts *o = cw->o;
	struct seen_file *now = NULL, *v, *old;
	size_t n = 0, cap = 0, i;
	uint64_t t = guise_mono_ms();
	struct dirent *de;
	struct stat st;
	DIR *dir = NULL;
	int dfd;

	cw->scans++;
	if (o->url)
		return scan_url(cw, notify);
	dfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || !(dir = fdopendir(dfd))) {
		if (!cw->source_down)
			guise_err("%s: %s", o->dir, strerror(errno));
		cw->source_down = true;
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	if (cw->source_down)
		guise_info("%s: readable again", o->dir);
	cw->source_down = false;
	/* This listing's files, each with its version as last read; the
	 * old list goes (files gone from the directory with it). */
	while ((de = readdir(dir))) {
		if (!crl_name(de->d_name) ||
		    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		if (n == cap) {
			v = realloc(now,
				    (cap = cap ? 2 * cap : 16) * sizeof(*v));
			if (!v)
				break;
			now = v;
		}
		old = seen_find(cw, de->d_name);
		if (old && !old->moved) {
			now[n] = *old;
			old->moved = true;
		} else {
			old = NULL;
			now[n] = (struct seen_file){ .name = strdup(
							     de->d_name) };
			if (!now[n].name)
				break;
		}
		if (old && same_version(&now[n], &st))
			now[n].reread_at = 0; /* as last read: nothing due */
		else if (t >= now[n].reread_at)
			read_file(cw, dfd, de->d_name, &st, &now[n], notify);
		now[n++].moved = false;
	}
	closedir(dir);
	for (i = 0; i < cw->n_files; i++)
		if (!cw->files[i].moved)
			free(cw->files[i].name);
	free(cw->files);
	if (n)
		qsort(now, n, sizeof(*now), seen_cmp);
	cw->files = now;
	cw->n_files = n;
	return 0;
}

void watch_free(struct crlwatch *cw)
{
	size_t i;

	for (i = 0; i < cw->n_w; i++) {
		X509_NAME_free(cw->w[i].issuer);
		ASN1_INTEGER_free(cw->w[i].number);
		OPENSSL_free(cw->w[i].der);
	}
	free(cw->w);
	for (i = 0; i < cw->n_files; i++)
		free(cw->files[i].name);
	free(cw->files);
	sk_X509_pop_free(cw->issuers, X509_free);
	watch_disconnect(cw); /* their handles, before the subscribers */
	for (i = 0; i < cw->n_subs; i++) {
		free(cw->subs[i].url);
		holders_free(&cw->subs[i].holders);
	}
	free(cw->subs);
	X509_free(cw->sign_cert);
	EVP_PKEY_free(cw->sign_key);
}
