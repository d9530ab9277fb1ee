// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <ini.h>

#include "conf.h"
#include "confval.h"
#include "http.h"
#include "lease.h"
#include "log.h"

struct conf_parse {
	struct keyd_conf *c;
	const char *path;
	int line_err;
};

/* Multicast groups separated by commas and/or blanks. */
static int parse_groups(struct keyd_conf *c, const char *value)
{
	char buf[1024], *tok, *save = NULL;

	if ((size_t)snprintf(buf, sizeof(buf), "%s", value) >= sizeof(buf))
		return -EINVAL;
	for (tok = strtok_r(buf, ", \t", &save); tok;
	     tok = strtok_r(NULL, ", \t", &save)) {
		if (c->ngroups == KEYD_MAX_GROUPS)
			return -E2BIG;
		if (inet_pton(AF_INET6, tok, &c->groups[c->ngroups]) != 1 ||
		    !IN6_IS_ADDR_MULTICAST(&c->groups[c->ngroups]))
			return -EINVAL;
		c->ngroups++;
	}
	return 0;
}

static int conf_keyd(struct keyd_conf *c, const char *name, const char *value)
{
	if (strcmp(name, "role"))
		return -ENOENT;
	if (!strcmp(value, "server"))
		c->role = KEYD_SERVER;
	else if (!strcmp(value, "client"))
		c->role = KEYD_CLIENT;
	else
		return -EINVAL;
	return 0;
}

static int conf_server(struct keyd_conf *c, const char *name, const char *value)
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
	if (!strcmp(name, "secret_file"))
		return conf_set_path(&c->secret_file, value);
	return http_limits_set(&c->limits, name, value);
}

static int conf_roles(struct keyd_conf *c, const char *name, const char *value)
{
	if (!strcmp(name, "file"))
		return conf_set_path(&c->roles_file, value);
	if (!strcmp(name, "default"))
		return roles_parse(value, &c->default_roles, NULL);
	return -ENOENT;
}

static int conf_control(struct keyd_conf *c, const char *name,
			const char *value)
{
	uint32_t v;
	int err;

	if (!strcmp(name, "port")) {
		err = conf_parse_u32(value, 1, 65535, &v);
		if (!err)
			c->port = (uint16_t)v;
		return err;
	}
	if (!strcmp(name, "max_kbps"))
		return conf_parse_u32(value, 1, 10000000, &c->max_kbps);
	if (!strcmp(name, "share_percent"))
		return conf_parse_u32(value, 1, 100, &c->share_percent);
	if (!strcmp(name, "refresh"))
		return conf_parse_duration(value, false, &c->refresh);
	if (!strcmp(name, "demm_lifetime"))
		return conf_parse_duration(value, false, &c->demm_lifetime);
	if (!strcmp(name, "switch_delay"))
		return conf_parse_duration(value, false, &c->switch_delay);
	if (!strcmp(name, "hops"))
		return conf_parse_u32(value, 1, 255, &c->hops);
	if (!strcmp(name, "interface"))
		return conf_set_string(&c->interface, value);
	if (!strcmp(name, "unicast")) {
		if (inet_pton(AF_INET6, value, &c->unicast) != 1 ||
		    IN6_IS_ADDR_MULTICAST(&c->unicast))
			return -EINVAL;
		c->have_unicast = true;
		return 0;
	}
	return -ENOENT;
}

static int conf_kernel(struct keyd_conf *c, const char *name, const char *value)
{
	if (!strcmp(name, "netns"))
		return conf_set_string(&c->netns, value);
	if (!strcmp(name, "sync"))
		return conf_parse_bool(value, &c->sync);
	return -ENOENT;
}

static int conf_client(struct keyd_conf *c, const char *name, const char *value)
{
	if (!strcmp(name, "key_file"))
		return conf_set_path(&c->key_file, value);
	if (!strcmp(name, "pass_file"))
		return conf_set_path(&c->pass_file, value);
	if (!strcmp(name, "state"))
		return conf_set_path(&c->state, value);
	if (!strcmp(name, "socket"))
		return conf_set_path(&c->socket, value);
	if (!strcmp(name, "groups"))
		return parse_groups(c, value);
	return -ENOENT;
}

static int conf_handler(void *user, const char *section, const char *name,
			const char *value)
{
	struct conf_parse *p = user;
	int err;

	if (!strcmp(section, "keyd"))
		err = conf_keyd(p->c, name, value);
	else if (!strcmp(section, "server"))
		err = conf_server(p->c, name, value);
	else if (!strcmp(section, "roles"))
		err = conf_roles(p->c, name, value);
	else if (!strcmp(section, "control"))
		err = conf_control(p->c, name, value);
	else if (!strcmp(section, "kernel"))
		err = conf_kernel(p->c, name, value);
	else if (!strcmp(section, "client"))
		err = conf_client(p->c, name, value);
	else if (!strcmp(section, "certd"))
		err = certd_section_set(&p->c->certd, name, value);
	else
		err = -ENOENT;
	if (err == -E2BIG) {
		guise_err("%s: [client] groups: at most %d groups", p->path,
			  KEYD_MAX_GROUPS);
		p->line_err = 1;
		return 0;
	}
	return conf_verdict(p->path, section, name, value, err, &p->line_err);
}

static int conf_check(struct keyd_conf *c, const char *path)
{
	if (!c->role) {
		guise_err("%s: [keyd] role (server or client) is required",
			  path);
		return -1;
	}
	if (c->role == KEYD_SERVER &&
	    (!c->listen_len || !c->cert || !c->key || !c->ca || !c->db)) {
		guise_err("%s: [server] listen, cert, key, ca and db are "
			  "required",
			  path);
		return -1;
	}
	if (c->role == KEYD_CLIENT && (!c->key_file || !c->state)) {
		guise_err("%s: [client] key_file and state are required", path);
		return -1;
	}
	if (c->demm_lifetime <= c->refresh) {
		guise_err("%s: [control] demm_lifetime must exceed refresh",
			  path);
		return -1;
	}
	return 0;
}

int keyd_conf_load(const char *path, struct keyd_conf *c)
{
	struct conf_parse p = { .c = c, .path = path };

	memset(c, 0, sizeof(*c));
	c->default_roles = ROLE_SUBSCRIBER;
	c->port = 4999;
	c->max_kbps = 100;
	c->share_percent = 5;
	c->refresh = 10;
	c->demm_lifetime = 35;
	c->switch_delay = 2;
	c->hops = 8;
	c->sync = true;
	http_limits_init(&c->limits);
	certd_section_init(&c->certd);
	if (conf_parse_file(path, conf_handler, &p, &p.line_err))
		return -1;
	return conf_check(c, path);
}

void keyd_conf_free(struct keyd_conf *c)
{
	free(c->cert);
	free(c->key);
	free(c->ca);
	free(c->db);
	free(c->secret_file);
	free(c->roles_file);
	free(c->interface);
	free(c->netns);
	free(c->key_file);
	free(c->pass_file);
	free(c->state);
	free(c->socket);
	certd_section_free(&c->certd);
	memset(c, 0, sizeof(*c));
}
