/* SPDX-License-Identifier: GPL-2.0 */
/* guise-leased's configuration file (INI, parsed with inih). */
#ifndef LEASED_CONF_H
#define LEASED_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"
#include "certd_section.h"
#include "http.h"
#include "pool.h"
#include "roles.h"

struct leased_conf {
	/* [server] */
	struct sockaddr_storage listen;
	int listen_len;
	char *cert, *key, *ca, *db;
	char *socket; /* local UNIX socket for root administration, or NULL */
	struct http_limits limits; /* max_connections[_per_client] */
	/* [roles] */
	char *roles_file; /* NULL: roles from certificates only */
	role_set default_roles; /* every certificate holder (subscriber) */
	/* [pool] */
	struct guise_prefix prefix[LEASED_MAX_POOLS];
	unsigned int npools;
	uint32_t default_lifetime, max_lifetime; /* seconds */
	uint32_t max_per_client;
	uint32_t quarantine; /* seconds an ended address is not reused */
	uint32_t rent_rate, rent_burst; /* per client: rents/s, bucket size */
	uint32_t audit_rate, audit_burst; /* per caller: audited calls */
	/* [history] */
	uint32_t retention; /* seconds ended leases are kept */
	/* [store] */
	uint32_t batch_max; /* writes per group commit (1: one each) */
	uint32_t batch_wait_us; /* an idle loop waits this long for more */
	/* [kernel] */
	char *netns; /* NULL: the daemon's own namespace */
	bool sync;
	/* [gateway] */
	bool gateway;
	/* [certd] (certd_section.h) */
	struct certd_section certd;
};

/*
 * Read @path into @c (defaults first). Returns 0, or -1 after logging what
 * is wrong (file, line, key). leased_conf_free() is safe either way.
 */
int leased_conf_load(const char *path, struct leased_conf *c);
void leased_conf_free(struct leased_conf *c);

#endif
