/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The CLI's client for the daemons' HTTP APIs (libcurl): HTTPS with a
 * client certificate (mutual TLS), or plain HTTP over a daemon's local
 * UNIX socket (the daemon identifies the caller by its uid).
 */
#ifndef GUISE_HTTP_CLIENT_H
#define GUISE_HTTP_CLIENT_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* guise-leased's local socket, used when no --server is given. */
#define HC_DEFAULT_SOCKET "/run/guise/leased.sock"

struct hc_target {
	const char *server; /* "https://host:port"; NULL: use the socket */
	const char *socket; /* UNIX socket path */
	const char *cert, *key, *ca; /* PEM files for the TLS client */
};

/* Options every remote command takes, for getopt_long (values 0x100..). */
#define HC_OPT_SERVER 0x100
#define HC_OPT_SOCKET 0x101
#define HC_OPT_CERT 0x102
#define HC_OPT_KEY 0x103
#define HC_OPT_CA 0x104
#define HC_LONGOPTS                                                   \
	{ "server", required_argument, NULL, HC_OPT_SERVER },         \
		{ "socket", required_argument, NULL, HC_OPT_SOCKET }, \
		{ "cert", required_argument, NULL, HC_OPT_CERT },     \
		{ "key", required_argument, NULL, HC_OPT_KEY },       \
	{                                                             \
		"ca", required_argument, NULL, HC_OPT_CA              \
	}
#define HC_OPTIONS_HELP                                                        \
	"  --server URL     the daemon's HTTPS API (mutual TLS), e.g.\n"       \
	"                   https://[2001:db8::1]:8443\n"                      \
	"  --cert FILE      client certificate (PEM) for --server\n"           \
	"  --key FILE       its private key (default: the --cert file)\n"      \
	"  --ca FILE        CA that signed the server's certificate\n"         \
	"  --socket PATH    the daemon's local socket instead (root: admin;\n" \
	"                   default " HC_DEFAULT_SOCKET ")\n"

/* Take option @c with @arg into @t; false if @c is not one of them. */
bool hc_option(int c, const char *arg, struct hc_target *t);

/* Check the combination (prints why): --cert, --key and --ca need
 * --server. 0 or -1. */
int hc_target_check(struct hc_target *t, const char *op);

struct hc_resp {
	long code; /* the HTTP status */
	char *body; /* NUL-terminated (free with hc_resp_free) */
	size_t len;
	size_t cap; /* bytes allocated for body */
};

/*
 * GET @path. 0 with @r filled (any HTTP status), or -1 after printing why
 * the request could not be made (connection, TLS, timeout).
 */
int hc_get(const struct hc_target *t, const char *op, const char *path,
	   struct hc_resp *r);
/* POST the JSON document @body (released here; NULL, as from a failed
 * json_pack(), is -1 after printing why) to @path, as hc_get(). */
int hc_post(const struct hc_target *t, const char *op, const char *path,
	    json_t *body, struct hc_resp *r);
/* Wipe and free the body. */
void hc_resp_free(struct hc_resp *r);

/* The "error" text of a JSON error body, or the status line. */
const char *hc_error_text(const struct hc_resp *r, char *buf, size_t size);

#endif
