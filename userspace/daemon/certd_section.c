// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "certcheck.h"
#include "certd_section.h"
#include "confval.h"
#include "log.h"
#include "tls.h"

#define CERTD_CACHE_MAX (1U << 20)

void certd_section_init(struct certd_section *c)
{
	memset(c, 0, sizeof(*c));
	c->check = true;
	c->cache_size = CERTCHECK_DEFAULT_CACHE;
	c->cache_ttl = CERTCHECK_DEFAULT_TTL;
	c->timeout = CERTCHECK_DEFAULT_TIMEOUT;
}

void certd_section_free(struct certd_section *c)
{
	free(c->url);
	free(c->cert);
	free(c->key);
	free(c->ca);
	memset(c, 0, sizeof(*c));
}

/* on_error: what certd's silence means for a request. */
static int parse_on_error(const char *value, bool *allow)
{
	if (!strcmp(value, "deny"))
		*allow = false;
	else if (!strcmp(value, "allow"))
		*allow = true;
	else
		return -EINVAL;
	return 0;
}

int certd_section_set(struct certd_section *c, const char *name,
		      const char *value)
{
	if (!strcmp(name, "url"))
		return conf_set_string(&c->url, value);
	if (!strcmp(name, "cert"))
		return conf_set_path(&c->cert, value);
	if (!strcmp(name, "key"))
		return conf_set_path(&c->key, value);
	if (!strcmp(name, "ca"))
		return conf_set_path(&c->ca, value);
	if (!strcmp(name, "check"))
		return conf_parse_bool(value, &c->check);
	if (!strcmp(name, "on_error"))
		return parse_on_error(value, &c->allow_on_error);
	if (!strcmp(name, "cache_size"))
		return conf_parse_u32(value, 0, CERTD_CACHE_MAX,
				      &c->cache_size);
	if (!strcmp(name, "cache_ttl")) /* 0: no cache */
		return conf_parse_duration(value, true, &c->cache_ttl);
	if (!strcmp(name, "timeout"))
		return conf_parse_duration(value, false, &c->timeout);
	return -ENOENT;
}

static bool str_differ(const char *a, const char *b)
{
	return (a || b) && (!a || !b || strcmp(a, b));
}

bool certd_section_differ(const struct certd_section *a,
			  const struct certd_section *b)
{
	return str_differ(a->url, b->url) || str_differ(a->cert, b->cert) ||
	       str_differ(a->key, b->key) || str_differ(a->ca, b->ca) ||
	       a->check != b->check || a->allow_on_error != b->allow_on_error ||
	       a->cache_size != b->cache_size || a->cache_ttl != b->cache_ttl ||
	       a->timeout != b->timeout;
}

void certd_section_swap(struct certd_section *a, struct certd_section *b)
{
	struct certd_section t = *a;

	*a = *b;
	*b = t;
}

int certd_section_check_tls(const struct certd_section *c, const char *cert,
			    const char *key, const char *ca)
{
	SSL_CTX *ctx;

	if (!c->url || (!c->cert && !c->key && !c->ca))
		return 0;
	ctx = tls_server_ctx(c->cert ? c->cert : cert, c->key ? c->key : key,
			     c->ca ? c->ca : ca);
	if (!ctx) {
		guise_err("[certd] cert, key or ca unusable");
		return -1;
	}
	SSL_CTX_free(ctx);
	return 0;
}
