// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>

#include "certcheck.h"
#include "http.h"
#include "revalidate.h"
#include "metrics.h"

struct metric {
	const char *name, *type, *help;
	const uint64_t *value;
};

static int put(struct evbuffer *buf, const char *name, const char *type,
	       const char *help)
{
	return evbuffer_add_printf(buf, "# HELP %s %s\n# TYPE %s %s\n", name,
				   help, name, type) < 0 ?
		       -1 :
		       0;
}

int metrics_format(struct leased *d, struct evbuffer *buf)
{
	const struct leased_metrics *m = &d->m;
	const struct certcheck_stats cs = certcheck_get_stats(d->cc);
	const struct revalidate_stats rs = revalidate_get_stats(d->rv);
	const struct metric counters[] = {
		{ "guise_leased_rents_total", "counter", "Leases rented.",
		  &m->rents },
		{ "guise_leased_rents_refused_total", "counter",
		  "Rents refused (exists, exhausted, limit, errors).",
		  &m->rents_refused },
		{ "guise_leased_returns_total", "counter", "Leases returned.",
		  &m->returns },
		{ "guise_leased_renews_total", "counter", "Leases renewed.",
		  &m->renews },
		{ "guise_leased_expired_total", "counter",
		  "Leases ended by the sweeper.", &m->expired },
		{ "guise_leased_reveals_allowed_total", "counter",
		  "Reveals answered for the lease's peer.",
		  &m->reveals_allowed },
		{ "guise_leased_reveals_refused_total", "counter",
		  "Reveals refused (answered not found).",
		  &m->reveals_refused },
		{ "guise_leased_rents_exhausted_total", "counter",
		  "Rents refused because every pool was exhausted.",
		  &m->rents_exhausted },
		{ "guise_leased_audit_rate_limited_total", "counter",
		  "Audited calls refused over [audit] rate (429).",
		  &m->audit_rate_limited },
		{ "guise_leased_rents_rate_limited_total", "counter",
		  "Rents refused by the per-client rate limit.",
		  &m->rents_rate_limited },
		{ "guise_leased_history_lookups_total", "counter",
		  "Abuse-desk history lookups.", &m->history_lookups },
		{ "guise_leased_history_purged_total", "counter",
		  "History records purged after the retention period.",
		  &m->history_purged },
		{ "guise_leased_denied_total", "counter",
		  "API calls refused by the authorisation matrix.",
		  &m->denied },
		{ "guise_leased_admin_actions_total", "counter",
		  "Administrative actions (leases ended by an admin).",
		  &m->admin_actions },
		{ "guise_leased_revoked_total", "counter",
		  "Leases ended because their certificate was revoked.",
		  &m->revoked },
		{ "guise_leased_revocation_events_total", "counter",
		  "Revoked (issuer, serial) pairs received from certd.",
		  &m->revocation_events },
		{ "guise_leased_revalidations_total", "counter",
		  "Re-validations of the live leases' certificates run.",
		  &rs.runs },
		{ "guise_leased_revalidation_checks_total", "counter",
		  "Certificates certd answered about in re-validations.",
		  &rs.checked },
		{ "guise_leased_revalidation_errors_total", "counter",
		  "Re-validation questions unanswered or unknown to certd.",
		  &rs.errors },
		{ "guise_leased_revalidation_ended_total", "counter",
		  "Leases ended because re-validation found their "
		  "certificate revoked or invalid.",
		  &m->revalidation_ended },
		{ "guise_leased_audit_errors_total", "counter",
		  "Audit records that could not be written.",
		  &m->audit_errors },
		{ "guise_leased_gateway_misses_total", "counter",
		  "LEASE_MISS events received.", &m->gateway_misses },
		{ "guise_leased_gateway_dropped_total", "counter",
		  "LEASE_MISS events dropped (queue full).",
		  &m->gateway_dropped },
		{ "guise_leased_kernel_errors_total", "counter",
		  "Kernel requests that failed.", &m->kernel_errors },
		{ "guise_leased_kernel_resyncs_total", "counter",
		  "Reconciliations with the kernel after a module reload or a failed removal.",
		  &m->kernel_resyncs },
		{ "guise_leased_store_errors_total", "counter",
		  "Store operations that failed.", &m->store_errors },
		{ "guise_leased_certcheck_hits_total", "counter",
		  "Client certificate checks answered from the cache.",
		  &cs.hits },
		{ "guise_leased_certcheck_misses_total", "counter",
		  "Client certificate checks that asked certd.", &cs.misses },
		{ "guise_leased_certcheck_denied_total", "counter",
		  "Requests refused by the certificate check.", &cs.denied },
		{ "guise_leased_certcheck_errors_total", "counter",
		  "certd unreachable, timed out, bad or unknown answers.",
		  &cs.errors },
		{ "guise_leased_group_commits_total", "counter",
		  "Group commits (transactions of batched writes).",
		  &m->group_commits },
		{ "guise_leased_group_commit_writes_total", "counter",
		  "Rents, returns and renews carried by group commits.",
		  &m->group_commit_writes },
		{ "guise_leased_group_commit_failures_total", "counter",
		  "Group commits that failed (every write answered 500).",
		  &m->group_commit_failures },
	};
	uint64_t live;
	double size;
	size_t i;

	if (store_lease_count(d->store, NULL, &live))
		return -1;
	size = pools_size(&d->pools);
	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		if (put(buf, counters[i].name, counters[i].type,
			counters[i].help) ||
		    evbuffer_add_printf(buf, "%s %" PRIu64 "\n",
					counters[i].name,
					*counters[i].value) < 0)
			return -1;
	}
	if (put(buf, "guise_leased_leases", "gauge", "Live leases.") ||
	    evbuffer_add_printf(buf, "guise_leased_leases %" PRIu64 "\n",
				live) < 0 ||
	    put(buf, "guise_leased_pools", "gauge", "Configured pools.") ||
	    evbuffer_add_printf(buf, "guise_leased_pools %u\n", d->pools.n) <
		    0 ||
	    put(buf, "guise_leased_pool_size", "gauge",
		"Addresses the pools can lease.") ||
	    evbuffer_add_printf(buf, "guise_leased_pool_size %.17g\n", size) <
		    0 ||
	    put(buf, "guise_leased_pool_free", "gauge",
		"Addresses not leased.") ||
	    evbuffer_add_printf(buf, "guise_leased_pool_free %.17g\n",
				size - (double)live) < 0)
		return -1;
	return http_metrics_format(buf, "guise_leased");
}
