// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cmdline.h"
#include "confval.h"

/* --config made absolute (kept for the process's life). */
static char *config_abs;

/* The option column is 24 wide; descriptions wrap under it. */
static void usage(const struct daemon_usage *u, FILE *fp)
{
	fprintf(fp,
		"Usage: %s [OPTIONS]\n"
		"%s"
		"\n"
		"  -c, --config FILE     configuration (default %s)\n"
		"  -f, --foreground      do not detach; log to stderr (use\n"
		"                        this under systemd: Type=notify)\n"
		"  -t, --check-config    load %s,\n"
		"                        report, exit (0: usable)\n"
		"  -p, --port-file FILE  once serving, write %s there,\n"
		"                        one a line (useful with port 0)\n"
		"  -v, --verbose         more log messages (repeat for debug)\n"
		"  -h, --help            this help\n"
		"  -V, --version         print the version\n"
		"\n"
		"See %s(8) and %s.\n",
		u->name, u->summary, u->default_config, u->checks, u->port,
		u->name, u->doc);
}

int daemon_parse_opts(const struct daemon_usage *u, int argc, char **argv,
		      struct daemon_opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "check-config", no_argument, NULL, 't' },
		{ "port-file", required_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char *cwd;
	int c;

	o->config = u->default_config;
	o->verbosity = GUISE_LOG_WARN;
	while ((c = getopt_long(argc, argv, "c:ftp:vhV", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 't':
			o->check_config = true;
			break;
		case 'p':
			o->port_file = optarg;
			break;
		case 'v':
			if (o->verbosity < GUISE_LOG_DEBUG)
				o->verbosity++;
			break;
		case 'h':
			usage(u, stdout);
			exit(0);
		case 'V':
			printf("%s %s\n", u->name, GUISE_VERSION);
			exit(0);
		default:
			usage(u, stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument \"%s\"\n", u->name,
			argv[optind]);
		return -1;
	}
	/* A detached daemon serves from /, and a reload reads the files
	 * again: --config and the relative paths in it are kept against
	 * the directory of the start (confval.h). */
	cwd = getcwd(NULL, 0);
	if (!cwd) {
		fprintf(stderr, "%s: working directory: %s\n", u->name,
			strerror(errno));
		return -1;
	}
	conf_set_start_dir(cwd);
	free(cwd);
	free(config_abs);
	config_abs = conf_path(o->config);
	if (!config_abs) {
		fprintf(stderr, "%s: out of memory\n", u->name);
		return -1;
	}
	o->config = config_abs;
	return 0;
}

/*
 * The file is written under a name of its own (mkstemp(): created, never
 * an existing file or a symbolic link someone left at a fixed
 * "PATH.tmp" in a shared directory, which a daemon running as root
 * would have written through), then renamed over @path.
 */
int daemon_write_port_file(const char *path, const unsigned int *ports,
			   size_t n)
{
	char tmp[4096];
	FILE *fp;
	size_t i;
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
	    sizeof(tmp))
		return -1;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -1;
	fp = fchmod(fd, 0644) ? NULL : fdopen(fd, "w");
	if (!fp) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	for (i = 0; i < n; i++)
		fprintf(fp, "%u\n", ports[i]);
	if (fclose(fp) || rename(tmp, path)) {
		unlink(tmp);
		return -1;
	}
	return 0;
}
