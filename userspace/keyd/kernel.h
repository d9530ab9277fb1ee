/* SPDX-License-Identifier: GPL-2.0 */
/* guise-keyd's content keys in the kernel (netlink through libguise). */
#ifndef KEYD_KERNEL_H
#define KEYD_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "kernel_nl.h" /* struct kernel, kernel_open(), kernel_close() */
#include "key.h"

/* Install @key; 0, -EEXIST (already there) or a negative errno. */
int kernel_key_add(struct kernel *k, const struct guise_key *key);
/* Delete (group, port, id, dir) of @key; a missing key is not an error. */
/* The installed key's not-before/not-after set to @key's, in place (the
 * kernel keeps its replay state: no datagram lost); added if absent. */
int kernel_key_retime(struct kernel *k, const struct guise_key *key);
int kernel_key_del(struct kernel *k, const struct guise_key *key);
/* Delete every key of the namespace. */
int kernel_key_flush(struct kernel *k);
/* All keys (no secrets): *@out to free(). */
int kernel_key_dump(struct kernel *k, struct guise_key **out, size_t *n);

#endif
