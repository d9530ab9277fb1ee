/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The command line every guise daemon shares (-c -f -t -p -v -h -V) and
 * the port file it writes once serving.
 */
#ifndef GUISE_DAEMON_CMDLINE_H
#define GUISE_DAEMON_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"

struct daemon_opts {
	const char *config;
	const char *port_file;
	bool foreground;
	bool check_config;
	enum guise_log_level verbosity;
};

/* What differs between the daemons' --help texts. */
struct daemon_usage {
	const char *name; /* "guise-keyd" */
	const char *summary; /* one or more lines, each ending in '\n' */
	const char *default_config;
	const char *
		checks; /* what --check-config loads: "the configuration, ..." */
	const char *port; /* what --port-file gets: "the bound API port" */
	const char *doc; /* "Documentation/keying.rst" */
};

/*
 * Parse @argv into @o. --help and --version print and exit(0); 0, or -1
 * after a usage message on stderr (exit with 2).
 */
int daemon_parse_opts(const struct daemon_usage *u, int argc, char **argv,
		      struct daemon_opts *o);

/*
 * Write @n ports, one a line, to @path through a rename, so a reader
 * never sees half of it. 0 or -1 (errno set).
 */
int daemon_write_port_file(const char *path, const unsigned int *ports,
			   size_t n);

#endif
