// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <ini.h>

#include "conf.h"
#include "confval.h"
#include "holders.h"
#include "http.h"
#include "log.h"

struct conf_parse {
	struct certd_conf *c;
	const char *path;
	int line_err;
};

static int list_add(struct conf_list *l, const char *value)
{
	char **v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	l->v = v;
	l->v[l->n] = strdup(value);
	if (!l->v[l->n])
		return -ENOMEM;
	l->n++;
	return 0;
}

static void list_free(struct conf_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static int is_url(const char *v)
{
	return !strncmp(v, "https://", 8) || !strncmp(v, "http://", 7);
}

/* A file (or URL): a relative path kept against the start directory, for
 * the reloads of the detached daemon (confval.h). */
static int list_add_path(struct conf_list *l, const char *value)
{
	char *p;
	int err;

	if (is_url(value))
		return list_add(l, value);
	p = conf_path(value);
	if (!p)
		return -ENOMEM;
	err = list_add(l, p);
	free(p);
	return err;
}

static int conf_server(struct certd_conf *c, const char *name,
		       const char *value)
{
	uint32_t v;

	if (!strcmp(name, "listen"))
		return http_parse_listen(value, &c->listen, &c->listen_len);
	if (!strcmp(name, "ocsp_listen"))
		return http_parse_listen(value, &c->ocsp_listen,
					 &c->ocsp_listen_len);
	if (!strcmp(name, "cert"))
		return conf_set_path(&c->cert, value);
	if (!strcmp(name, "key"))
		return conf_set_path(&c->key, value);
	if (!strcmp(name, "ca"))
		return conf_set_path(&c->ca, value);
	if (!strcmp(name, "max_body")) {
		if (conf_parse_u32(value, 4096, 256u << 20, &v))
			return -EINVAL;
		c->max_body = v;
		return 0;
	}
	return http_limits_set(&c->limits, name, value);
}

static int conf_client(struct certd_conf *c, const char *name,
		       const char *value)
{
	if (!strcmp(name, "cert"))
		return conf_set_path(&c->client_cert, value);
	if (!strcmp(name, "key"))
		return conf_set_path(&c->client_key, value);
	if (!strcmp(name, "ca"))
		return conf_set_path(&c->client_ca, value);
	return -ENOENT;
}

static int conf_trust(struct certd_conf *c, const char *name, const char *value)
{
	if (!strcmp(name, "anchors"))
		return list_add_path(&c->anchors, value);
	if (!strcmp(name, "intermediates"))
		return list_add_path(&c->intermediates, value);
	if (!strcmp(name, "crl"))
		return list_add_path(&c->crls, value);
	if (!strcmp(name, "notifier"))
		return list_add_path(&c->notifiers, value);
	if (!strcmp(name, "stale")) {
		if (!strcmp(value, "unknown"))
			c->stale_unknown = true;
		else if (!strcmp(value, "use"))
			c->stale_unknown = false;
		else
			return -EINVAL;
		return 0;
	}
	return -ENOENT;
}

static int conf_network(struct certd_conf *c, const char *name,
			const char *value)
{
	uint32_t v;

	if (!strcmp(name, "forward") || !strcmp(name, "peer")) {
		if (!is_url(value))
			return -EINVAL;
		return list_add(!strcmp(name, "peer") ? &c->peers : &c->forward,
				value);
	}
	if (!strcmp(name, "fetch_timeout")) {
		if (conf_parse_u32(value, 1, 300, &v))
			return -EINVAL;
		c->fetch_timeout = v;
		return 0;
	}
	if (!strcmp(name, "keepalive")) {
		if (conf_parse_u32(value, 0, 3600, &v))
			return -EINVAL;
		c->keepalive = v;
		return 0;
	}
	if (!strcmp(name, "prewarm"))
		return conf_parse_bool(value, &c->prewarm);
	if (!strcmp(name, "notify_rate")) {
		if (conf_parse_u32(value, 1, 1000000, &v))
			return -EINVAL;
		c->notify_rate = v;
		return 0;
	}
	if (!strcmp(name, "subscribe_limit")) {
		if (conf_parse_u32(value, 1, 1024, &v))
			return -EINVAL;
		c->subscribe_limit = v;
		return 0;
	}
	/* Repeatable; each a list of prefixes (spaces or commas). */
	if (!strcmp(name, "subscribe_allow"))
		return urlpolicy_add_list(&c->subscribe_allow, value);
	if (!strcmp(name, "acquire_allow"))
		return urlpolicy_add_list(&c->acquire_allow, value);
	return -ENOENT;
}

static int conf_handler(void *user, const char *section, const char *name,
			const char *value)
{
	struct conf_parse *p = user;
	int err;

	if (!strcmp(section, "server"))
		err = conf_server(p->c, name, value);
	else if (!strcmp(section, "client"))
		err = conf_client(p->c, name, value);
	else if (!strcmp(section, "trust"))
		err = conf_trust(p->c, name, value);
	else if (!strcmp(section, "network"))
		err = conf_network(p->c, name, value);
	else if (!strcmp(section, "ocsp") && !strcmp(name, "signer"))
		err = strchr(value, ' ') ?
			      list_add(&p->c->ocsp_signers, value) :
			      -EINVAL;
	else
		err = -ENOENT;
	return conf_verdict(p->path, section, name, value, err, &p->line_err);
}

static int conf_check(struct certd_conf *c, const char *path)
{
	static const char *const need[] = { "listen", "cert", "key", "ca" };
	const void *have[] = { c->listen_len ? c : NULL, c->cert, c->key,
			       c->ca };
	size_t i;

	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (!have[i]) {
			guise_err("%s: [server] %s is required", path, need[i]);
			return -1;
		}
	}
	if (!c->anchors.n) {
		guise_err("%s: [trust] anchors is required", path);
		return -1;
	}
	if ((!c->client_cert && (conf_set_string(&c->client_cert, c->cert))) ||
	    (!c->client_key && (conf_set_string(&c->client_key, c->key))) ||
	    (!c->client_ca && (conf_set_string(&c->client_ca, c->ca)))) {
		guise_err("%s: out of memory", path);
		return -1;
	}
	return 0;
}

int certd_conf_load(const char *path, struct certd_conf *c)
{
	struct conf_parse p = { .c = c, .path = path };

	memset(c, 0, sizeof(*c));
	c->stale_unknown = true;
	c->fetch_timeout = 5;
	c->keepalive = CERTD_KEEPALIVE;
	c->prewarm = true;
	c->notify_rate = 100;
	c->subscribe_limit = HOLDERS_PER_CLIENT;
	c->max_body = 16u << 20;
	http_limits_init(&c->limits);
	if (conf_parse_file(path, conf_handler, &p, &p.line_err))
		return -1;
	return conf_check(c, path);
}

void certd_conf_free(struct certd_conf *c)
{
	free(c->cert);
	free(c->key);
	free(c->ca);
	free(c->client_cert);
	free(c->client_key);
	free(c->client_ca);
	list_free(&c->anchors);
	list_free(&c->intermediates);
	list_free(&c->crls);
	list_free(&c->notifiers);
	list_free(&c->ocsp_signers);
	list_free(&c->forward);
	list_free(&c->peers);
	urlpolicy_free(&c->subscribe_allow);
	urlpolicy_free(&c->acquire_allow);
	memset(c, 0, sizeof(*c));
}
