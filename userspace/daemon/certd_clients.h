/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Starting a daemon's clients of guise-certd together: the revocation
 * event stream (revocation.h), the re-validation of what the daemon
 * granted (revalidate.h) and, optionally, the per-request certificate
 * checks (certcheck.h), from the right network namespace.
 */
#ifndef GUISE_DAEMON_CERTD_CLIENTS_H
#define GUISE_DAEMON_CERTD_CLIENTS_H

#include "certcheck.h"
#include "certd_section.h"
#include "revalidate.h"
#include "revocation.h"

struct certd_clients_conf {
	const struct certd_section *certd; /* [certd] (url set) */
	/* The daemon's [server] TLS files: for those [certd] does not set. */
	const char *cert, *key, *ca;
	/* The daemon's side of re-validation (NULL: none). */
	const struct revalidate_ops *revalidate;
	/*
	 * The namespace the daemon started in (guise_netns_open_self()
	 * before any [kernel] netns), where certd is reached: both clients
	 * run threads, and a thread is born in its creator's namespace.
	 */
	int home_ns;
};

/*
 * Start the certificate checks (into *@cc, left NULL without [certd]
 * check), the re-validation (into *@rv, left NULL without
 * @conf->revalidate; @connected is expected to call revalidate_run())
 * and the event stream (into *@rev) on @base; @revoked and @connected as
 * for revocation_start(), with @arg. 0 or -1 (logged); on error the
 * caller still owns and stops what was started.
 */
int certd_clients_start(struct event_base *base,
			const struct certd_clients_conf *conf,
			revocation_cb revoked,
			revocation_connected_cb connected, void *arg,
			struct certcheck **cc, struct revalidate **rv,
			struct revocation **rev);

#endif
