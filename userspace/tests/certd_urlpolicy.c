// SPDX-License-Identifier: GPL-2.0
/*
 * daemon/urlpolicy.c, which guise-certd (/v1/subscribe, /v1/acquire) and
 * guise-crlwatch (/v1/subscribe) use: what a URL or a prefix may hold,
 * which URLs are under a prefix, the lists of [network] subscribe_allow
 * and acquire_allow, the addresses a guarded transfer may not connect to
 * (IPv4-mapped ones too), and certd's guarded fetch against a local
 * listener: a name resolving to loopback is refused before any
 * connection, the same address written as a literal is fetched.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"
#include "urlpolicy.h"
#include "worker.h"

static bool parses(const char *url, unsigned int flags)
{
	struct urlpolicy_url u;

	if (urlpolicy_parse(url, flags, &u))
		return false;
	urlpolicy_url_free(&u);
	return true;
}

static bool under(const char *url, const char *prefix)
{
	struct urlpolicy_url u, p;
	bool r = false;

	if (urlpolicy_parse(url, URLPOLICY_QUERY, &u))
		return false;
	if (!urlpolicy_parse(prefix, 0, &p)) {
		r = urlpolicy_under(&u, &p);
		urlpolicy_url_free(&p);
	}
	urlpolicy_url_free(&u);
	return r;
}

static bool special(const char *addr)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };

	if (inet_pton(AF_INET, addr, &s4.sin_addr) == 1)
		return urlpolicy_addr_special((struct sockaddr *)&s4,
					      sizeof(s4));
	if (inet_pton(AF_INET6, addr, &s6.sin6_addr) != 1)
		abort();
	return urlpolicy_addr_special((struct sockaddr *)&s6, sizeof(s6));
}

/* A listener on 127.0.0.1 answering one certificate-less 200 per
 * connection; it counts the connections. */
struct lsn {
	int fd;
	int port;
	int conns; /* atomic */
};

static void *serve(void *arg)
{
	static const char ok[] = "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n"
				 "\r\nhello";
	struct lsn *l = arg;
	char buf[4096];
	int c;

	while ((c = accept(l->fd, NULL, NULL)) >= 0) {
		__atomic_add_fetch(&l->conns, 1, __ATOMIC_RELAXED);
		if (read(c, buf, sizeof(buf)) > 0 &&
		    write(c, ok, sizeof(ok) - 1) < 0)
			tap_diag("write: failed");
		close(c);
	}
	return NULL;
}

static int fetch(const char *url, struct urlpolicy_guard *g,
		 unsigned char **data, size_t *len)
{
	struct worker_tls tls = { .timeout = 5 };
	struct urlpolicy_url u;
	int ret;

	if (urlpolicy_parse(url, URLPOLICY_QUERY, &u))
		return -2;
	ret = fetch_url_guarded(&tls, &u, g, 1024, data, len, NULL);
	urlpolicy_url_free(&u);
	return ret;
}

