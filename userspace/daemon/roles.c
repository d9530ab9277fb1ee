// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ini.h>
#include <openssl/x509.h>

#include "log.h"
#include "roles.h"

static const char *const role_names[] = { "admin", "operator", "auditor",
					  "subscriber", "abuse-desk" };
#define NROLES (sizeof(role_names) / sizeof(role_names[0]))

/* @name of @len bytes → one bit, 0 if unknown. */
static role_set role_from_span(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < NROLES; i++)
		if (strlen(role_names[i]) == len &&
		    !memcmp(role_names[i], name, len))
			return 1U << i;
	return 0;
}

role_set role_from_name(const char *name)
{
	return role_from_span(name, strlen(name));
}

const char *role_name(role_set role)
{
	size_t i;

	for (i = 0; i < NROLES; i++)
		if (role == 1U << i)
			return role_names[i];
	return NULL;
}

int roles_parse(const char *text, role_set *out, const char **bad)
{
	const char *p = text;
	role_set set = 0, r;
	size_t len;

	for (;;) {
		p += strspn(p, ", \t");
		if (!*p)
			break;
		len = strcspn(p, ", \t");
		if (len == 4 && !memcmp(p, "none", 4)) {
			r = 0;
		} else {
			r = role_from_span(p, len);
			if (!r) {
				if (bad)
					*bad = p;
				return -EINVAL;
			}
		}
		set |= r;
		p += len;
	}
	*out = set;
	return 0;
}

void roles_format(role_set set, char *buf, size_t size)
{
	size_t i, used = 0;
	int n;

	if (size)
		buf[0] = '\0';
	for (i = 0; i < NROLES && used < size; i++) {
		if (!(set & (1U << i)))
			continue;
		n = snprintf(buf + used, size - used, "%s%s", used ? "," : "",
			     role_names[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

role_set roles_from_cert(X509 *cert)
{
	const X509_NAME *subj = cert ? X509_get_subject_name(cert) : NULL;
	const size_t plen = strlen(ROLES_OU_PREFIX);
	const unsigned char *data;
	const ASN1_STRING *s;
	role_set set = 0;
	int i = -1, len;

	if (!subj)
		return 0;
	while ((i = X509_NAME_get_index_by_NID(subj, NID_organizationalUnitName,
					       i)) >= 0) {
		s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i));
		data = ASN1_STRING_get0_data(s);
		len = ASN1_STRING_length(s);
		/* The role names are ASCII, so any string type compares
		 * byte for byte (a UTF-8 or BMP look-alike never matches). */
		if (len > (int)plen && !memcmp(data, ROLES_OU_PREFIX, plen))
			set |= role_from_span((const char *)data + plen,
					      (size_t)len - plen);
	}
	return set;
}

int roles_cert_cn(X509 *cert, char *buf, size_t size)
{
	const X509_NAME *subj = cert ? X509_get_subject_name(cert) : NULL;
	unsigned char *utf8 = NULL;
	int i, len;

	if (!subj || !size)
		return -ENOENT;
	i = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
	if (i < 0)
		return -ENOENT;
	len = ASN1_STRING_to_UTF8(
		&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i)));
	if (len < 0)
		return -ENOENT;
	/* An embedded NUL would let "CN=admin\0x" pass as "admin". */
	if (memchr(utf8, '\0', (size_t)len) || (size_t)len >= size) {
		OPENSSL_free(utf8);
		return -ENOENT;
	}
	memcpy(buf, utf8, (size_t)len);
	buf[len] = '\0';
	OPENSSL_free(utf8);
	return 0;
}

enum roles_kind { ROLES_ADDR, ROLES_CN, ROLES_UID };

struct roles_entry {
	enum roles_kind kind;
	struct in6_addr addr;
	char *cn;
	uid_t uid;
	role_set roles;
};

struct roles_file {
	struct roles_entry *v;
	size_t n;
};

struct roles_parse_ctx {
	struct roles_file *rf;
	const char *path;
	bool failed;
};

