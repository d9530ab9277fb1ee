/* SPDX-License-Identifier: GPL-2.0 */
/* The guise CLI: objects, their commands, exit codes, shared helpers. */
#ifndef GUISE_CLI_H
#define GUISE_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

struct guise_nl;
struct nlmsghdr;

enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_KERNEL = 1, /* the kernel refused, or another failure */
	CLI_EXIT_USAGE = 2,
	CLI_EXIT_NO_MODULE = 3,
	CLI_EXIT_PERM = 4,
	CLI_EXIT_NETNS = 5,
};

struct cli_ctx {
	bool json;
	bool pretty;
	const char *netns; /* NULL: the current network namespace */
};

struct cli_cmd {
	const char *name;
	const char *args; /* synopsis after "guise OBJECT COMMAND" */
	const char *summary;
	const char *help; /* details for --help, or NULL */
	/* argv[0] is the command name; returns an enum cli_exit. */
	int (*run)(const struct cli_ctx *ctx, int argc, char **argv);
};

struct cli_object {
	const char *name;
	const char *summary;
	const struct cli_cmd *cmds; /* ends with an entry without a name */
	const char *default_cmd; /* run for "guise OBJECT", or NULL */
};

/* One per file cmd_OBJECT.c; objects.c lists them. */
extern const struct cli_object cli_object_config;
extern const struct cli_object cli_object_stats;
extern const struct cli_object cli_object_lease;
extern const struct cli_object cli_object_key;
extern const struct cli_object cli_object_monitor;
extern const struct cli_object cli_object_audit;
/* guise-keyd: objects, and verbs (one command named as the object). */
extern const struct cli_object cli_object_client;
extern const struct cli_object cli_object_channel;
extern const struct cli_object cli_object_content;
extern const struct cli_object cli_object_entitle;
extern const struct cli_object cli_object_revoke;
extern const struct cli_object cli_object_enroll;
extern const struct cli_object cli_object_status;

/* Every object, NULL-terminated (objects.c); the one named @name, or NULL. */
extern const struct cli_object *const cli_objects[];
const struct cli_object *cli_object_find(const char *name);

/* argv[0] is the object name. Returns an enum cli_exit. */
int cli_object_run(const struct cli_object *obj, const struct cli_ctx *ctx,
		   int argc, char **argv);
void cli_object_usage(const struct cli_object *obj, FILE *fp);
/* The synopsis, summary and help of one command. */
void cli_cmd_usage(const struct cli_object *obj, const struct cli_cmd *cmd,
		   FILE *fp);

/* Print "guise: OP: MESSAGE" and a pointer to --help; returns 2. */
int cli_usage_error(const char *op, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Enter ctx->netns if set and open the family; returns an enum cli_exit
 * after printing why on failure. */
int cli_connect(const struct cli_ctx *ctx, struct guise_nl **nlp);

/*
 * Send the GET request @cmd (no attributes) and decode the one reply with
 * @parse into @obj. Returns an enum cli_exit after printing why on failure.
 */
typedef int (*cli_parse_fn)(const struct nlmsghdr *nlh, void *obj);
int cli_get(const struct cli_ctx *ctx, const char *op, int cmd,
	    cli_parse_fn parse, void *obj);

/* Report a failed request @op (negative errno @err) with the kernel's
 * extended ack; returns the matching enum cli_exit. */
int cli_request_error(const struct guise_nl *nl, const char *op, int err);
/* The same for a negative errno @err and extended-ack message @extack. */
int cli_report_error(const char *op, int err, const char *extack);

/* Report a dump that was interrupted each of the GUISE_NL_DUMP_TRIES
 * times (guise_nl_dump() returned -EINTR). */
void cli_dump_interrupted(const char *op);

/* Report output that could not be written; returns CLI_EXIT_KERNEL. */
int cli_output_error(const char *op, int err);

/* Flush standard output: CLI_EXIT_OK, or cli_output_error() if anything
 * printed could not be written. */
int cli_flush_output(const char *op);

/* Print @doc (released here; NULL from a failed json_pack() is an error)
 * as one JSON document on standard output, as cli_flush_output(). */
int cli_print_json(const struct cli_ctx *ctx, const char *op, json_t *doc);

#endif
