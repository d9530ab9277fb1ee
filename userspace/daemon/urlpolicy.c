// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/x509v3.h>

#include "urlpolicy.h"

void urlpolicy_url_free(struct urlpolicy_url *u)
{
	curl_free(u->url);
	curl_free(u->scheme);
	curl_free(u->host);
	curl_free(u->port);
	curl_free(u->path);
	memset(u, 0, sizeof(*u));
}

/*
 * Does libcurl read @url (a URL it wrote) as itself? Not always: an
 * escaped dot in a host is decoded after the IPv4 forms are read
 * ("http://127%2e1/" is the name "127.1", written "http://127.1/", which
 * read again is the address 127.0.0.1). What is checked must be what is
 * used, the URL as written again included.
 */
static bool reads_as_itself(const char *url)
{
	CURLU *h = curl_url();
	char *again = NULL;
	bool same = h && !curl_url_set(h, CURLUPART_URL, url, 0) &&
		    !curl_url_get(h, CURLUPART_URL, &again, 0) &&
		    !strcmp(again, url);

	curl_free(again);
	curl_url_cleanup(h);
	return same;
}

int urlpolicy_parse(const char *url, unsigned int flags,
		    struct urlpolicy_url *u)
{
	static const char *const bad[] = { "%2e", "%2f", "%5c", "\\" };
	CURLU *h = curl_url();
	char *x = NULL;
	size_t i;
	int ret = -1;

	memset(u, 0, sizeof(*u));
	if (!h || strlen(url) > URLPOLICY_URL_MAX ||
	    curl_url_set(h, CURLUPART_URL, url, 0) ||
	    curl_url_get(h, CURLUPART_SCHEME, &u->scheme, 0) ||
	    curl_url_get(h, CURLUPART_HOST, &u->host, 0))
		goto out;
	if (strcmp(u->scheme, "https") && strcmp(u->scheme, "http"))
		goto out;
	/* (before the host is set again, which would drop a zone) */
	if (curl_url_get(h, CURLUPART_USER, &x, 0) != CURLUE_NO_USER ||
	    curl_url_get(h, CURLUPART_PASSWORD, &x, 0) != CURLUE_NO_PASSWORD ||
	    (!(flags & URLPOLICY_QUERY) &&
	     curl_url_get(h, CURLUPART_QUERY, &x, 0) != CURLUE_NO_QUERY) ||
	    curl_url_get(h, CURLUPART_FRAGMENT, &x, 0) != CURLUE_NO_FRAGMENT ||
	    curl_url_get(h, CURLUPART_ZONEID, &x, 0) != CURLUE_NO_ZONEID)
		goto out;
	/* One form per URL: the host in lower case (names compare so) and
	 * no default port, so that https://H:443/n is https://h/n. */
	for (i = 0; u->host[i]; i++)
		u->host[i] = (char)tolower((unsigned char)u->host[i]);
	if (curl_url_set(h, CURLUPART_HOST, u->host, 0) ||
	    curl_url_get(h, CURLUPART_PORT, &u->port, CURLU_DEFAULT_PORT) ||
	    curl_url_get(h, CURLUPART_PATH, &u->path, 0) ||
	    curl_url_get(h, CURLUPART_URL, &u->url, CURLU_NO_DEFAULT_PORT))
		goto out;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strcasestr(u->path, bad[i]))
			goto out;
	if (strlen(u->url) > URLPOLICY_URL_MAX || !reads_as_itself(u->url))
		goto out;
	ret = 0;
out:
	curl_free(x);
	curl_url_cleanup(h);
	if (ret)
		urlpolicy_url_free(u);
	return ret;
}

char *urlpolicy_normalize(const char *url)
{
	struct urlpolicy_url u;
	char *out;

	if (urlpolicy_parse(url, URLPOLICY_QUERY, &u))
		return strdup(url);
	out = strdup(u.url);
	urlpolicy_url_free(&u);
	return out;
}

