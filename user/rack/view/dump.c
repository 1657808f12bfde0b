// SPDX-License-Identifier: MIT
#include "dump.h"

#include <jansson.h>
#include <stdlib.h>

#include "json_u64.h"

static const unsigned long long hist_bounds[NW_HIST_FINITE] = NW_HIST_BOUNDS_NS;

static const char *const malformed_names[NW_MAL__MAX] = {
	[NW_MAL_TRUNCATED] = "truncated", [NW_MAL_LENGTH] = "length",     [NW_MAL_MAGIC] = "magic",
	[NW_MAL_VERSION] = "version",     [NW_MAL_FLAGS] = "flags",       [NW_MAL_FIELD] = "field",
	[NW_MAL_AUTH] = "auth_failed",    [NW_MAL_CHECKSUM] = "checksum",
};

static const char *const anomaly_names[NW_ANOM__MAX] = {
	[NW_ANOM_SEQ_JUMP] = "seq_jump", [NW_ANOM_TIME_JUMP] = "time_jump",
	[NW_ANOM_CLOCK] = "clock",       [NW_ANOM_RESTART] = "restart",
	[NW_ANOM_GOODBYE] = "goodbye",   [NW_ANOM_LIFETIME] = "lifetime",
	[NW_ANOM_RESYNC] = "resync",
};

/* Counters: exact below 2^63, never negative above (json_u64.h). */
static json_t *u64(uint64_t v)
{
	return nw_json_u64(v);
}

static json_t *stats_json(const struct nw_stats *s, uint64_t discovery_rejected)
{
	json_t *mal = json_object(), *anom = json_object(), *o;

	for (int i = 0; i < NW_MAL__MAX; i++)
		json_object_set_new(mal, malformed_names[i], u64(s->malformed[i]));
	for (int i = 0; i < NW_ANOM__MAX; i++)
		json_object_set_new(anom, anomaly_names[i], u64(s->anomalies[i]));
	o = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "packets",
		      u64(s->packets), "samples", u64(s->samples), "malformed", mal,
		      "unknown_server", u64(s->unknown_server), "wrong_rack", u64(s->wrong_rack),
		      "no_ring", u64(s->no_ring), "ring_full", u64(s->ring_full), "discovery_sent",
		      u64(s->discovery_sent), "discovery_suppressed", u64(s->discovery_suppressed),
		      "discovery_rejected", u64(discovery_rejected), "anomalies", anom);
	if (o) {
		/* Discovered servers: promoted, evicted, on probation now. */
		json_object_set_new(o, "discovery_promoted", u64(s->discovery_promoted));
		json_object_set_new(o, "discovery_evicted", u64(s->discovery_evicted));
		json_object_set_new(o, "discovery_probation", u64(s->discovery_probation));
		/* Inter-rack tones (docs/fabric.md). */
		json_object_set_new(o, "fabric_samples", u64(s->fabric_samples));
		json_object_set_new(o, "fabric_misdirected", u64(s->fabric_misdirected));
	}
	return o;
}

static json_t *server_json(const struct nw_dump_server *d)
{
	const struct nw_server_state *st = &d->st;
	json_t *hist = json_array(), *bounds = json_array(), *o;

	for (unsigned i = 0; i < NW_HIST_BUCKETS; i++)
		json_array_append_new(hist, u64(st->latency_hist[i]));
	for (unsigned i = 0; i < NW_HIST_FINITE; i++)
		json_array_append_new(bounds, u64(hist_bounds[i]));

	o = json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:f, s:o, s:o}", "server",
		      (json_int_t)st->server_id, "slot", (json_int_t)d->rx->slot, "received",
		      u64(st->received), "lost", u64(st->lost), "duplicates", u64(st->duplicates),
		      "reordered", u64(st->reordered), "late", u64(st->late), "restarts",
		      u64(st->restarts), "goodbyes", u64(st->goodbyes), "ring_full",
		      u64(st->ring_full), "jitter_ns", (double)st->jitter_x16_ns / 16.0,
		      "latency_sum_ns", u64(st->latency_sum_ns), "latency_negative",
		      u64(st->latency_negative));
	if (!o)
		return NULL;
	/* An inter-rack path (server NW_SERVER_FABRIC): which rack sends it. */
	if (st->server_id == NW_SERVER_FABRIC)
		json_object_set_new(o, "src_rack", json_integer(st->rack_id));
	json_object_set_new(o, "latency_hist", hist);
	json_object_set_new(o, "latency_bounds_ns", bounds);
	json_object_set_new(o, "anomalous", u64(st->anomalous));
	json_object_set_new(o, "max_seq", u64(st->max_seq));
	json_object_set_new(o, "closed", json_boolean(st->status & NW_ST_CLOSED));
	json_object_set_new(o, "last_rx_ns", u64(st->last_rx_ns));
	json_object_set_new(o, "freq_hz", json_real((double)st->freq_uhz / 1e6));
	json_object_set_new(o, "rate_hz", json_real((double)st->rate_uhz / 1e6));
	json_object_set_new(o, "records_drained", u64(d->rx->records_drained));
	json_object_set_new(o, "records_out_of_order", u64(d->rx->records_out_of_order));
	return o;
}

static int by_server(const void *a, const void *b)
{
	uint32_t x = ((const struct nw_dump_server *)a)->rx->server_id;
	uint32_t y = ((const struct nw_dump_server *)b)->rx->server_id;

	return x < y ? -1 : x > y;
}

char *nw_dump_json(const struct nw_dump_info *info, const struct nw_stats *stats,
		   struct nw_dump_server *servers, size_t n)
{
	json_t *doc, *list = json_array();
	char *out;

	qsort(servers, n, sizeof(*servers), by_server);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, server_json(&servers[i]));
	doc = json_pack("{s:I, s:s, s:o, s:I, s:o, s:o, s:o}", "rack", (json_int_t)info->rack,
			"hook", info->hook, "iface",
			info->iface ? json_string(info->iface) : json_null(), "port",
			(json_int_t)info->port, "time_ns", u64(info->time_ns), "stats",
			stats_json(stats, info->discovery_rejected), "servers", list);
	if (!doc)
		return NULL;
	out = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	return out;
}
