/* SPDX-License-Identifier: GPL-2.0 */
/* The /v1/ endpoints: rent, return, renew, reveal, health, metrics. */
#ifndef LEASED_API_H
#define LEASED_API_H

#include <event2/http.h>

#include "leased.h"

/* Register every endpoint on @http. 0 or -1. */
int api_register(struct evhttp *http, struct leased *d);

#endif
