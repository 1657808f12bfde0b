// SPDX-License-Identifier: MIT
#include "rack_view.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "health.h"
#include "liveness.h"

int nw_rack_view_init(struct nw_rack_view *v, uint32_t max_slots, uint32_t rack_id,
		      double interval_s)
{
	memset(v, 0, sizeof(*v));
	v->slots = calloc(max_slots ? max_slots : 1, sizeof(*v->slots));
	v->order = calloc(max_slots ? max_slots : 1, sizeof(*v->order));
	if (!v->slots || !v->order) {
		nw_rack_view_free(v);
		return -1;
	}
	v->max_slots = max_slots;
	v->rack_id = rack_id;
	v->interval_s = interval_s;
	v->version = NW_VERSION_STRING;
	v->rack_score = 1.0;
	strcpy(v->hook, "none");
	return 0;
}

void nw_rack_view_free(struct nw_rack_view *v)
{
	for (uint32_t s = 0; v->slots && s < v->max_slots; s++)
		free(v->slots[s].power);
	free(v->slots);
	free(v->order);
	v->slots = NULL;
	v->order = NULL;
	v->max_slots = v->count = 0;
}

void nw_rack_view_set_hook(struct nw_rack_view *v, const char *hook, const char *iface)
{
	snprintf(v->hook, sizeof(v->hook), "%s", hook ? hook : "none");
	snprintf(v->iface, sizeof(v->iface), "%s", iface ? iface : "");
}

void nw_rack_view_begin(struct nw_rack_view *v, uint64_t now_tai_ns, const struct nw_stats *stats,
			uint64_t discovery_rejected, int attached)
{
	v->time_ns = now_tai_ns;
	if (stats)
		v->stats = *stats;
	v->discovery_rejected = discovery_rejected;
	v->attached = attached;
	for (uint32_t s = 0; s < v->max_slots; s++)
		v->slots[s].present = 0;
}

static void clear_analysis(struct nw_server_view *e)
{
	e->analysed = 0;
	e->expected_hz = e->spectral_error = e->snr_db = e->peak_hz = e->tone_offset_hz = 0;
	e->tone_mismatch = 0;
	e->short_valid = 0;
	e->spectral_error_short = 0;
	e->analysis_class = NW_HEALTH_HEALTHY;
	e->skew_valid = 0;
	e->skew_ppm = e->owd_s = 0;
	memset(&e->delay_period, 0, sizeof(e->delay_period));
	memset(&e->hole_period, 0, sizeof(e->hole_period));
	e->nbins = 0; /* the buffer stays for the next server of this slot */
	e->bin_hz = 0;
}

int nw_rack_view_set_spectrum(struct nw_rack_view *v, uint32_t slot, const double *power,
			      size_t nbins, double bin_hz)
{
	struct nw_server_view *e;

	if (slot >= v->max_slots || (nbins && !power))
		return -1;
	e = &v->slots[slot];
	if (nbins > e->power_cap) {
		double *p = realloc(e->power, nbins * sizeof(*p));

		if (!p) {
			e->nbins = 0;
			return -1;
		}
		e->power = p;
		e->power_cap = nbins;
	}
	if (nbins)
		memcpy(e->power, power, nbins * sizeof(*power));
	e->nbins = nbins;
	e->bin_hz = bin_hz;
	return 0;
}

struct nw_server_view *nw_rack_view_set_server(struct nw_rack_view *v, uint32_t slot,
					       const struct nw_server_state *st,
					       const struct nw_server_rx *rx)
{
	struct nw_server_view *e;
	uint32_t id;

	if (slot >= v->max_slots || !st)
		return NULL;
	e = &v->slots[slot];
	id = rx ? rx->server_id : st->server_id;
	if (e->server_id != id || !e->slot_used ||
	    (id == NW_SERVER_FABRIC && e->src_rack != st->rack_id)) {
		clear_analysis(e);
		e->slot_used = 1;
		e->since_ns = 0;
		e->hist_rotated_ns = 0;
		e->latency_p50_s = e->latency_p99_s = NAN;
	}
	e->is_path = id == NW_SERVER_FABRIC;
	e->src_rack = e->is_path ? st->rack_id : 0;
	e->present = 1;
	e->slot = slot;
	e->server_id = id;
	e->st = *st;
	memset(&e->st.lock, 0, sizeof(e->st.lock));
	e->records_drained = rx ? rx->records_drained : 0;
	e->last_drained_rx_ns = rx && rx->have_last ? rx->last.rx_ns : 0;
	return e;
}

void nw_rack_view_set_live(struct nw_rack_view *v, const struct nw_live *l, uint64_t now_tai_ns)
{
	for (uint32_t s = 0; s < v->max_slots; s++) {
		struct nw_server_view *e = &v->slots[s];
		struct nw_live_info li;

		if (!e->present)
			continue;
		nw_live_get(l, s, e->server_id, now_tai_ns, &li);
		/* Not heard since we began (a controller restart): the counters'
		 * goodbye still tells that it left rather than died. */
		e->left = li.heard ? li.left : !!(e->st.status & NW_ST_CLOSED);
		e->up = li.up;
		e->outages = li.outages;
		e->outage_s = li.outage_s;
	}
}

