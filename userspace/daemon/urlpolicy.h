/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which URLs a client may make a daemon send requests to (guise-crlwatch's
 * and guise-certd's /v1/subscribe, certd's /v1/acquire): a URL parsed by
 * libcurl's URL API (curl_url()), the parser of the requests themselves,
 * never by hand; a list of allowed prefixes; a client certificate's
 * subjectAltName; and, for libcurl transfers, a check of each address a
 * connection is about to be made to.
 *
 * A URL is usable only if it is http or https with a host, without a user,
 * password, fragment or IPv6 zone, and without an escaped dot, slash or
 * backslash (%2e, %2f, %5c) or a backslash in its path, which a server
 * might decode after the check; libcurl removes "." and ".." segments
 * first. A query only where the caller allows one (never in a prefix).
 * The URL as libcurl writes it again must read as itself (not so for an
 * escaped dot in a numeric host, "http://127%2e1/") and be no longer than
 * URLPOLICY_URL_MAX either.
 *
 * A URL is under a prefix when the scheme, the host (IP addresses
 * compared as addresses, names without regard to case) and the port (the
 * scheme's default when absent) are the same, and its path is the
 * prefix's or below it at a "/": "https://h/v1/" allows "/v1/notify",
 * "https://h/v1/notify" allows itself and "/v1/notify/x", not
 * "/v1/notifyx".
 */
#ifndef GUISE_DAEMON_URLPOLICY_H
#define GUISE_DAEMON_URLPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <curl/curl.h>
#include <openssl/x509.h>

/* URLs longer than this are refused. */
#define URLPOLICY_URL_MAX 1024

/* A parsed URL; all malloc'd by libcurl (urlpolicy_url_free()). */
struct urlpolicy_url {
	char *url; /* the whole, as libcurl writes it again (normalized:
		    * host in lower case, no default port) */
	char *scheme; /* "http" or "https" */
	char *host; /* as in the URL: "[v6]", v4, or a name */
	char *port; /* decimal, the scheme's default if absent */
	char *path; /* "/..." */
};

/* urlpolicy_parse() flags */
#define URLPOLICY_QUERY 0x1u /* a query is allowed */

/* Parse @url (see above) into @u. 0, or -1 (nothing to free then). */
int urlpolicy_parse(const char *url, unsigned int flags,
		    struct urlpolicy_url *u);
void urlpolicy_url_free(struct urlpolicy_url *u);

/* @url in the form urlpolicy_parse() writes it (a query allowed), or as
 * it is if it does not parse; malloc'd, NULL if memory ran out. Two
 * spellings of a URL are one subscription by it. */
char *urlpolicy_normalize(const char *url);

/* Is @u under the prefix @prefix? */
bool urlpolicy_under(const struct urlpolicy_url *u,
		     const struct urlpolicy_url *prefix);

/* A list of allowed prefixes. Zeroed: empty. */
struct urlpolicy {
	struct urlpolicy_url *v;
	size_t n;
};

/* Add the prefix @prefix. 0, -EINVAL (not a usable prefix) or -ENOMEM. */
int urlpolicy_add(struct urlpolicy *p, const char *prefix);
/* Add each prefix of @list, separated by spaces, tabs or commas (at least
 * one). 0, -EINVAL or -ENOMEM (then @p may hold some of them). */
int urlpolicy_add_list(struct urlpolicy *p, const char *list);
void urlpolicy_free(struct urlpolicy *p);
/* Is @u under one of @p's prefixes? */
bool urlpolicy_match(const struct urlpolicy *p, const struct urlpolicy_url *u);

/* The bytes (4 or 16) of an IP address literal host ("[v6]" or v4). 0 or
 * -1 (a name). */
int urlpolicy_host_ip(const char *host, unsigned char ip[16], size_t *len);
/* Do @x's subjectAltNames name @host (an IP address, or a DNS name
 * without wildcards; never the subject's CN)? */
bool urlpolicy_cert_names(X509 *x, const char *host);

enum urlpolicy_verdict {
	URLPOLICY_OK,
	URLPOLICY_MALFORMED, /* not a usable URL */
	URLPOLICY_NOT_LISTED, /* with a list: under none of its prefixes */
	URLPOLICY_NOT_NAMED, /* without: not https, or a host @client's
			      * certificate does not name */
};

/*
 * The subscription rule: with prefixes in @p, @url must be under one of
 * them; without, it must be https:// and its host named in @client's
 * subjectAltName (urlpolicy_cert_names(); a NULL @client names nothing).
 * A query is refused. With URLPOLICY_OK and @normalized, *@normalized is
 * the URL as libcurl writes it again (malloc'd), what is to be used.
 */
enum urlpolicy_verdict urlpolicy_subscribe(const struct urlpolicy *p,
					   const char *url, X509 *client,
					   char **normalized);

/*
 * Is @sa (IPv4, IPv6, an IPv4-mapped IPv6 address taken as its IPv4
 * address) one no request should be sent to on a client's word: loopback
 * (127/8, ::1), link-local (169.254/16, fe80::/10), unspecified or
 * "this network" (0/8, ::), multicast (224/4, ff00::/8) or reserved
 * (240/4 with the broadcast address)? Other families: true.
 */
bool urlpolicy_addr_special(const struct sockaddr *sa, socklen_t len);

/*
 * A libcurl transfer to a URL that passed the policy (urlpolicy_guard()):
 * no redirects, http and https only, no proxy from the environment, and
 * no connection to an address urlpolicy_addr_special() calls special
 * unless the URL's host is that very address written as an IP literal
 * (an allow-list that names 127.0.0.1 allows 127.0.0.1; a name that
 * resolves to it is refused), checked on each address libcurl is about
 * to connect to (CURLOPT_OPENSOCKETFUNCTION) and again before each
 * request on the connection it uses, new or reused from a shared pool
 * (CURLOPT_PREREQFUNCTION), so a name's DNS answer cannot take the
 * request where the URL check did not look.
 */
struct urlpolicy_guard {
	unsigned char ip[16]; /* the URL's host, if an IP literal */
	size_t iplen; /* 0: a name */
	/* Set by libcurl's thread: an address was refused. libcurl goes on
	 * to the name's other addresses, so it explains a failed transfer
	 * only: one that succeeded connected to another address. */
	bool refused;
	char why[128]; /* ... which one */
};

/* Set @c up for @u (a URL urlpolicy_parse() gave): @g must live as long
 * as @c's transfers. */
void urlpolicy_guard(CURL *c, struct urlpolicy_guard *g,
		     const struct urlpolicy_url *u);

#endif
