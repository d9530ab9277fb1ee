/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Roles of the control plane and the authorisation check every daemon runs
 * before an API call. Daemon-agnostic: a daemon names its endpoints with
 * strings and declares, once, which roles may call each one.
 *
 * The five roles (DESIGN.md "Control plane security"):
 *   admin       configures the daemon, ends other clients' objects
 *   operator    watches it: lists, metrics
 *   auditor     reads and verifies the audit log
 *   subscriber  an ordinary client acting on its own objects
 *   abuse-desk  resolves past identities for abuse handling (with a reason)
 *
 * Where a caller's roles come from (the union of all that apply):
 *   1. its certificate: every subject organizationalUnitName of the form
 *      "role:NAME" grants NAME, e.g. openssl -subj "/CN=ops/OU=role:operator"
 *      (other OU values are ignored, so an organisation's own OUs never
 *      grant anything);
 *   2. a roles file (INI, read with inih) mapping an identity to roles;
 *      a section names the certificate's IPv6 subjectAltName, its subject
 *      commonName or a local (UNIX socket) caller's uid:
 *        [2001:db8::10]
 *        roles = operator, auditor
 *        [CN=alice]
 *        roles = abuse-desk
 *        [uid:1000]
 *        roles = operator
 *   3. the daemon's default for authenticated callers (for example
 *      guise-leased makes every certificate holder a subscriber unless
 *      configured otherwise);
 *   4. over a local UNIX socket, uid 0 is admin (SO_PEERCRED).
 *
 * Usage in a handler:
 *   static const struct role_rule rules[] = {
 *           { "list", ROLE_ADMIN | ROLE_OPERATOR }, ..., { NULL, 0 } };
 *   if (!roles_allowed(rules, "list", caller_roles)) -> 403
 * An endpoint missing from the table is refused (deny by default).
 */
#ifndef GUISE_DAEMON_ROLES_H
#define GUISE_DAEMON_ROLES_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <openssl/x509.h>

enum {
	ROLE_ADMIN = 1U << 0,
	ROLE_OPERATOR = 1U << 1,
	ROLE_AUDITOR = 1U << 2,
	ROLE_SUBSCRIBER = 1U << 3,
	ROLE_ABUSE_DESK = 1U << 4,
	ROLE_ALL = (1U << 5) - 1,
};

/* A set of ROLE_* bits. */
typedef unsigned int role_set;

/* The OU prefix that marks a role in a certificate subject. */
#define ROLES_OU_PREFIX "role:"

/* "admin", "operator", "auditor", "subscriber", "abuse-desk" → one bit;
 * 0 for an unknown name. */
role_set role_from_name(const char *name);
/* The name of a single role bit, NULL if @role is not exactly one role. */
const char *role_name(role_set role);

/*
 * A list of role names separated by commas and/or blanks ("admin,
 * operator"); "none" or an empty list is the empty set. 0 or -EINVAL
 * (*@bad, if not NULL, points to the unknown name, not NUL-terminated).
 */
int roles_parse(const char *text, role_set *out, const char **bad);

/* The names of @set joined by "," into @buf ("" for none). */
void roles_format(role_set set, char *buf, size_t size);

/* The roles a certificate carries in its subject OUs ("role:NAME"). */
role_set roles_from_cert(X509 *cert);

/* The subject commonName of @cert into @buf; -ENOENT if there is none. */
int roles_cert_cn(X509 *cert, char *buf, size_t size);

/* A parsed roles file. */
struct roles_file;

/*
 * Read the roles file @path: sections [IPv6-ADDRESS], [CN=NAME] or
 * [uid:N], each with one "roles = LIST". Returns 0 with *@out (free with
 * roles_file_free), or -1 after logging the file, line and problem.
 */
int roles_file_load(const char *path, struct roles_file **out);
void roles_file_free(struct roles_file *rf);

/* The roles @rf grants an identity; any argument may be NULL / unused:
 * @addr the certificate address, @cn its commonName, @uid a local uid
 * (pass (uid_t)-1 for none). @rf NULL grants nothing. */
role_set roles_file_lookup(const struct roles_file *rf,
			   const struct in6_addr *addr, const char *cn,
			   uid_t uid);

/* One line of a daemon's authorisation matrix. */
struct role_rule {
	const char *endpoint; /* NULL ends the table */
	role_set allowed;
};

/* May a caller holding @have call @endpoint? False for an endpoint not in
 * @rules (deny by default) and for an empty @have. */
bool roles_allowed(const struct role_rule *rules, const char *endpoint,
		   role_set have);

#endif
