// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "log.h"
#include "nl.h"

/* One request; a dump the kernel marks interrupted is done again, after
 * @restart(@data). */
static int request(struct kernel *k, uint8_t cmd, uint16_t flags,
		   const struct guise_key *key, guise_nl_reply_cb cb,
		   void (*restart)(void *data), void *data)
{
	char buf[GUISE_NL_MSG_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh;
	int err;

	nlh = guise_msg_start(buf, guise_nl_family(k->nl), cmd,
			      NLM_F_REQUEST | NLM_F_ACK | flags);
	if (key && guise_key_put(nlh, sizeof(buf), key))
		return -EMSGSIZE;
	if (flags & NLM_F_DUMP)
		err = guise_nl_dump(k->nl, nlh, cb, restart, data);
	else
		err = guise_nl_talk(k->nl, nlh, cb, data);
	explicit_bzero(buf, sizeof(buf));
	return err;
}

static void log_fail(struct kernel *k, const char *op,
		     const struct guise_key *key, int err)
{
	char g[INET6_ADDRSTRLEN];

	guise_err("kernel: %s [%s]:%u id %u: %s%s%s", op,
		  inet_ntop(AF_INET6, &key->group, g, sizeof(g)), key->port,
		  key->id, strerror(-err),
		  guise_nl_extack(k->nl)[0] ? ": " : "",
		  guise_nl_extack(k->nl));
}

int kernel_key_add(struct kernel *k, const struct guise_key *key)
{
	int err = request(k, GUISE_CMD_KEY_NEW, 0, key, NULL, NULL, NULL);

	if (err && err != -EEXIST)
		log_fail(k, "add", key, err);
	return err;
}

int kernel_key_retime(struct kernel *k, const struct guise_key *key)
{
	struct guise_key r = *key;
	int err;

	guise_key_mark(&r, GUISE_A_KEY_REPLACE);
	err = request(k, GUISE_CMD_KEY_NEW, 0, &r, NULL, NULL, NULL);
	guise_key_wipe(&r);
	if (err)
		log_fail(k, "change validity of", key, err);
	return err;
}

int kernel_key_del(struct kernel *k, const struct guise_key *key)
{
	struct guise_key d;
	int err;

	memset(&d, 0, sizeof(d));
	d.group = key->group;
	d.port = key->port;
	d.id = key->id;
	d.dir = key->dir;
	guise_key_mark(&d, GUISE_A_KEY_GROUP);
	guise_key_mark(&d, GUISE_A_KEY_PORT);
	guise_key_mark(&d, GUISE_A_KEY_ID);
	guise_key_mark(&d, GUISE_A_KEY_DIR);
	err = request(k, GUISE_CMD_KEY_DEL, 0, &d, NULL, NULL, NULL);
	if (err == -ENOENT)
		return 0;
	if (err)
		log_fail(k, "delete", key, err);
	return err;
}

int kernel_key_flush(struct kernel *k)
{
	int err = request(k, GUISE_CMD_KEY_FLUSH, 0, NULL, NULL, NULL, NULL);

	if (err)
		guise_err("kernel: key flush: %s", strerror(-err));
	return err;
}

struct dump {
	struct guise_key *v;
	size_t n, cap;
};

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump *d = data;
	struct guise_key *nv;

	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 32;
		nv = reallocarray(d->v, d->cap, sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		d->v = nv;
	}
	if (guise_key_parse(nlh, &d->v[d->n]))
		return -EPROTO;
	d->n++;
	return 0;
}

/* The dump was interrupted: it starts over. */
static void dump_restart(void *data)
{
	struct dump *d = data;

	d->n = 0;
}

int kernel_key_dump(struct kernel *k, struct guise_key **out, size_t *n)
{
	struct dump d = { 0 };
	int err = request(k, GUISE_CMD_KEY_GET, NLM_F_DUMP, NULL, dump_cb,
			  dump_restart, &d);

	if (err) {
		if (err == -EINTR)
			guise_err(
				"kernel: key dump: the table kept changing (%d dumps interrupted)",
				GUISE_NL_DUMP_TRIES);
		else
			guise_err("kernel: key dump: %s", strerror(-err));
		free(d.v);
		return err;
	}
	*out = d.v;
	*n = d.n;
	return 0;
}
