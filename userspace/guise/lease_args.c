// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lease_args.h"
#include "num.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_addr(const char *what, const char *s, struct in6_addr *a,
		      char *err, size_t errlen)
{
	if (guise_addr_parse(s, a))
		return fail(err, errlen, "bad %s address \"%s\"", what, s);
	return 0;
}

static int parse_u32(const char *what, const char *s, uint32_t *v, char *err,
		     size_t errlen)
{
	uint64_t n;

	if (guise_uint_parse(s, UINT32_MAX, &n))
		return fail(err, errlen, "bad %s \"%s\": want 0..%u", what, s,
			    UINT32_MAX);
	*v = (uint32_t)n;
	return 0;
}

int lease_args_parse_add(int argc, char *const *argv, struct guise_lease *l,
			 char *err, size_t errlen)
{
	int i, ret;

	memset(l, 0, sizeof(*l));
	if (argc < 3)
		return fail(err, errlen, "need REAL PEER VIRT");
	if ((ret = parse_addr("real", argv[0], &l->real, err, errlen)) ||
	    (ret = parse_addr("peer", argv[1], &l->peer, err, errlen)) ||
	    (ret = parse_addr("virtual", argv[2], &l->virt, err, errlen)))
		return ret;
	guise_lease_mark(l, GUISE_A_LEASE_REAL);
	guise_lease_mark(l, GUISE_A_LEASE_PEER);
	guise_lease_mark(l, GUISE_A_LEASE_VIRT);
	l->lifetime = LEASE_ARGS_DEFAULT_LIFETIME;
	l->flags = GUISE_LEASE_F_EGRESS | GUISE_LEASE_F_INGRESS;

	for (i = 3; i < argc; i++) {
		const char *kw = argv[i];

		if (!strcmp(kw, "block-smtp")) {
			l->flags |= GUISE_LEASE_F_BLOCK_SMTP;
			continue;
		}
		if (i + 1 == argc)
			return fail(err, errlen, "\"%s\" needs a value", kw);
		if (!strcmp(kw, "lifetime")) {
			ret = guise_duration_parse(argv[++i], &l->lifetime);
			if (ret || !l->lifetime ||
			    l->lifetime > GUISE_MAX_LEASE_LIFETIME)
				return fail(
					err, errlen,
					"bad lifetime \"%s\": want 1s..%ud, e.g. 90, 15m, 12h",
					argv[i],
					GUISE_MAX_LEASE_LIFETIME / 86400);
		} else if (!strcmp(kw, "flags")) {
			uint32_t keep = l->flags & GUISE_LEASE_F_BLOCK_SMTP;

			if (guise_lease_flags_parse(argv[++i], &l->flags))
				return fail(
					err, errlen,
					"bad flags \"%s\": want a list of egress, ingress, block-smtp",
					argv[i]);
			l->flags |= keep;
		} else if (!strcmp(kw, "rate")) {
			ret = parse_u32("rate", argv[++i], &l->rate_pps, err,
					errlen);
			if (ret)
				return ret;
			guise_lease_mark(l, GUISE_A_LEASE_RATE_PPS);
		} else if (!strcmp(kw, "burst")) {
			ret = parse_u32("burst", argv[++i], &l->rate_burst, err,
					errlen);
			if (ret)
				return ret;
			guise_lease_mark(l, GUISE_A_LEASE_RATE_BURST);
		} else {
			return fail(err, errlen, "unknown keyword \"%s\"", kw);
		}
	}
	if (!(l->flags & (GUISE_LEASE_F_EGRESS | GUISE_LEASE_F_INGRESS)))
		return fail(err, errlen, "flags need egress, ingress or both");
	if (guise_lease_has(l, GUISE_A_LEASE_RATE_BURST) &&
	    !guise_lease_has(l, GUISE_A_LEASE_RATE_PPS))
		return fail(err, errlen, "\"burst\" needs \"rate\"");
	guise_lease_mark(l, GUISE_A_LEASE_LIFETIME);
	guise_lease_mark(l, GUISE_A_LEASE_FLAGS);
	return 0;
}

int lease_args_parse_name(int argc, char *const *argv, struct guise_lease *l,
			  bool optional, char *err, size_t errlen)
{
	int ret;

	memset(l, 0, sizeof(*l));
	if (argc == 0 && optional)
		return 0;
	if (argc == 2 && !strcmp(argv[0], "virt")) {
		ret = parse_addr("virtual", argv[1], &l->virt, err, errlen);
		if (!ret)
			guise_lease_mark(l, GUISE_A_LEASE_VIRT);
		return ret;
	}
	if (argc != 2)
		return fail(err, errlen,
			    "name the lease: REAL PEER | virt VIRT");
	if ((ret = parse_addr("real", argv[0], &l->real, err, errlen)) ||
	    (ret = parse_addr("peer", argv[1], &l->peer, err, errlen)))
		return ret;
	guise_lease_mark(l, GUISE_A_LEASE_REAL);
	guise_lease_mark(l, GUISE_A_LEASE_PEER);
	return 0;
}
