// SPDX-License-Identifier: MIT
/* Per-server tone reconstruction on the receiver's time grid. See signal.h. */
#include "signal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int nw_signal_init(struct nw_signal *sig, uint32_t n, double rate_hz, double tone_hz)
{
	memset(sig, 0, sizeof(*sig));
	if (n < 8 || n > NW_SIGNAL_MAX_N || (n & (n - 1)) != 0)
		return -EINVAL;
	if (!(rate_hz > 0) || !isfinite(rate_hz) || !(tone_hz > 0) || !(tone_hz < rate_hz / 2))
		return -EINVAL;
	sig->n = n;
	/* Twice the window: the newest n arrivals cover the window unless some
	 * collide, and a collision must still see the earlier arrival. */
	sig->cap = 2 * n;
	sig->rate_hz = rate_hz;
	sig->tone_hz = tone_hz;
	sig->slot_ns = 1e9 / rate_hz;
	sig->inv_slot_ns = rate_hz / 1e9;
	sig->ring = calloc(sig->cap, sizeof(*sig->ring));
	if (!sig->ring)
		return -ENOMEM;
	return 0;
}

void nw_signal_free(struct nw_signal *sig)
{
	free(sig->ring);
	sig->ring = NULL;
	sig->count = 0;
}

void nw_signal_add(struct nw_signal *sig, const struct nw_record *rec)
{
	if (!sig->seen) {
		sig->ref_ns = rec->rx_ns;
		sig->seen = true;
	}
	if ((int64_t)(rec->rx_ns - sig->last_rx_ns) > 0 || sig->samples == 0)
		sig->last_rx_ns = rec->rx_ns;

	if (rec->flags & NW_REC_GOODBYE) {
		/* Not a sample: seq is the last generated one. The stream ends. */
		sig->left = true;
		sig->in_stream = false;
		return;
	}
	sig->left = false;
	if ((rec->flags & NW_REC_STREAM_START) || !sig->in_stream) {
		/* A new stream has a new seq origin and its own path baseline. */
		if (sig->streams > 0)
			sig->epoch++;
		sig->streams++;
		sig->anchor_seq = rec->seq;
		sig->in_stream = true;
	}

	struct nw_sig_rec *r = &sig->ring[sig->head];
	float v;
	uint32_t bits = rec->value_bits;

	memcpy(&v, &bits, sizeof(v));
	r->u = (double)(int64_t)(rec->rx_ns - sig->ref_ns) * sig->inv_slot_ns;
	r->d = r->u - (double)(int64_t)(rec->seq - sig->anchor_seq);
	r->value = isfinite(v) ? v : 0.0f; /* a NaN must not poison the FFT */
	r->epoch = sig->epoch;
	sig->head = (sig->head + 1) & (sig->cap - 1);
	if (sig->count < sig->cap)
		sig->count++;
	sig->samples++;
}

uint32_t nw_signal_window(const struct nw_signal *sig, uint64_t now_ns, const double *weight,
			  double *out, double *keep, struct nw_window_stats *st)
{
	const uint32_t n = sig->n, mask = sig->cap - 1;
	const uint32_t first = (sig->head - sig->count) & mask;
	double base[NW_SIGNAL_EPOCHS];
	bool have[NW_SIGNAL_EPOCHS] = { false };
	uint32_t newest_epoch = 0;
	bool any = false;

	memset(out, 0, n * sizeof(*out));
	*st = (struct nw_window_stats){ 0 };
	if (sig->count == 0)
		return 0;

	const double now_u = (double)(int64_t)(now_ns - sig->ref_ns) * sig->inv_slot_ns;
	/* One slot of margin: a record just older than the window may still
	 * round into its oldest slot. */
	const double oldest_u = now_u - (double)n - 1.0;

	/* Pass 1: each stream's baseline = min of (r_j - j*T) over the window. */
	for (uint32_t i = 0; i < sig->count; i++) {
		const struct nw_sig_rec *r = &sig->ring[(first + i) & mask];
		uint32_t age = sig->epoch - r->epoch, e = r->epoch % NW_SIGNAL_EPOCHS;

		if (age >= NW_SIGNAL_EPOCHS || r->u > now_u || r->u < oldest_u)
			continue;
		if (!have[e] || r->d < base[e]) {
			base[e] = r->d;
			have[e] = true;
		}
		if (!any || age < sig->epoch - newest_epoch)
			newest_epoch = r->epoch;
		any = true;
	}
	if (!any)
		return 0;

	/* The grid is the newest stream's; older streams are shifted onto it
	 * by their baseline difference rounded to whole slots. */
	const double grid = base[newest_epoch % NW_SIGNAL_EPOCHS];
	double off[NW_SIGNAL_EPOCHS] = { 0 };

	for (uint32_t e = 0; e < NW_SIGNAL_EPOCHS; e++)
		if (have[e])
			off[e] = floor(base[e] - grid + 0.5) - base[e] + 0.5;
	/* slot = floor(u - base_e + 0.5) + round(base_e - grid) = floor(u + off_e) */
	const int64_t newest = (int64_t)floor(now_u - grid + 0.5);
	const int64_t oldest = newest - (int64_t)n + 1;

	st->newest_slot = newest;
	for (uint32_t i = 0; i < n; i++)
		keep[i] = INFINITY;

	/* Pass 2: place; on a collision the earliest arrival wins. */
	for (uint32_t i = 0; i < sig->count; i++) {
		const struct nw_sig_rec *r = &sig->ring[(first + i) & mask];
		uint32_t age = sig->epoch - r->epoch, e = r->epoch % NW_SIGNAL_EPOCHS;

		if (age >= NW_SIGNAL_EPOCHS || r->u > now_u || r->u < oldest_u)
			continue;
		int64_t s = (int64_t)floor(r->u + off[e]);

		if (s < oldest || s > newest)
			continue;
		uint32_t k = (uint32_t)(s - oldest);

		if (keep[k] != INFINITY) {
			st->collisions++;
			if (!(r->u < keep[k]))
				continue;
		} else {
			st->filled++;
		}
		keep[k] = r->u;
		out[k] = weight ? (double)r->value * weight[k] : (double)r->value;
	}
	return st->filled;
}