int urlpolicy_host_ip(const char *host, unsigned char ip[16], size_t *len)
{
	char buf[64];
	size_t n = strlen(host);

	if (host[0] == '[' && n > 2 && n - 2 < sizeof(buf) &&
	    host[n - 1] == ']') {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		*len = 16;
		return inet_pton(AF_INET6, buf, ip) == 1 ? 0 : -1;
	}
	*len = 4;
	return inet_pton(AF_INET, host, ip) == 1 ? 0 : -1;
}

static bool same_host(const char *a, const char *b)
{
	unsigned char ia[16], ib[16];
	size_t la, lb;

	if (!urlpolicy_host_ip(a, ia, &la) || !urlpolicy_host_ip(b, ib, &lb))
		return !urlpolicy_host_ip(a, ia, &la) &&
		       !urlpolicy_host_ip(b, ib, &lb) && la == lb &&
		       !memcmp(ia, ib, la);
	return !strcasecmp(a, b);
}

bool urlpolicy_under(const struct urlpolicy_url *u,
		     const struct urlpolicy_url *a)
{
	size_t n = strlen(a->path);

	return !strcmp(u->scheme, a->scheme) && same_host(u->host, a->host) &&
	       !strcmp(u->port, a->port) && !strncmp(u->path, a->path, n) &&
	       (n && (a->path[n - 1] == '/' || u->path[n] == '\0' ||
		      u->path[n] == '/'));
}

int urlpolicy_add(struct urlpolicy *p, const char *prefix)
{
	struct urlpolicy_url u, *v;

	if (urlpolicy_parse(prefix, 0, &u))
		return -EINVAL;
	v = realloc(p->v, (p->n + 1) * sizeof(*v));
	if (!v) {
		urlpolicy_url_free(&u);
		return -ENOMEM;
	}
	p->v = v;
	p->v[p->n++] = u;
	return 0;
}

int urlpolicy_add_list(struct urlpolicy *p, const char *list)
{
	char *buf = strdup(list), *save = NULL, *tok;
	int err = 0, n = 0;

	if (!buf)
		return -ENOMEM;
	for (tok = strtok_r(buf, ", \t", &save); tok && !err;
	     tok = strtok_r(NULL, ", \t", &save), n++)
		err = urlpolicy_add(p, tok);
	free(buf);
	return err ? err : n ? 0 : -EINVAL;
}

void urlpolicy_free(struct urlpolicy *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		urlpolicy_url_free(&p->v[i]);
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

bool urlpolicy_match(const struct urlpolicy *p, const struct urlpolicy_url *u)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (urlpolicy_under(u, &p->v[i]))
			return true;
	return false;
}

bool urlpolicy_cert_names(X509 *x, const char *host)
{
	unsigned char ip[16];
	size_t len;

	if (!x)
		return false;
	if (!urlpolicy_host_ip(host, ip, &len))
		return X509_check_ip(x, ip, len, 0) == 1;
	return X509_check_host(x, host, 0,
			       X509_CHECK_FLAG_NEVER_CHECK_SUBJECT |
				       X509_CHECK_FLAG_NO_WILDCARDS,
			       NULL) == 1;
}

enum urlpolicy_verdict urlpolicy_subscribe(const struct urlpolicy *p,
					   const char *url, X509 *client,
					   char **normalized)
{
	enum urlpolicy_verdict v;
	struct urlpolicy_url u;

	if (urlpolicy_parse(url, 0, &u))
		return URLPOLICY_MALFORMED;
	if (p && p->n)
		v = urlpolicy_match(p, &u) ? URLPOLICY_OK :
					     URLPOLICY_NOT_LISTED;
	else
		v = !strcmp(u.scheme, "https") &&
				    urlpolicy_cert_names(client, u.host) ?
			    URLPOLICY_OK :
			    URLPOLICY_NOT_NAMED;
	if (v == URLPOLICY_OK && normalized) {
		*normalized = strdup(u.url);
		if (!*normalized)
			v = URLPOLICY_MALFORMED;
	}
	urlpolicy_url_free(&u);
	return v;
}

/* The IPv4 address @a (network order bytes): special? */
static bool v4_special(const unsigned char *a)
{
	return a[0] == 0 || a[0] == 127 || (a[0] == 169 && a[1] == 254) ||
	       a[0] >= 224; /* multicast, reserved, broadcast */
}

