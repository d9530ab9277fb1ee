// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static const char *log_prog = "guise";
static enum guise_log_level log_max = GUISE_LOG_WARN;

void guise_log_init(const char *prog, enum guise_log_level max)
{
	log_prog = prog;
	log_max = max;
}

void guise_log(enum guise_log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level > log_max)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One write per line, so concurrent writers do not interleave. */
	fprintf(stderr, "%s: %s\n", log_prog, msg);
}