static int roles_entry_key(const char *section, struct roles_entry *e)
{
	unsigned long v;
	char *end;

	memset(e, 0, sizeof(*e));
	if (inet_pton(AF_INET6, section, &e->addr) == 1) {
		e->kind = ROLES_ADDR;
		return 0;
	}
	if (!strncmp(section, "CN=", 3) && section[3]) {
		e->kind = ROLES_CN;
		e->cn = strdup(section + 3);
		return e->cn ? 0 : -ENOMEM;
	}
	if (!strncmp(section, "uid:", 4) && section[4] >= '0' &&
	    section[4] <= '9') {
		errno = 0;
		v = strtoul(section + 4, &end, 10);
		if (errno || *end || v >= (unsigned long)(uid_t)-1)
			return -EINVAL;
		e->kind = ROLES_UID;
		e->uid = (uid_t)v;
		return 0;
	}
	return -EINVAL;
}

static bool roles_entry_same(const struct roles_entry *a,
			     const struct roles_entry *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case ROLES_ADDR:
		return !memcmp(&a->addr, &b->addr, sizeof(a->addr));
	case ROLES_CN:
		return !strcmp(a->cn, b->cn);
	default:
		return a->uid == b->uid;
	}
}

static int roles_handler(void *user, const char *section, const char *name,
			 const char *value)
{
	struct roles_parse_ctx *p = user;
	struct roles_file *rf = p->rf;
	struct roles_entry e, *nv;
	const char *bad = NULL;
	size_t i;
	int err;

	if (strcmp(name, "roles")) {
		guise_err("%s: [%s]: unknown setting \"%s\" (only roles =)",
			  p->path, section, name);
		goto fail;
	}
	err = roles_entry_key(section, &e);
	if (err) {
		guise_err("%s: [%s]: %s", p->path, section,
			  err == -ENOMEM ?
				  "out of memory" :
				  "not an IPv6 address, CN=NAME or uid:N");
		goto fail;
	}
	if (roles_parse(value, &e.roles, &bad)) {
		guise_err("%s: [%s]: unknown role \"%.*s\"", p->path, section,
			  (int)strcspn(bad, ", \t"), bad);
		free(e.cn);
		goto fail;
	}
	for (i = 0; i < rf->n; i++) {
		if (roles_entry_same(&rf->v[i], &e)) {
			guise_err("%s: [%s]: listed twice", p->path, section);
			free(e.cn);
			goto fail;
		}
	}
	nv = reallocarray(rf->v, rf->n + 1, sizeof(*nv));
	if (!nv) {
		free(e.cn);
		guise_err("%s: out of memory", p->path);
		goto fail;
	}
	rf->v = nv;
	rf->v[rf->n++] = e;
	return 1;
fail:
	p->failed = true;
	return 0;
}

int roles_file_load(const char *path, struct roles_file **out)
{
	struct roles_parse_ctx p = { .path = path };
	int ret;

	p.rf = calloc(1, sizeof(*p.rf));
	if (!p.rf) {
		guise_err("%s: out of memory", path);
		return -1;
	}
	ret = ini_parse(path, roles_handler, &p);
	if (ret == -1)
		guise_err("%s: %s", path, strerror(errno));
	else if (ret == -2)
		guise_err("%s: out of memory", path);
	else if (ret > 0 && !p.failed)
		guise_err("%s: line %d: syntax error", path, ret);
	else if (ret > 0)
		guise_err("%s: error at line %d", path, ret);
	if (ret) {
		roles_file_free(p.rf);
		return -1;
	}
	*out = p.rf;
	return 0;
}

void roles_file_free(struct roles_file *rf)
{
	size_t i;

	if (!rf)
		return;
	for (i = 0; i < rf->n; i++)
		free(rf->v[i].cn);
	free(rf->v);
	free(rf);
}

role_set roles_file_lookup(const struct roles_file *rf,
			   const struct in6_addr *addr, const char *cn,
			   uid_t uid)
{
	const struct roles_entry *e;
	role_set set = 0;
	size_t i;

	if (!rf)
		return 0;
	for (i = 0; i < rf->n; i++) {
		e = &rf->v[i];
		if ((e->kind == ROLES_ADDR && addr &&
		     !memcmp(&e->addr, addr, sizeof(*addr))) ||
		    (e->kind == ROLES_CN && cn && !strcmp(e->cn, cn)) ||
		    (e->kind == ROLES_UID && uid != (uid_t)-1 && e->uid == uid))
			set |= e->roles;
	}
	return set;
}

bool roles_allowed(const struct role_rule *rules, const char *endpoint,
		   role_set have)
{
	for (; rules && rules->endpoint; rules++)
		if (!strcmp(rules->endpoint, endpoint))
			return (rules->allowed & have) != 0;
	return false;
}
