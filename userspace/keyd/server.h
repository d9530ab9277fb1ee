/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The server role: entitlements, Kc per channel and Ks per content, their
 * rotations, the tx keys in the kernel, and what goes out when.
 * Functions return 0 or -ENOENT (no such object), -EEXIST, -E2BIG (too
 * many channels for one client), -EINVAL, -EIO (store).
 */
#ifndef KEYD_SERVER_H
#define KEYD_SERVER_H

#include "keyd.h"

int server_start(struct keyd *d, uint64_t now);
void server_stop(struct keyd *d);
void server_tick(struct keyd *d, uint64_t now);
/* After the guise module was reloaded: the tx keys again (kresync.h). */
int server_kernel_resync(struct keyd *d, uint64_t now);

struct kclient *server_client_find(struct keyd *d, const char *id);
struct kclient *server_client_by_addr(struct keyd *d,
				      const struct in6_addr *addr);
struct kchannel *server_channel_find(struct keyd *d, uint32_t id);
struct kcontent *server_content_find(struct keyd *d, uint32_t id);

int server_client_add(struct keyd *d, const char *id,
		      const struct in6_addr *addr);
int server_client_del(struct keyd *d, const char *id, uint64_t now);
int server_channel_add(struct keyd *d, const struct kchannel *tmpl,
		       uint64_t now);
int server_channel_del(struct keyd *d, uint32_t id, uint64_t now);
int server_content_add(struct keyd *d, uint32_t id, uint32_t channel,
		       uint8_t alg, uint32_t ks_period, uint64_t now);
int server_content_del(struct keyd *d, uint32_t id, uint64_t now);
int server_entitle(struct keyd *d, const char *client, uint32_t channel,
		   uint64_t now);
int server_revoke(struct keyd *d, const char *client, uint32_t channel,
		  uint64_t now);

#endif
