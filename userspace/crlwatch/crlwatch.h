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
	double interval;
	unsigned int keepalive; /* s a subscriber connection is kept; 0: none */
	bool carry, serials, once, notify_existing, prewarm;
	char **to;
	size_t n_to;
};

/* A subscriber's notify URL and the state of its kept connection. */
struct sub {
	char *url;
	time_t used; /* monotonic s of its last answered request; 0: none */
	time_t warm_after; /* monotonic: no pre-warm before (backoff) */
	unsigned int warm_backoff; /* s; 0 after a success */
	void *curl; /* CURL *: its requests, its TLS session (send.c) */
	struct holders holders; /* who subscribed it (--to: configured) */
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
	uint64_t scans, crls_new, notes_sent, notes_failed, subscribed;
	uint64_t notes_kept; /* sent over a connection already open */
	/* The input side (scan.c): the --issuer certificates, the files of
	 * --dir as last read (unchanged ones are not read again), the last
	 * --url CRL's digest, and what was skipped. */
	STACK_OF(X509) * issuers;
	struct seen_file *files;
	size_t n_files;
	unsigned char url_md[EVP_MAX_MD_SIZE];
	unsigned int url_md_len;
	bool source_down; /* --dir or --url unreadable (logged once) */
	uint64_t crls_rejected; /* not signed by an --issuer */
	uint64_t files_bad; /* unreadable, not a CRL, too large */
	uint64_t notify_errors; /* watch_notify() failed */
};

struct event;
struct event_base;
/* Scan --dir when a file in it is written or moved in (dirwatch.c); NULL
 * (logged): the --interval poll alone. */
struct event *dirwatch_start(struct event_base *base, struct crlwatch *cw,
			     const char *dir);
void dirwatch_stop(struct event *ev);

/* Load the --issuer files into @cw (replacing the certificates held,
 * which stay if a file does not load; the files of --dir are read anew
 * at the next scan). 0 or -1 (logged). */
int watch_load_issuers(struct crlwatch *cw);
/* One pass over the repository: notify every new CRL signed by an
 * --issuer. 0, or -1 if --dir or --url could not be read (logged). */
int watch_scan(struct crlwatch *cw, bool notify);
/* Sign and POST one notification for @crl (at @location) to every
 * subscriber at once; waits for all (10 s at most). 0: all answered 2xx. */
int watch_notify(struct crlwatch *cw, X509_CRL *crl, const char *location,
		 X509_CRL *previous);
/* @who (holders.h; NULL: the command line) holds or lets go of @url;
 * as notify_subscribe() of guise-certd: 0, -EBUSY, -EPERM, -ENOENT,
 * -ENOSPC, -ENOMEM. */
int watch_subscribe(struct crlwatch *cw, const char *url, const char *who,
		    bool add);
/*
 * Open, or keep open, the connections to the subscribers not backing
 * off: GET /v1/health?keepalive=1 on the notify URL's server. @idle_only:
 * only those without a request answered over their connection yet, else
 * those idle for keepalive/2 s or more. The requests run at once; blocks
 * for up to 1 s (connect), 5 s in all, if a subscriber does not answer.
 * Returns in how many
 * seconds the next subscriber not yet connected is due for another try
 * (backoff), or 0.
 */
unsigned int watch_prewarm(struct crlwatch *cw, bool idle_only);
/* Close the subscribers' connections (the next request opens anew) and
 * forget their backoff. */
void watch_disconnect(struct crlwatch *cw);
void watch_free(struct crlwatch *cw);

#endif
