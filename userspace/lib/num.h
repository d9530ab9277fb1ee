/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Decimal numbers as the CLI and the settings take them: ASCII digits
 * only, none of what strtoull() takes besides (blanks, a sign, "0x").
 */
#ifndef GUISE_NUM_H
#define GUISE_NUM_H

#include <stdint.h>

/*
 * The digits at the start of @s into *@v, and *@end after them. 0,
 * -EINVAL when @s does not start with a digit, -ERANGE above UINT64_MAX.
 */
int guise_digits_parse(const char *s, const char **end, uint64_t *v);

/* @s, digits only, at most @max. 0, -EINVAL or -ERANGE. */
int guise_uint_parse(const char *s, uint64_t max, uint64_t *v);

#endif
