// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <ini.h>

#include "conf.h"
#include "confval.h"
#include "http.h"
#include "lease.h"
#include "log.h"

#define CONF_DEFAULT_LIFETIME 3600U
#define CONF_MAX_LIFETIME (24U * 3600)
#define CONF_MAX_PER_CLIENT 64U
#define CONF_QUARANTINE 3600U
#define CONF_RENT_RATE 10U
#define CONF_AUDIT_RATE 20U
#define CONF_AUDIT_BURST 100U
#define CONF_RENT_BURST 20U
#define CONF_RETENTION (30U * 24 * 3600)
/* Writes that may share one commit: bounds the wait of the first. */
#define CONF_BATCH_MAX 64U
#define CONF_BATCH_LIMIT 4096U
/* Under concurrency, wait this long for more writes (microseconds; off:
 * the fsync of one batch already gathers the next). */
#define CONF_BATCH_WAIT_US 0U
#define CONF_BATCH_WAIT_LIMIT 100000U

struct conf_parse {
	struct leased_conf *c;
	const char *path;
	int line_err; /* set by the handler: its own diagnosis was logged */
};

static int conf_server(struct leased_conf *c, const char *name,
		       const char *value)
{
	if (!strcmp(name, "listen"))
		return http_parse_listen(value, &c->listen, &c->listen_len);
	if (!strcmp(name, "cert"))
		return conf_set_path(&c->cert, value);
	if (!strcmp(name, "key"))
		return conf_set_path(&c->key, value);
	if (!strcmp(name, "ca"))
		return conf_set_path(&c->ca, value);
	if (!strcmp(name, "db"))
		return conf_set_path(&c->db, value);
	if (!strcmp(name, "socket"))
		return conf_set_path(&c->socket, value);
	return http_limits_set(&c->limits, name, value);
}

static int conf_roles(struct leased_conf *c, const char *name,
		      const char *value)
{
	if (!strcmp(name, "file"))
		return conf_set_path(&c->roles_file, value);
	if (!strcmp(name, "default"))
		return roles_parse(value, &c->default_roles, NULL) ? -EINVAL :
								     0;
	return -ENOENT;
}

static int conf_pool(struct leased_conf *c, const char *name, const char *value)
{
	if (!strcmp(name, "prefix")) {
		if (c->npools == LEASED_MAX_POOLS)
			return -E2BIG;
		if (guise_prefix_parse(value, &c->prefix[c->npools], NULL))
			return -EINVAL;
		c->npools++;
		return 0;
	}
	if (!strcmp(name, "quarantine"))
		return conf_parse_duration(value, true, &c->quarantine);
	if (!strcmp(name, "rent_rate"))
		return conf_parse_u32(value, 0, UINT32_MAX, &c->rent_rate);
	if (!strcmp(name, "rent_burst"))
		return conf_parse_u32(value, 0, UINT32_MAX, &c->rent_burst);
	if (!strcmp(name, "default_lifetime"))
		return conf_parse_duration(value, false, &c->default_lifetime);
	if (!strcmp(name, "max_lifetime"))
		return conf_parse_duration(value, false, &c->max_lifetime);
	if (!strcmp(name, "max_per_client"))
		return conf_parse_u32(value, 0, UINT32_MAX, &c->max_per_client);
	return -ENOENT;
}

static int conf_kernel(struct leased_conf *c, const char *name,
		       const char *value)
{
	if (!strcmp(name, "netns"))
		return conf_set_string(&c->netns, value);
	if (!strcmp(name, "sync"))
		return conf_parse_bool(value, &c->sync);
	return -ENOENT;
}

static int conf_handler(void *user, const char *section, const char *name,
			const char *value)
{
	struct conf_parse *p = user;
	int err;

	if (!strcmp(section, "server"))
		err = conf_server(p->c, name, value);
	else if (!strcmp(section, "pool"))
		err = conf_pool(p->c, name, value);
	else if (!strcmp(section, "kernel"))
		err = conf_kernel(p->c, name, value);
	else if (!strcmp(section, "roles"))
		err = conf_roles(p->c, name, value);
	else if (!strcmp(section, "audit") && !strcmp(name, "rate"))
		err = conf_parse_u32(value, 0, UINT32_MAX, &p->c->audit_rate);
	else if (!strcmp(section, "audit") && !strcmp(name, "burst"))
		err = conf_parse_u32(value, 0, UINT32_MAX, &p->c->audit_burst);
	else if (!strcmp(section, "history") && !strcmp(name, "retention"))
		err = conf_parse_duration(value, true, &p->c->retention);
	else if (!strcmp(section, "gateway") && !strcmp(name, "enabled"))
		err = conf_parse_bool(value, &p->c->gateway);
	else if (!strcmp(section, "certd"))
		err = certd_section_set(&p->c->certd, name, value);
	else if (!strcmp(section, "store") && !strcmp(name, "batch_max"))
		err = conf_parse_u32(value, 0, UINT32_MAX, &p->c->batch_max);
	else if (!strcmp(section, "store") && !strcmp(name, "batch_wait_us"))
		err = conf_parse_u32(value, 0, UINT32_MAX,
				     &p->c->batch_wait_us);
	else
		err = -ENOENT;

	if (err == -E2BIG) {
		guise_err("%s: [pool] prefix: at most %d prefixes", p->path,
			  LEASED_MAX_POOLS);
		p->line_err = 1;
		return 0;
	}
	return conf_verdict(p->path, section, name, value, err, &p->line_err);
}

