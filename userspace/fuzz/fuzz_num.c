// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the strict number parsers every number of the CLI
 * and the settings goes through: guise_digits_parse(), guise_uint_parse()
 * and guise_duration_parse(). The input is a bound (8 bytes, little
 * endian) and the text. Each is checked against a plain reference, and:
 * a value taken prints back to digits that give it again; with a blank,
 * a sign or anything after it, it is refused; the bound is exact.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lease.h"
#include "num.h"

#define SENTINEL 0x5a5a5a5a5a5a5a5aull

/* The value of the @n digits at @s; false above UINT64_MAX. */
static bool ref_value(const char *s, size_t n, uint64_t *v)
{
	unsigned __int128 x = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		x = x * 10 + (unsigned int)(s[i] - '0');
		if (x > UINT64_MAX)
			return false;
	}
	*v = (uint64_t)x;
	return true;
}

static int uint_of(const char *s, uint64_t max, uint64_t *v)
{
	*v = SENTINEL;
	return guise_uint_parse(s, max, v);
}

static int duration_of(const char *s, uint32_t *v)
{
	*v = (uint32_t)SENTINEL;
	return guise_duration_parse(s, v);
}

/* @s with @pre before it and @post after. */
static char *wrap(const char *pre, const char *s, const char *post)
{
	char *w;

	if (asprintf(&w, "%s%s%s", pre, s, post) < 0)
		abort();
	return w;
}

/* @s, taken, must be refused with a blank, a sign or "0x" before it or
 * something after. */
static void check_refused_around(const char *s, bool duration)
{
	static const char *const pre[] = { " ", "\t", "\n", "+", "-", "0x" };
	static const char *const post[] = { " ", "\n", "x", ".", "-", "0s" };
	uint64_t v;
	uint32_t d;
	size_t i;

	for (i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
		char *w = wrap(pre[i], s, "");

		if ((duration ? duration_of(w, &d) :
				uint_of(w, UINT64_MAX, &v)) != -EINVAL)
			abort();
		free(w);
	}
	for (i = 0; i < sizeof(post) / sizeof(post[0]); i++) {
		char *w = wrap("", s, post[i]);
		int ret = duration ? duration_of(w, &d) :
				     uint_of(w, UINT64_MAX, &v);

		/* a number then "0s" is a number of seconds, if not a
		 * duration already */
		if (!(duration && i == 5 && !strpbrk(s, "smhd")) &&
		    ret != -EINVAL)
			abort();
		free(w);
	}
}

static void check_digits(const char *s)
{
	size_t n = strspn(s, "0123456789");
	uint64_t v = SENTINEL, want;
	const char *end = NULL;
	int ret = guise_digits_parse(s, &end, &v);

	if (!n) {
		if (ret != -EINVAL || end != s || v != SENTINEL)
			abort();
		return;
	}
	if (end != s + n)
		abort();
	if (ref_value(s, n, &want) ? ret || v != want : ret != -ERANGE)
		abort();
}

static void check_uint(const char *s, uint64_t max)
{
	size_t n = strspn(s, "0123456789");
	uint64_t v, back, want;
	int ret = uint_of(s, max, &v), expect;
	char text[32];

	if (!n || s[n])
		expect = -EINVAL;
	else if (!ref_value(s, n, &want) || want > max)
		expect = -ERANGE;
	else
		expect = 0;
	if (ret != expect || (ret && v != SENTINEL) || (!ret && v != want))
		abort();
	if (ret)
		return;
	/* What was taken prints back to digits that give it again ... */
	snprintf(text, sizeof(text), "%" PRIu64, v);
	if (strlen(text) > strlen(s) || uint_of(text, max, &back) || back != v)
		abort();
	/* ... exactly up to the bound ... */
	if (uint_of(s, v, &back) || back != v ||
	    (v && uint_of(s, v - 1, &back) != -ERANGE))
		abort();
	/* ... and never with a blank, a sign or something after it. */
	check_refused_around(s, false);
}

static void check_duration(const char *s)
{
	static const struct {
		char unit;
		uint32_t mult;
	} units[] = { { '\0', 1 },
		      { 's', 1 },
		      { 'm', 60 },
		      { 'h', 3600 },
		      { 'd', 86400 } };
	size_t n = strspn(s, "0123456789"), i;
	uint32_t d, back, mult = 0;
	uint64_t v = 0;
	int ret = duration_of(s, &d), expect;
	char text[32];

	for (i = 0; n && i < sizeof(units) / sizeof(units[0]); i++)
		if (s[n] == units[i].unit && (!s[n] || !s[n + 1]))
			mult = units[i].mult;
	if (!mult)
		expect = -EINVAL;
	else if (!ref_value(s, n, &v))
		expect = -ERANGE;
	else if (!v)
		expect = -EINVAL;
	else if ((unsigned __int128)v * mult > UINT32_MAX)
		expect = -ERANGE;
	else
		expect = 0;
	if (ret != expect || (ret && d != (uint32_t)SENTINEL) ||
	    (!ret && d != v * mult))
		abort();
	if (ret)
		return;
	if (!d)
		abort(); /* at least a second */
	/* Printed back, in seconds and in each unit it is a whole number
	 * of, it is the same duration. */
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (d % units[i].mult)
			continue;
		snprintf(text, sizeof(text), "%" PRIu32 "%c", d / units[i].mult,
			 units[i].unit);
		if (duration_of(text, &back) || back != d)
			abort();
	}
	check_refused_around(s, true);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t max = 0;
	char *s;
	size_t i;

	if (size < 8)
		return 0;
	for (i = 0; i < 8; i++)
		max |= (uint64_t)data[i] << (8 * i);
	s = malloc(size - 8 + 1);
	if (!s)
		abort();
	memcpy(s, data + 8, size - 8);
	s[size - 8] = '\0';

	check_digits(s);
	check_uint(s, max);
	check_uint(s, UINT64_MAX);
	check_duration(s);

	free(s);
	return 0;
}
