/* SPDX-License-Identifier: GPL-2.0 */
/* guise-keyd's HTTPS API (server role): administration and enrolment. */
#ifndef KEYD_API_H
#define KEYD_API_H

#include <event2/http.h>

#include "keyd.h"
#include "roles.h"

struct keyd_api {
	struct keyd *d;
	struct roles_file *roles; /* NULL: none configured */
};

int api_register(struct evhttp *http, struct keyd_api *api);

#endif
