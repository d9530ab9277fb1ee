// SPDX-License-Identifier: GPL-2.0
/*
 * guise: control the guise kernel module.
 *
 *   guise [OPTIONS] OBJECT COMMAND [ARGS]
 *
 * Each OBJECT lives in its own cmd_OBJECT.c and is listed in objects.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "log.h"

#ifndef GUISE_VERSION
#define GUISE_VERSION "unknown"
#endif

static void usage(FILE *fp)
{
	unsigned int i;

	fprintf(fp,
		"Usage: guise [OPTIONS] OBJECT COMMAND [ARGS]\n"
		"       guise help | guise OBJECT help | guise OBJECT COMMAND --help\n"
		"\n"
		"Options:\n"
		"  -j, --json          JSON output on stdout: one document\n"
		"                      (monitor: one object per line)\n"
		"  -p, --pretty        indent JSON output (with -j)\n"
		"  -n, --netns NETNS   act in network namespace NETNS\n"
		"                      (/run/netns/NETNS, like ip -n)\n"
		"  -v, --verbose       say more on standard error (e.g. dumps\n"
		"                      done again after a change to the table)\n"
		"  -h, --help          show this help\n"
		"  -V, --version       show the version\n"
		"\n"
		"Objects:\n");
	for (i = 0; cli_objects[i]; i++)
		fprintf(fp, "  %-19s %s\n", cli_objects[i]->name,
			cli_objects[i]->summary);
	fprintf(fp, "\n"
		    "Exit status:\n"
		    "  0  success\n"
		    "  1  the kernel refused the request (or another failure)\n"
		    "  2  usage error\n"
		    "  3  the guise module is not loaded\n"
		    "  4  permission denied (CAP_NET_ADMIN is required)\n"
		    "  5  network namespace not found or not enterable\n");
}

/* @opt is the short option character, or 0 to name @arg itself. */
static int bad_option(const char *problem, const char *arg, int opt)
{
	char name[3] = { '-', (char)opt, '\0' };

	guise_err("option \"%s\" %s; try \"guise help\"", opt ? name : arg,
		  problem);
	return CLI_EXIT_USAGE;
}

/* "guise help [OBJECT]" */
static int help(int argc, char **argv)
{
	const struct cli_object *obj;

	if (argc < 2) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	obj = cli_object_find(argv[1]);
	if (!obj) {
		guise_err("unknown object \"%s\"; try \"guise help\"", argv[1]);
		return CLI_EXIT_USAGE;
	}
	cli_object_usage(obj, stdout);
	return CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "netns", required_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_ctx ctx = { .json = false };
	const struct cli_object *obj;
	int c;

	guise_log_init("guise", GUISE_LOG_WARN);
	opterr = 0;
	/* '+': options end at the object, as with ip. */
	while ((c = getopt_long(argc, argv, "+:jpn:vhV", options, NULL)) !=
	       -1) {
		switch (c) {
		case 'j':
			ctx.json = true;
			break;
		case 'p':
			ctx.pretty = true;
			break;
		case 'n':
			ctx.netns = optarg;
			break;
		case 'v':
			guise_log_init("guise", GUISE_LOG_INFO);
			break;
		case 'h':
			usage(stdout);
			return CLI_EXIT_OK;
		case 'V':
			printf("guise %s\n", GUISE_VERSION);
			return CLI_EXIT_OK;
		case ':':
			return bad_option("needs a value", argv[optind - 1], 0);
		default:
			return bad_option("is unknown", argv[optind - 1],
					  optopt);
		}
	}
	if (optind == argc) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(argv[optind], "help"))
		return help(argc - optind, argv + optind);
	obj = cli_object_find(argv[optind]);
	if (!obj) {
		guise_err("unknown object \"%s\"; try \"guise help\"",
			  argv[optind]);
		return CLI_EXIT_USAGE;
	}
	/* A verb (guise entitle CLIENT CHANNEL) is its only command. */
	if (obj->cmds[0].name && !strcmp(obj->cmds[0].name, obj->name) &&
	    !obj->cmds[1].name) {
		if (argc - optind > 1 && (!strcmp(argv[optind + 1], "help") ||
					  !strcmp(argv[optind + 1], "--help") ||
					  !strcmp(argv[optind + 1], "-h"))) {
			cli_cmd_usage(obj, &obj->cmds[0], stdout);
			return CLI_EXIT_OK;
		}
		return obj->cmds[0].run(&ctx, argc - optind, argv + optind);
	}
	return cli_object_run(obj, &ctx, argc - optind, argv + optind);
}
