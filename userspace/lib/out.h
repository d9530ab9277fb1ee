/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One print path for text and JSON, in the spirit of iproute2's
 * json_print.h: each call names the JSON key and the text format, and the
 * context emits whichever the user asked for.
 *
 * Text: fmt (NULL = JSON only) is printed with the value, which is a
 * string, a uint64_t (use PRIu64) or for booleans "on"/"off" (use %s).
 * JSON: inside an array the value is appended; inside an object it is set
 * under key (NULL = text only). The document is printed by guise_out_flush.
 * A uint64_t above INT64_MAX, beyond jansson's integers, is JSON null: in
 * practice only a "never" time (a key's not_after at its maximum).
 */
#ifndef GUISE_OUT_H
#define GUISE_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#define GUISE_OUT_MAX_DEPTH 8

struct guise_out {
	FILE *fp;
	FILE *dest; /* where held text goes at flush (guise_out_hold) */
	char *held; /* the memory stream's buffer while fp is one */
	size_t held_len;
	bool json;
	bool pretty;
	int err; /* first error: -ENOMEM, -EINVAL for misuse, -EIO */
	unsigned int depth;
	json_t *root;
	json_t *stack[GUISE_OUT_MAX_DEPTH];
};

void guise_out_init(struct guise_out *o, FILE *fp, bool json, bool pretty);
/* Print the JSON document (if any) and flush; 0 or the first error. */
int guise_out_flush(struct guise_out *o);
/* Release the JSON document (and held text) without printing it. */
void guise_out_exit(struct guise_out *o);

/*
 * Keep text output in memory until guise_out_flush() (JSON is kept until
 * then anyway), so that guise_out_reset() can take it back. Call right
 * after guise_out_init(). 0 or -ENOMEM (output then goes out directly).
 */
int guise_out_hold(struct guise_out *o);
/*
 * Forget everything output since guise_out_init() (a dump that is done
 * again); held text and the JSON document are dropped, nesting is back
 * at the top. Text that was not held is out already and stays.
 */
void guise_out_reset(struct guise_out *o);

void guise_out_open_object(struct guise_out *o, const char *key);
void guise_out_close_object(struct guise_out *o);
void guise_out_open_array(struct guise_out *o, const char *key);
void guise_out_close_array(struct guise_out *o);

void guise_out_string(struct guise_out *o, const char *key, const char *fmt,
		      const char *value);
void guise_out_uint(struct guise_out *o, const char *key, const char *fmt,
		    uint64_t value);
void guise_out_bool(struct guise_out *o, const char *key, const char *fmt,
		    bool value);

#endif
