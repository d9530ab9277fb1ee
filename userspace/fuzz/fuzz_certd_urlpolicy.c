// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for daemon/urlpolicy.c (guise-certd's and
 * guise-crlwatch's allow-lists of URLs). The input is a flags byte (bit 0:
 * URLPOLICY_QUERY for the URL), then a URL, a list of prefixes and a DER
 * certificate, separated by NULs (the last two optional). Checked:
 *
 *  - a URL that parses is http(s) with a host, a port (decimal, up to
 *    65535), a path and nothing it must not hold (user, password,
 *    fragment, a query unless allowed, an escaped dot, slash or
 *    backslash); libcurl's rewriting of it parses again to the same
 *    parts (what the daemons fetch is what was checked);
 *  - a URL whose text holds a user, a fragment or (without the flag) a
 *    query never parses;
 *  - urlpolicy_under(u, prefix) only with the same scheme, host and port
 *    and a path that starts with the prefix's; urlpolicy_match() is
 *    urlpolicy_under() of one of the prefixes;
 *  - urlpolicy_subscribe() says what parse, match and the SAN check say;
 *  - urlpolicy_cert_names() is never true for a certificate without a
 *    subjectAltName, and does not depend on the case of a name;
 *  - an IPv4 literal and its IPv4-mapped IPv6 form are as special.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "urlpolicy.h"

static char *take(const uint8_t **data, size_t *size)
{
	const uint8_t *nul = memchr(*data, '\0', *size);
	size_t n = nul ? (size_t)(nul - *data) : *size;
	char *s = malloc(n + 1);

	if (!s)
		abort();
	memcpy(s, *data, n);
	s[n] = '\0';
	*data += nul ? n + 1 : n;
	*size -= nul ? n + 1 : n;
	return s;
}

static bool same_host(const char *a, const char *b)
{
	unsigned char ia[16], ib[16];
	size_t la, lb;
	bool ipa = !urlpolicy_host_ip(a, ia, &la);
	bool ipb = !urlpolicy_host_ip(b, ib, &lb);

	if (ipa || ipb)
		return ipa && ipb && la == lb && !memcmp(ia, ib, la);
	return !strcasecmp(a, b);
}

/* The authority of @url as written: after "scheme:" and its slashes, up
 * to the path, query or fragment. */
static const char *authority(const char *url, size_t *n)
{
	const char *a = strchr(url, ':');

	if (!a)
		return NULL;
	a += 1 + strspn(a + 1, "/\\");
	*n = strcspn(a, "/\\?#");
	return a;
}

/* What the text of @url holds that a usable URL must not: a user (an @ in
 * the authority), a fragment or a query (not empty: libcurl drops "?" and
 * "#" alone). */
static bool has_forbidden(const char *url, unsigned int flags)
{
	const char *a, *q = strchr(url, '?'), *f = strchr(url, '#');
	size_t n;

	a = authority(url, &n);
	if (a && memchr(a, '@', n))
		return true;
	if (f && f[1])
		return true;
	return !(flags & URLPOLICY_QUERY) && q && (!f || q < f) && q[1] &&
	       q[1] != '#';
}

static void check_parsed(const char *text, const struct urlpolicy_url *u,
			 unsigned int flags)
{
	static const char *const bad[] = { "%2e", "%2f", "%5c", "\\" };
	struct urlpolicy_url w;
	const char *a;
	size_t i, n;
	char *end, buf[24];
	unsigned long port;

	if (strlen(text) > URLPOLICY_URL_MAX || has_forbidden(text, flags))
		abort();
	if (strcmp(u->scheme, "https") && strcmp(u->scheme, "http"))
		abort();
	if (!u->host[0] || u->path[0] != '/')
		abort();
	/* decimal, as written again (libcurl takes ":0" and ":080") */
	port = strtoul(u->port, &end, 10);
	snprintf(buf, sizeof(buf), "%lu", port);
	if (*end || port > 65535 || strcmp(buf, u->port))
		abort();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strcasestr(u->path, bad[i]))
			abort();
	/* What libcurl writes again holds none of it either ... */
	if (strncmp(u->url, u->scheme, strlen(u->scheme)) ||
	    has_forbidden(u->url, flags) || strchr(u->url, '#'))
		abort();
	a = authority(u->url, &n);
	if (!a || memchr(a, '@', n))
		abort();
	/* ... and is the same URL: parsed again, the same parts. */
	if (urlpolicy_parse(u->url, flags, &w))
		abort();
	if (strcmp(w.url, u->url) || strcmp(w.scheme, u->scheme) ||
	    strcmp(w.host, u->host) || strcmp(w.port, u->port) ||
	    strcmp(w.path, u->path))
		abort();
	urlpolicy_url_free(&w);
}

