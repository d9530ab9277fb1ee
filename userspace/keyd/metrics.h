/* SPDX-License-Identifier: GPL-2.0 */
/*
 * GET /v1/metrics: guise-keyd's counters in the Prometheus text format,
 * the server role's (struct keyd_counters, the model's sizes, the API
 * replies by status code) or the client role's (client_status()).
 */
#ifndef KEYD_METRICS_H
#define KEYD_METRICS_H

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>

#include "keyd.h"

/* Append the server role's metrics to @buf. 0 or -1 (buffer failure). */
int metrics_server(struct keyd *d, struct evbuffer *buf);

/* Append the client role's metrics, read from its @status document
 * (client_status()), to @buf. 0 or -1. */
int metrics_client(json_t *status, struct evbuffer *buf);

/* Count one reply of the API by its status code, once it is sent. */
void metrics_count_reply(struct evhttp_request *req, struct keyd *d);

/* Reply 200 with @buf as Prometheus text (or 500 if it is NULL). */
void metrics_reply(struct evhttp_request *req, struct evbuffer *buf);

#endif
