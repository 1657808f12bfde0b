// SPDX-License-Identifier: MIT
#include "api_json.h"
#include "faults.h"

#include "analysis.h"
#include "spectrum.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#include "json_u64.h"

/* Counters: exact below 2^63, never negative above (json_u64.h). */
static json_t *u64(uint64_t v)
{
	return nw_json_u64(v);
}

/* JSON has no NaN or infinity: those become null. */
static json_t *real(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

static json_t *period_json(const struct nw_period *p)
{
	if (!p->found)
		return json_pack("{s:b}", "found", 0);
	return json_pack("{s:b, s:o, s:o, s:o}", "found", 1, "period_s", real(p->period_s), "power",
			 real(p->power), "fap", real(p->fap));
}

static json_t *server_json(const struct nw_rack_view *v, const struct nw_server_view *e)
{
	const struct nw_server_state *st = &e->st;
	json_t *o, *a, *hist = json_array();
	(void)v;

	for (unsigned i = 0; i < NW_HIST_BUCKETS; i++)
		json_array_append_new(hist, u64(st->latency_hist[i]));
	o = json_pack("{s:I, s:I, s:s, s:b, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
		      "server_id", (json_int_t)e->server_id, "slot", (json_int_t)e->slot, "class",
		      nw_health_name(e->health), "up", e->up, "left", e->left, "received",
		      u64(st->received), "lost", u64(st->lost), "duplicates", u64(st->duplicates),
		      "reordered", u64(st->reordered), "late", u64(st->late), "restarts",
		      u64(st->restarts), "goodbyes", u64(st->goodbyes), "ring_full",
		      u64(st->ring_full), "records_drained", u64(e->records_drained));
	if (!o) {
		json_decref(hist);
		return NULL;
	}
	/* Since the controller began watching the server (not pinned counters):
	 * a short outage stays visible after the server is back. */
	json_object_set_new(o, "outages", u64(e->outages));
	json_object_set_new(o, "outage_seconds", real(e->outage_s));
	json_object_set_new(o, "max_seq", u64(st->max_seq));
	json_object_set_new(o, "last_rx_ns", u64(st->last_rx_ns));
	json_object_set_new(o, "freq_hz", real((double)st->freq_uhz / 1e6));
	json_object_set_new(o, "rate_hz", real((double)st->rate_uhz / 1e6));
	json_object_set_new(o, "loss_ratio", real(e->loss_ratio));
	json_object_set_new(o, "jitter_s", real(e->jitter_s));
	json_object_set_new(o, "latency_sum_ns", u64(st->latency_sum_ns));
	json_object_set_new(o, "latency_negative", u64(st->latency_negative));
	json_object_set_new(o, "latency_hist", hist);
	json_object_set_new(o, "analysed", json_boolean(e->analysed));
	/* The multi-scale classes' short scale: its own figure, also while the
	 * long window warms up (null until the quick scale has one). */
	json_object_set_new(o, "spectral_error_short",
			    e->short_valid ? real(e->spectral_error_short) : json_null());
	if (!e->analysed)
		return o;
	a = json_object();
	json_object_set_new(a, "expected_hz", real(e->expected_hz));
	json_object_set_new(a, "spectral_error", real(e->spectral_error));
	json_object_set_new(a, "snr_db", real(e->snr_db));
	json_object_set_new(a, "peak_hz", real(e->peak_hz));
	json_object_set_new(a, "tone_offset_hz", real(e->tone_offset_hz));
	json_object_set_new(a, "tone_mismatch", json_boolean(e->tone_mismatch));
	json_object_set_new(a, "skew_ppm", e->skew_valid ? real(e->skew_ppm) : json_null());
	json_object_set_new(a, "owd_s", e->skew_valid ? real(e->owd_s) : json_null());
	json_object_set_new(a, "delay_period", period_json(&e->delay_period));
	/* the loss series: samples that never arrived (a late one is not) */
	json_object_set_new(a, "loss_period", period_json(&e->hole_period));
	json_object_set_new(o, "analysis", a);
	return o;
}

static char *finish(json_t *doc)
{
	char *out;

	if (!doc)
		return NULL;
	out = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	return out;
}

/* One inter-rack path into this rack (docs/fabric.md section 3). */
static json_t *path_json(const struct nw_server_view *e)
{
	double period = nw_view_period_s(e);
	json_t *o = json_object();

	json_object_set_new(o, "src_rack", json_integer(e->src_rack));
	json_object_set_new(o, "class", json_string(nw_health_name(e->health)));
	json_object_set_new(o, "error",
			    e->analysed      ? real(e->spectral_error)
			    : e->short_valid ? real(e->spectral_error_short)
					     : json_null());
	json_object_set_new(o, "loss_ratio", real(e->loss_ratio));
	json_object_set_new(o, "latency_ms",
			    json_pack("{s:o, s:o}", "p50", real(e->latency_p50_s * 1e3), "p99",
				      real(e->latency_p99_s * 1e3)));
	json_object_set_new(o, "periods",
			    isnan(period) ? json_array() : json_pack("[o]", real(period)));
	json_object_set_new(o, "mesh_epoch", json_integer(e->st.mesh_epoch));
	json_object_set_new(o, "since_ns", u64(e->since_ns));
	json_object_set_new(o, "up", json_boolean(e->up));
	json_object_set_new(o, "received", u64(e->st.received));
	json_object_set_new(o, "lost", u64(e->st.lost));
	json_object_set_new(o, "slot", json_integer(e->slot));
	return o;
}

char *nw_api_rack_json(const struct nw_rack_view *v)
{
	json_t *list = json_array(), *states = json_object(), *paths = json_array(), *doc;

	for (uint32_t i = 0; i < v->count; i++)
		json_array_append_new(list, server_json(v, &v->slots[v->order[i]]));
	for (int h = 0; h < NW_HEALTH__COUNT; h++)
		json_object_set_new(states, nw_health_name((enum nw_health)h),
				    u64(v->state_count[h]));
	doc = json_pack("{s:I, s:s, s:s?, s:b, s:o, s:o, s:s, s:o, s:o, s:o}", "rack_id",
			(json_int_t)v->rack_id, "hook", v->hook, "iface",
			v->iface[0] ? v->iface : NULL, "attached", v->attached, "time_ns",
			u64(v->time_ns), "interval_s", real(v->interval_s), "version", v->version,
			"health_score", real(v->rack_score), "servers_by_state", states, "servers",
			list);
	/* Paths in, by source rack; never part of health_score. */
	for (uint32_t i = 0; i < v->npaths; i++)
		json_array_append_new(paths, path_json(&v->slots[v->order[v->count + i]]));
	if (doc) {
		json_object_set_new(doc, "paths_in", paths);
		/* scoped faults of this rack's view (faults.c) */
		json_object_set_new(doc, "faults", nw_rack_faults_json(v->scope));
	} else
		json_decref(paths);
	return finish(doc);
}

char *nw_api_spectrum_json(const struct nw_rack_view *v, const struct nw_server_view *e)
{
	json_t *bins = json_array(), *doc;

	if (e->analysed)
		for (size_t i = 0; i < e->nbins && e->power; i++)
			json_array_append_new(bins, json_pack("{s:o, s:o}", "hz",
							      real((double)i * e->bin_hz), "power",
							      real(e->power[i])));
	doc = json_pack("{s:I, s:I, s:b, s:o, s:o, s:o, s:o}", "rack_id", (json_int_t)v->rack_id,
			"server_id", (json_int_t)e->server_id, "analysed", e->analysed, "time_ns",
			u64(v->time_ns), "expected_hz",
			e->analysed ? real(e->expected_hz) : json_null(), "bin_hz",
			e->analysed && e->nbins ? real(e->bin_hz) : json_null(), "bins", bins);
	/* The signal band as spectrum.h counts it (the web UI shades it): the
	 * bins within NW_SPEC_LOBE_BINS of the expected tone's. */
	if (doc && e->analysed && e->nbins)
		json_object_set_new(doc, "lobe_hz",
				    json_pack("[o, o]",
					      real(e->expected_hz - NW_SPEC_LOBE_BINS * e->bin_hz),
					      real(e->expected_hz + NW_SPEC_LOBE_BINS * e->bin_hz)));
	return finish(doc);
}

/* The skew fit's envelope at series time t, in the ring's frame (seconds
 * relative to its first delay): delay_s was fitted at skew_t_s. */
static double skew_line(const struct nw_server_analysis *s, double t)
{
	return s->skew_result.delay_s - s->per.delay.y_ref +
	       s->skew_result.ppm * 1e-6 * (t - s->skew_t_s);
}

static json_t *skew_json(const struct nw_server_analysis *s, double t_first, double t_last)
{
	const struct nw_skew_result *k = &s->skew_result;

	if (!k->valid)
		return json_pack("{s:b, s:b}", "valid", 0, "nonlinear", k->nonlinear);
	return json_pack("{s:b, s:o, s:o, s:o, s:[[o, o], [o, o]]}", "valid", 1, "ppm",
			 real(k->ppm), "owd_s", real(k->delay_s), "excess_s", real(k->excess_s),
			 "line_ms", real(t_first), real(skew_line(s, t_first) * 1e3), real(t_last),
			 real(skew_line(s, t_last) * 1e3));
}

static json_t *result_period_json(const struct nw_period_result *p)
{
	struct nw_period q = { .found = p->found,
			       .period_s = p->found ? p->period_s : 0,
			       .power = p->power,
			       .fap = p->fap };

	return period_json(&q);
}

char *nw_api_delay_json(const struct nw_rack_view *v, const struct nw_server_view *e,
			const struct nw_server_analysis *s)
{
	json_t *t = json_array(), *d = json_array(), *doc;
	size_t n = 0, cap, first;
	char *out;

	if (s && s->per.delay.t) {
		const struct nw_pring *r = &s->per.delay;

		cap = s->per.cfg.capacity;
		n = r->count < NW_API_DELAY_MAX ? r->count : NW_API_DELAY_MAX;
		first = (r->head + cap - n) % cap; /* the oldest of the newest n */
		for (size_t i = 0; i < n; i++) {
			size_t k = (first + i) % cap;

			json_array_append_new(t, real(r->t[k]));
			json_array_append_new(d, real((double)r->y[k] * 1e3));
		}
	}
	doc = json_pack("{s:I, s:I, s:o, s:o, s:o, s:o}", "rack_id", (json_int_t)v->rack_id,
			"server_id", (json_int_t)e->server_id, "time_ns", u64(v->time_ns),
			"rate_hz", s ? real(s->rate_hz) : json_null(), "t_s", t, "delay_ms", d);
	if (doc && s) {
		const struct nw_pring *r = &s->per.delay;
		double t_first = n ? r->t[(r->head + s->per.cfg.capacity - n) % s->per.cfg.capacity]
				   : 0,
		       t_last = n ? r->t[(r->head + s->per.cfg.capacity - 1) % s->per.cfg.capacity]
				  : 0;

		json_object_set_new(doc, "horizon_s", real(s->per.horizon_s));
		json_object_set_new(doc, "skew", skew_json(s, t_first, t_last));
		json_object_set_new(doc, "delay_period", result_period_json(&s->delay_period));
		json_object_set_new(doc, "loss_period", result_period_json(&s->hole_period));
	}
	if (!doc)
		return NULL;
	/* 9 digits: a delay in ms to 10 ns, a week of seconds to the ms. */
	out = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
	json_decref(doc);
	return out;
}
