// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

int guise_addr_parse(const char *s, struct in6_addr *addr)
{
	return inet_pton(AF_INET6, s, addr) == 1 ? 0 : -EINVAL;
}

static char *put_dec(char *p, unsigned int v)
{
	if (v >= 100)
		*p++ = (char)('0' + v / 100);
	if (v >= 10)
		*p++ = (char)('0' + v / 10 % 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

/* The same algorithm as glibc's inet_ntop6(), without sprintf. */
char *guise_addr_format(const struct in6_addr *a, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *b = a->s6_addr;
	int best = -1, best_len = 0, cur = -1, cur_len = 0, i, shift;
	unsigned int w[8];
	char *p = buf;

	for (i = 0; i < 8; i++)
		w[i] = (unsigned int)b[2 * i] << 8 | b[2 * i + 1];
	/* The longest run of zero groups (the first of equals), if >= 2. */
	for (i = 0; i <= 8; i++) {
		if (i < 8 && !w[i]) {
			if (cur < 0)
				cur = i, cur_len = 0;
			cur_len++;
		} else if (cur >= 0) {
			if (cur_len > best_len)
				best = cur, best_len = cur_len;
			cur = -1;
		}
	}
	if (best_len < 2)
		best = -1;
	for (i = 0; i < 8; i++) {
		if (best >= 0 && i >= best && i < best + best_len) {
			if (i == best)
				*p++ = ':';
			continue;
		}
		if (i)
			*p++ = ':';
		if (i == 6 && best == 0 &&
		    (best_len == 6 || (best_len == 5 && w[5] == 0xffff))) {
			p = put_dec(p, b[12]);
			*p++ = '.';
			p = put_dec(p, b[13]);
			*p++ = '.';
			p = put_dec(p, b[14]);
			*p++ = '.';
			p = put_dec(p, b[15]);
			break;
		}
		for (shift = 12; shift > 0 && !(w[i] >> shift); shift -= 4)
			;
		for (; shift >= 0; shift -= 4)
			*p++ = hex[w[i] >> shift & 0xf];
	}
	if (best >= 0 && best + best_len == 8)
		*p++ = ':';
	*p = '\0';
	return buf;
}

static int prefix_fail(const char **why, const char *msg)
{
	if (why)
		*why = msg;
	return -EINVAL;
}

int guise_prefix_parse(const char *s, struct guise_prefix *p, const char **why)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	const char *d;
	unsigned int len = 0;

	if (!slash)
		return prefix_fail(why, "missing \"/LENGTH\"");
	if ((size_t)(slash - s) >= sizeof(host))
		return prefix_fail(why, "not an IPv6 address");
	memcpy(host, s, slash - s);
	host[slash - s] = '\0';
	if (guise_addr_parse(host, &p->addr))
		return prefix_fail(why, "not an IPv6 address");

	/* Digits only: strtoul would take signs and blanks. */
	if (!slash[1])
		return prefix_fail(why, "missing length after '/'");
	for (d = slash + 1; *d; d++) {
		if (*d < '0' || *d > '9')
			return prefix_fail(why, "length is not a number");
		len = len * 10 + (*d - '0');
		if (len > 128)
			return prefix_fail(why, "length over 128");
	}
	p->len = len;
	guise_prefix_mask(p);
	return 0;
}

void guise_prefix_mask(struct guise_prefix *p)
{
	unsigned int i;

	for (i = 0; i < 16; i++) {
		unsigned int bit = i * 8;

		if (bit >= p->len)
			p->addr.s6_addr[i] = 0;
		else if (p->len - bit < 8)
			p->addr.s6_addr[i] &= 0xff << (8 - (p->len - bit));
	}
}

char *guise_prefix_format(const struct guise_prefix *p, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];

	guise_addr_format(&p->addr, host);
	snprintf(buf, size, "%s/%u", host, p->len);
	return buf;
}