int main(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t salen = sizeof(sa);
	struct urlpolicy p = { 0 };
	struct urlpolicy_guard g;
	struct urlpolicy_url u;
	unsigned char *data = NULL;
	struct lsn l = { 0 };
	char url[128];
	pthread_t th;
	size_t len = 0;
	int ret;

	tap_start();
	curl_global_init(CURL_GLOBAL_DEFAULT);

	/* What a URL may hold. */
	tap_ok(parses("https://h.example:8443/v1/notify", 0), "a plain URL");
	tap_ok(!parses("ftp://h.example/", 0), "not ftp://");
	tap_ok(!parses("file:///etc/passwd", 0), "not file://");
	tap_ok(!parses("https://u:p@h.example/", 0), "not a user and password");
	tap_ok(!parses("https://h.example/#f", 0), "not a fragment");
	tap_ok(!parses("https://[fe80::1%25eth0]/", 0), "not an IPv6 zone");
	tap_ok(!parses("https://h.example/a/%2E%2e/b", 0), "not an escaped ..");
	tap_ok(!parses("https://h.example/a%2fb", 0), "not an escaped /");
	tap_ok(!parses("https://h.example/a%5Cb", 0), "not an escaped \\");
	tap_ok(!parses("https://h.example/?q", 0), "a query: refused ...");
	tap_ok(parses("https://h.example/?q", URLPOLICY_QUERY),
	       "... unless allowed (acquire)");
	tap_ok(!parses("h.example/x", 0), "not without a scheme");
	{
		char *big = malloc(URLPOLICY_URL_MAX + 32);

		strcpy(big, "https://h/");
		memset(big + 10, 'a', URLPOLICY_URL_MAX);
		big[URLPOLICY_URL_MAX + 10] = '\0';
		tap_ok(!parses(big, 0), "not longer than URLPOLICY_URL_MAX");
		/* 0x7f.1 is written again as 127.0.0.1, 3 bytes more */
		strcpy(big, "https://0x7f.1/");
		memset(big + 15, 'a', URLPOLICY_URL_MAX - 15);
		big[URLPOLICY_URL_MAX] = '\0';
		tap_ok(strlen(big) == URLPOLICY_URL_MAX && !parses(big, 0) &&
			       parses("https://0x7f.1/a", 0),
		       "nor when libcurl writes it again longer");
		free(big);
	}
	/* Found by fuzz_certd_urlpolicy: the name "127.1", written again
	 * "https://127.1/", is the address 127.0.0.1 read again. */
	tap_ok(!parses("https://127%2e1/", 0) && !parses("http://%30/", 0) &&
		       !parses("http://0x7f%2E1:80/x", 0),
	       "not a numeric host written escaped: libcurl reads it again "
	       "as another host");
	ret = urlpolicy_parse("https://h%2eexample/x", 0, &u);
	tap_ok(!ret && !strcmp(u.host, "h.example") &&
		       !strcmp(u.url, "https://h.example/x"),
	       "an escaped dot in a name: the name");
	if (!ret)
		urlpolicy_url_free(&u);
	ret = urlpolicy_parse("HTTP://0x7f.1:80/a/./b/../c", 0, &u);
	tap_ok(!ret && !strcmp(u.url, "http://127.0.0.1/a/c") &&
		       !strcmp(u.host, "127.0.0.1") && !strcmp(u.port, "80") &&
		       !strcmp(u.path, "/a/c"),
	       "libcurl writes it again, without the default port: %s",
	       ret ? "-" : u.url);
	if (!ret)
		urlpolicy_url_free(&u);
	/* One form per URL: a subscription is kept and matched in it. */
	{
		static const char *const same[][2] = {
			{ "https://H.Example:443/n", "https://h.example/n" },
			{ "https://h.example/a/../n", "https://h.example/n" },
			{ "https://[0:0::1]:443/n", "https://[::1]/n" },
			{ "https://[::A]:8443/n", "https://[::a]:8443/n" },
			{ "http://H:80/n?x=Y", "http://h/n?x=Y" },
			{ "not a url", "not a url" },
		};
		bool all = true;
		size_t i;
		char *n;

		for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
			n = urlpolicy_normalize(same[i][0]);
			if (!n || strcmp(n, same[i][1])) {
				tap_diag("%s -> %s, not %s", same[i][0],
					 n ? n : "(null)", same[i][1]);
				all = false;
			}
			free(n);
		}
		tap_ok(all, "one form: host in lower case, no default port, "
			    "no dot segments, IPv6 compressed");
	}

	/* Under a prefix. */
	tap_ok(under("https://h/v1/notify", "https://h/v1/"), "under /v1/");
	tap_ok(under("https://h/v1/notify", "https://h/v1/notify"),
	       "the prefix itself");
	tap_ok(under("https://h/v1/notify/x", "https://h/v1/notify"),
	       "below it at a /");
	tap_ok(!under("https://h/v1/notifyx", "https://h/v1/notify"),
	       "not a longer name");
	tap_ok(!under("https://h/v1/../admin", "https://h/v1/"),
	       "not out of it with ..");
	tap_ok(under("https://h:443/v1/x", "https://H/v1/"),
	       "the default port written out; a name in another case");
	tap_ok(!under("https://h:444/v1/x", "https://h/v1/"),
	       "not another port");
	tap_ok(!under("http://h/v1/x", "https://h/v1/"), "not another scheme");
	tap_ok(under("https://[0:0::1]/v1/x", "https://[::1]/v1/"),
	       "IPv6 addresses compared as addresses");
	tap_ok(!under("https://[::ffff:127.0.0.1]/", "https://127.0.0.1/"),
	       "an IPv4-mapped address is not the IPv4 literal");
	tap_ok(under("https://h/v1/x?id=1", "https://h/v1/"),
	       "a query does not matter (acquire)");

	/* Lists. */
	ret = urlpolicy_add_list(&p, "https://a/x/, https://b:1/ \t"
				     "http://[::1]:2/y");
	tap_ok(!ret && p.n == 3,
	       "a list separated by commas, spaces and tabs: %zu prefixes",
	       p.n);
	tap_ok(urlpolicy_add_list(&p, " , ") == -EINVAL,
	       "an empty list: refused");
	tap_ok(urlpolicy_add_list(&p, "https://c/ https://d/?q") == -EINVAL,
	       "a prefix with a query: refused");
	urlpolicy_free(&p);
	tap_ok(urlpolicy_subscribe(&p, "https://h/", NULL, NULL) ==
		       URLPOLICY_NOT_NAMED,
	       "no list, no certificate: nothing may be subscribed");
	tap_ok(urlpolicy_subscribe(&p, "https://h/#x", NULL, NULL) ==
		       URLPOLICY_MALFORMED,
	       "a malformed URL says so");
	urlpolicy_add(&p, "http://h/v1/");
	tap_ok(urlpolicy_subscribe(&p, "http://h/v1/n", NULL, NULL) ==
			       URLPOLICY_OK &&
		       urlpolicy_subscribe(&p, "http://h/v2/n", NULL, NULL) ==
			       URLPOLICY_NOT_LISTED,
	       "with a list: under it, or not listed");
	urlpolicy_free(&p);

	/* Special addresses. */
	tap_ok(special("127.0.0.1") && special("127.255.0.9") && special("::1"),
	       "loopback");
	tap_ok(special("169.254.169.254") && special("fe80::1"), "link-local");
	tap_ok(special("0.0.0.0") && special("0.1.2.3") && special("::"),
	       "unspecified, this network");
	tap_ok(special("224.0.0.1") && special("239.1.1.1") &&
		       special("ff02::1"),
	       "multicast");
	tap_ok(special("240.0.0.1") && special("255.255.255.255"),
	       "reserved, broadcast");
	tap_ok(special("::ffff:127.0.0.1") && special("::ffff:169.254.1.1"),
	       "IPv4-mapped IPv6: as IPv4");
	tap_ok(!special("192.0.2.1") && !special("10.0.0.1") &&
		       !special("2001:db8::1") && !special("::ffff:192.0.2.1"),
	       "others are not");

	/* certd's guarded fetch. */
	l.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l.fd < 0 || bind(l.fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(l.fd, 16) ||
	    getsockname(l.fd, (struct sockaddr *)&sa, &salen) ||
	    pthread_create(&th, NULL, serve, &l)) {
		printf("Bail out! cannot listen\n");
		return 1;
	}
	l.port = ntohs(sa.sin_port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", l.port);
	ret = fetch(url, &g, &data, &len);
	tap_ok(!ret && len == 5 && !memcmp(data, "hello", 5) && !g.refused,
	       "a guarded fetch of a loopback literal: fetched");
	free(data);
	data = NULL;
	tap_ok(__atomic_load_n(&l.conns, __ATOMIC_RELAXED) == 1,
	       "... over one connection");
	snprintf(url, sizeof(url), "http://localhost:%d/x", l.port);
	ret = fetch(url, &g, &data, &len);
	tap_ok(ret == -1 && g.refused,
	       "a name that resolves to loopback: "
	       "refused (%s)",
	       g.why);
	tap_ok(__atomic_load_n(&l.conns, __ATOMIC_RELAXED) == 1,
	       "... without connecting");
	snprintf(url, sizeof(url), "http://[::ffff:127.0.0.1]:%d/x", l.port);
	ret = fetch(url, &g, &data, &len);
	tap_ok(!ret && !g.refused,
	       "an IPv4-mapped literal is the address it names: fetched");
	free(data);
	shutdown(l.fd, SHUT_RDWR);
	close(l.fd);
	pthread_join(th, NULL);
	curl_global_cleanup();
	return tap_done();
}
