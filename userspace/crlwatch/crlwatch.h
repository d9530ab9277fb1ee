/* SPDX-License-Identifier: GPL-2.0 */
/* guise-crlwatch: watch a CRL repository, notify subscribers of new CRLs. */
#ifndef CRLWATCH_H
#define CRLWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/x509.h>

#include "holders.h"
#include "urlpolicy.h"

struct event;
struct event_base;
struct urlfetch;
struct xfer; /* send.c: a request under way */
struct sockev; /* send.c: a socket libcurl asked to be watched */

struct watch_opts {
	const char *dir, *url; /* one of them: the repository */
	const char *location_base; /* URL prefix of DIR's files, or NULL */
	const char *sign_cert, *sign_key;
	const char *cert, *key, *ca; /* mTLS to the subscribers */
	const char *listen; /* subscribe API, or NULL */
	const char *server_cert, *server_key, *server_ca;
	const char *port_file;
	const char *save; /* directory to keep each notification in */
	char **issuers; /* --issuer: PEM files of the trusted CRL issuers */
	size_t n_issuers;
	const char *state; /* directory of the per-issuer marks, or NULL */
	const char *url_ca; /* CA of the --url server; NULL: the system's */
	double interval;
	unsigned int keepalive; /* s a subscriber connection is kept; 0: none */
	unsigned int subscribe_limit; /* subscriptions one client may hold */
	bool carry, serials, once, notify_existing, prewarm;
	char **to;
	size_t n_to;
	struct urlpolicy allow; /* --subscribe-allow URL prefixes */
};

/* A signed notification, shared by the subscribers owing it (send.c). */
struct note;

/* A notification a subscriber has not acknowledged (2xx) yet. */
struct pending {
	size_t key; /* in crlwatch.keys */
	struct note *note;
};

/* A subscriber's notify URL and the state of its kept connection. */
struct sub {
	char *url;
	time_t used; /* monotonic s of its last answered request; 0: none */
	time_t warm_after; /* monotonic: no pre-warm before (backoff) */
	unsigned int warm_backoff; /* s; 0 after a success */
	void *curl; /* CURL *: its requests, its TLS session (send.c) */
	/* send.c: names it to its transfers (its slot in crlwatch.subs
	 * moves); POSTs and pre-warm under way; curl in use (a second
	 * request gets a handle of its own); out of memory, a notification
	 * could not be kept pending for it (notekey.held) */
	uint64_t id;
	unsigned int posts;
	bool warming, curl_busy, missed;
	struct holders holders; /* who subscribed it (--to: configured) */
	/* The newest notification of each (issuer, full or delta) it has
	 * not acknowledged, oldest first; re-sent from retry_at (monotonic
	 * ms) on, after a backoff of retry_ms (1 s doubling to 60 s). */
	struct pending *pend;
	size_t n_pend;
	uint64_t retry_at;
	unsigned int retry_ms;
	bool failing; /* warned about; told when delivered again */
};

/* One issuer's full or delta CRLs, as far as delivery goes (send.c). */
struct notekey {
	unsigned char id[32]; /* SHA-256 of the issuer name's DER */
	bool delta;
	ASN1_INTEGER *latest; /* the newest CRL number notified */
	/* --state: the newest every subscriber acknowledged (a restart
	 * notifies a CRL above it), or NULL */
	ASN1_INTEGER *mark;
	/* The newest notification a subscriber could not keep pending (out
	 * of memory; send.c): kept again for it by watch_retry(), and no
	 * mark while set. NULL: none. */
	struct note *held;
};

/* What was last seen of one issuer's full or delta CRL. */
struct watched {
	X509_NAME *issuer;
	bool delta;
	ASN1_INTEGER *number;
	/* With --serials, a full CRL's DER: the next one's diff. */
	unsigned char *der;
	size_t der_len;
};

struct seen_file; /* scan.c: a file of --dir as last read */