/* Servers by id, then paths (server_id NW_SERVER_FABRIC) by source rack. */
static int by_id(const void *a, const void *b, void *arg)
{
	const struct nw_server_view *s = arg, *p = &s[*(const uint32_t *)a],
				    *q = &s[*(const uint32_t *)b];
	uint64_t x = (uint64_t)p->server_id << 16 | p->src_rack,
		 y = (uint64_t)q->server_id << 16 | q->src_rack;

	return x < y ? -1 : x > y;
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Degraded for the fault scope (docs/fabric.md section 6): a class that is
 * neither healthy nor "not measured yet" nor a clean goodbye. */
static int degraded(enum nw_health h)
{
	return h == NW_HEALTH_WARNING || h == NW_HEALTH_CRITICAL || h == NW_HEALTH_DOWN;
}

void nw_rack_view_derive(struct nw_rack_view *v)
{
	struct nw_rack_score score = { 0 };
	uint64_t now = 0;

	memset(v->state_count, 0, sizeof(v->state_count));
	for (uint32_t s = 0; s < v->max_slots; s++) {
		struct nw_server_view *e = &v->slots[s];

		if (!e->present)
			continue;
		/* The class is backed by the long window or, while it warms up,
		 * by the short scale (multi-scale classes, docs/analysis.md);
		 * the analysis says WARMING itself while its scales start over. */
		e->health = nw_health_state_of(e->left, e->up, e->analysed || e->short_valid,
					       e->analysis_class);
		if (!degraded(e->health))
			e->since_ns = 0;
		else if (!e->since_ns)
			e->since_ns = now ? now : (now = realtime_ns());
		/* The rack score and counts are the rack's servers only. */
		if (e->is_path)
			continue;
		v->state_count[e->health]++;
		nw_rack_score_add(&score, e->health,
				  e->analysed ? e->spectral_error : e->spectral_error_short);
	}
	v->rack_score = nw_rack_score_value(&score);
}

double nw_hist_quantile_s(const uint64_t *counts, double q)
{
	static const uint64_t bound[NW_HIST_FINITE] = NW_HIST_BOUNDS_NS;
	uint64_t total = 0, cum = 0;

	for (unsigned k = 0; k < NW_HIST_BUCKETS; k++)
		total += counts[k];
	if (!total)
		return NAN;
	for (unsigned k = 0; k < NW_HIST_FINITE; k++) {
		cum += counts[k];
		if ((double)cum >= q * (double)total)
			return (double)bound[k] / 1e9;
	}
	return (double)bound[NW_HIST_FINITE - 1] / 1e9;
}

double nw_view_period_s(const struct nw_server_view *e)
{
	const struct nw_period *d = &e->delay_period, *h = &e->hole_period;

	if (!e->analysed || (!d->found && !h->found))
		return NAN;
	if (d->found && (!h->found || d->fap <= h->fap))
		return d->period_s;
	return h->period_s;
}

/* A path's latency over a recent window, not since the pinned counters
 * began: two snapshots 30 s apart, quantiles of now minus the older. */
#define NW_PATH_HIST_ROTATE_NS (30ULL * 1000000000ULL)
static void path_latency(struct nw_server_view *e, uint64_t now_ns)
{
	uint64_t d[NW_HIST_BUCKETS];

	if (!e->hist_rotated_ns) {
		memcpy(e->hist_old, e->st.latency_hist, sizeof(e->hist_old));
		memcpy(e->hist_new, e->st.latency_hist, sizeof(e->hist_new));
		e->hist_rotated_ns = now_ns;
		/* Until a window has passed: everything counted so far. */
		memset(e->hist_old, 0, sizeof(e->hist_old));
	} else if (now_ns - e->hist_rotated_ns >= NW_PATH_HIST_ROTATE_NS) {
		memcpy(e->hist_old, e->hist_new, sizeof(e->hist_old));
		memcpy(e->hist_new, e->st.latency_hist, sizeof(e->hist_new));
		e->hist_rotated_ns = now_ns;
	}
	for (unsigned k = 0; k < NW_HIST_BUCKETS; k++)
		d[k] = e->st.latency_hist[k] >= e->hist_old[k]
			       ? e->st.latency_hist[k] - e->hist_old[k]
			       : e->st.latency_hist[k]; /* counters reset: start over */
	e->latency_p50_s = nw_hist_quantile_s(d, 0.5);
	e->latency_p99_s = nw_hist_quantile_s(d, 0.99);
}

void nw_rack_view_finish(struct nw_rack_view *v)
{
	uint32_t n = 0;

	for (uint32_t s = 0; s < v->max_slots; s++) {
		struct nw_server_view *e = &v->slots[s];
		uint64_t total;

		if (!e->present)
			continue;
		v->order[n++] = s;
		total = e->st.received + e->st.lost;
		e->loss_ratio = total ? (double)e->st.lost / (double)total : 0.0;
		e->jitter_s = (double)e->st.jitter_x16_ns / 16.0 / 1e9;
		if (e->is_path)
			path_latency(e, v->time_ns);
	}
	nw_rack_view_derive(v);
	qsort_r(v->order, n, sizeof(*v->order), by_id, v->slots);
	/* Paths sort last (their id is the largest): servers are the prefix. */
	v->npaths = 0;
	while (v->npaths < n && v->slots[v->order[n - 1 - v->npaths]].is_path)
		v->npaths++;
	v->count = n - v->npaths;
	v->refreshes++;
}

const struct nw_server_view *nw_rack_view_find(const struct nw_rack_view *v, uint32_t server_id)
{
	uint32_t lo = 0, hi = v->count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct nw_server_view *e = &v->slots[v->order[mid]];

		if (e->server_id == server_id)
			return e;
		if (e->server_id < server_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
