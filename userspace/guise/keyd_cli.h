/* SPDX-License-Identifier: GPL-2.0 */
/* What the guise-keyd verbs share: options, one API call, the output. */
#ifndef GUISE_KEYD_CLI_H
#define GUISE_KEYD_CLI_H

#include <jansson.h>

#include "cli.h"
#include "http_client.h"

/* guise-keyd's local socket when no --server is given. */
#define KEYD_DEFAULT_SOCKET "/run/guise/keyd.sock"

#define KEYD_CLI_OPTIONS_HELP                                             \
	"  --server URL     guise-keyd's HTTPS API (mutual TLS)\n"        \
	"  --cert FILE      client certificate (PEM) for --server\n"      \
	"  --key FILE       its private key (default: the --cert file)\n" \
	"  --ca FILE        CA that signed the server's certificate\n"    \
	"  --socket PATH    the local socket instead (root: admin;\n"     \
	"                   default " KEYD_DEFAULT_SOCKET ")\n"

/*
 * Take the target options out of @argv (argv[0] is the command); the
 * positional arguments are left in argv[1..*argc-1]. 0, or an enum
 * cli_exit after printing why.
 */
int keyd_cli_args(const char *op, int *argc, char **argv, struct hc_target *t);

/* GET @path. On 2xx, *@reply (if not NULL) gets the parsed answer.
 * Returns an enum cli_exit. */
int keyd_cli_get(const char *op, const struct hc_target *t, const char *path,
		 json_t **reply);
/* POST @body (released here) to @path, as keyd_cli_get(). A NULL @body,
 * a json_pack() of an argument that is not UTF-8, is a usage error. */
int keyd_cli_post(const char *op, const struct hc_target *t, const char *path,
		  json_t *body, json_t **reply);

/* The string @key of @o, or "?" if it has none (for text output). */
const char *keyd_cli_str(const json_t *o, const char *key);

/* Parse a positive 32-bit id, or print why; 0 or CLI_EXIT_USAGE. */
int keyd_cli_id(const char *op, const char *what, const char *s,
		json_int_t *out);

#endif
