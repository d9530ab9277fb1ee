// SPDX-License-Identifier: GPL-2.0
#include <errno.h>

#include "num.h"

int guise_digits_parse(const char *s, const char **end, uint64_t *v)
{
	uint64_t n = 0;
	int err = 0;

	*end = s;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned int d = (unsigned int)(*s - '0');

		if (n > (UINT64_MAX - d) / 10)
			err = -ERANGE;
		else
			n = n * 10 + d;
	}
	*end = s;
	*v = n;
	return err;
}

int guise_uint_parse(const char *s, uint64_t max, uint64_t *v)
{
	const char *end;
	uint64_t n;
	int err = guise_digits_parse(s, &end, &n);

	if (err != -EINVAL && *end)
		return -EINVAL;
	if (!err && n > max)
		return -ERANGE;
	if (!err)
		*v = n;
	return err;
}
