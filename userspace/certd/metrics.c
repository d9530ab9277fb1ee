// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>

#include "api.h"
#include "events.h"
#include "http.h"
#include "loader.h"
#include "worker.h"

struct metric {
	const char *name, *help;
	uint64_t value;
};

int metrics_format(struct certd *d, struct evbuffer *buf)
{
	const struct certd_metrics *m = &d->m;
	struct worker_stats w = { 0 };
	size_t i;

	worker_counts(d->worker, &w);
	{
		const struct metric counters[] = {
			{ "validations_total", "Validation requests.",
			  m->validations },
			{ "validations_cached_total",
			  "Validations answered from the path cache.",
			  m->validations_cached },
			{ "results_good_total", "Results good.",
			  m->results[0] },
			{ "results_revoked_total", "Results revoked.",
			  m->results[1] },
			{ "results_unknown_total", "Results unknown.",
			  m->results[2] },
			{ "results_invalid_total", "Results invalid.",
			  m->results[3] },
			{ "acquires_total", "Acquire requests.", m->acquires },
			{ "acquires_refused_total",
			  "Acquires refused (fetch failed or not valid).",
			  m->acquires_refused },
			{ "acquires_busy_total",
			  "Acquires refused 503: as many fetching already.",
			  m->acquires_busy },
			{ "acquires_denied_total",
			  "Acquires refused 403: acquire off, or a URL "
			  "[network] acquire_allow does not allow.",
			  m->acquires_denied },
			{ "subscribe_denied_total",
			  "Subscriptions refused 403: a URL the client may "
			  "not subscribe.",
			  m->subscribe_denied },
			{ "ocsp_requests_total", "OCSP requests.",
			  m->ocsp_requests },
			{ "ocsp_cached_total",
			  "OCSP requests answered from the response cache.",
			  m->ocsp_cached },
			{ "ocsp_errors_total",
			  "OCSP requests answered with an error status.",
			  m->ocsp_errors },
			{ "notify_accepted_total",
			  "First notifications of a CRL accepted.",
			  m->notify_accepted },
			{ "notify_duplicate_total",
			  "Notifications dropped as duplicates.",
			  m->notify_duplicate },
			{ "notify_rejected_total",
			  "Notifications rejected (bad signature, signer).",
			  m->notify_rejected },
			{ "notify_limited_total",
			  "Notifications refused by the rate limit.",
			  m->notify_limited },
			{ "notify_forwarded_total",
			  "Notifications queued for forwarding.",
			  m->notify_forwarded },
			{ "crl_fetch_errors_total", "CRL fetches that failed.",
			  m->crl_fetch_errors },
			{ "crl_updates_total", "CRLs taken into the cache.",
			  m->crl_updates },
			{ "crl_rejected_total",
			  "CRLs refused (signature, issuer, malformed).",
			  m->crl_rejected },
			{ "paths_shared_total", "Paths queued to peers.",
			  m->paths_shared },
			{ "paths_received_total",
			  "Paths received from peers and cached.",
			  m->paths_received },
			{ "paths_refused_total",
			  "Paths received that did not validate.",
			  m->paths_refused },
			{ "events_sent_total",
			  "Revocation events written to streams.",
			  m->events_sent },
			{ "posts_sent_total", "Outgoing POSTs answered 2xx.",
			  w.sent },
			{ "posts_resumed_total",
			  "Outgoing POSTs answered 2xx over a resumed TLS "
			  "session.",
			  w.resumed },
			{ "posts_reused_total",
			  "Outgoing POSTs answered 2xx over a connection kept "
			  "open since an earlier POST ([network] keepalive).",
			  w.reused },
			{ "posts_failed_total", "Outgoing POSTs that failed.",
			  w.failed },
			{ "forward_warmed_total",
			  "Connections opened to forward list peers ahead of "
			  "notifications ([network] prewarm).",
			  w.warmed },
			{ "forward_warm_failed_total",
			  "Attempts to connect to a forward list peer ahead "
			  "of notifications that failed.",
			  w.warm_failed },
			{ "peer_keepalive_total",
			  "Health requests of peers connecting ahead of "
			  "notifications (kept open).",
			  m->peer_keepalive },
			{ "posts_dropped_total",
			  "Outgoing POSTs dropped (queue full).", w.dropped },
			{ "path_cache_hits_total", "Path cache hits.",
			  d->paths.hits },
			{ "path_cache_stale_total",
			  "Path cache entries found stale.", d->paths.stale },
		};

		for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
			if (evbuffer_add_printf(
				    buf,
				    "# HELP guise_certd_%s %s\n"
				    "# TYPE guise_certd_%s counter\n"
				    "guise_certd_%s %" PRIu64 "\n",
				    counters[i].name, counters[i].help,
				    counters[i].name, counters[i].name,
				    counters[i].value) < 0)
				return -1;
	}
	if (evbuffer_add_printf(
		    buf,
		    "# HELP guise_certd_crl_issuers Issuers with "
		    "CRL state.\n# TYPE guise_certd_crl_issuers "
		    "gauge\nguise_certd_crl_issuers %zu\n"
		    "# HELP guise_certd_paths Cached paths.\n"
		    "# TYPE guise_certd_paths gauge\n"
		    "guise_certd_paths %zu\n"
		    "# HELP guise_certd_crl_loading 1 while a CRL load "
		    "works off the event loop.\n"
		    "# TYPE guise_certd_crl_loading gauge\n"
		    "guise_certd_crl_loading %d\n"
		    "# HELP guise_certd_crl_loads_queued CRL loads "
		    "waiting or running.\n"
		    "# TYPE guise_certd_crl_loads_queued gauge\n"
		    "guise_certd_crl_loads_queued %zu\n"
		    "# HELP guise_certd_crl_loop_max_seconds The "
		    "longest step of a CRL load on the event loop "
		    "(publish, events, replies).\n"
		    "# TYPE guise_certd_crl_loop_max_seconds gauge\n"
		    "guise_certd_crl_loop_max_seconds %.6f\n"
		    "# HELP guise_certd_crl_loop_max_cpu_seconds The "
		    "same in CPU time of the event loop thread.\n"
		    "# TYPE guise_certd_crl_loop_max_cpu_seconds gauge\n"
		    "guise_certd_crl_loop_max_cpu_seconds %.6f\n"
		    "# HELP guise_certd_event_streams Open event "
		    "streams.\n# TYPE guise_certd_event_streams "
		    "gauge\nguise_certd_event_streams %zu\n"
		    "# HELP guise_certd_acquires_fetching Acquires "
		    "whose fetch is under way.\n"
		    "# TYPE guise_certd_acquires_fetching gauge\n"
		    "guise_certd_acquires_fetching %u\n"
		    "# HELP guise_certd_forward_connected Forward list "
		    "peers with a connection open or opening.\n"
		    "# TYPE guise_certd_forward_connected gauge\n"
		    "guise_certd_forward_connected %" PRIu64 "\n"
		    "# HELP guise_certd_forward_down Forward list peers "
		    "that could not be connected to (retried with a "
		    "backoff).\n"
		    "# TYPE guise_certd_forward_down gauge\n"
		    "guise_certd_forward_down %" PRIu64 "\n",
		    d->crls.n_issuers, d->paths.n, (int)d->crl_loading,
		    d->n_ops, loader_done_max(d->loader, false),
		    loader_done_max(d->loader, true), events_streams(d->events),
		    d->acquiring, w.warm_open, w.warm_down) < 0)
		return -1;
	return http_metrics_format(buf, "guise_certd");
}
