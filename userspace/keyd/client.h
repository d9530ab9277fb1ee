/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The client role: Km from the sealed key file, DEMMs and announcements
 * from the control port of the configured groups (and of every entitled
 * channel), rx content keys in the kernel for exactly what is entitled.
 */
#ifndef KEYD_CLIENT_H
#define KEYD_CLIENT_H

#include <event2/event.h>
#include <jansson.h>

#include "conf.h"

struct keyc;
struct kernel;

int client_start(struct event_base *base, struct keyd_conf *conf,
		 struct kernel *kernel, struct keyc **cp);
void client_stop(struct keyc *c);
void client_tick(struct keyc *c, uint64_t now);
/* The guise module went away (or may have): no rx key is in the kernel. */
void client_kernel_lost(struct keyc *c);
/* It is back: the rx keys again (kresync.h). 0 or a negative errno. */
int client_kernel_resync(struct keyc *c, uint64_t now);
json_t *client_status(struct keyc *c);

/* Does @conf's key file open (with its passphrase)? 0 or -1 (logged). */
int client_check_key(const struct keyd_conf *conf);

/* The passphrase that seals Km: @pass_file, or the machine id. */
int client_passphrase(const char *pass_file, char *buf, size_t size);

#endif