static void check_under(const struct urlpolicy *p,
			const struct urlpolicy_url *u)
{
	bool any = false;
	size_t i;

	for (i = 0; i < p->n; i++) {
		const struct urlpolicy_url *v = &p->v[i];

		if (!urlpolicy_under(u, v))
			continue;
		any = true;
		if (strcmp(u->scheme, v->scheme) || strcmp(u->port, v->port) ||
		    !same_host(u->host, v->host) ||
		    strncmp(u->path, v->path, strlen(v->path)))
			abort();
	}
	if (urlpolicy_match(p, u) != any)
		abort();
}

static bool has_san(X509 *x)
{
	GENERAL_NAMES *g =
		X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	bool r = g && sk_GENERAL_NAME_num(g) > 0;

	GENERAL_NAMES_free(g);
	return r;
}

static void check_names(X509 *x, const char *host)
{
	unsigned char ip[16];
	size_t len, i;
	char *up;
	bool r = urlpolicy_cert_names(x, host);

	if (r && !has_san(x))
		abort(); /* never the subject's CN */
	if (!urlpolicy_host_ip(host, ip, &len))
		return;
	up = strdup(host);
	if (!up)
		abort();
	for (i = 0; up[i]; i++)
		up[i] = (char)toupper((unsigned char)up[i]);
	if (urlpolicy_cert_names(x, up) != r)
		abort();
	free(up);
}

static void check_special(const char *host)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	unsigned char ip[16];
	size_t len;

	if (urlpolicy_host_ip(host, ip, &len) || len != 4)
		return;
	memcpy(&s4.sin_addr, ip, 4);
	s6.sin6_addr.s6_addr[10] = 0xff;
	s6.sin6_addr.s6_addr[11] = 0xff;
	memcpy(s6.sin6_addr.s6_addr + 12, ip, 4);
	if (urlpolicy_addr_special((struct sockaddr *)&s4, sizeof(s4)) !=
	    urlpolicy_addr_special((struct sockaddr *)&s6, sizeof(s6)))
		abort();
}

static void check_subscribe(const struct urlpolicy *p, const char *url, X509 *x)
{
	enum urlpolicy_verdict v, want;
	struct urlpolicy_url u;
	char *norm = NULL;

	v = urlpolicy_subscribe(p, url, x, &norm);
	if (urlpolicy_parse(url, 0, &u)) {
		if (v != URLPOLICY_MALFORMED || norm)
			abort();
		return;
	}
	if (p->n)
		want = urlpolicy_match(p, &u) ? URLPOLICY_OK :
						URLPOLICY_NOT_LISTED;
	else
		want = !strcmp(u.scheme, "https") &&
				       urlpolicy_cert_names(x, u.host) ?
			       URLPOLICY_OK :
			       URLPOLICY_NOT_NAMED;
	if (v != want || (v == URLPOLICY_OK) != !!norm ||
	    (norm && strcmp(norm, u.url)))
		abort();
	if (v == URLPOLICY_OK && has_forbidden(url, 0))
		abort();
	/* Without a list and a certificate, nothing. */
	if (!p->n && !x && v == URLPOLICY_OK)
		abort();
	/* What is subscribed is allowed too. */
	if (norm && urlpolicy_subscribe(p, norm, x, NULL) != URLPOLICY_OK)
		abort();
	free(norm);
	urlpolicy_url_free(&u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct urlpolicy p = { 0 };
	struct urlpolicy_url u;
	unsigned int flags;
	char *url, *list;
	const unsigned char *der;
	X509 *x = NULL;
	size_t i;

	if (size < 1)
		return 0;
	flags = data[0] & 1 ? URLPOLICY_QUERY : 0;
	data++;
	size--;
	url = take(&data, &size);
	list = take(&data, &size);
	der = data;
	if (size)
		x = d2i_X509(NULL, &der, (long)size);

	if (*list && !urlpolicy_add_list(&p, list))
		for (i = 0; i < p.n; i++) {
			check_parsed(p.v[i].url, &p.v[i], 0);
			if (strchr(p.v[i].url, '?'))
				abort(); /* never a query in a prefix */
		}
	if (!urlpolicy_parse(url, flags, &u)) {
		check_parsed(url, &u, flags);
		check_under(&p, &u);
		check_special(u.host);
		if (x)
			check_names(x, u.host);
		urlpolicy_url_free(&u);
	}
	check_subscribe(&p, url, x);
	if (p.n) {
		/* The same without the list: the SAN rule. */
		struct urlpolicy none = { 0 };

		check_subscribe(&none, url, x);
	}

	urlpolicy_free(&p);
	X509_free(x);
	ERR_clear_error();
	free(list);
	free(url);
	return 0;
}
