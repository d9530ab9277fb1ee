// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>

#include "show.h"

static void show_u32(struct guise_out *o, const struct guise_config *cfg,
		     unsigned int attr, const char *key, const char *fmt,
		     uint32_t value)
{
	if (guise_config_has(cfg, attr))
		guise_out_uint(o, key, fmt, value);
}

static void show_miss_rule(struct guise_out *o, const struct guise_miss_rule *r)
{
	const char *policy = guise_miss_policy_name(r->policy);
	char buf[GUISE_PREFIX_STRLEN];

	guise_out_open_object(o, NULL);
	guise_out_string(o, "prefix", "miss %s",
			 guise_prefix_format(&r->prefix, buf, sizeof(buf)));
	if (policy)
		guise_out_string(o, "policy", " %s\n", policy);
	else
		guise_out_uint(o, "policy", " %" PRIu64 "\n", r->policy);
	guise_out_close_object(o);
}

void show_config(struct guise_out *o, const struct guise_config *cfg)
{
	char buf[GUISE_PREFIX_STRLEN];
	unsigned int i;

	guise_out_open_object(o, NULL);
	if (guise_config_has(cfg, GUISE_A_CONFIG_ENABLED))
		guise_out_bool(o, "enabled", "enabled %s\n", cfg->enabled);
	show_u32(o, cfg, GUISE_A_CONFIG_MAX_LEASES, "max_leases",
		 "max-leases %" PRIu64 "\n", cfg->max_leases);
	show_u32(o, cfg, GUISE_A_CONFIG_UPCALL_QLEN, "upcall_qlen",
		 "upcall-qlen %" PRIu64 "\n", cfg->upcall_qlen);
	show_u32(o, cfg, GUISE_A_CONFIG_UPCALL_TIMEOUT_MS, "upcall_timeout_ms",
		 "upcall-timeout %" PRIu64 "\n", cfg->upcall_timeout_ms);
	if (guise_config_has(cfg, GUISE_A_CONFIG_ROUTING_HEADER)) {
		const char *rh = guise_rthdr_policy_name(cfg->rthdr_policy);

		if (rh)
			guise_out_string(o, "routing_header",
					 "routing-header %s\n", rh);
		else
			guise_out_uint(o, "routing_header",
				       "routing-header %" PRIu64 "\n",
				       cfg->rthdr_policy);
	}
	show_u32(o, cfg, GUISE_A_CONFIG_LEASE_COUNT, "lease_count",
		 "leases %" PRIu64 "\n", cfg->lease_count);
	show_u32(o, cfg, GUISE_A_CONFIG_KEY_COUNT, "key_count",
		 "keys %" PRIu64 "\n", cfg->key_count);

	guise_out_open_array(o, "vprefixes");
	for (i = 0; i < cfg->n_vprefixes; i++)
		guise_out_string(o, NULL, "vprefix %s\n",
				 guise_prefix_format(&cfg->vprefixes[i], buf,
						     sizeof(buf)));
	guise_out_close_array(o);

	guise_out_open_array(o, "miss_rules");
	for (i = 0; i < cfg->n_miss_rules; i++)
		show_miss_rule(o, &cfg->miss_rules[i]);
	guise_out_close_array(o);
	guise_out_close_object(o);
}

void show_stats(struct guise_out *o, const struct guise_stats *st)
{
	char unknown[32];
	unsigned int i;

	guise_out_open_object(o, NULL);
	for (i = 0; i < st->count; i++) {
		const char *name = guise_stat_name(st->v[i].id);

		if (!name) {
			snprintf(unknown, sizeof(unknown), "stat_%u",
				 st->v[i].id);
			name = unknown;
		}
		guise_out_string(o, NULL, "%s ", name); /* text only */
		guise_out_uint(o, name, "%" PRIu64 "\n", st->v[i].value);
	}
	guise_out_close_object(o);
}

static void show_lease_counters(struct guise_out *o,
				const struct guise_lease_counters *c)
{
	guise_out_open_object(o, "stats");
	guise_out_uint(o, "tx_packets", "    tx %" PRIu64 " packets",
		       c->tx_packets);
	guise_out_uint(o, "tx_bytes", " %" PRIu64 " bytes", c->tx_bytes);
	guise_out_uint(o, "rx_packets", "  rx %" PRIu64 " packets",
		       c->rx_packets);
	guise_out_uint(o, "rx_bytes", " %" PRIu64 " bytes", c->rx_bytes);
	guise_out_uint(o, "drop_rate", "  dropped: rate %" PRIu64,
		       c->drop_rate);
	guise_out_uint(o, "drop_smtp", " smtp %" PRIu64 "\n", c->drop_smtp);
	guise_out_close_object(o);
}

