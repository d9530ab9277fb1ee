/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading the daemons' INI files (inih): the value parsers every section
 * uses and the error reporting, so that all daemons accept and refuse
 * the same spellings with the same messages.
 */
#ifndef GUISE_DAEMON_CONFVAL_H
#define GUISE_DAEMON_CONFVAL_H

#include <stdbool.h>
#include <stdint.h>
#include <ini.h>

/* Replace *@dst by a copy of @value. 0 or -ENOMEM. */
int conf_set_string(char **dst, const char *value);

/*
 * Relative paths in a configuration (and --config itself) resolve against
 * the directory the daemon was started in, also at a reload after the
 * detached daemon went to /: daemon_parse_opts() records it here (the
 * working directory then), and conf_path() prefixes it.
 */
void conf_set_start_dir(const char *dir);
/* @value, made absolute against the start directory (if one is recorded
 * and @value is relative); malloc()ed, NULL if out of memory. */
char *conf_path(const char *value);
/* As conf_set_string(), with a path: conf_path(@value). */
int conf_set_path(char **dst, const char *value);
/* on/yes/true/1 or off/no/false/0. 0 or -EINVAL. */
int conf_parse_bool(const char *value, bool *out);
/* A decimal in [@min, @max]. 0 or -EINVAL. */
int conf_parse_u32(const char *value, uint32_t min, uint32_t max,
		   uint32_t *out);
/* A duration ("90", "15m", "12h", "30d"); "0" only if @zero_ok. */
int conf_parse_duration(const char *value, bool zero_ok, uint32_t *out);

/*
 * What an ini_handler returns for a setting its section parser answered
 * @err for: 1 if 0; otherwise logs "unknown setting" (-ENOENT), "out of
 * memory" (-ENOMEM) or "invalid value", sets *@line_err and returns 0.
 */
int conf_verdict(const char *path, const char *section, const char *name,
		 const char *value, int err, int *line_err);

/*
 * ini_parse(@path, @handler, @user); 0, or -1 with the reason logged
 * (cannot read, out of memory, the line of a syntax error, or the line
 * of an error @handler logged and flagged in *@line_err).
 */
int conf_parse_file(const char *path, ini_handler handler, void *user,
		    const int *line_err);

#endif
