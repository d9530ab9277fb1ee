/* SPDX-License-Identifier: GPL-2.0 */
/* Rendering of decoded kernel objects as text or JSON. */
#ifndef GUISE_SHOW_H
#define GUISE_SHOW_H

#include "config.h"
#include "out.h"
#include "stats.h"

/* Text: "keyword value" lines that `guise config set` accepts back. */
void show_config(struct guise_out *o, const struct guise_config *cfg);
/* Text: one "name value" line per counter; JSON: one object. */
void show_stats(struct guise_out *o, const struct guise_stats *st);

#endif
