/* SPDX-License-Identifier: GPL-2.0 */
/* guise-keyd's configuration file (INI, parsed with inih). */
#ifndef KEYD_CONF_H
#define KEYD_CONF_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "certd_section.h"
#include "http.h"
#include "roles.h"

#define KEYD_MAX_GROUPS 16

enum keyd_role { KEYD_SERVER = 1, KEYD_CLIENT };

struct keyd_conf {
	enum keyd_role role;
	/* [server] */
	struct sockaddr_storage listen;
	int listen_len;
	char *cert, *key, *ca, *db;
	char *secret_file; /* seals the store's keys; NULL: not sealed */
	char *roles_file; /* NULL: roles from certificates only */
	role_set default_roles; /* every certificate holder */
	struct http_limits limits; /* max_connections[_per_client] */
	/* [control] */
	uint16_t port; /* UDP port of DEMMs and announcements */
	uint32_t max_kbps, share_percent;
	uint32_t refresh, demm_lifetime, switch_delay; /* seconds */
	char *interface; /* multicast interface, NULL: the routing table's */
	unsigned int ifindex;
	uint32_t hops;
	struct in6_addr unicast; /* if set: every message goes there */
	bool have_unicast;
	/* [kernel] */
	char *netns;
	bool sync;
	/* [client] */
	char *key_file, *pass_file, *state, *socket;
	struct in6_addr groups[KEYD_MAX_GROUPS];
	unsigned int ngroups;
	/* [certd] (certd_section.h): the server role only */
	struct certd_section certd;
};

/* Read @path into @c (defaults first); 0 or -1 after logging why. */
int keyd_conf_load(const char *path, struct keyd_conf *c);
void keyd_conf_free(struct keyd_conf *c);

#endif
