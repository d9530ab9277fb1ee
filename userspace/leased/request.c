// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
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

/* Control characters (C0, DEL, C1), line and paragraph separators and
 * bidirectional controls: a reason with them could forge lines or reorder
 * text in the audit log and its exports. */
static bool reason_char_bad(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x061c ||
	       c == 0x200e || c == 0x200f || (c >= 0x2028 && c <= 0x202e) ||
	       (c >= 0x2066 && c <= 0x2069);
}

/* @s is valid UTF-8 without NUL: jansson refuses anything else. */
static bool reason_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s);
	uint32_t c;

	if (len < API_REASON_MIN || len > API_REASON_MAX)
		return false;
	while (*p) {
		if (*p < 0x80) {
			c = *p++;
		} else if (*p < 0xe0) {
			c = (p[0] & 0x1fu) << 6 | (p[1] & 0x3fu);
			p += 2;
		} else if (*p < 0xf0) {
			c = (p[0] & 0x0fu) << 12 | (p[1] & 0x3fu) << 6 |
			    (p[2] & 0x3fu);
			p += 3;
		} else {
			c = (p[0] & 0x07u) << 18 | (p[1] & 0x3fu) << 12 |
			    (p[2] & 0x3fu) << 6 | (p[3] & 0x3fu);
			p += 4;
		}
		if (reason_char_bad(c))
			return false;
	}
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
