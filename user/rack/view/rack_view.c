// SPDX-License-Identifier: MIT
#include "rack_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	if (e->server_id != id || !e->slot_used) {
		clear_analysis(e);
		e->slot_used = 1;
	}
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

static int by_id(const void *a, const void *b, void *arg)
{
	const struct nw_server_view *s = arg;
	uint32_t x = s[*(const uint32_t *)a].server_id, y = s[*(const uint32_t *)b].server_id;

	return x < y ? -1 : x > y;
}

void nw_rack_view_derive(struct nw_rack_view *v)
{
	struct nw_rack_score score = { 0 };

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
		v->state_count[e->health]++;
		nw_rack_score_add(&score, e->health,
				  e->analysed ? e->spectral_error : e->spectral_error_short);
	}
	v->rack_score = nw_rack_score_value(&score);
}

void nw_rack_view_finish(struct nw_rack_view *v)
{
	v->count = 0;
	for (uint32_t s = 0; s < v->max_slots; s++) {
		struct nw_server_view *e = &v->slots[s];
		uint64_t total;

		if (!e->present)
			continue;
		v->order[v->count++] = s;
		total = e->st.received + e->st.lost;
		e->loss_ratio = total ? (double)e->st.lost / (double)total : 0.0;
		e->jitter_s = (double)e->st.jitter_x16_ns / 16.0 / 1e9;
	}
	nw_rack_view_derive(v);
	qsort_r(v->order, v->count, sizeof(*v->order), by_id, v->slots);
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
