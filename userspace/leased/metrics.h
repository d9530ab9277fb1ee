/* SPDX-License-Identifier: GPL-2.0 */
/* /v1/metrics: the daemon's counters in the Prometheus text format. */
#ifndef LEASED_METRICS_H
#define LEASED_METRICS_H

#include <event2/buffer.h>

#include "leased.h"

/* Append every metric to @buf. 0, or -1 (store or buffer failure). */
int metrics_format(struct leased *d, struct evbuffer *buf);

#endif
