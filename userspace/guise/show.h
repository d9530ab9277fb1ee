/* SPDX-License-Identifier: GPL-2.0 */
/* Rendering of decoded kernel objects as text or JSON. */
#ifndef GUISE_SHOW_H
#define GUISE_SHOW_H

#include "config.h"
#include "key.h"
#include "lease.h"
#include "out.h"
#include "stats.h"

/* Text: "keyword value" lines that `guise config set` accepts back. */
void show_config(struct guise_out *o, const struct guise_config *cfg);
/* Text: one "name value" line per counter; JSON: one object. */
void show_stats(struct guise_out *o, const struct guise_stats *st);

/* Text: one line per lease and one of counters; JSON: one object (under
 * @key inside an object, NULL inside an array). */
void show_lease(struct guise_out *o, const char *key,
		const struct guise_lease *l);

/* Text: one line per key and one of counters (never a secret); JSON: one
 * object. */
void show_key(struct guise_out *o, const char *key, const struct guise_key *k);

/* For guise_nl_dump(): a listing of objects into an array (a struct
 * guise_out just opened, held) starts over. */
void show_list_restart(void *out);

#endif
