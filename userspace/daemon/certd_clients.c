// SPDX-License-Identifier: GPL-2.0
#include <string.h>
#include <unistd.h>

#include "certd_clients.h"
#include "log.h"
#include "netns.h"

static int start_here(struct event_base *base,
		      const struct certd_clients_conf *conf,
		      revocation_cb revoked, revocation_connected_cb connected,
		      void *arg, struct certcheck **cc, struct revalidate **rv,
		      struct revocation **rev)
{
	const struct certd_section *c = conf->certd;
	const struct revocation_conf rc = {
		.url = c->url,
		.cert = c->cert ? c->cert : conf->cert,
		.key = c->key ? c->key : conf->key,
		.ca = c->ca ? c->ca : conf->ca,
	};
	struct certcheck_conf ccc = {
		.url = rc.url,
		.cert = rc.cert,
		.key = rc.key,
		.ca = rc.ca,
		.cache_size = c->cache_size,
		.ttl = c->cache_ttl,
		.timeout = c->timeout,
		.allow_on_error = c->allow_on_error,
	};

	if (c->check) {
		*cc = certcheck_start(base, &ccc);
		if (!*cc) {
			guise_err(
				"[certd] %s: cannot start the certificate check",
				rc.url);
			return -1;
		}
	}
	if (conf->revalidate) {
		*rv = revalidate_start(base, &ccc, conf->revalidate);
		if (!*rv)
			return -1;
	}
	*rev = revocation_start(base, &rc, revoked, connected, arg);
	if (!*rev) {
		guise_err("[certd] %s: cannot start the event client", rc.url);
		return -1;
	}
	return 0;
}

int certd_clients_start(struct event_base *base,
			const struct certd_clients_conf *conf,
			revocation_cb revoked,
			revocation_connected_cb connected, void *arg,
			struct certcheck **cc, struct revalidate **rv,
			struct revocation **rev)
{
	int here, err, ret;

	here = guise_netns_open_self();
	err = here < 0 ? here : guise_netns_set(conf->home_ns);
	if (err) {
		guise_err("[certd]: cannot use the start namespace: %s",
			  strerror(-err));
		if (here >= 0)
			close(here);
		return -1;
	}
	err = start_here(base, conf, revoked, connected, arg, cc, rv, rev);
	ret = guise_netns_set(here);
	if (ret) {
		guise_err("[certd]: cannot return to the namespace: %s",
			  strerror(-ret));
		err = -1;
	}
	close(here);
	return err;
}