struct crlwatch {
	const struct watch_opts *o;
	char cwd[1024]; /* for file:// locations of a relative DIR */
	X509 *sign_cert;
	EVP_PKEY *sign_key;
	struct watched *w;
	size_t n_w;
	struct sub *subs; /* opts->to, then subscribed URLs */
	size_t n_subs;
	/* CURLM *: the subscribers' requests run at once through it, and
	 * it keeps their connections open (send.c) */
	void *multi;
	/* The loop the requests run on (main.c sets it before the first
	 * scan); send.c's transfers under way, the sockets libcurl watches
	 * and its timer (CURLMOPT_SOCKETFUNCTION, CURLMOPT_TIMERFUNCTION) */
	struct event_base *base;
	struct xfer *xfers;
	struct sockev *socks;
	struct event *curl_timer;
	uint64_t sub_ids; /* the last struct sub.id given */
	uint64_t scans, crls_new, notes_sent, notes_failed, subscribed;
	uint64_t notes_kept; /* sent over a connection already open */
	/* The input side (scan.c): the --issuer certificates, the files of
	 * --dir as last read (unchanged ones are not read again), and what
	 * was skipped. */
	STACK_OF(X509) * issuers;
	struct seen_file *files;
	size_t n_files;
	bool source_down; /* --dir unreadable (logged once) */
	uint64_t crls_rejected; /* not signed by an --issuer */
	uint64_t files_bad; /* unreadable, not a CRL, too large */
	/* CRLs not notified to every subscriber at the first try, or whose
	 * notification could not be made (watch_notify() failed) */
	uint64_t notify_errors;
	uint64_t notes_retried; /* delivered by a re-send */
	struct notekey *keys;
	size_t n_keys;
	bool state_started; /* --state held the marks of an earlier run */
	struct event *retry_ev; /* the re-send timer (main.c), or NULL */
	/* The pre-warm timer (main.c; watch_prewarm(cw, true)), or NULL */
	struct event *warm_ev;
	struct urlfetch *fetch; /* --url (urlfetch.c), or NULL */
};

/* Scan --dir when a file in it is written or moved in (dirwatch.c); NULL
 * (logged): the --interval poll alone. */
struct event *dirwatch_start(struct event_base *base, struct crlwatch *cw,
			     const char *dir);
void dirwatch_stop(struct event *ev);

/* Load the --issuer files into @cw (replacing the certificates held,
 * which stay if a file does not load; the files of --dir are read anew
 * at the next scan). 0 or -1 (logged). */
int watch_load_issuers(struct crlwatch *cw);
/*
 * The CRLs in @data (a file of --dir, a --url body) onto @out: every
 * "X509 CRL" block if it holds one anywhere (PEM, other blocks and text
 * between them skipped), else (or if none of them parses) DER, one CRL
 * after another. *@bad: some of it does not parse (it is skipped).
 * Returns how many were pushed, or -1 if memory ran out (what was pushed
 * stays on @out). (fuzz/fuzz_crlwatch_crls.c)
 */
int watch_parse_crls(const unsigned char *data, size_t len,
		     STACK_OF(X509_CRL) * out, bool *bad);
/* One pass over the repository: notify every new CRL signed by an
 * --issuer. 0, or -1 if --dir or --url could not be read (logged). */
int watch_scan(struct crlwatch *cw, bool notify);
/* Is a file of --dir due to be read again (its last read failed for a
 * passing reason: out of descriptors or memory, an I/O error, a
 * notification not made)? A scan now would read it. */
bool watch_reread_due(const struct crlwatch *cw);
/*
 * Sign one notification for @crl (at @location; @previous: the CRL of
 * the same issuer and kind seen before, for --serials), keep it pending
 * for every subscriber and start a POST of it to each, on cw->base's
 * loop: this returns at once. Each POST may take 10 s; when all are
 * over, one line says to how many it was delivered. A subscriber that
 * does not answer 2xx keeps it pending (replacing an older one of the
 * same issuer and kind) and gets it again with backoff (watch_retry()).
 * With --state, a CRL number not above the issuer's mark was notified
 * before a restart: skipped. 0 (under way, or skipped), or -1: the
 * notification could not be made (logged).
 */
int watch_notify(struct crlwatch *cw, X509_CRL *crl, const char *location,
		 X509_CRL *previous);
/* Start re-sending the pending notifications that are due, one per
 * subscriber without a POST under way (each POST up to 10 s, on the
 * loop); then watch_retry_arm(). */
void watch_retry(struct crlwatch *cw);
/* (Re)arm cw->retry_ev for the next pending notification due. */
void watch_retry_arm(struct crlwatch *cw);
/* Notifications pending, over all subscribers. */
size_t watch_pending(const struct crlwatch *cw);
/*
 * --state DIR: read the marks (DIR/<issuer SHA-256>.full|.delta), making
 * DIR if missing. 0 or -1 (logged). cw->state_started: an earlier run
 * left DIR/started, so the CRLs found at start above their issuer's mark
 * (or of an issuer without one) are notified.
 */
int watch_state_load(struct crlwatch *cw);
/* After the start scan: the marks of the CRLs found (unless @notified:
 * those went through watch_notify()), and DIR/started. */
void watch_state_started(struct crlwatch *cw, bool notified);
/*
 * Write @len bytes as DIR/@name: a temporary file then rename(), so
 * that no reader sees half of it; @sync: fsync()ed, and the directory
 * after the rename (the --state files). 0 or -1 (errno).
 */
