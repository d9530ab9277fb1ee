// SPDX-License-Identifier: GPL-2.0
/*
 * Unit test of the revocation event stream parser (daemon/revocation.c):
 * certd's line formats, serial canonical form, bad input.
 */
#include <stdio.h>
#include <string.h>

#include "revocation.h"
#include "tap.h"

struct seen {
	int n;
	size_t issuer_len;
	unsigned char issuer[64];
	char serials[4][90];
};

static void on_revoked(const unsigned char *der, size_t len, const char *serial,
		       void *arg)
{
	struct seen *s = arg;

	if (len <= sizeof(s->issuer)) {
		memcpy(s->issuer, der, len);
		s->issuer_len = len;
	}
	if (s->n < 4)
		snprintf(s->serials[s->n], sizeof(s->serials[0]), "%s", serial);
	s->n++;
}

static enum revocation_line parse(const char *line, struct seen *s)
{
	char err[256] = "";
	enum revocation_line k;

	memset(s, 0, sizeof(*s));
	k = revocation_parse_line(line, strlen(line), on_revoked, s, err,
				  sizeof(err));
	if (k == REVOCATION_LINE_BAD)
		tap_diag("%s", err);
	return k;
}

int main(void)
{
	struct seen s;
	static const unsigned char der[] = {
		0x30, 0x1b, 0x31, 0x19, 0x30, 0x17, 0x06, 0x03, 0x55, 0x04,
		0x03, 0x0c, 0x10, 'g',	'u',  'i',  's',  'e',	' ',  't',
		'e',  's',  't',  ' ',	'i',  'n',  't',  'B',	'1',
	};

	tap_start();
	tap_ok(parse("{\"type\":\"hello\",\"at\":1}", &s) ==
			       REVOCATION_LINE_OTHER &&
		       !s.n,
	       "hello is not a revocation");
	tap_ok(parse("{\"type\":\"heartbeat\",\"at\":1}\n", &s) ==
			       REVOCATION_LINE_OTHER &&
		       !s.n,
	       "heartbeat (with newline) is not a revocation");
	tap_ok(parse("{\"type\":\"revoked\",\"issuer\":\"/CN=guise test intB1\","
		     "\"issuer_der\":\"MBsxGTAXBgNVBAMMEGd1aXNlIHRlc3QgaW50QjE=\","
		     "\"crl_number\":\"1001\",\"serials\":[\"EDE0AE0F59593091\","
		     "\"00ab\"],\"at\":2}",
		     &s) == REVOCATION_LINE_REVOKED,
	       "revoked line parses");
	tap_ok(s.n == 2 && !strcmp(s.serials[0], "EDE0AE0F59593091") &&
		       !strcmp(s.serials[1], "AB"),
	       "one callback per serial, canonical hex (got %d)", s.n);
	tap_ok(s.issuer_len == sizeof(der) &&
		       !memcmp(s.issuer, der, sizeof(der)),
	       "issuer DER decoded");
	tap_ok(parse("{\"type\":\"revoked\",\"issuer_der\":\"MA==\","
		     "\"serials\":[]}",
		     &s) == REVOCATION_LINE_REVOKED &&
		       !s.n,
	       "empty serial list: no callback");
	tap_ok(parse("not json", &s) == REVOCATION_LINE_BAD, "bad JSON");
	tap_ok(parse("{\"at\":1}", &s) == REVOCATION_LINE_BAD, "no type");
	tap_ok(parse("{\"type\":\"revoked\",\"serials\":[\"01\"]}", &s) ==
			       REVOCATION_LINE_BAD &&
		       !s.n,
	       "no issuer_der");
	tap_ok(parse("{\"type\":\"revoked\",\"issuer_der\":\"!!\","
		     "\"serials\":[\"01\"]}",
		     &s) == REVOCATION_LINE_BAD &&
		       !s.n,
	       "issuer_der not base64");
	tap_ok(parse("{\"type\":\"revoked\",\"issuer_der\":\"MA==\","
		     "\"serials\":[\"01\",\"xyz\"]}",
		     &s) == REVOCATION_LINE_BAD &&
		       !s.n,
	       "a bad serial rejects the whole line, no partial callbacks");
	tap_ok(parse("{\"type\":\"revoked\",\"issuer_der\":\"MA==\","
		     "\"serials\":\"01\"}",
		     &s) == REVOCATION_LINE_BAD &&
		       !s.n,
	       "serials not an array");
	tap_ok(parse("{\"type\":\"revoked\",\"issuer_der\":\"MA==\","
		     "\"serials\":[7]}",
		     &s) == REVOCATION_LINE_BAD &&
		       !s.n,
	       "serial not a string");
	{
		char out[REVOCATION_SERIAL_MAX];

		tap_ok(!revocation_serial_canon("000a0B", out, sizeof(out)) &&
			       !strcmp(out, "A0B"),
		       "serial canonical form strips zeros, upper-cases");
		tap_ok(!revocation_serial_canon("-01", out, sizeof(out)) &&
			       !strcmp(out, "-1"),
		       "negative serial keeps its sign");
		tap_ok(!revocation_serial_canon("0", out, sizeof(out)) &&
			       !strcmp(out, "0"),
		       "serial zero");
		tap_ok(revocation_serial_canon("", out, sizeof(out)) &&
			       revocation_serial_canon("-", out, sizeof(out)) &&
			       revocation_serial_canon("1g", out,
						       sizeof(out)) &&
			       revocation_serial_canon("ABCDEF", out, 4),
		       "bad serials and short buffers refused");
	}
	return tap_done();
}
