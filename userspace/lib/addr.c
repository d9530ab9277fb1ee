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

	if (!inet_ntop(AF_INET6, &p->addr, host, sizeof(host)))
		host[0] = '\0';
	snprintf(buf, size, "%s/%u", host, p->len);
	return buf;
}
