/* SPDX-License-Identifier: GPL-2.0 */
/* Diagnostics on stderr, prefixed with the program name. */
#ifndef GUISE_LOG_H
#define GUISE_LOG_H

enum guise_log_level {
	GUISE_LOG_ERR,
	GUISE_LOG_WARN,
	GUISE_LOG_INFO,
	GUISE_LOG_DEBUG,
};

/* Messages above @max are dropped: GUISE_LOG_ERR is quiet, DEBUG verbose. */
void guise_log_init(const char *prog, enum guise_log_level max);

void guise_log(enum guise_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define guise_err(...) guise_log(GUISE_LOG_ERR, __VA_ARGS__)
#define guise_warn(...) guise_log(GUISE_LOG_WARN, __VA_ARGS__)
#define guise_info(...) guise_log(GUISE_LOG_INFO, __VA_ARGS__)
#define guise_debug(...) guise_log(GUISE_LOG_DEBUG, __VA_ARGS__)

#endif
