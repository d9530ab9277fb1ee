// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "request.h"

bool api_addr_usable(const struct in6_addr *a)
{
	return !IN6_IS_ADDR_UNSPECIFIED(a) && !IN6_IS_ADDR_LOOPBACK(a) &&
	       !IN6_IS_ADDR_MULTICAST(a) && !IN6_IS_ADDR_V4MAPPED(a);
}

static int bad(char *why, size_t whylen, const char *msg)
{
	snprintf(why, whylen, "%s", msg);
	return -EINVAL;
}

static bool reason_ok(const char *s)
{
	size_t len = strlen(s);
	const unsigned char *p;

	if (len < API_REASON_MIN || len > API_REASON_MAX)
		return false;
	for (p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

int api_request_parse(enum api_op op, const char *body, size_t len,
		      uint32_t default_lifetime, uint32_t max_lifetime,
		      struct api_request *out, char *why, size_t whylen)
{
	json_int_t lt = default_lifetime, when = 0;
	const char *addr = NULL, *reason = NULL;
	json_error_t jerr;
	json_t *root;
	int err = 0, rc;

	memset(out, 0, sizeof(*out));
	if (!len)
		return bad(why, whylen, "expected a JSON object body");
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(why, whylen, "bad JSON: %s", jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		return bad(why, whylen, "expected a JSON object body");
	}
	switch (op) {
	case API_RENT:
		rc = json_unpack_ex(root, &jerr, JSON_STRICT, "{s:s, s?:I}",
				    "peer", &addr, "lifetime", &lt);
		break;
	case API_RENEW:
		rc = json_unpack_ex(root, &jerr, JSON_STRICT, "{s:s, s?:I}",
				    "virtual", &addr, "lifetime", &lt);
		break;
	case API_HISTORY:
		rc = json_unpack_ex(root, &jerr, JSON_STRICT, "{s:s, s:I, s:s}",
				    "virtual", &addr, "time", &when, "reason",
				    &reason);
		break;
	default:
		rc = json_unpack_ex(root, &jerr, JSON_STRICT, "{s:s}",
				    "virtual", &addr);
		break;
	}
	if (rc) {
		snprintf(why, whylen, "bad request: %s", jerr.text);
		err = -EINVAL;
		goto out;
	}
	if (inet_pton(AF_INET6, addr, &out->addr) != 1) {
		err = bad(
			why, whylen,
			op == API_RENT ?
				"bad request: peer is not an IPv6 address" :
				"bad request: virtual is not an IPv6 address");
		goto out;
	}
	if (op == API_RENT || op == API_RENEW) {
		if (lt < 1 || lt > (json_int_t)max_lifetime) {
			snprintf(why, whylen,
				 "bad request: lifetime must be 1..%u seconds",
				 max_lifetime);
			err = -EINVAL;
			goto out;
		}
		out->lifetime = (uint32_t)lt;
	}
	if (op == API_HISTORY) {
		if (when < 0) {
			err = bad(why, whylen,
				  "bad request: time must be seconds since "
				  "the epoch");
			goto out;
		}
		if (!reason_ok(reason)) {
			err = bad(why, whylen,
				  "bad request: a reason of 4..512 printable "
				  "characters is mandatory");
			goto out;
		}
		out->when = when;
		snprintf(out->reason, sizeof(out->reason), "%s", reason);
	}
out:
	json_decref(root);
	return err;
}