void show_lease(struct guise_out *o, const char *key,
		const struct guise_lease *l)
{
	char a[INET6_ADDRSTRLEN], flags[64];
	uint32_t f;

	guise_out_open_object(o, key);
	guise_out_string(o, "real", "%s",
			 inet_ntop(AF_INET6, &l->real, a, sizeof(a)));
	guise_out_string(o, "peer", " peer %s",
			 inet_ntop(AF_INET6, &l->peer, a, sizeof(a)));
	if (guise_lease_has(l, GUISE_A_LEASE_VIRT))
		guise_out_string(o, "virt", " virt %s",
				 inet_ntop(AF_INET6, &l->virt, a, sizeof(a)));
	if (guise_lease_has(l, GUISE_A_LEASE_FLAGS)) {
		guise_out_string(o, NULL, " flags %s",
				 guise_lease_flags_format(l->flags, flags,
							  sizeof(flags)));
		guise_out_open_array(o, "flags");
		for (f = 1; f; f <<= 1)
			if (l->flags & f)
				guise_out_string(o, NULL, NULL,
						 guise_lease_flags_format(
							 f, flags,
							 sizeof(flags)));
		guise_out_close_array(o);
	}
	if (guise_lease_has(l, GUISE_A_LEASE_EXPIRES_MS))
		guise_out_uint(o, "expires_ms", " expires %" PRIu64 "ms",
			       l->expires_ms);
	if (l->rate_pps) {
		guise_out_uint(o, "rate_pps", " rate %" PRIu64, l->rate_pps);
		guise_out_uint(o, "rate_burst", " burst %" PRIu64,
			       l->rate_burst);
	}
	guise_out_string(o, NULL, "%s", "\n");
	if (guise_lease_has(l, GUISE_A_LEASE_STATS))
		show_lease_counters(o, &l->stats);
	guise_out_close_object(o);
}

void show_key(struct guise_out *o, const char *key, const struct guise_key *k)
{
	char a[INET6_ADDRSTRLEN];
	const char *alg = guise_alg_name(k->alg);
	const char *dir = guise_key_dir_name(k->dir);

	guise_out_open_object(o, key);
	guise_out_string(o, "group", "%s",
			 inet_ntop(AF_INET6, &k->group, a, sizeof(a)));
	guise_out_uint(o, "port", " port %" PRIu64, k->port);
	guise_out_uint(o, "id", " id %" PRIu64, k->id);
	guise_out_string(o, "dir", " dir %s", dir ? dir : "?");
	guise_out_string(o, "alg", " alg %s", alg ? alg : "?");
	if (guise_key_has(k, GUISE_A_KEY_NOT_BEFORE) && k->not_before)
		guise_out_uint(o, "not_before", " not-before %" PRIu64,
			       k->not_before);
	if (guise_key_has(k, GUISE_A_KEY_NOT_AFTER) &&
	    k->not_after != UINT64_MAX)
		guise_out_uint(o, "not_after", " not-after %" PRIu64,
			       k->not_after);
	guise_out_uint(o, "replay_window", " replay-window %" PRIu64,
		       k->replay_window);
	if (k->dir == GUISE_KEY_DIR_TX)
		guise_out_uint(o, "tx_seq", " tx-seq %" PRIu64, k->tx_seq);
	guise_out_string(o, NULL, "%s", "\n");
	if (guise_key_has(k, GUISE_A_KEY_STATS)) {
		guise_out_open_object(o, "stats");
		guise_out_uint(o, "packets", "    %" PRIu64 " packets",
			       k->stats.packets);
		guise_out_uint(o, "bytes", " %" PRIu64 " bytes",
			       k->stats.bytes);
		guise_out_uint(o, "drop_auth", "  dropped: auth %" PRIu64,
			       k->stats.drop_auth);
		guise_out_uint(o, "drop_replay", " replay %" PRIu64 "\n",
			       k->stats.drop_replay);
		guise_out_close_object(o);
	}
	guise_out_close_object(o);
}

void show_list_restart(void *out)
{
	guise_out_reset(out);
	guise_out_open_array(out, NULL);
}
