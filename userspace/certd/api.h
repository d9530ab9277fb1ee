/* SPDX-License-Identifier: GPL-2.0 */
/* guise-certd's HTTP/JSON API over mutual TLS (Documentation/certd.rst). */
#ifndef CERTD_API_H
#define CERTD_API_H

#include <event2/buffer.h>
#include <event2/http.h>

#include "certd.h"

int api_register(struct evhttp *http, struct certd *d);
/* Shutdown, before the servers stop: the acquires under way finish and
 * are answered, no new one starts (503). */
void api_stop(struct certd *d);

/* Prometheus text of the counters and gauges. */
int metrics_format(struct certd *d, struct evbuffer *buf);

#endif
