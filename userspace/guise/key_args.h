/* SPDX-License-Identifier: GPL-2.0 */
/* Arguments of `guise key add|del|show|flush` into a struct guise_key. */
#ifndef GUISE_KEY_ARGS_H
#define GUISE_KEY_ARGS_H

#include <stddef.h>
#include <time.h>

#include "key.h"

/*
 * `add GROUP PORT id ID alg ALG dir rx|tx (secret HEX | secret-file PATH)
 *  salt HEX [not-before T] [not-after T] [replay-window N]`, argv[0] is
 * GROUP. T is seconds since the epoch or +DURATION from @now. The HEX of
 * "secret HEX" is overwritten in @argv (zeros) once read. Returns 0, or
 * -EINVAL with one precise message in @err. The caller wipes @k.
 */
int key_args_parse_add(int argc, char *const *argv, struct guise_key *k,
		       time_t now, char *err, size_t errlen);

/*
 * `GROUP PORT [id ID dir rx|tx]`: @need_id requires the key's id and
 * direction (del, show of one key); with @optional, no words at all is
 * accepted (flush all, show all).
 */
int key_args_parse_name(int argc, char *const *argv, struct guise_key *k,
			bool need_id, bool optional, char *err, size_t errlen);

#endif
