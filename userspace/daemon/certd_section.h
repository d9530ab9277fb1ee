/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The [certd] section that guise-leased and guise-keyd read the same way:
 * where certd is (its revocation event stream and /v1/validate), the TLS
 * files to reach it with, and the per-request certificate checks
 * (certcheck.h). Documented in guise-leased.conf(5) and guise-keyd.conf(5).
 */
#ifndef GUISE_DAEMON_CERTD_SECTION_H
#define GUISE_DAEMON_CERTD_SECTION_H

#include <stdbool.h>
#include <stdint.h>

struct certd_section {
	char *url; /* NULL: no certd, nothing below is used */
	char *cert, *key, *ca; /* NULL: the daemon's [server] files */
	bool check; /* ask certd about each request's client certificate */
	bool allow_on_error; /* on_error = allow */
	uint32_t cache_size, cache_ttl, timeout; /* entries, seconds */
};

/* The defaults: no url, check on, on_error deny, certcheck.h's sizes. */
void certd_section_init(struct certd_section *c);
void certd_section_free(struct certd_section *c);

/* One [certd] setting: 0, -ENOENT (unknown), -EINVAL or -ENOMEM. */
int certd_section_set(struct certd_section *c, const char *name,
		      const char *value);

/* Do @a and @b differ in anything? */
bool certd_section_differ(const struct certd_section *a,
			  const struct certd_section *b);

/* Exchange the two (a reload keeping the running section). */
void certd_section_swap(struct certd_section *a, struct certd_section *b);

/*
 * With a url and TLS files of its own: can they be loaded (with the
 * daemon's @cert, @key and @ca standing in for those not set)? 0, or -1
 * logged.
 */
int certd_section_check_tls(const struct certd_section *c, const char *cert,
			    const char *key, const char *ca);

#endif
