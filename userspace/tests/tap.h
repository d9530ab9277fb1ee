/* SPDX-License-Identifier: GPL-2.0 */
/* Minimal TAP 13 producer: the plan is printed at the end. */
#ifndef GUISE_TAP_H
#define GUISE_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static unsigned int tap_count, tap_failures;

static inline void tap_start(void)
{
	printf("TAP version 13\n");
}

static inline bool tap_ok(bool cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline bool tap_ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	if (!cond)
		tap_failures++;
	printf("%sok %u - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	return cond;
}

#define tap_diag(fmt, ...) printf("# " fmt "\n", ##__VA_ARGS__)

/* Print the plan; returns the exit status for main(). */
static inline int tap_done(void)
{
	printf("1..%u\n", tap_count);
	fflush(stdout);
	return tap_failures ? 1 : 0;
}

#endif
