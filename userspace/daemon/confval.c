// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "confval.h"
#include "lease.h"
#include "log.h"
#include "num.h"

int conf_set_string(char **dst, const char *value)
{
	char *s = strdup(value);

	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

static char *start_dir;

void conf_set_start_dir(const char *dir)
{
	free(start_dir);
	start_dir = dir ? strdup(dir) : NULL;
}

char *conf_path(const char *value)
{
	char *s;

	if (!start_dir || value[0] == '/' || !value[0])
		return strdup(value);
	if (asprintf(&s, "%s%s%s", start_dir,
		     start_dir[strlen(start_dir) - 1] == '/' ? "" : "/",
		     value) < 0)
		return NULL;
	return s;
}

int conf_set_path(char **dst, const char *value)
{
	char *s = conf_path(value);

	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

int conf_parse_bool(const char *value, bool *out)
{
	if (!strcmp(value, "on") || !strcmp(value, "yes") ||
	    !strcmp(value, "true") || !strcmp(value, "1"))
		*out = true;
	else if (!strcmp(value, "off") || !strcmp(value, "no") ||
		 !strcmp(value, "false") || !strcmp(value, "0"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

int conf_parse_u32(const char *value, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v;

	if (guise_uint_parse(value, max, &v) || v < min)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int conf_parse_duration(const char *value, bool zero_ok, uint32_t *out)
{
	size_t zeros = strspn(value, "0");

	/* guise_duration_parse() wants more than zero: "0", "0s", "00m"... */
	if (zero_ok && zeros &&
	    (!value[zeros] ||
	     (strchr("smhd", value[zeros]) && !value[zeros + 1]))) {
		*out = 0;
		return 0;
	}
	return guise_duration_parse(value, out) ? -EINVAL : 0;
}

int conf_verdict(const char *path, const char *section, const char *name,
		 const char *value, int err, int *line_err)
{
	if (!err)
		return 1;
	if (err == -ENOENT)
		guise_err("%s: unknown setting [%s] %s", path, section, name);
	else if (err == -ENOMEM)
		guise_err("%s: out of memory", path);
	else
		guise_err("%s: [%s] %s: invalid value \"%s\"", path, section,
			  name, value);
	*line_err = 1;
	return 0;
}

int conf_parse_file(const char *path, ini_handler handler, void *user,
		    const int *line_err)
{
	int ret = ini_parse(path, handler, user);

	if (ret == -1) {
		guise_err("%s: %s", path, strerror(errno));
		return -1;
	}
	if (ret == -2) {
		guise_err("%s: out of memory", path);
		return -1;
	}
	if (ret > 0) {
		if (!*line_err)
			guise_err("%s: line %d: syntax error", path, ret);
		else
			guise_err("%s: error at line %d", path, ret);
		return -1;
	}
	return 0;
}