int watch_write_atomic(const char *dir, const char *name, const void *data,
		       size_t len, bool sync);
/*
 * --state DIR/subscriptions.json (substate.c): the subscriptions made
 * over --listen and who holds them. watch_subs_save() after each change
 * an API request made (logged if it fails; the change stands);
 * watch_subs_load() at start, after the --to destinations: a file that
 * cannot be read is logged and the daemon goes on without its entries.
 */
void watch_subs_save(struct crlwatch *cw);
void watch_subs_load(struct crlwatch *cw);
/* The file's text (malloc()ed; NULL: no memory), and the same restored
 * from @text (@what names it in the log): the holds restored. */
char *watch_subs_dump(const struct crlwatch *cw);
size_t watch_subs_restore(struct crlwatch *cw, const char *text, size_t len,
			  const char *what);
/*
 * @who (holders.h; NULL: the command line) holds or lets go of @url (in
 * the form urlpolicy_normalize() gives, as every subscriber's is kept:
 * "https://H:443/a/../n" and "https://h/n" are one subscriber);
 * as notify_subscribe() of guise-certd: 0, -EBUSY, -EPERM, -ENOENT,
 * -ENOSPC, -ENOMEM; -EDQUOT: @who holds --subscribe-limit already.
 */
int watch_subscribe(struct crlwatch *cw, const char *url, const char *who,
		    bool add);
/*
 * May the client with certificate @client have crlwatch POST to @url?
 * urlpolicy_subscribe() (daemon/urlpolicy.h): with --subscribe-allow,
 * @url must be under one of the prefixes (same scheme, host and port, its
 * path at or under the prefix's); without, https:// to a host that
 * @client's subjectAltName names (an IP address or DNS name, no
 * wildcard). Never a user, query, fragment or an escaped dot, slash or
 * backslash in the path. 0, or -1 with *@why.
 */
int watch_url_allowed(const struct watch_opts *o, const char *url, X509 *client,
		      const char **why);
/*
 * Open, or keep open, the connections to the subscribers not backing
 * off and without a request under way: GET /v1/health?keepalive=1 on
 * the notify URL's server (1 s to connect, 5 s in all), started on the
 * loop (this returns at once). @idle_only: only those without a request
 * answered over their connection yet, else those idle for keepalive/2 s
 * or more. Then watch_warm_arm().
 */
void watch_prewarm(struct crlwatch *cw, bool idle_only);
/* (Re)arm cw->warm_ev for the next subscriber not connected yet: a new
 * one (or after watch_disconnect()) at once, else at the end of its
 * backoff. */
void watch_warm_arm(struct crlwatch *cw);
/* Run cw->base's loop until no request is under way (--once). */
void watch_send_wait(struct crlwatch *cw);
/* Give up the requests under way (what they carried stays pending),
 * close the subscribers' connections (the next request opens anew) and
 * forget their backoff. */
void watch_disconnect(struct crlwatch *cw);
void watch_free(struct crlwatch *cw);
/* Free what send.c keeps: the requests under way and their events
 * (before cw->base is freed), the pending notifications, the keys. */
void watch_send_free(struct crlwatch *cw);

/*
 * --url, fetched with one libcurl handle (kept connection, conditional
 * GET: If-None-Match with the last ETag, or If-Modified-Since with a
 * Last-Modified at least 2 s older than the response's Date), redirects
 * not followed (a failure naming the Location), at most the size of a
 * CRL file, verified against --url-ca (default: the system's store).
 * Failures are logged once, then every 5 minutes while they last.
 */
struct urlfetch *urlfetch_new(const struct watch_opts *o);
/*
 * Poll every --interval from a thread of its own from now on; @ready(@arg)
 * runs on @base's loop when a new body came. 0 or -1.
 */
int urlfetch_start(struct urlfetch *f, struct event_base *base,
		   void (*ready)(void *arg), void *arg);
/*
 * A body not taken yet: 1 (*@data malloc'd), 0: nothing new (304, or the
 * same bytes), -1: failed. Before urlfetch_start(), fetches now (blocks
 * up to 10 s); after, takes what the thread fetched (never blocks; the
 * thread's fetches may take 2 minutes).
 */
int urlfetch_next(struct urlfetch *f, unsigned char **data, size_t *len);
/* Stop the thread (a fetch under way is given up), free. NULL: no-op. */
/* The next fetch is unconditional and its body handed over even if
 * unchanged (SIGHUP: the --issuer certificates may accept it now). */
void urlfetch_forget(struct urlfetch *f);
void urlfetch_free(struct urlfetch *f);

#endif
