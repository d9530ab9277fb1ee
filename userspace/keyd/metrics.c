// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>
#include <stdio.h>

#include "certcheck.h"
#include "revalidate.h"
#include "http.h"
#include "metrics.h"
#include "sender.h"

struct metric {
	const char *name, *type, *help;
	uint64_t value;
};

static int put(struct evbuffer *buf, const struct metric *m)
{
	return evbuffer_add_printf(buf,
				   "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64
				   "\n",
				   m->name, m->help, m->name, m->type, m->name,
				   m->value) < 0 ?
		       -1 :
		       0;
}

/* Every status code the API answered since the start, one sample each. */
static int put_replies(struct evbuffer *buf, const struct keyd_counters *m)
{
	uint64_t errors = 0;
	unsigned int code;

	if (evbuffer_add_printf(
		    buf, "# HELP guise_keyd_api_requests_total API requests "
			 "answered, by HTTP status code.\n"
			 "# TYPE guise_keyd_api_requests_total counter\n") < 0)
		return -1;
	for (code = 100; code < KEYD_HTTP_CODES; code++) {
		if (!m->api_replies[code])
			continue;
		if (code >= 400)
			errors += m->api_replies[code];
		if (evbuffer_add_printf(buf,
					"guise_keyd_api_requests_total{code="
					"\"%u\"} %" PRIu64 "\n",
					code, m->api_replies[code]) < 0)
			return -1;
	}
	return put(buf, &(struct metric){
				"guise_keyd_api_errors_total", "counter",
				"API requests answered with a 4xx or 5xx code.",
				errors });
}

int metrics_server(struct keyd *d, struct evbuffer *buf)
{
	const struct keyd_counters *m = &d->m;
	const struct certcheck_stats cs = certcheck_get_stats(d->cc);
	const struct revalidate_stats rs = revalidate_get_stats(d->rv);
	const struct metric all[] = {
		{ "guise_keyd_clients", "gauge", "Clients known.",
		  d->nclients },
		{ "guise_keyd_channels", "gauge", "Channels.", d->nchannels },
		{ "guise_keyd_contents", "gauge", "Contents.", d->ncontents },
		{ "guise_keyd_send_queue", "gauge",
		  "Control messages waiting under the cap.",
		  sender_queued(d->sender) },
		{ "guise_keyd_cap_bytes_per_second", "gauge",
		  "The control bitrate cap (bytes on the wire per second).",
		  sender_rate(d->sender) },
		{ "guise_keyd_window_bytes", "gauge",
		  "Control bytes on the wire in the last second.",
		  sender_window_bytes(d->sender) },
		{ "guise_keyd_demms_sent_total", "counter", "DEMMs sent.",
		  m->demms_sent },
		{ "guise_keyd_announces_sent_total", "counter",
		  "Announcements sent.", m->announces_sent },
		{ "guise_keyd_control_bytes_sent_total", "counter",
		  "Control bytes sent, on the wire (UDP payload + 62, as the cap counts them).",
		  m->bytes_sent },
		{ "guise_keyd_send_errors_total", "counter",
		  "Control datagrams the socket refused.", m->send_errors },
		{ "guise_keyd_deferred_total", "counter",
		  "Control sends deferred by the bitrate cap.", m->deferred },
		{ "guise_keyd_kc_rotations_total", "counter",
		  "Channel key (Kc) rotations.", m->kc_rotations },
		{ "guise_keyd_ks_rotations_total", "counter",
		  "Content key (Ks) rotations.", m->ks_rotations },
		{ "guise_keyd_revocations_total", "counter",
		  "Entitlements revoked.", m->revocations },
		{ "guise_keyd_certd_events_total", "counter",
		  "Certificate revocation events received from certd.",
		  m->certd_events },
		{ "guise_keyd_certs_revoked_total", "counter",
		  "Clients whose entitlements a certd revocation (event or "
		  "re-validation) ended.",
		  m->certs_revoked },
		{ "guise_keyd_revalidations_total", "counter",
		  "Re-validations of the enrolment certificates run.",
		  rs.runs },
		{ "guise_keyd_revalidation_checks_total", "counter",
		  "Certificates certd answered about in re-validations.",
		  rs.checked },
		{ "guise_keyd_revalidation_errors_total", "counter",
		  "Re-validation questions unanswered or unknown to certd.",
		  rs.errors },
		{ "guise_keyd_revalidation_ended_total", "counter",
		  "Clients whose entitlements re-validation ended (certificate "
		  "revoked or invalid).",
		  m->revalidation_ended },
		{ "guise_keyd_kernel_errors_total", "counter",
		  "Kernel requests that failed.", m->kernel_errors },
		{ "guise_keyd_kernel_resyncs_total", "counter",
		  "Times the tx keys were installed again after the guise "
		  "module was reloaded.",
		  m->kernel_resyncs },
		{ "guise_keyd_store_errors_total", "counter",
		  "Store operations that failed.", m->store_errors },
		{ "guise_keyd_certcheck_hits_total", "counter",
		  "Client certificate checks answered from the cache.",
		  cs.hits },
		{ "guise_keyd_certcheck_misses_total", "counter",
		  "Client certificate checks that asked certd.", cs.misses },
		{ "guise_keyd_certcheck_denied_total", "counter",
		  "Requests refused by the certificate check.", cs.denied },
		{ "guise_keyd_certcheck_errors_total", "counter",
		  "certd unreachable, timed out, bad or unknown answers.",
		  cs.errors },
	};
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (put(buf, &all[i]))
			return -1;
	if (put_replies(buf, m))
		return -1;
	return http_metrics_format(buf, "guise_keyd");
}

int metrics_client(json_t *status, struct evbuffer *buf)
{
	struct metric g[] = {
		{ "guise_keyd_client_channels", "gauge",
		  "Channels the current DEMM entitles.",
		  json_array_size(json_object_get(status, "channels")) },
		{ "guise_keyd_client_keys", "gauge", "Live rx keys.",
		  json_array_size(json_object_get(status, "keys")) },
	};
	char name[96], help[128];
	const char *k;
	json_t *v;
	size_t i;

	for (i = 0; i < sizeof(g) / sizeof(g[0]); i++)
		if (put(buf, &g[i]))
			return -1;
	/* The status counters, one name each: no second list to keep. */
	json_object_foreach(json_object_get(status, "counters"), k, v) {
		snprintf(name, sizeof(name), "guise_keyd_client_%s_total", k);
		snprintf(help, sizeof(help),
			 "The client counter %s (see guise status).", k);
		if (put(buf,
			&(struct metric){ name, "counter", help,
					  (uint64_t)json_integer_value(v) }))
			return -1;
	}
	return 0;
}

static void on_reply_done(struct evhttp_request *req, void *arg)
{
	struct keyd *d = arg;
	int code = evhttp_request_get_response_code(req);

	if (code >= 100 && code < KEYD_HTTP_CODES)
		d->m.api_replies[code]++;
}

void metrics_count_reply(struct evhttp_request *req, struct keyd *d)
{
	evhttp_request_set_on_complete_cb(req, on_reply_done, d);
}

void metrics_reply(struct evhttp_request *req, struct evbuffer *buf)
{
	if (!buf) {
		http_reply_error(req, HTTP_INTERNAL, "metrics unavailable");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "Content-Type", "text/plain; version=0.0.4");
	http_send(req, HTTP_OK, NULL, buf);
	evbuffer_free(buf);
}
