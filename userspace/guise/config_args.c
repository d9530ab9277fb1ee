// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config_args.h"
#include "num.h"

struct parser {
	struct guise_config *cfg;
	char *err;
	size_t errlen;
	unsigned int seen; /* bit per keyword index, for duplicates */
};

struct keyword {
	const char *name;
	const char *values; /* what follows, for messages; "" = nothing */
	unsigned int nvalues;
	bool repeatable;
	int (*parse)(struct parser *p, const struct keyword *kw,
		     char *const *values);
};

static int fail(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Decimal digits only, no sign or blanks, at most @max. */
static int parse_u32(struct parser *p, const struct keyword *kw, const char *s,
		     uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v;
	int err = guise_uint_parse(s, max, &v);

	if (err == -EINVAL)
		return fail(p, "bad number \"%s\" for \"%s\"", s, kw->name);
	if (err || v < min)
		return fail(p, "%s %s out of range (%u..%u)", kw->name, s, min,
			    max);
	*out = v;
	return 0;
}

static int parse_prefix(struct parser *p, const char *s, unsigned int min_len,
			struct guise_prefix *out)
{
	const char *why;

	if (guise_prefix_parse(s, out, &why))
		return fail(p, "bad prefix \"%s\": %s", s, why);
	if (out->len < min_len)
		return fail(p, "bad prefix \"%s\": length must be %u..128", s,
			    min_len);
	return 0;
}

static int kw_enabled(struct parser *p, const struct keyword *kw,
		      char *const *v)
{
	static const char *const on[] = { "on", "yes", "1" };
	static const char *const off[] = { "off", "no", "0" };
	unsigned int i;

	for (i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
		if (!strcmp(v[0], on[i]) || !strcmp(v[0], off[i])) {
			p->cfg->enabled = !strcmp(v[0], on[i]);
			guise_config_mark(p->cfg, GUISE_A_CONFIG_ENABLED);
			return 0;
		}
	}
	return fail(p, "bad value \"%s\" for \"%s\" (expected on or off)", v[0],
		    kw->name);
}

static int kw_vprefix(struct parser *p, const struct keyword *kw,
		      char *const *v)
{
	struct guise_config *cfg = p->cfg;

	(void)kw;
	if (cfg->n_vprefixes == GUISE_MAX_VPREFIXES)
		return fail(p, "more than %u vprefixes", GUISE_MAX_VPREFIXES);
	/* A virtual prefix of length 0 would claim every address. */
	if (parse_prefix(p, v[0], 1, &cfg->vprefixes[cfg->n_vprefixes]))
		return -EINVAL;
	cfg->n_vprefixes++;
	guise_config_mark(cfg, GUISE_A_CONFIG_VPREFIXES);
	return 0;
}

static int kw_miss(struct parser *p, const struct keyword *kw, char *const *v)
{
	struct guise_config *cfg = p->cfg;
	struct guise_miss_rule *r;
	int policy;

	(void)kw;
	if (cfg->n_miss_rules == GUISE_MAX_MISS_RULES)
		return fail(p, "more than %u miss rules", GUISE_MAX_MISS_RULES);
	r = &cfg->miss_rules[cfg->n_miss_rules];
	if (parse_prefix(p, v[0], 0, &r->prefix))
		return -EINVAL;
	policy = guise_miss_policy_parse(v[1]);
	if (policy < 0)
		return fail(p, "bad policy \"%s\" (expected %s)", v[1],
			    "pass, drop or upcall");
	r->policy = policy;
	cfg->n_miss_rules++;
	guise_config_mark(cfg, GUISE_A_CONFIG_MISS_RULES);
	return 0;
}

/* novprefixes / nomiss: an empty list, which clears the kernel's. */
static int kw_clear_vprefixes(struct parser *p, const struct keyword *kw,
			      char *const *v)
{
	(void)kw;
	(void)v;
	guise_config_mark(p->cfg, GUISE_A_CONFIG_VPREFIXES);
	return 0;
}

static int kw_clear_miss(struct parser *p, const struct keyword *kw,
			 char *const *v)
{
	(void)kw;
	(void)v;
	guise_config_mark(p->cfg, GUISE_A_CONFIG_MISS_RULES);
	return 0;
}

static int kw_max_leases(struct parser *p, const struct keyword *kw,
			 char *const *v)
{
	guise_config_mark(p->cfg, GUISE_A_CONFIG_MAX_LEASES);
	return parse_u32(p, kw, v[0], 1, GUISE_MAX_MAX_LEASES,
			 &p->cfg->max_leases);
}

static int kw_upcall_qlen(struct parser *p, const struct keyword *kw,
			  char *const *v)
{
	guise_config_mark(p->cfg, GUISE_A_CONFIG_UPCALL_QLEN);
	return parse_u32(p, kw, v[0], 1, GUISE_MAX_UPCALL_QLEN,
			 &p->cfg->upcall_qlen);
}

static int kw_upcall_timeout(struct parser *p, const struct keyword *kw,
			     char *const *v)
{
	guise_config_mark(p->cfg, GUISE_A_CONFIG_UPCALL_TIMEOUT_MS);
	return parse_u32(p, kw, v[0], 1, GUISE_MAX_UPCALL_TIMEOUT_MS,
			 &p->cfg->upcall_timeout_ms);
}

static int kw_routing_header(struct parser *p, const struct keyword *kw,
			     char *const *v)
{
	int policy = guise_rthdr_policy_parse(v[0]);

	if (policy < 0)
		return fail(p, "bad value \"%s\" for \"%s\" (expected %s)",
			    v[0], kw->name, "pass or drop");
	p->cfg->rthdr_policy = policy;
	guise_config_mark(p->cfg, GUISE_A_CONFIG_ROUTING_HEADER);
	return 0;
}

enum {
	KW_ENABLED,
	KW_VPREFIX,
	KW_NOVPREFIXES,
	KW_MISS,
	KW_NOMISS,
	KW_MAX_LEASES,
	KW_UPCALL_QLEN,
	KW_UPCALL_TIMEOUT,
	KW_ROUTING_HEADER,
};

static const struct keyword keywords[] = {
	[KW_ENABLED] = { "enabled", "on|off", 1, false, kw_enabled },
	[KW_VPREFIX] = { "vprefix", "PREFIX", 1, true, kw_vprefix },
	[KW_NOVPREFIXES] = { "novprefixes", "", 0, false, kw_clear_vprefixes },
	[KW_MISS] = { "miss", "PREFIX pass|drop|upcall", 2, true, kw_miss },
	[KW_NOMISS] = { "nomiss", "", 0, false, kw_clear_miss },
	[KW_MAX_LEASES] = { "max-leases", "N", 1, false, kw_max_leases },
	[KW_UPCALL_QLEN] = { "upcall-qlen", "N", 1, false, kw_upcall_qlen },
	[KW_UPCALL_TIMEOUT] = { "upcall-timeout", "MS", 1, false,
				kw_upcall_timeout },
	[KW_ROUTING_HEADER] = { "routing-header", "pass|drop", 1, false,
				kw_routing_header },
};

#define NKEYWORDS (sizeof(keywords) / sizeof(keywords[0]))

static const struct keyword *find_keyword(const char *name, unsigned int *idx)
{
	unsigned int i;

	for (i = 0; i < NKEYWORDS; i++) {
		if (!strcmp(name, keywords[i].name)) {
			*idx = i;
			return &keywords[i];
		}
	}
	return NULL;
}

/* A list and its clearing keyword exclude each other. */
static int check_conflict(struct parser *p, unsigned int a, unsigned int b)
{
	if ((p->seen & (1U << a)) && (p->seen & (1U << b)))
		return fail(p, "\"%s\" and \"%s\" conflict", keywords[a].name,
			    keywords[b].name);
	return 0;
}

int config_args_parse(int argc, char *const *argv, struct guise_config *cfg,
		      char *err, size_t errlen)
{
	struct parser p = { .cfg = cfg, .err = err, .errlen = errlen };
	const struct keyword *kw;
	unsigned int idx;
	int i = 0;

	memset(cfg, 0, sizeof(*cfg));
	if (argc < 1)
		return fail(&p, "nothing to set");
	while (i < argc) {
		kw = find_keyword(argv[i], &idx);
		if (!kw)
			return fail(&p, "unknown keyword \"%s\"", argv[i]);
		if (argc - i - 1 < (int)kw->nvalues)
			return fail(&p,
				    "missing value for \"%s\" (expected %s)",
				    kw->name, kw->values);
		if (!kw->repeatable && (p.seen & (1U << idx)))
			return fail(&p, "\"%s\" given twice", kw->name);
		p.seen |= 1U << idx;
		if (check_conflict(&p, KW_VPREFIX, KW_NOVPREFIXES) ||
		    check_conflict(&p, KW_MISS, KW_NOMISS) ||
		    kw->parse(&p, kw, &argv[i + 1]))
			return -EINVAL;
		i += 1 + kw->nvalues;
	}
	return 0;
}