bool urlpolicy_addr_special(const struct sockaddr *sa, socklen_t len)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0,    0,
						  0, 0, 0, 0, 0xff, 0xff };
	const struct sockaddr_in6 *s6 = (const void *)sa;
	const struct sockaddr_in *s4 = (const void *)sa;
	const unsigned char *a;

	if (sa->sa_family == AF_INET && len >= sizeof(*s4))
		return v4_special((const unsigned char *)&s4->sin_addr);
	if (sa->sa_family != AF_INET6 || len < sizeof(*s6))
		return true;
	a = s6->sin6_addr.s6_addr;
	if (!memcmp(a, mapped, sizeof(mapped)))
		return v4_special(a + 12);
	return IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr) ||
	       IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) ||
	       IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr) ||
	       IN6_IS_ADDR_MULTICAST(&s6->sin6_addr);
}

/* The address itself, as bytes (4 or 16); 0 if neither family. */
static size_t addr_bytes(const struct sockaddr *sa, socklen_t len,
			 const unsigned char **out)
{
	const struct sockaddr_in6 *s6 = (const void *)sa;
	const struct sockaddr_in *s4 = (const void *)sa;

	if (sa->sa_family == AF_INET && len >= sizeof(*s4)) {
		*out = (const unsigned char *)&s4->sin_addr;
		return 4;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(*s6)) {
		*out = s6->sin6_addr.s6_addr;
		return 16;
	}
	return 0;
}

/*
 * May @g's transfer go to @sa (NULL: an address that did not parse)? Not
 * to one urlpolicy_addr_special() calls special, unless the URL's host is
 * that very address. If not, @g says why.
 */
static bool guard_allows(struct urlpolicy_guard *g, const struct sockaddr *sa,
			 socklen_t len)
{
	const unsigned char *b = NULL;
	size_t n = sa ? addr_bytes(sa, len, &b) : 0;
	char text[INET6_ADDRSTRLEN] = "?";

	if (n && (!urlpolicy_addr_special(sa, len) ||
		  (g->iplen == n && !memcmp(g->ip, b, n))))
		return true;
	if (n)
		inet_ntop(sa->sa_family, b, text, sizeof(text));
	g->refused = true;
	snprintf(g->why, sizeof(g->why),
		 "its host resolves to %s (loopback, link-local, "
		 "unspecified, multicast or reserved)",
		 text);
	return false;
}

static curl_socket_t guard_open(void *arg, curlsocktype purpose,
				struct curl_sockaddr *addr)
{
	if (purpose != CURLSOCKTYPE_IPCXN ||
	    !guard_allows(arg, &addr->addr, addr->addrlen))
		return CURL_SOCKET_BAD;
	return socket(addr->family, addr->socktype | SOCK_CLOEXEC,
		      addr->protocol);
}

/*
 * Before each request, whether its connection is new or reused from the
 * pool (opened for another transfer, perhaps to a destination nobody
 * checked, which guard_open() never saw): its address, by the same rule.
 */
static int guard_prereq(void *arg, char *primary_ip, char *local_ip,
			int primary_port, int local_port)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	const struct sockaddr *sa = NULL;
	socklen_t len = 0;

	(void)local_ip;
	(void)primary_port;
	(void)local_port;
	if (inet_pton(AF_INET6, primary_ip, &s6.sin6_addr) == 1) {
		sa = (const struct sockaddr *)&s6;
		len = sizeof(s6);
	} else if (inet_pton(AF_INET, primary_ip, &s4.sin_addr) == 1) {
		sa = (const struct sockaddr *)&s4;
		len = sizeof(s4);
	}
	return guard_allows(arg, sa, len) ? CURL_PREREQFUNC_OK :
					    CURL_PREREQFUNC_ABORT;
}

void urlpolicy_guard(CURL *c, struct urlpolicy_guard *g,
		     const struct urlpolicy_url *u)
{
	memset(g, 0, sizeof(*g));
	if (urlpolicy_host_ip(u->host, g->ip, &g->iplen))
		g->iplen = 0;
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, guard_open);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, g);
	curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, guard_prereq);
	curl_easy_setopt(c, CURLOPT_PREREQDATA, g);
}
