/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The /v1/ endpoints: rent, return, renew, reveal, list, history, audit,
 * audit/verify, health, metrics. Every call is checked against the
 * authorisation matrix (api_rules in api.c, documented in leased.rst).
 */
#ifndef LEASED_API_H
#define LEASED_API_H

#include <event2/http.h>

#include "http.h"
#include "leased.h"

struct api {
	struct leased *d;
	const struct http_roles *policy; /* read per request (SIGHUP) */
};

/* Register every endpoint on @http (the TLS server and the UNIX socket
 * server alike). 0 or -1. */
int api_register(struct evhttp *http, struct api *api);

#endif
