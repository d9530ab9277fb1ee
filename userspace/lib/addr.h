/* SPDX-License-Identifier: GPL-2.0 */
/* IPv6 addresses and prefixes ("addr/len") as text. */
#ifndef GUISE_ADDR_H
#define GUISE_ADDR_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

/* Longest "addr/len": an address, '/', three digits, NUL. */
#define GUISE_PREFIX_STRLEN (INET6_ADDRSTRLEN + 4)

struct guise_prefix {
	struct in6_addr addr; /* host bits are zero */
	uint8_t len;
};

/*
 * Parse "addr/len" with len 0..128; host bits are accepted and cleared.
 * Returns 0, or -EINVAL with *why (if non-NULL) saying what is wrong.
 */
int guise_prefix_parse(const char *s, struct guise_prefix *p, const char **why);

/* Clear the bits of p->addr beyond p->len. */
void guise_prefix_mask(struct guise_prefix *p);

/* Format into buf (GUISE_PREFIX_STRLEN bytes suffice); returns buf. */
char *guise_prefix_format(const struct guise_prefix *p, char *buf, size_t size);

/*
 * Format @a into @buf (INET6_ADDRSTRLEN bytes) exactly as glibc's
 * inet_ntop(AF_INET6) does (RFC 5952 text, "::ffff:a.b.c.d" for IPv4
 * mapped addresses); returns buf. Addresses are store keys: the text must
 * not change. About 20 times cheaper than inet_ntop, which formats each
 * group with sprintf (an eighth of guise-leased's CPU per request).
 */
char *guise_addr_format(const struct in6_addr *a, char *buf);

/* Parse a plain IPv6 address; 0 or -EINVAL. */
int guise_addr_parse(const char *s, struct in6_addr *addr);

#endif