/* One prefix contains the other (or both are equal). */
static bool prefix_overlap(const struct guise_prefix *a,
			   const struct guise_prefix *b)
{
	uint8_t len = a->len < b->len ? a->len : b->len;
	struct guise_prefix x = { .addr = a->addr, .len = len };
	struct guise_prefix y = { .addr = b->addr, .len = len };

	guise_prefix_mask(&x);
	guise_prefix_mask(&y);
	return !memcmp(&x.addr, &y.addr, sizeof(x.addr));
}

/* Settings that only make sense together. */
static int conf_check(const struct leased_conf *c, const char *path)
{
	static const char *const need[] = { "listen", "cert", "key", "ca",
					    "db" };
	const void *have[] = { c->listen_len ? c : NULL, c->cert, c->key, c->ca,
			       c->db };
	size_t i, j;

	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (!have[i]) {
			guise_err("%s: [server] %s is required", path, need[i]);
			return -1;
		}
	}
	if (!c->npools) {
		guise_err("%s: [pool] prefix is required", path);
		return -1;
	}
	for (i = 0; i < c->npools; i++) {
		if (c->prefix[i].len < 1 || c->prefix[i].len > 126) {
			guise_err("%s: [pool] prefix: length must be 1..126",
				  path);
			return -1;
		}
		for (j = 0; j < i; j++) {
			if (prefix_overlap(&c->prefix[i], &c->prefix[j])) {
				guise_err("%s: [pool] prefixes overlap", path);
				return -1;
			}
		}
	}
	if (c->audit_rate && !c->audit_burst) {
		guise_err("%s: [audit] burst must be at least 1", path);
		return -1;
	}
	if (c->rent_rate && !c->rent_burst) {
		guise_err("%s: [pool] rent_burst must be at least 1", path);
		return -1;
	}
	if (!c->retention) {
		guise_err("%s: [history] retention must be at least 1s", path);
		return -1;
	}
	/* The quarantine is looked up in the history: purged sooner, an
	 * address would be handed out again inside it. */
	if (c->retention < c->quarantine) {
		guise_err("%s: [history] retention must be at least [pool] "
			  "quarantine (the quarantine is kept in the history)",
			  path);
		return -1;
	}
	if (!c->default_lifetime || !c->max_lifetime ||
	    c->max_lifetime > GUISE_MAX_LEASE_LIFETIME ||
	    c->default_lifetime > c->max_lifetime) {
		guise_err(
			"%s: [pool] lifetimes: need 0 < default_lifetime <= max_lifetime <= 366d",
			path);
		return -1;
	}
	if (!c->max_per_client) {
		guise_err("%s: [pool] max_per_client must be at least 1", path);
		return -1;
	}
	if (c->batch_max < 1 || c->batch_max > CONF_BATCH_LIMIT) {
		guise_err("%s: [store] batch_max must be 1..%u", path,
			  CONF_BATCH_LIMIT);
		return -1;
	}
	if (c->batch_wait_us > CONF_BATCH_WAIT_LIMIT) {
		guise_err("%s: [store] batch_wait_us must be 0..%u", path,
			  CONF_BATCH_WAIT_LIMIT);
		return -1;
	}
	if (c->gateway && !c->sync) {
		guise_err("%s: [gateway] enabled needs [kernel] sync = on",
			  path);
		return -1;
	}
	return 0;
}

int leased_conf_load(const char *path, struct leased_conf *c)
{
	struct conf_parse p = { .c = c, .path = path };

	memset(c, 0, sizeof(*c));
	c->default_lifetime = CONF_DEFAULT_LIFETIME;
	c->max_lifetime = CONF_MAX_LIFETIME;
	c->max_per_client = CONF_MAX_PER_CLIENT;
	c->quarantine = CONF_QUARANTINE;
	c->rent_rate = CONF_RENT_RATE;
	c->rent_burst = CONF_RENT_BURST;
	c->audit_rate = CONF_AUDIT_RATE;
	c->audit_burst = CONF_AUDIT_BURST;
	c->retention = CONF_RETENTION;
	c->batch_max = CONF_BATCH_MAX;
	c->batch_wait_us = CONF_BATCH_WAIT_US;
	c->default_roles = ROLE_SUBSCRIBER;
	c->sync = true;
	http_limits_init(&c->limits);
	certd_section_init(&c->certd);

	if (conf_parse_file(path, conf_handler, &p, &p.line_err))
		return -1;
	return conf_check(c, path);
}

void leased_conf_free(struct leased_conf *c)
{
	free(c->cert);
	free(c->key);
	free(c->ca);
	free(c->db);
	free(c->socket);
	free(c->roles_file);
	free(c->netns);
	certd_section_free(&c->certd);
	memset(c, 0, sizeof(*c));
}
