// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "out.h"

void guise_out_init(struct guise_out *o, FILE *fp, bool json, bool pretty)
{
	memset(o, 0, sizeof(*o));
	o->fp = fp;
	o->json = json;
	o->pretty = pretty;
}

static void out_fail(struct guise_out *o, int err)
{
	if (!o->err)
		o->err = err;
}

/* Attach @v (a new reference, may be NULL on ENOMEM) at the current place. */
static void out_add(struct guise_out *o, const char *key, json_t *v)
{
	json_t *cur = o->depth ? o->stack[o->depth - 1] : NULL;
	int ret;

	if (!v) {
		out_fail(o, -ENOMEM);
		return;
	}
	if (!cur) {
		/* The document itself: only once. */
		if (o->root) {
			json_decref(v);
			out_fail(o, -EINVAL);
			return;
		}
		o->root = v;
		return;
	}
	if (json_is_array(cur)) {
		ret = json_array_append_new(cur, v);
	} else if (key) {
		ret = json_object_set_new(cur, key, v);
	} else {
		json_decref(v); /* a text-only value */
		ret = 0;
	}
	if (ret)
		out_fail(o, -ENOMEM);
}

static void out_open(struct guise_out *o, const char *key, json_t *v)
{
	if (!o->json)
		return;
	if (o->depth == GUISE_OUT_MAX_DEPTH) {
		json_decref(v);
		out_fail(o, -EINVAL);
		return;
	}
	if (!v) {
		out_fail(o, -ENOMEM);
		v = json_null(); /* keep open/close balanced */
	} else {
		json_incref(v); /* one for the parent, one for the stack */
		out_add(o, key, v);
	}
	o->stack[o->depth++] = v;
}

static void out_close(struct guise_out *o)
{
	if (!o->json)
		return;
	if (!o->depth) {
		out_fail(o, -EINVAL);
		return;
	}
	json_decref(o->stack[--o->depth]);
}

void guise_out_open_object(struct guise_out *o, const char *key)
{
	out_open(o, key, o->json ? json_object() : NULL);
}

void guise_out_close_object(struct guise_out *o)
{
	out_close(o);
}

void guise_out_open_array(struct guise_out *o, const char *key)
{
	out_open(o, key, o->json ? json_array() : NULL);
}

void guise_out_close_array(struct guise_out *o)
{
	out_close(o);
}

void guise_out_string(struct guise_out *o, const char *key, const char *fmt,
		      const char *value)
{
	if (o->json)
		out_add(o, key, json_string(value));
	else if (fmt)
		fprintf(o->fp, fmt, value);
}

void guise_out_uint(struct guise_out *o, const char *key, const char *fmt,
		    uint64_t value)
{
	json_t *v;

	if (!o->json) {
		if (fmt)
			fprintf(o->fp, fmt, value);
		return;
	}
	/* json_int_t is signed 64-bit: above it a JSON number would be a
	 * rounded float; null says "no such number" instead. */
	v = value <= INT64_MAX ? json_integer((json_int_t)value) : json_null();
	out_add(o, key, v);
}

void guise_out_bool(struct guise_out *o, const char *key, const char *fmt,
		    bool value)
{
	if (o->json)
		out_add(o, key, json_boolean(value));
	else if (fmt)
		fprintf(o->fp, fmt, value ? "on" : "off");
}

/* Drop the JSON document and the nesting. */
static void out_exit_json(struct guise_out *o)
{
	while (o->depth)
		json_decref(o->stack[--o->depth]);
	json_decref(o->root);
	o->root = NULL;
}

int guise_out_hold(struct guise_out *o)
{
	FILE *fp;

	if (o->json || o->dest)
		return 0;
	fp = open_memstream(&o->held, &o->held_len);
	if (!fp)
		return -ENOMEM;
	o->dest = o->fp;
	o->fp = fp;
	return 0;
}

/* Close the memory stream; its text goes to the destination if @keep. */
static void out_release(struct guise_out *o, bool keep)
{
	long len;

	if (!o->dest)
		return;
	/* Since a reset the buffer may hold more than what is current. */
	len = fflush(o->fp) ? -1 : ftell(o->fp);
	if (len < 0)
		out_fail(o, -EIO);
	else if (keep && !o->err &&
		 fwrite(o->held, 1, (size_t)len, o->dest) != (size_t)len)
		out_fail(o, -EIO);
	fclose(o->fp);
	free(o->held);
	o->held = NULL;
	o->fp = o->dest;
	o->dest = NULL;
}

void guise_out_reset(struct guise_out *o)
{
	out_exit_json(o);
	if (o->dest && fseek(o->fp, 0, SEEK_SET))
		out_fail(o, -EIO);
}

int guise_out_flush(struct guise_out *o)
{
	size_t flags = o->pretty ? JSON_INDENT(4) : 0;

	out_release(o, true);

	if (o->json && !o->err && o->depth)
		out_fail(o, -EINVAL); /* unbalanced open/close */
	if (o->json && o->root && !o->err) {
		if (json_dumpf(o->root, o->fp, flags) || fputc('\n', o->fp) < 0)
			out_fail(o, -EIO);
	}
	if (fflush(o->fp) || ferror(o->fp))
		out_fail(o, -EIO);
	guise_out_exit(o);
	return o->err;
}

void guise_out_exit(struct guise_out *o)
{
	out_release(o, false);
	out_exit_json(o);
}
